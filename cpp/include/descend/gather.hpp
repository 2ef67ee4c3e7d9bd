// Gathered blocks of shuffled rows.
//
// A shuffled epoch visits the rows of X in random order. Loaded by the
// update that needs it, each row is a cache (and TLB) miss that the
// update's chain of dependent arithmetic cannot hide. Copying a block of
// the permutation's rows into a contiguous row-major buffer first issues
// those loads back to back, independent of each other, so the memory
// system overlaps them; the updates then read the block from cache.
// Measured on 200,000 x 64 doubles: gathering a whole epoch costs ~9 ms,
// against ~55 ms of stalls on the first load of each row inside the sgd
// loop. With a second thread the next block is gathered while the
// updates run on this one (GatherPipeline). The copy changes no
// arithmetic: the kernels visit the same rows in the same order.
#pragma once

#include <algorithm>
#include <cstring>
#include <exception>
#include <vector>

#include "config.hpp"
#include "dataset.hpp"

namespace descend {
namespace detail {

// Bytes of X per gathered block: two blocks (one being read, one being
// written) stay in L2, and a block is long enough that the threads'
// hand-over at its end costs little (32 KiB .. 1 MiB measured within
// noise of each other on 64 features, 32 KiB slowest).
constexpr index_t gather_block_bytes = index_t{1} << 18;

}  // namespace detail

/// A reusable row-major copy of some rows of a Dataset (X, y and weights).
template <class T>
class RowBlock {
 public:
  /// Rows per block for updates of `batch_size` rows: a whole number of
  /// batches (at least one), about gather_block_bytes of X, so batch
  /// boundaries fall where they would without the copy.
  static index_t rows_for(index_t batch_size, index_t features) {
    const index_t row_bytes = std::max<index_t>(features, 1) * index_t(sizeof(T));
    const index_t batches = std::max<index_t>(1, detail::gather_block_bytes / (row_bytes * batch_size));
    return batches * batch_size;
  }

  /// Copies rows index[0 .. count) of `data`, in that order.
  void gather(const Dataset<T>& data, const index_t* index, index_t count) {
    const index_t d = data.features();
    x_.resize(static_cast<size_t>(count * d));
    y_.resize(static_cast<size_t>(count));
    T* x = x_.data();
    if (data.X.layout == Layout::RowMajor) {
      for (index_t k = 0; k < count; ++k)
        std::memcpy(x + k * d, data.X.data + index[k] * d, static_cast<size_t>(d) * sizeof(T));
    } else {
      const index_t n = data.rows();
      for (index_t j = 0; j < d; ++j) {
        const T* col = data.X.data + j * n;
        for (index_t k = 0; k < count; ++k) x[k * d + j] = col[index[k]];
      }
    }
    for (index_t k = 0; k < count; ++k) y_[static_cast<size_t>(k)] = data.y[index[k]];
    if (!data.sample_weight.empty()) {
      w_.resize(static_cast<size_t>(count));
      for (index_t k = 0; k < count; ++k) w_[static_cast<size_t>(k)] = data.sample_weight[index[k]];
    }
    view_ = {{x, count, d, Layout::RowMajor},
             {y_.data(), count},
             {data.sample_weight.empty() ? nullptr : w_.data(), count}};
  }

  /// The gathered rows as a Dataset (valid until the next gather).
  const Dataset<T>& data() const { return view_; }

 private:
  std::vector<T> x_, y_, w_;
  Dataset<T> view_;
};

/// The blocks of a permutation, gathered one after another into two
/// alternating RowBlocks and handed to a consumer in order.
template <class T>
class GatherPipeline {
 public:
  /// consume(block, b0, b1) for the blocks [b0, b1) of order[0 .. n), in
  /// order, each gathered into a RowBlock first. With `overlap` a second
  /// thread gathers block b + 1 while block b is consumed (on the calling
  /// thread, which keeps the GIL-holding thread's identity for callbacks);
  /// without it, or when the runtime grants a single thread, one thread
  /// alternates. An exception from either side ends the epoch after the
  /// current block and is rethrown here.
  template <class Consume>
  void run(const Dataset<T>& data, const index_t* order, index_t n, index_t block_rows,
           bool overlap, Consume&& consume) {
    const index_t blocks = (n + block_rows - 1) / block_rows;
    auto end = [&](index_t b) { return std::min(n, (b + 1) * block_rows); };
    auto gather = [&](index_t b) {
      blocks_[b & 1].gather(data, order + b * block_rows, end(b) - b * block_rows);
    };
    auto use = [&](index_t b) { consume(blocks_[b & 1].data(), b * block_rows, end(b)); };
    if (blocks == 0) return;
    gather(0);
    if (!overlap || blocks == 1) {
      for (index_t b = 0; b < blocks; ++b) {
        if (b > 0) gather(b);
        use(b);
      }
      return;
    }
    std::exception_ptr errors[2];
    // failed[b & 1]: whether round b failed. Set before round b's barrier
    // and read after it; a thread already in round b + 1 sets the other
    // slot, so every thread reads the same value and they stop together.
    bool failed[2] = {false, false};
    DESCEND_OMP(omp parallel num_threads(2))
    {
      const int thread = detail::thread_num(), last = detail::team_size() - 1;
      for (index_t b = 0; b < blocks; ++b) {
        // Different buffers: block b is read while block b + 1 is written.
        bool& round_failed = failed[b & 1];
        if (thread == 0) capture(errors[0], round_failed, [&] { use(b); });
        if (thread == last && b + 1 < blocks) capture(errors[1], round_failed, [&] { gather(b + 1); });
        DESCEND_OMP(omp barrier)
        if (round_failed) break;
      }
    }
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

 private:
  // Runs f; an exception is kept (no exception may leave an OpenMP region).
  template <class F>
  static void capture(std::exception_ptr& error, bool& failed, F&& f) {
    try {
      f();
    } catch (...) {
      error = std::current_exception();
      DESCEND_OMP(omp atomic write)
      failed = true;
    }
  }

  RowBlock<T> blocks_[2];
};

}  // namespace descend
