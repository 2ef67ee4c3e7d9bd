// Row sets: which rows of X a kernel call visits. A batch iteration visits
// all rows; a mini-batch a contiguous slice (of X, or of a block of
// shuffled rows gathered into contiguous memory, gather.hpp).
#pragma once

#include "config.hpp"

namespace descend::detail {

/// Rows begin, begin+1, ..., begin+count-1.
struct RowRange {
  index_t begin = 0;
  index_t count = 0;
  index_t row(index_t k) const { return begin + k; }
};

}  // namespace descend::detail
