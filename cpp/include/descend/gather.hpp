// Gathered blocks of shuffled rows.
//
// A shuffled epoch visits the rows of X in random order. Loaded by the
// update that needs it, each row is a cache (and TLB) miss that the
// update's chain of dependent arithmetic cannot hide. Copying a block of
// the permutation's rows into a contiguous row-major buffer first issues
// those loads back to back, independent of each other, so the memory
// system overlaps them; the updates then read the block from cache, and
// the copy costs a fraction of the stalls it removes (benchmarks/RESULTS.md,
// "Figures behind the kernels' tricks"). With a second thread the next block is gathered while the
// updates run on this one (GatherPipeline), and the updating thread helps
// finish that copy when its own block is done. The copy changes no
// arithmetic: the kernels visit the same rows in the same order.
#pragma once

#include <algorithm>
#include <cstring>
#include <exception>
#include <vector>

#include "config.hpp"
#include "dataset.hpp"

namespace descend::detail {

// Bytes of X per gathered block: two blocks (one being read, one being
// written) stay in L2, and a block is long enough that the threads'
// hand-over at its end costs little (sizes from 32 KiB to 1 MiB time
// alike; smaller ones pay the hand-over too often).
constexpr index_t gather_block_bytes = index_t{1} << 18;

/// A reusable row-major copy of some rows of a Dataset (X, y and weights).
template <class T>
class RowBlock {
 public:
  /// Rows per block for updates of `batch_size` rows: a whole number of
  /// batches (at least one), about gather_block_bytes of X, so batch
  /// boundaries fall where they would without the copy.
  static index_t rows_for(index_t batch_size, index_t features) {
    const index_t row_bytes = std::max<index_t>(features, 1) * index_t(sizeof(T));
    const index_t batches = std::max<index_t>(1, gather_block_bytes / (row_bytes * batch_size));
    return batches * batch_size;
  }

  /// Room for `rows` rows of `data` (allocates; copy_rows does not).
  void reserve(const Dataset<T>& data, index_t rows) {
    x_.resize(static_cast<size_t>(rows * data.features()));
    y_.resize(static_cast<size_t>(rows));
    if (data.has_weights()) w_.resize(static_cast<size_t>(rows));
  }

  /// Copies rows index[k0 .. k1) of `data` into rows k0 .. k1 of the block.
  void copy_rows(const Dataset<T>& data, const index_t* index, index_t k0, index_t k1) {
    const index_t d = data.features();
    T* x = x_.data();
    if (data.X.layout == Layout::RowMajor) {
      for (index_t k = k0; k < k1; ++k)
        std::memcpy(x + k * d, data.X.data + index[k] * d, static_cast<size_t>(d) * sizeof(T));
    } else {
      const index_t n = data.rows();
      for (index_t j = 0; j < d; ++j) {
        const T* col = data.X.data + j * n;
        for (index_t k = k0; k < k1; ++k) x[k * d + j] = col[index[k]];
      }
    }
    for (index_t k = k0; k < k1; ++k) y_[static_cast<size_t>(k)] = data.y[index[k]];
    if (data.has_weights())
      for (index_t k = k0; k < k1; ++k) w_[static_cast<size_t>(k)] = data.sample_weight[index[k]];
  }

  /// The first `rows` rows of the block as a Dataset shaped like `data`.
  Dataset<T> view(const Dataset<T>& data, index_t rows) const {
    return {{x_.data(), rows, data.features(), Layout::RowMajor},
            {y_.data(), rows},
            {data.has_weights() ? w_.data() : nullptr, rows}};
  }

 private:
  std::vector<T> x_, y_, w_;
};

/// The blocks of a permutation, gathered one after another into two
/// alternating RowBlocks and handed to a consumer in order.
template <class T>
class GatherPipeline {
 public:
  /// consume(block, b0, b1) for the blocks [b0, b1) of order[0 .. n), in
  /// order, each gathered into a RowBlock first. With `overlap` a second
  /// thread gathers block b + 1 while block b is consumed (on the calling
  /// thread, which keeps the GIL-holding thread's identity for callbacks),
  /// and the consuming thread, once done, copies what is left of block
  /// b + 1 alongside it: the copy of a block is cut into parts that either
  /// thread claims. Without `overlap` (or when the runtime grants a single
  /// thread) one thread alternates. An exception from consume ends the
  /// epoch after the current block and is rethrown here.
  template <class Consume>
  void run(const Dataset<T>& data, const index_t* order, index_t n, index_t block_rows,
           bool overlap, Consume&& consume) {
    const index_t blocks = (n + block_rows - 1) / block_rows;
    if (blocks == 0) return;
    for (auto& b : blocks_) b.reserve(data, std::min(n, block_rows));
    auto rows_in = [&](index_t b) { return std::min(n, (b + 1) * block_rows) - b * block_rows; };
    // Rows [k0, k1) of block b, copied into its buffer.
    auto copy = [&](index_t b, index_t k0, index_t k1) {
      blocks_[b & 1].copy_rows(data, order + b * block_rows, k0, k1);
    };
    auto use = [&](index_t b) {
      consume(blocks_[b & 1].view(data, rows_in(b)), b * block_rows, b * block_rows + rows_in(b));
    };
    copy(0, 0, rows_in(0));
    if (!overlap || blocks == 1) {
      for (index_t b = 0; b < blocks; ++b) {
        if (b > 0) copy(b, 0, rows_in(b));
        use(b);
      }
      return;
    }
    // claimed[b]: parts of block b handed out so far (claimed by atomic capture).
    std::vector<index_t> claimed(static_cast<size_t>(blocks), 0);
    std::exception_ptr error;
    // failed[b & 1]: whether round b failed. Set before round b's barrier
    // and read after it; a thread already in round b + 1 sets the other
    // slot, so every thread reads the same value and they stop together.
    bool failed[2] = {false, false};
    DESCEND_OMP(omp parallel num_threads(2))
    {
      const int thread = thread_num();
      for (index_t b = 0; b < blocks; ++b) {
        // Different buffers: block b is read while block b + 1 is written.
        bool& round_failed = failed[b & 1];
        if (thread == 0) {
          try {
            use(b);
          } catch (...) {
            error = std::current_exception();
            DESCEND_OMP(omp atomic write)
            round_failed = true;
          }
        }
        if (b + 1 < blocks) copy_parts(b + 1, rows_in(b + 1), claimed[static_cast<size_t>(b + 1)], copy);
        DESCEND_OMP(omp barrier)
        if (round_failed) break;
      }
    }
    if (error) std::rethrow_exception(error);
  }

 private:
  // Claims parts of block b (of `rows` rows) until none is left and copies
  // them; `claimed` counts the parts handed out. The parts are copies of
  // distinct rows, so which thread copies which never changes the block.
  template <class Copy>
  static void copy_parts(index_t b, index_t rows, index_t& claimed, Copy& copy) {
    constexpr index_t parts = 16;
    const index_t part_rows = (rows + parts - 1) / parts;
    for (;;) {
      index_t part;
      DESCEND_OMP(omp atomic capture)
      part = claimed++;
      if (part >= parts) return;
      const index_t k0 = part * part_rows;
      if (k0 < rows) copy(b, k0, std::min(rows, k0 + part_rows));
    }
  }

  RowBlock<T> blocks_[2];
};

}  // namespace descend::detail
