// Row sets: which rows of X a kernel call visits. A batch iteration visits
// all rows; a mini-batch a contiguous slice (of X, or of a block of
// shuffled rows gathered into contiguous memory, gather.hpp), or for a
// sparse X the permutation's rows themselves.
#pragma once

#include "config.hpp"

namespace descend::detail {

/// Rows begin, begin+1, ..., begin+count-1.
struct RowRange {
  index_t begin = 0;
  index_t count = 0;
  index_t row(index_t k) const { return begin + k; }
};

/// Rows index[0], index[1], ..., index[count-1] (a shuffled mini-batch of
/// a sparse X, read in place).
struct RowList {
  const index_t* index = nullptr;
  index_t count = 0;
  index_t row(index_t k) const { return index[k]; }
};

}  // namespace descend::detail
