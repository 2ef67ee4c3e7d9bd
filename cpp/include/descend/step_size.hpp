// learning_rate="auto": alpha = 1/L with L a Lipschitz bound of the
// objective's gradient, so a user never has to guess a rate.
//
// For a smooth loss with loss''(p) <= c (squared 2, logistic 1/4, huber 1,
// softmax 1/2 per class block), the Hessian of the data term is bounded by
// c H with H = (1/n) Z^T W Z, Z = [X, 1] (the ones column only when the
// intercept is learnt). So
//   batch:           L = c lambda_max(H) + l2, lambda_max by power iteration;
//   sgd, minibatch:  L = c max_i w_i ||z_i||^2 + l2 (any single row's bound).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "gradient.hpp"
#include "random.hpp"

namespace descend {

namespace detail {

// loss(p) = p^2 / 2 whatever y is: its gradient at theta = v is H v, so the
// fused kernel gives one power-iteration product per pass over X.
struct CurvatureLoss {
  bool valid_target(double) const { return true; }
  double eval(double p, double, double& deriv) const {
    deriv = p;
    return 0.0;
  }
};

constexpr int power_iterations_max = 50;
constexpr double power_iterations_rtol = 1e-3;

template <class T>
double norm2(const std::vector<T>& v) {
  double s = 0.0;
  for (const T x : v) s += double(x) * double(x);
  return std::sqrt(s);
}

}  // namespace detail

/// lambda_max of H = (1/n) Z^T W Z by power iteration from a fixed seeded
/// start (deterministic: the same estimate for any thread count).
template <class T>
double gram_lambda_max(const Dataset<T>& data, bool with_intercept, int n_threads) {
  const index_t d = data.features();
  std::vector<T> v(static_cast<size_t>(d + 1));
  Random rng(0x5eedULL);
  for (T& x : v) x = static_cast<T>(double(rng.next() >> 11) * 0x1.0p-53 - 0.5);
  if (!with_intercept) v[static_cast<size_t>(d)] = 0;
  std::vector<double> hv(static_cast<size_t>(d + 1));
  GradientWorkspace ws;
  const RowRange all{0, data.rows()};
  double lambda = 0.0;
  double norm = detail::norm2(v);
  for (int it = 0; it < detail::power_iterations_max && norm > 0; ++it) {
    for (T& x : v) x = static_cast<T>(double(x) / norm);
    detail::sum_loss_grad(data, all, v.data(), detail::CurvatureLoss{}, hv.data(), n_threads, ws);
    if (!with_intercept) hv[static_cast<size_t>(d)] = 0.0;
    for (size_t j = 0; j < hv.size(); ++j) v[j] = static_cast<T>(hv[j] / double(data.rows()));
    norm = detail::norm2(v);  // ||H v|| with ||v|| = 1: rises to lambda_max
    const bool settled = std::fabs(norm - lambda) <= detail::power_iterations_rtol * norm;
    lambda = std::max(lambda, norm);
    if (settled) break;
  }
  return lambda;
}

/// max_i w_i ||z_i||^2 over the rows (z_i = x_i, plus a 1 with the intercept).
template <class T>
double max_row_norm2(const Dataset<T>& data, bool with_intercept) {
  const index_t n = data.rows(), d = data.features();
  std::vector<double> sq(static_cast<size_t>(n), with_intercept ? 1.0 : 0.0);
  const bool row_major = data.X.layout == Layout::RowMajor;
  // Walk X in memory order: rows outer for row-major, columns outer otherwise.
  for (index_t a = 0; a < (row_major ? n : d); ++a)
    for (index_t b = 0; b < (row_major ? d : n); ++b) {
      const index_t i = row_major ? a : b;
      const double x = double(data.X.data[a * (row_major ? d : n) + b]);
      sq[static_cast<size_t>(i)] += x * x;
    }
  double m = 0.0;
  for (index_t i = 0; i < n; ++i) m = std::max(m, data.weight(i) * sq[static_cast<size_t>(i)]);
  return m;
}

/// The Lipschitz bound L of the objective's gradient for the rows one
/// update sees (all rows for batch, any one row otherwise); 1/L is the
/// "auto" learning rate. Throws for a loss without a Lipschitz gradient.
template <class T>
double lipschitz_bound(const Dataset<T>& data, const LossSpec& loss, bool batch, bool with_intercept,
                       double l2, int n_threads) {
  const double c = visit_loss(loss, [](const auto& l) { return l.curvature; });
  if (c == 0.0)
    detail::invalid("learning_rate='auto' needs a loss with a Lipschitz gradient; loss='",
                    loss_name(loss.kind), "' has none: pass a number or a schedule");
  const double h = batch ? gram_lambda_max(data, with_intercept, n_threads)
                         : max_row_norm2(data, with_intercept);
  return c * h + l2;
}

}  // namespace descend
