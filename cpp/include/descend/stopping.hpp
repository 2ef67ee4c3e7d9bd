// Stopping rules, checked once per iteration (batch) or epoch (sgd,
// minibatch) on the objective J_k and, for batch, the gradient norm.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>

#include "config.hpp"

namespace descend {

/// How a run ended; Running while it goes on.
enum class Status { Running, MaxIter, Tol, Gtol, Diverged, Callback };

/// The public name (FitResult.status in Python): "max_iter", "tol", ...
inline const char* status_name(Status s) {
  switch (s) {
    case Status::Running: return "running";
    case Status::MaxIter: return "max_iter";
    case Status::Tol: return "tol";
    case Status::Gtol: return "gtol";
    case Status::Diverged: return "diverged";
    case Status::Callback: return "callback";
  }
  return "?";
}

/// Converged means the run met tol or gtol.
inline bool converged(Status s) { return s == Status::Tol || s == Status::Gtol; }

/// The stopping criteria; an empty optional switches that criterion off.
///   tol:  |J_{k-1} - J_k| / max(|J_{k-1}|, |J_k|, 1) <= tol for
///         n_iter_no_change checks in a row (the relative change of SciPy's L-BFGS-B ftol)
///   gtol: ||g_k||_2 <= gtol (batch only)
///   divergence: J_k not finite, or J_k > divergence_factor * max(J_0, 1)
struct StoppingRule {
  index_t max_iter = 1000;                ///< iterations (batch) or epochs at most
  std::optional<double> tol = 1e-6;       ///< relative change of J; empty: off
  index_t n_iter_no_change = 1;           ///< checks in a row below tol
  std::optional<double> gtol;             ///< ||g||_2 threshold (batch); empty: off
  double divergence_factor = 1e10;        ///< J above this times max(J_0, 1) diverges
};

/// Relative change of the objective, as the tol criterion measures it.
inline double relative_change(double previous, double current) {
  const double scale = std::max({std::fabs(previous), std::fabs(current), 1.0});
  return std::fabs(previous - current) / scale;
}

/// Applies a StoppingRule to the sequence of checks of one run.
class StoppingMonitor {
 public:
  explicit StoppingMonitor(const StoppingRule& rule) : rule_(rule) {}

  /// Feeds check k's objective and gradient norm (NaN where unknown);
  /// returns Running or why the run stops. max_iter is the loop's business.
  Status check(double objective, double grad_norm) {
    const index_t k = checks_++;
    if (k == 0) start_ = objective;
    if (!std::isfinite(objective) ||
        objective > rule_.divergence_factor * std::max(start_, 1.0))
      return Status::Diverged;
    if (rule_.gtol && grad_norm <= *rule_.gtol) return Status::Gtol;
    if (rule_.tol && k > 0) {
      streak_ = relative_change(previous_, objective) <= *rule_.tol ? streak_ + 1 : 0;
      if (streak_ >= rule_.n_iter_no_change) return Status::Tol;
    }
    previous_ = objective;
    return Status::Running;
  }

  /// J_0, the first objective fed.
  double start() const { return start_; }

 private:
  StoppingRule rule_;
  index_t checks_ = 0;
  index_t streak_ = 0;
  double start_ = 0.0;
  double previous_ = 0.0;
};

}  // namespace descend
