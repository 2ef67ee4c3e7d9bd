// Stopping rules, checked once per iteration (batch) or epoch (sgd,
// minibatch) on the objective J_k and, for batch, the gradient norm.
#pragma once

#include <algorithm>
#include <cmath>
#include <optional>

#include <string>

#include "config.hpp"
#include "errors.hpp"

namespace descend {

/// How a run ended; Running while it goes on.
enum class Status { Running, MaxIter, Tol, Gtol, Diverged, Callback, LineSearch };

/// The public name (FitResult.status in Python): "max_iter", "tol", ...
inline const char* status_name(Status s) {
  switch (s) {
    case Status::Running: return "running";
    case Status::MaxIter: return "max_iter";
    case Status::Tol: return "tol";
    case Status::Gtol: return "gtol";
    case Status::Diverged: return "diverged";
    case Status::Callback: return "callback";
    case Status::LineSearch: return "line_search";
  }
  return "?";
}

/// The Status called `name` (status_name's inverse).
inline Status status_from_name(const std::string& name) {
  for (Status s : {Status::Running, Status::MaxIter, Status::Tol, Status::Gtol, Status::Diverged, Status::Callback,
                   Status::LineSearch})
    if (name == status_name(s)) return s;
  detail::invalid("unknown status '", name, "'");
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

/// Checks a rule before any work; messages name descend.fit's arguments.
/// max_iter = 0 is allowed everywhere: the run validates its input and
/// returns the start.
inline void validate_stopping(const StoppingRule& rule) {
  if (rule.max_iter < 0) detail::invalid("max_iter must be >= 0, got ", rule.max_iter);
  if (rule.n_iter_no_change < 1)
    detail::invalid("n_iter_no_change must be >= 1, got ", rule.n_iter_no_change);
  if (rule.tol) detail::check_non_negative(*rule.tol, "tol");
  if (rule.gtol) detail::check_non_negative(*rule.gtol, "gtol");
}

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
    const index_t since = since_restart_++;
    if (k == 0) start_ = objective;
    if (!std::isfinite(objective) ||
        objective > rule_.divergence_factor * std::max(start_, 1.0))
      return Status::Diverged;
    if (rule_.gtol && grad_norm <= *rule_.gtol) return Status::Gtol;
    if (rule_.tol && since > 0) {
      streak_ = relative_change(previous_, objective) <= *rule_.tol ? streak_ + 1 : 0;
      if (streak_ >= rule_.n_iter_no_change) return Status::Tol;
    }
    previous_ = objective;
    return Status::Running;
  }

  /// After a restart (on_divergence = Retry): the next check is compared
  /// with no earlier one, as a run's first is; J_0 stays the run's start.
  void restart() {
    since_restart_ = 0;
    streak_ = 0;
  }

  /// J_0, the first objective fed.
  double start() const { return start_; }
  /// The criteria it applies.
  const StoppingRule& rule() const { return rule_; }

 private:
  StoppingRule rule_;
  index_t checks_ = 0;
  index_t since_restart_ = 0;
  index_t streak_ = 0;
  double start_ = 0.0;
  double previous_ = 0.0;
};

/// Why a run stopped, in words; `unit` names what it counts (iterations,
/// epochs, steps).
inline std::string stop_message(Status s, index_t n_iter, const char* unit, const StoppingRule& rule) {
  using detail::message;
  switch (s) {
    case Status::MaxIter:
      return message("stopped after max_iter=", n_iter, " ", unit,
                     " without meeting the tolerance; raise max_iter or the learning rate");
    case Status::Tol:
      return message("converged: relative change of the objective <= tol for ", rule.n_iter_no_change,
                     " check(s) in a row after ", n_iter, " ", unit);
    case Status::Gtol: return message("converged: gradient norm <= gtol after ", n_iter, " ", unit);
    case Status::Callback: return message("stopped by the callback after ", n_iter, " ", unit);
    case Status::LineSearch:
      return message("stopped after ", n_iter, " ", unit, ": the line search found no point that decreases the "
                     "objective in ", 20, " trials (its last digits may be rounding there: a looser gtol or tol "
                     "stops earlier)");
    default: return status_name(s);
  }
}

/// What a run's message adds after `retries` restarts (on_divergence =
/// Retry): " (after 2 retries: learning rate divided by 100)"; nothing
/// for none.
inline std::string retry_note(int retries) {
  if (retries <= 0) return "";
  std::string divisor = "1";
  for (int r = 0; r < retries; ++r) divisor += "0";
  return detail::message(" (after ", retries, retries == 1 ? " retry" : " retries",
                         ": learning rate divided by ", divisor, ")");
}

/// The DivergenceError message: where the objective diverged, from where,
/// and the step size to blame. `unit` is "iteration", "epoch" or "step";
/// the rule is named as its argument (`rule_arg`='rule_name').
inline std::string divergence_message(const char* unit, index_t at, double objective, double start,
                                      double learning_rate, const char* rule_arg, const char* rule_name) {
  return detail::message("the objective diverged at ", unit, " ", at, " (objective = ", objective,
                         ", it started at ", start, ") with learning_rate=", learning_rate, " and ",
                         rule_arg, "='", rule_name, "'; try a smaller learning_rate, e.g. ",
                         learning_rate / 10);
}

/// The DivergenceError message when the objective at the start point,
/// before any step, is not finite: no learning rate is to blame.
inline std::string start_not_finite_message(double objective) {
  return detail::message("the objective is not finite at the start (objective = ", objective,
                         "): the start point (coef0, intercept0) overflows the loss on this data; "
                         "no learning rate can fix it");
}

/// The DivergenceError message when the final update (after the last
/// check, the one at `checks`) made the parameters non-finite.
inline std::string last_update_message(const char* unit, index_t checks, double learning_rate,
                                       const char* rule_arg, const char* rule_name) {
  return detail::message("the parameters became non-finite in the last update (after ", unit, " ", checks,
                         ") with learning_rate=", learning_rate, " and ", rule_arg, "='", rule_name,
                         "'; try a smaller learning_rate, e.g. ", learning_rate / 10);
}

}  // namespace descend
