// Row sets: which rows of X a kernel call visits. A batch iteration visits
// a contiguous range; a shuffled mini-batch visits a slice of a permutation.
#pragma once

#include "config.hpp"

namespace descend {

/// Rows begin, begin+1, ..., begin+count-1.
struct RowRange {
  index_t begin = 0;
  index_t count = 0;
  index_t row(index_t k) const { return begin + k; }
};

/// Rows index[0], ..., index[count-1] (a slice of a shuffle).
struct RowIndex {
  const index_t* index = nullptr;
  index_t count = 0;
  index_t row(index_t k) const { return index[k]; }
};

}  // namespace descend
