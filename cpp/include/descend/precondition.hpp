// precondition="auto": preconditioned batch gradient descent, so that raw
// features (scales 1e-3 ... 1e3, means far from zero) converge as
// standardised ones do, while X is never scaled, centred, copied or
// written.
//
// The solver steps u = (coef, c) instead of theta = (coef, b), where
// c = b + mu^T coef is the intercept of the centred columns x - mu (mu the
// weighted column means; only when the intercept is learnt, else c = b and
// mu = 0), in the metric of the diagonal P = 1/s of the centred columns'
// weighted mean squares s_j = (1/n) sum_i w_i (x_ij - mu_j)^2 (the Jacobi
// preconditioner of the centred Hessian; the intercept's entry is
// (1/n) sum_i w_i): a step of a rule linear in the gradient (gd, momentum,
// nesterov) on z = D u, D = diag(sqrt(s)), where every column has unit mean
// square, is the same as stepping u with P g_u, g_u = A^T g the gradient in
// u (g_coef - mu g_b, and g_b), A the map u -> theta (b = c - mu^T coef).
// That is what standardising X would do, without touching X: the
// objective, its penalties (on the original coef) and the coefficients
// returned stay the original ones. Measured in z the gradient is D^-1 g_u,
// so gtol and grad_norm compare sqrt(sum_j P_j g_u,j^2).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "dataset.hpp"
#include "entries.hpp"
#include "params.hpp"

namespace descend::detail {

/// Weighted column sums of Z = [X, 1]: sums_j = sum_i w_i z_ij and
/// squares_j = sum_i w_i z_ij^2, d + 1 entries each (the last: the ones
/// column, sum_i w_i twice).
struct ColumnSums {
  std::vector<double> sums, squares;
};

/// ColumnSums of a local dataset in one pass (for_each_entry).
template <class T>
ColumnSums column_sums(const Dataset<T>& data) {
  const index_t n = data.rows(), d = data.features();
  ColumnSums c{std::vector<double>(static_cast<size_t>(d + 1), 0.0), std::vector<double>(static_cast<size_t>(d + 1), 0.0)};
  auto add = [&c](index_t j, double w, double x) {
    c.sums[static_cast<size_t>(j)] += w * x;
    c.squares[static_cast<size_t>(j)] += w * x * x;
  };
  for (index_t i = 0; i < n; ++i) add(d, data.weight(i), 1.0);
  for_each_entry(data, [&](index_t i, index_t j, double x) { add(j, data.weight(i), x); });
  return c;
}

/// What the solver needs of the columns: P per column of Z (d + 1), the
/// diagonal of H in the solver's coordinates (d + 1; learning_rate="bb"'s
/// trace) and the means mu (d; empty: no centring).
struct Scaling {
  std::vector<double> columns;   ///< P per column, empty when not preconditioned
  std::vector<double> diagonal;  ///< (1/n) sum_i w_i (z_ij - mu_j)^2
  std::vector<double> mean;      ///< mu, empty when not centred
};

/// The Scaling of columns with sums `c` over n rows: centred when
/// `center` (the intercept is learnt), P = 1/s when `precondition`. A
/// column whose centred mean square is zero or lost to rounding (a constant
/// column; its coefficient is tied to the intercept) takes 1/(its raw mean
/// square), and an all-zero one 1.
inline Scaling scaling(const ColumnSums& c, index_t n, bool center, bool precondition) {
  const size_t d = c.sums.size() - 1;
  const double weight = c.sums[d];  // sum_i w_i > 0 (validate_total_weight)
  Scaling s;
  s.diagonal.resize(d + 1);
  if (center) s.mean.resize(d);
  for (size_t j = 0; j <= d; ++j) {
    const double raw = c.squares[j] / double(n);
    double v = raw;
    if (center && j < d) {
      s.mean[j] = c.sums[j] / weight;
      const double centred = raw - weight / double(n) * s.mean[j] * s.mean[j];
      v = centred > 1e-12 * raw ? centred : raw;
    }
    s.diagonal[j] = v;
  }
  if (precondition)
    for (double v : s.diagonal) s.columns.push_back(v > 0 && std::isfinite(1.0 / v) ? 1.0 / v : 1.0);
  return s;
}

/// P over the learnt parameters (coef (d, k) row-major, then the k
/// intercepts when learnt) from P per column (d + 1).
inline std::vector<double> preconditioner(const std::vector<double>& columns, ParamLayout layout,
                                          bool fit_intercept) {
  const index_t d = layout.features, k = layout.outputs;
  std::vector<double> p;
  p.reserve(static_cast<size_t>((d + 1) * k));
  for (index_t j = 0; j <= d; ++j)
    if (j < d || fit_intercept) p.insert(p.end(), static_cast<size_t>(k), columns[static_cast<size_t>(j)]);
  return p;
}

/// The largest P over the coefficients: the l2 term's curvature in the
/// scaled coordinates is l2 P_j.
inline double max_coef_preconditioner(const std::vector<double>& columns) {
  return columns.size() > 1 ? *std::max_element(columns.begin(), columns.end() - 1) : 1.0;
}

/// theta = (coef (d, k) row-major, b (k)) -> u = (coef, c), c = b + mu^T coef
/// (in place; `to_u` false: back, b = c - mu^T coef).
template <class V>
void recentre(V* theta, const std::vector<double>& mean, index_t k, bool to_u) {
  const index_t d = index_t(mean.size());
  for (index_t o = 0; o < k; ++o) {
    double shift = 0.0;
    for (index_t j = 0; j < d; ++j) shift += mean[static_cast<size_t>(j)] * double(theta[j * k + o]);
    V& b = theta[d * k + o];
    b = static_cast<V>(double(b) + (to_u ? shift : -shift));
  }
}

/// The gradient in u from the gradient in theta: g_coef - mu g_b (A^T g).
inline void gradient_in_u(const double* g, double* g_u, const std::vector<double>& mean, index_t n, index_t k) {
  std::copy(g, g + n, g_u);
  const index_t d = index_t(mean.size());
  for (index_t j = 0; j < d; ++j)
    for (index_t o = 0; o < k; ++o) g_u[j * k + o] -= mean[static_cast<size_t>(j)] * g[d * k + o];
}

}  // namespace descend::detail
