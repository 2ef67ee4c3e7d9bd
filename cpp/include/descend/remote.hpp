// Data held elsewhere (the blocks of a distributed array, on other
// processes or machines): a batch fit needs only its sums at the current
// parameters, which the owner of the data computes (with this library's
// kernels, next to the data) and adds in a fixed order.
#pragma once

#include <functional>

#include "config.hpp"

namespace descend {

/// The sums a batch fit asks of data it does not hold; theta is
/// (coef (d, k) row-major, intercepts k), the sums have its layout.
template <class T>
struct RemoteSums {
  index_t rows = 0;      ///< n, the rows of all the data (the mean's divisor)
  index_t features = 0;  ///< d
  /// sum_i w_i loss(p_i, y_i) over all rows at theta; writes the
  /// gradient's sums, sum_i w_i dloss/dtheta, (d + 1) k doubles.
  std::function<double(const T* theta, double* grad_sums)> loss_grad;
  /// sum_i w_i (z_i . v) z_i (z_i = x_i then 1), d + 1 doubles: H v for
  /// learning_rate="auto" (may be empty otherwise).
  std::function<void(const T* v, double* sums)> curvature;
  /// sum_i w_i z_ij and sum_i w_i z_ij^2 for each column j of Z, d + 1
  /// doubles each: for precondition="auto" and learning_rate="bb" (may be
  /// empty otherwise).
  std::function<void(double* sums, double* squares)> column_sums;
};

}  // namespace descend
