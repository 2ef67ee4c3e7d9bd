// learning_rate="auto": alpha = 1/L with L a Lipschitz bound of the
// objective's gradient, so a user never has to guess a rate.
//
// For a smooth loss with loss''(p) <= c (squared 2, logistic 1/4, huber 1,
// softmax 1/2 per class block), the Hessian of the data term is bounded by
// c H with H = (1/n) Z^T W Z, Z = [X, 1] (the ones column only when the
// intercept is learnt). So
//   batch:           L = c lambda_max(H) + l2, lambda_max by Lanczos;
//   sgd, minibatch:  L = c max_i w_i ||z_i||^2 + l2 (any single row's bound).
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "gradient.hpp"
#include "precondition.hpp"
#include "random.hpp"

namespace descend {

namespace detail {

// loss(p) = p^2 / 2 whatever y is: its gradient at theta = v is H v, so the
// fused kernel gives one power-iteration product per pass over X.
struct CurvatureLoss {
  double eval(double p, double, double& deriv) const {
    deriv = p;
    return 0.0;
  }
};

// Lanczos steps: each is one fused pass over X. The largest Ritz value
// converges to lambda_max far faster than the power iteration (which can
// crawl for a hundred steps near a lower eigenvector when the start has a
// tiny top component and lambda_2 is close), and it is exact once the
// Krylov space spans all of Z's columns (at most d + 1 steps).
// A settled Ritz value only ends the iteration after lanczos_min_steps.
constexpr int lanczos_max_steps = 64;
constexpr int lanczos_min_steps = 10;
constexpr double lanczos_rtol = 1e-10;

inline double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t j = 0; j < a.size(); ++j) s += a[j] * b[j];
  return s;
}

// Number of eigenvalues < x of the symmetric tridiagonal matrix with
// diagonal a and off-diagonal b (Sturm sequence).
inline int eigenvalues_below(const std::vector<double>& a, const std::vector<double>& b, double x) {
  int count = 0;
  double q = 1.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double off = i == 0 ? 0.0 : b[i - 1] * b[i - 1];
    q = a[i] - x - (i == 0 ? 0.0 : off / (q != 0.0 ? q : 1e-300));
    if (q < 0) ++count;
  }
  return count;
}

// Largest eigenvalue of that tridiagonal matrix, by bisection inside its
// Gershgorin interval.
inline double tridiagonal_lambda_max(const std::vector<double>& a, const std::vector<double>& b) {
  double lo = 0.0, hi = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    const double r = (i > 0 ? std::fabs(b[i - 1]) : 0.0) + (i < b.size() ? std::fabs(b[i]) : 0.0);
    lo = std::min(lo, a[i] - r);
    hi = std::max(hi, a[i] + r);
  }
  const int n = static_cast<int>(a.size());
  for (int it = 0; it < 200 && hi - lo > 1e-15 * std::max(std::fabs(hi), 1e-300); ++it) {
    const double mid = 0.5 * (lo + hi);
    (eigenvalues_below(a, b, mid) < n ? lo : hi) = mid;
  }
  return hi;
}

/// lambda_max of H = (1/n) Z^T W Z (Z = X, plus a column of ones with
/// the intercept) by Lanczos with full reorthogonalisation from a fixed
/// seeded start (deterministic: the same estimate for any thread count).
/// sums(v, hv) writes sum_i w_i (z_i . v) z_i, d + 1 entries, for v in T
/// (the intercept's entry last).
template <class T, class Sums>
double lanczos_lambda_max(index_t d, index_t rows, bool with_intercept, Sums&& sums) {
  const size_t m = static_cast<size_t>(d + 1);
  const int steps = static_cast<int>(std::min<index_t>(lanczos_max_steps, with_intercept ? d + 1 : d));
  std::vector<double> q(m);
  Random rng(0x5eedULL);
  for (double& x : q) x = double(rng.next() >> 11) * 0x1.0p-53 - 0.5;
  if (!with_intercept) q[m - 1] = 0.0;
  std::vector<std::vector<double>> basis;
  std::vector<double> alpha, beta, w(m);
  std::vector<T> qt(m);
  double norm = std::sqrt(dot(q, q)), lambda = 0.0;
  for (int k = 0; k < steps && norm > 0; ++k) {
    for (double& x : q) x /= norm;
    basis.push_back(q);
    for (size_t j = 0; j < m; ++j) qt[j] = static_cast<T>(q[j]);
    sums(qt.data(), w.data());
    for (double& x : w) x /= double(rows);
    if (!with_intercept) w[m - 1] = 0.0;
    // H q past the double range (X near 1e300): so is lambda_max, as far
    // as any bound from these sums goes.
    for (const double x : w)
      if (!std::isfinite(x)) return std::numeric_limits<double>::infinity();
    alpha.push_back(dot(q, w));
    for (int pass = 0; pass < 2; ++pass)  // twice is enough (Kahan: "twice is enough")
      for (const auto& b : basis) {
        const double c = dot(b, w);
        for (size_t j = 0; j < m; ++j) w[j] -= c * b[j];
      }
    const double previous = lambda;
    lambda = tridiagonal_lambda_max(alpha, beta);
    norm = std::sqrt(dot(w, w));
    const bool settled = k + 1 >= lanczos_min_steps && std::fabs(lambda - previous) <= lanczos_rtol * lambda;
    if (norm <= 1e-12 * lambda || settled) break;
    beta.push_back(norm);
    q = w;
  }
  return lambda;
}

/// sums(v, hv) of lanczos_lambda_max for the Hessian in the preconditioned
/// coordinates z (precondition.hpp), D^-1 A^T H A D^-1, given those of H:
/// v -> u = P^(1/2) v -> theta = A u (b = c - mu^T coef) -> H theta -> A^T
/// -> P^(1/2). `sums` itself when the scaling has no P.
template <class T, class Sums>
auto scaled_sums(const Scaling& scaling, Sums sums) {
  std::vector<double> root(scaling.columns.size());
  for (size_t j = 0; j < root.size(); ++j) root[j] = std::sqrt(scaling.columns[j]);
  return [root, mean = scaling.mean, sums, v_scaled = std::vector<T>(root.size())](const T* v, double* hv) mutable {
    if (root.empty()) return sums(v, hv);
    const index_t n = index_t(root.size());
    for (size_t j = 0; j < root.size(); ++j) v_scaled[j] = static_cast<T>(double(v[j]) * root[j]);
    if (!mean.empty()) recentre(v_scaled.data(), mean, 1, false);
    sums(v_scaled.data(), hv);
    if (!mean.empty())
      for (size_t j = 0; j < mean.size(); ++j) hv[j] -= mean[j] * hv[n - 1];
    for (size_t j = 0; j < root.size(); ++j) hv[j] *= root[j];
  };
}

/// The same over a local dataset: H v is the fused kernel's gradient of
/// sum_i w_i (z_i . v)^2 / 2; with P per column (precondition.hpp), of
/// P^(1/2) H P^(1/2).
template <class T>
double gram_lambda_max(const Dataset<T>& data, bool with_intercept, int n_threads,
                       const Scaling& scaling = {}) {
  GradientWorkspace ws;
  return lanczos_lambda_max<T>(data.features(), data.rows(), with_intercept,
                               scaled_sums<T>(scaling, [&](const T* v, double* hv) {
                                 sum_loss_grad(data, RowRange{0, data.rows()}, v, CurvatureLoss{}, hv, n_threads, ws);
                               }));
}

/// max_i w_i ||z_i||^2 over the rows (z_i = x_i, plus a 1 with the intercept).
template <class T>
double max_row_norm2(const Dataset<T>& data, bool with_intercept) {
  const index_t n = data.rows();
  std::vector<double> sq(static_cast<size_t>(n), with_intercept ? 1.0 : 0.0);
  for_each_entry(data, [&](index_t i, index_t, double x) { sq[static_cast<size_t>(i)] += x * x; });
  double m = 0.0;
  for (index_t i = 0; i < n; ++i) m = std::max(m, data.weight(i) * sq[static_cast<size_t>(i)]);
  return m;
}

/// The curvature bound c of the loss (loss'' <= c), or an error naming
/// the loss when its gradient is not Lipschitz (hinge).
inline double loss_curvature(const LossSpec& loss, const char* learning_rate = "auto") {
  const double c = visit_loss(loss, [](const auto& l) { return l.curvature; });
  if (c == 0.0)
    detail::invalid("learning_rate='", learning_rate, "' needs a loss with a Lipschitz gradient; loss='",
                    loss_name(loss.kind), "' has none: pass a number or a schedule");
  return c;
}

/// L = c h + l2 (max P with P per column; h: the data's curvature bound).
inline double lipschitz_from(double c, double h, double l2, const std::vector<double>& columns) {
  return c * h + l2 * (columns.empty() ? 1.0 : max_coef_preconditioner(columns));
}

/// The step 1/L, or 1 when L = 0 (every gradient is zero: X = 0, no
/// intercept, no l2) or 1/L overflows. An L that overflows (X's values
/// near 1e300: their squares are past the double range) is an error naming
/// the rule: its 1/L would be a step of zero, a fit that learns nothing.
inline double inverse_lipschitz(double L, const char* learning_rate = "auto") {
  if (std::isinf(L))
    detail::invalid("learning_rate='", learning_rate, "' takes steps of 1/L, and L, the gradient's Lipschitz "
                    "bound, overflows for this X (its squared values are past the double range): scale X, "
                    "or pass a learning_rate number");
  return L > 0 && std::isfinite(1.0 / L) ? 1.0 / L : 1.0;
}

// h of L = c h + l2 for the rows an update reads: batch's all of them
// (the largest eigenvalue of the (scaled) Gram matrix, by Lanczos), an
// sgd or mini-batch update's one row at most (the largest squared row
// norm; those methods are not preconditioned).
template <class T>
double curvature_bound(const Dataset<T>& data, bool batch, bool with_intercept, int n_threads,
                       const Scaling& scaling = {}) {
  return batch ? gram_lambda_max(data, with_intercept, n_threads, scaling) : max_row_norm2(data, with_intercept);
}

/// The Lipschitz bound L of the objective's gradient for the rows one
/// update sees (all rows for batch, any one row otherwise); 1/L is the
/// "auto" learning rate. Throws for a loss without a Lipschitz gradient.
template <class T>
double lipschitz_bound(const Dataset<T>& data, const LossSpec& loss, bool batch, bool with_intercept,
                       double l2, int n_threads) {
  return lipschitz_from(loss_curvature(loss), curvature_bound(data, batch, with_intercept, n_threads), l2, {});
}

/// learning_rate="bb"'s first step, 1 / (c trace(H_z) + l2 max P) <= 1/L
/// (the trace bounds the largest eigenvalue), H_z the Hessian's data term
/// in the solver's coordinates (precondition.hpp; H itself without P).
inline double bb_first_step(const LossSpec& loss, const Scaling& scaling, bool with_intercept, double l2) {
  const double c = loss_curvature(loss, "bb");
  const auto& diag = scaling.diagonal;
  double trace = 0.0;
  for (size_t j = 0; j + (with_intercept ? 0 : 1) < diag.size(); ++j)
    trace += diag[j] * (scaling.columns.empty() ? 1.0 : scaling.columns[j]);
  return inverse_lipschitz(lipschitz_from(c, trace, l2, scaling.columns), "bb");
}

}  // namespace detail
}  // namespace descend
