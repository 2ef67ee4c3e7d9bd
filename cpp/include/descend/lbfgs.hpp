// optimizer="lbfgs" (method="batch"): limited-memory BFGS, and OWL-QN for
// l1 (Andrew & Gao 2007), in the coordinates u of the batch loop's other
// tuning-free rules (accelerated.hpp: centred and in the metric of the
// preconditioner P with precondition="auto"; P = 1 without).
//
// With f the smooth objective (the data term and l2), g its gradient in u,
// F = f + l1 ||coef||_1 and the pairs s_i = u_{i+1} - u_i,
// y_i = g_{i+1} - g_i of the last `history` accepted steps (kept when
// s_i^T y_i > 0):
//   v = g, or with l1 the pseudo-gradient: g_j + l1 sign(u_j) where
//       u_j != 0, else g_j + l1 if that is < 0, g_j - l1 if that is > 0,
//       else 0 (coefficients only)
//   two-loop recursion (Nocedal & Wright, Alg. 7.4), rho_i = 1 / s_i^T y_i:
//     q = v; newest to oldest: a_i = rho_i s_i^T q, q -= a_i y_i
//     r = gamma P q, gamma = s^T y / y^T P y of the newest pair (alpha_0
//         without pairs: bb_first_step, at most 1/L)
//     oldest to newest: b = rho_i y_i^T r, r += (a_i - b) s_i
//   d = -r; with l1 d_j = 0 where d_j v_j >= 0; where v^T d >= 0 (no
//   descent) the pairs go and d = -alpha_0 P v (projected likewise).
// The line search takes u + a d from a = 1: without l1 it enforces the
// strong Wolfe conditions (c1 = 1e-4, c2 = 0.9; Alg. 3.5 and 3.6, the
// zoom's trial at the minimiser of the cubic through its ends, kept 10%
// inside them, else the midpoint), where the decrease a unit step
// promises, -g^T d, is below the rounding of f (objective_rounding) with
// phi(a) <= phi(0) + that rounding for sufficient decrease (Hager and
// Zhang's approximate Wolfe conditions: there f's differences are noise,
// the gradient is not, and the exact condition stalls the run above
// gtol); with l1 it halves a until
// F(pi(u + a d)) <= F(u) + c1 v^T (pi(u + a d) - u), where pi sets to 0
// each coefficient that leaves u's orthant (sign(u_j), or sign(-v_j) at 0).
// Each trial is one fused loss+gradient pass; the accepted trial's is the
// next iteration's. A search that accepts nothing in lbfgs_max_evals
// trials ends the fit with Status::LineSearch at the point before it.
#pragma once

#include <algorithm>
#include <cmath>
#include <deque>
#include <vector>

#include "accelerated.hpp"
#include "config.hpp"

namespace descend::detail {

constexpr double lbfgs_c1 = 1e-4;  ///< sufficient decrease
constexpr double lbfgs_c2 = 0.9;   ///< curvature (strong Wolfe)
constexpr int lbfgs_max_evals = 20;  ///< trials per line search

inline double dot(const double* a, const double* b, index_t n) {
  double s = 0.0;
  for (index_t j = 0; j < n; ++j) s += a[j] * b[j];
  return s;
}

/// The pairs and the search direction of L-BFGS / OWL-QN.
class Lbfgs {
 public:
  /// A fresh start over n parameters (the first n_coef coefficients).
  void reset(index_t n, index_t n_coef, int history, double alpha0) {
    n_ = n;
    n_coef_ = n_coef;
    history_ = std::max(1, history);
    alpha0_ = alpha0;
    pairs_.clear();
    q_.assign(static_cast<size_t>(n), 0.0);
    a_.clear();
  }

  /// v: the gradient g, or with l1 > 0 the pseudo-gradient at u.
  void steepest(const double* u, const double* g, double l1, double* v) const {
    for (index_t j = 0; j < n_; ++j) {
      v[j] = g[j];
      if (j >= n_coef_ || !(l1 > 0)) continue;
      if (u[j] > 0) v[j] = g[j] + l1;
      else if (u[j] < 0) v[j] = g[j] - l1;
      else if (g[j] + l1 < 0) v[j] = g[j] + l1;
      else if (g[j] - l1 > 0) v[j] = g[j] - l1;
      else v[j] = 0.0;
    }
  }

  /// d = -H v (P: the preconditioner, null for 1); returns v^T d, < 0.
  double direction(const double* v, const double* p, bool l1, double* d) {
    two_loop(v, p, d);
    project(v, l1, d);
    double slope = dot(v, d, n_);
    if (!(slope < 0)) {  // not a descent direction (or not finite): steepest descent, afresh
      pairs_.clear();
      for (index_t j = 0; j < n_; ++j) d[j] = -alpha0_ * (p ? p[j] : 1.0) * v[j];
      project(v, l1, d);
      slope = dot(v, d, n_);
    }
    return slope;
  }

  /// The step from u to u + s changed the gradient by y: a pair when s^T y > 0.
  void add_pair(std::vector<double> s, std::vector<double> y) {
    const double sy = dot(s.data(), y.data(), n_);
    if (!(sy > 0) || !std::isfinite(sy)) return;
    if (static_cast<int>(pairs_.size()) == history_) pairs_.pop_front();
    pairs_.push_back({std::move(s), std::move(y), 1.0 / sy});
  }

 private:
  struct Pair {
    std::vector<double> s, y;
    double rho;
  };

  void two_loop(const double* v, const double* p, double* d) {
    std::copy(v, v + n_, q_.begin());
    a_.resize(pairs_.size());
    for (size_t i = pairs_.size(); i-- > 0;) {
      const Pair& pr = pairs_[i];
      a_[i] = pr.rho * dot(pr.s.data(), q_.data(), n_);
      for (index_t j = 0; j < n_; ++j) q_[static_cast<size_t>(j)] -= a_[i] * pr.y[static_cast<size_t>(j)];
    }
    double gamma = alpha0_;
    if (!pairs_.empty()) {
      const Pair& last = pairs_.back();
      double ypy = 0.0;
      for (index_t j = 0; j < n_; ++j) ypy += last.y[static_cast<size_t>(j)] * last.y[static_cast<size_t>(j)] * (p ? p[j] : 1.0);
      gamma = (1.0 / last.rho) / ypy;
    }
    for (index_t j = 0; j < n_; ++j) d[j] = gamma * (p ? p[j] : 1.0) * q_[static_cast<size_t>(j)];
    for (size_t i = 0; i < pairs_.size(); ++i) {
      const Pair& pr = pairs_[i];
      const double b = pr.rho * dot(pr.y.data(), d, n_);
      for (index_t j = 0; j < n_; ++j) d[j] += (a_[i] - b) * pr.s[static_cast<size_t>(j)];
    }
    for (index_t j = 0; j < n_; ++j) d[j] = -d[j];
  }

  // OWL-QN: a coefficient's step must oppose its pseudo-gradient.
  void project(const double* v, bool l1, double* d) const {
    if (!l1) return;
    for (index_t j = 0; j < n_coef_; ++j)
      if (d[j] * v[j] >= 0) d[j] = 0.0;
  }

  index_t n_ = 0, n_coef_ = 0;
  int history_ = 10;
  double alpha0_ = 0.0;
  std::deque<Pair> pairs_;
  std::vector<double> q_, a_;
};

/// The minimiser of the cubic through (lo, f_lo, df_lo) and (hi, f_hi,
/// df_hi), kept 10% of the interval inside its ends; the midpoint where it
/// is not defined or falls outside.
inline double cubic_trial(double lo, double f_lo, double df_lo, double hi, double f_hi, double df_hi) {
  const double mid = 0.5 * (lo + hi);
  const double d1 = df_lo + df_hi - 3.0 * (f_lo - f_hi) / (lo - hi);
  const double disc = d1 * d1 - df_lo * df_hi;
  if (!(disc >= 0) || !std::isfinite(disc)) return mid;
  const double d2 = (hi > lo ? 1.0 : -1.0) * std::sqrt(disc);
  const double a = hi - (hi - lo) * (df_hi + d2 - d1) / (df_hi - df_lo + 2.0 * d2);
  const double left = std::min(lo, hi), width = std::abs(hi - lo);
  if (!std::isfinite(a) || a < left + 0.1 * width || a > left + width - 0.1 * width) return mid;
  return a;
}

/// One line search along d from a point with objective phi0 (carrying
/// `rounding`) and slope dphi0 < 0. `eval(a, phi, dphi)` moves to u + a d
/// (projected with l1) and returns whether the point was taken; the
/// search needs: phi the objective the conditions read (f, or F with l1),
/// dphi = g^T d there (strong Wolfe only). Returns the accepted a, or 0
/// when none was.
template <class Eval>
double line_search(double phi0, double dphi0, double rounding, bool wolfe, Eval&& eval) {
  double phi, dphi;
  if (!wolfe) {  // OWL-QN: backtracking on the projected point
    double a = 1.0;
    for (int k = 0; k < lbfgs_max_evals; ++k, a *= 0.5)
      if (eval(a, phi, dphi)) return a;
    return 0.0;
  }
  double prev = 0.0, phi_prev = phi0, dphi_prev = dphi0, a = 1.0;
  int evals = 0;
  const bool noise = -dphi0 <= rounding;  // approximate Wolfe (above)
  auto sufficient = [&](double t, double v) {
    return v <= phi0 + lbfgs_c1 * t * dphi0 || (noise && v <= phi0 + rounding);
  };
  auto curvature = [&](double slope) { return std::abs(slope) <= -lbfgs_c2 * dphi0; };
  double lo = 0, f_lo = 0, df_lo = 0, hi = 0, f_hi = 0, df_hi = 0;
  bool zoom = false;
  while (evals < lbfgs_max_evals) {
    eval(a, phi, dphi);
    ++evals;
    if (!sufficient(a, phi) || (evals > 1 && phi >= phi_prev)) {
      lo = prev, f_lo = phi_prev, df_lo = dphi_prev, hi = a, f_hi = phi, df_hi = dphi;
      zoom = true;
      break;
    }
    if (curvature(dphi)) return a;
    if (dphi >= 0) {
      lo = a, f_lo = phi, df_lo = dphi, hi = prev, f_hi = phi_prev, df_hi = dphi_prev;
      zoom = true;
      break;
    }
    prev = a, phi_prev = phi, dphi_prev = dphi;
    a *= 2.0;
  }
  if (!zoom) return 0.0;
  while (evals < lbfgs_max_evals) {
    a = cubic_trial(lo, f_lo, df_lo, hi, f_hi, df_hi);
    eval(a, phi, dphi);
    ++evals;
    if (!sufficient(a, phi) || phi >= f_lo) {
      hi = a, f_hi = phi, df_hi = dphi;
      continue;
    }
    if (curvature(dphi)) return a;
    if (dphi * (hi - lo) >= 0) hi = lo, f_hi = f_lo, df_hi = df_lo;
    lo = a, f_lo = phi, df_lo = dphi;
  }
  return 0.0;
}

}  // namespace descend::detail
