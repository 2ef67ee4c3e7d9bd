// The tuning-free batch rules of solver.hpp's loop, both proximal
// gradient steps in the metric of the preconditioner P (precondition.hpp;
// P = 1 without it):
//   x+ = prox(y - lr P g),  prox_j(v) = sign(v) max(|v| - lr l1 P_j, 0)
// on the coefficients (the intercepts are not penalised).
//
// FistaMomentum: optimizer="nesterov", momentum="auto". Nesterov's
// accelerated gradient with the FISTA momentum sequence (Beck & Teboulle
// 2009) and adaptive gradient restart (O'Donoghue & Candes 2015): the
// gradient is taken at the extrapolated point y, and
//   x+ = prox(y - lr P g)
//   if (y - x+)^T P^-1 (x+ - x) > 0: t = 1  (the momentum points uphill: restart)
//   t+ = (1 + sqrt(1 + 4 t^2)) / 2,  y+ = x+ + ((t - 1) / t+) (x+ - x),  x = x+,  t = t+
// from t = 1 (so the first step is a plain one). It converges at the
// sqrt(kappa) rate of the accelerated methods without knowing kappa.
//
// BarzilaiBorwein: learning_rate="bb" with optimizer="gd". With s = theta -
// theta_prev and y = g - g_prev, the steps alternate between the two
// Barzilai-Borwein quotients in the preconditioned metric (ABB, Dai &
// Fletcher 2005), the long one first:
//   alpha = max(s^T P^-1 s / s^T y, alpha_0),  then  max(s^T y / y^T P y, alpha_0)
// (alpha_0 when s^T y <= 0: near the optimum the differences are rounding,
// and a step kept that small would stall the run). Measured against the
// long step alone on the bundled datasets and kappa ~1e6 problems: about
// half the iterations on average and a third of the worst case. Safeguarded by the nonmonotone acceptance of
// SpaRSA (Wright, Nowak & Figueiredo 2009): a point reached with step
// alpha is accepted when
//   J <= max(the last bb_memory accepted objectives) - (bb_gamma / (2 alpha)) s^T P^-1 s
// or, near the optimum, when its objective is within rounding of the last
// accepted one's, J_last, and its gradient is smaller there:
//   J <= J_last + bb_rounding m eps |J_last|  and  g^T P g < g_prev^T P g_prev
// (m rows, eps the double's: the sums of m terms behind J carry about
// that much rounding), and otherwise replaced by the step from theta_prev
// with alpha / 2 (a rejected point is no check: it is neither in the
// history nor counted as an iteration). Without the second condition the
// run stalls where the steps' decrease is below J's rounding: on kappa
// ~1e6 least squares the rejected points' J - J_last were 4e-15 to
// 2.3e-13 of J (200 rows), noise that depends on the machine's last bits,
// and the gradient norm settled between 1e-11 and 1e-10. The first step is alpha_0 = 1 / (c trace(P H) + l2
// max P), at most 1/L.
#pragma once

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <vector>

#include "config.hpp"
#include "penalties.hpp"

namespace descend::detail {

// x+ for element j: the gradient step in the metric P, then the l1 prox
// on a coefficient.
inline double prox_step(double y, double g, double lr, double p, bool coefficient, double l1) {
  const double v = y - lr * p * g;
  return coefficient && l1 > 0 ? shrink(v, lr * l1 * p) : v;
}

/// FISTA with adaptive restart; theta holds y, x the last prox point.
class FistaMomentum {
 public:
  /// Back to t = 1: the next step is a plain one.
  void reset() { t_ = 1.0; }

  /// One step over the n learnt parameters (the first n_coef coefficients):
  /// theta (y) becomes y+, x becomes x+; p: P (null: identity).
  template <class T>
  void step(T* theta, T* x, const double* g, index_t n, index_t n_coef, double lr, double l1, const double* p) {
    double uphill = 0.0;
    for (index_t j = 0; j < n; ++j) {
      const double pj = p ? p[j] : 1.0;
      const double y = double(theta[j]);
      const double xp = double(static_cast<T>(prox_step(y, g[j], lr, pj, j < n_coef, l1)));
      uphill += (y - xp) * (xp - double(x[j])) / pj;
      theta[j] = static_cast<T>(xp);
    }
    if (uphill > 0) t_ = 1.0;
    const double t_next = 0.5 * (1.0 + std::sqrt(1.0 + 4.0 * t_ * t_));
    const double beta = (t_ - 1.0) / t_next;
    t_ = t_next;
    for (index_t j = 0; j < n; ++j) {
      const double xp = double(theta[j]);
      theta[j] = static_cast<T>(xp + beta * (xp - double(x[j])));
      x[j] = static_cast<T>(xp);
    }
  }

  double t() const { return t_; }  ///< the current momentum sequence value

 private:
  double t_ = 1.0;
};

/// Objectives the nonmonotone acceptance looks back over, and its
/// sufficient-decrease factor.
constexpr int bb_memory = 30;
constexpr double bb_gamma = 1e-4;
/// Rejections in a row after which a point is taken anyway (its check then
/// sees whatever it is: a divergence, usually).
constexpr int bb_max_backtracks = 60;
/// Ulps of J per row taken as the rounding of J, a sum over `rows` rows.
constexpr double bb_rounding = 16.0;

/// The rounding an objective J summed over `rows` rows may carry:
/// bb_rounding rows eps |J| (BB's acceptance, lbfgs's line search).
inline double objective_rounding(double objective, index_t rows) {
  return bb_rounding * double(rows) * std::numeric_limits<double>::epsilon() * std::abs(objective);
}

/// Barzilai-Borwein steps with the nonmonotone safeguard.
class BarzilaiBorwein {
 public:
  /// A fresh start with first step alpha0 over n parameters.
  void reset(double alpha0, index_t n) {
    alpha_ = alpha0_ = alpha0;
    quotients_ = 0;
    theta_prev_.clear();
    g_prev_.assign(static_cast<size_t>(n), 0.0);
    recent_.clear();
    backtracks_ = 0;
  }

  /// Whether the point theta with objective J and gradient g over `rows`
  /// rows (reached from the last accepted one with step alpha()) is
  /// accepted; the start always is.
  template <class T>
  bool accept(const T* theta, const double* g, index_t n, double objective, index_t rows, const double* p) const {
    if (theta_prev_.empty() || backtracks_ >= bb_max_backtracks) return true;
    const double worst = *std::max_element(recent_.begin(), recent_.end());
    if (objective <= worst - bb_gamma / (2.0 * alpha_) * metric_step(theta, n, p)) return true;
    const double last = recent_.back();
    return objective <= last + objective_rounding(last, rows) && metric_gradient(g, n, p) < metric_gradient(g_prev_.data(), n, p);
  }

  /// A rejected point: theta from the last accepted one with half the step.
  template <class T>
  void backtrack(T* theta, index_t n, index_t n_coef, double l1, const double* p) {
    alpha_ *= 0.5;
    ++backtracks_;
    for (index_t j = 0; j < n; ++j)
      theta[j] = static_cast<T>(prox_step(theta_prev_[static_cast<size_t>(j)], g_prev_[static_cast<size_t>(j)],
                                          alpha_, p ? p[j] : 1.0, j < n_coef, l1));
  }

  /// An accepted point theta with gradient g and objective J: the next
  /// step size from it (alpha()), and it becomes the point steps start from.
  template <class T>
  void accepted(const T* theta, const double* g, index_t n, double objective, const double* p) {
    if (!theta_prev_.empty()) {
      double ss = 0.0, sy = 0.0, yy = 0.0;
      for (index_t j = 0; j < n; ++j) {
        const double pj = p ? p[j] : 1.0;
        const double s = double(theta[j]) - theta_prev_[static_cast<size_t>(j)];
        const double y = g[j] - g_prev_[static_cast<size_t>(j)];
        ss += s * s / pj;
        sy += s * y;
        yy += y * y * pj;
      }
      alpha_ = alpha0_;
      if (sy > 0) {
        const double quotient = ++quotients_ % 2 == 1 ? ss / sy : sy / yy;
        if (std::isfinite(quotient)) alpha_ = std::max(quotient, alpha0_);
      }
    }
    theta_prev_.assign(theta, theta + n);
    std::copy(g, g + n, g_prev_.begin());
    recent_.push_back(objective);
    if (recent_.size() > static_cast<size_t>(bb_memory)) recent_.pop_front();
    backtracks_ = 0;
  }

  double alpha() const { return alpha_; }  ///< the step the next update takes

 private:
  // s^T P^-1 s, s = theta - theta_prev.
  template <class T>
  double metric_step(const T* theta, index_t n, const double* p) const {
    double ss = 0.0;
    for (index_t j = 0; j < n; ++j) {
      const double s = double(theta[j]) - theta_prev_[static_cast<size_t>(j)];
      ss += s * s / (p ? p[j] : 1.0);
    }
    return ss;
  }

  // g^T P g.
  static double metric_gradient(const double* g, index_t n, const double* p) {
    double gg = 0.0;
    for (index_t j = 0; j < n; ++j) gg += g[j] * g[j] * (p ? p[j] : 1.0);
    return gg;
  }

  double alpha_ = 0.0, alpha0_ = 0.0;
  long long quotients_ = 0;  // BB quotients taken: odd the long step, even the short
  std::vector<double> theta_prev_, g_prev_;
  std::deque<double> recent_;
  int backtracks_ = 0;
};

}  // namespace descend::detail
