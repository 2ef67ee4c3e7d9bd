// The fixed partition behind every deterministic reduction.
//
// Rows are cut into chunks whose size depends only on the problem's shape
// (rows, width), never on the thread count. Each chunk is reduced serially
// into its own slot; slots are then summed in chunk order. Threads only
// decide who computes which chunk, so results are bitwise identical for any
// n_threads.
#pragma once

#include <algorithm>
#include <vector>

#include "config.hpp"

namespace descend::detail {

/// Rows cut into `chunks` chunks of chunk_rows rows (the last may be shorter).
struct Partition {
  index_t rows = 0;        ///< rows reduced over
  index_t chunk_rows = 0;  ///< rows per chunk (the last chunk may be shorter)
  index_t chunks = 0;      ///< number of chunks, >= 1 when rows >= 1

  index_t begin(index_t c) const { return c * chunk_rows; }  ///< first row of chunk c
  /// One past the last row of chunk c.
  index_t end(index_t c) const { return std::min(rows, (c + 1) * chunk_rows); }
};

// A chunk holds at least this many elements of X: enough work to amortise
// its partial-sum slot, small enough to give 2..16 threads work to share.
constexpr index_t chunk_elements = index_t{1} << 15;
// Partial slots never exceed this many doubles in all (16 MiB).
constexpr index_t max_partial_doubles = index_t{1} << 21;
constexpr index_t max_chunks = 4096;

/// Cuts `rows` rows of `width` values each into chunks (a function of shape only).
inline Partition make_partition(index_t rows, index_t width) {
  Partition p;
  p.rows = rows;
  if (rows <= 0) return p;
  width = std::max<index_t>(width, 1);
  index_t chunk = std::max<index_t>(64, (chunk_elements + width - 1) / width);
  const index_t chunk_cap = std::max<index_t>(
      1, std::min(max_chunks, max_partial_doubles / (width + 1)));
  if ((rows + chunk - 1) / chunk > chunk_cap) chunk = (rows + chunk_cap - 1) / chunk_cap;
  p.chunk_rows = std::min(chunk, rows);
  p.chunks = (rows + p.chunk_rows - 1) / p.chunk_rows;
  return p;
}

/// make_partition(rows, width).chunks <= 1, without its divisions: no
/// more rows than the smallest chunk holds.
inline bool single_chunk(index_t rows, index_t width) {
  return rows <= 64 || rows * std::max<index_t>(width, 1) <= chunk_elements;
}

/// Whether a reduction over `elements` values is worth a parallel region.
inline bool worth_threading(index_t elements, index_t chunks, int n_threads) {
  return n_threads > 1 && chunks > 1 && elements >= chunk_elements * 2;
}

}  // namespace descend::detail
