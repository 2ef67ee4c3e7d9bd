// The 2-norm of a gradient, finite wherever the norm itself is.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "config.hpp"

namespace descend::detail {

/// sqrt(sum_j square(j, 1)), where square(j, m) is term j's contribution
/// with its value divided by m before it is squared (a weight, if any,
/// applied after). Summed as it reads; where that sum overflows while the
/// norm is representable (a gradient near 1e300: its squares are not), the
/// terms are summed again divided by the largest one's magnitude, as BLAS
/// nrm2 scales, and the norm is that magnitude times the root. A norm
/// whose plain sum is finite keeps the plain sum's bits; an infinite term
/// gives inf and a NaN gives NaN.
template <class Square>
double norm_of(index_t n, Square&& square) {
  double s = 0.0;
  for (index_t j = 0; j < n; ++j) s += square(j, 1.0);
  if (!std::isinf(s)) return std::sqrt(s);
  // Any finite value divided by 2^520 squares without overflow.
  constexpr double coarse = 0x1p520;
  double largest = 0.0;
  for (index_t j = 0; j < n; ++j) largest = std::max(largest, std::sqrt(square(j, coarse)) * coarse);
  if (std::isinf(largest) || !(largest > 0.0)) return std::numeric_limits<double>::infinity();
  s = 0.0;
  for (index_t j = 0; j < n; ++j) s += square(j, largest);
  return largest * std::sqrt(s);
}

}  // namespace descend::detail
