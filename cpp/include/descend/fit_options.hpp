// What a fit takes besides the data, and what it gives back: the options
// (defaults = descend.fit's), the observer hooks, the report and result.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "errors.hpp"
#include "losses.hpp"
#include "optimizers.hpp"
#include "params.hpp"
#include "schedules.hpp"
#include "stopping.hpp"
#include "validation.hpp"

namespace descend {

/// batch: all rows per update; sgd: one row per update; minibatch:
/// batch_size rows per update (the last short batch of an epoch is used).
enum class Method { Batch, SGD, MiniBatch };

/// The public name (method= in descend.fit).
inline const char* method_name(Method m) {
  switch (m) {
    case Method::Batch: return "batch";
    case Method::SGD: return "sgd";
    case Method::MiniBatch: return "minibatch";
  }
  return "?";
}

/// Whether a batch fit of the squared loss runs on the Gram matrix of X
/// (gram.hpp): Auto when it pays (detail::gram_pays), Always, Never.
enum class Precompute { Auto, Always, Never };

/// What a fit does when the objective diverges (stopping.hpp's rule):
/// Raise throws DivergenceError; Retry goes back to the best point checked
/// so far (the lowest objective, the start included) and runs on from
/// there with every step size divided by 10, the update rule's state, the
/// schedule and the shuffle's stream afresh, at most max_divergence_retries
/// times, then throws as Raise does. The history keeps the checks that led
/// to that point.
enum class OnDivergence { Raise, Retry };

/// Restarts on_divergence = Retry makes before it gives up.
constexpr int max_divergence_retries = 5;

/// The public name (on_divergence= in descend.fit).
inline const char* on_divergence_name(OnDivergence o) {
  switch (o) {
    case OnDivergence::Raise: return "raise";
    case OnDivergence::Retry: return "retry";
  }
  return "?";
}

/// Everything a fit needs besides the data; defaults match descend.fit.
struct FitOptions {
  LossSpec loss;                   ///< the pointwise loss
  Method method = Method::Batch;   ///< which rows each update uses
  UpdateRule optimizer = GD{};     ///< the update rule
  Schedule learning_rate;          ///< step size for update t
  bool auto_learning_rate = false; ///< ignore learning_rate: use 1/L (step_size.hpp)
  bool bb_learning_rate = false;   ///< ignore learning_rate: Barzilai-Borwein steps (accelerated.hpp)
  index_t batch_size = 32;         ///< rows per update for minibatch
  StoppingRule stopping;           ///< max_iter, tol, gtol, divergence
  OnDivergence on_divergence = OnDivergence::Raise;  ///< raise, or retry with smaller steps
  double l2 = 0.0;                 ///< (l2/2) ||coef||^2 in the objective
  double l1 = 0.0;                 ///< l1 ||coef||_1, applied as a proximal step
  bool fit_intercept = false;      ///< learn the intercept (else it stays at its start value)
  bool shuffle = true;             ///< fresh seeded shuffle every epoch (sgd, minibatch)
  std::uint64_t seed = 0;          ///< seed of the shuffle's Random stream
  int n_threads = 0;               ///< <= 0: get_num_threads()
  bool check_finite = true;        ///< reject NaN/inf in X and y before starting
  Precompute precompute = Precompute::Auto;  ///< squared loss, batch: iterate on X^T W X (gram.hpp)
  index_t average = 0;             ///< sgd, minibatch: k >= 1 returns the mean of the iterates from update k on; 0: off
  bool precondition = false;       ///< "auto": Jacobi scaling where it applies (preconditions())
};

/// Whether precondition="auto" scales this fit (precondition.hpp): batch
/// fits with the rules that are linear in the gradient (gd, momentum,
/// nesterov) and lbfgs (P is its H0); the adaptive rules scale their own steps, and sgd and
/// minibatch run unscaled.
inline bool preconditions(const FitOptions& o) {
  return o.precondition && o.method == Method::Batch &&
         (takes_auto_learning_rate(o.optimizer) || quasi_newton(o.optimizer));
}

/// What the observer sees after each iteration (batch) or epoch.
template <class T>
struct Progress {
  index_t iteration = 0;         ///< iterations/epochs completed so far
  double objective = 0.0;        ///< J of this check (see loss_history)
  double grad_norm = 0.0;        ///< ||g||_2 of the last gradient (NaN before any)
  const T* coef = nullptr;       ///< current coefficients, (d, k) row-major
  const T* intercept = nullptr;  ///< current intercepts, k entries
  ParamLayout layout;
};

/// Hooks into a run. Both may throw to abort it (the exception propagates
/// out of fit, parameters are left as they were at that moment).
template <class T>
struct Observer {
  /// Called once per iteration/epoch; returning true stops with Status::Callback.
  std::function<bool(const Progress<T>&)> on_iteration;
  /// Called at least every poll_seconds of work (e.g. to check for Ctrl-C).
  std::function<void()> poll;
  double poll_seconds = 0.05;
};

/// How a run ended and its history.
struct FitReport {
  index_t n_iter = 0;                 ///< iterations (batch) or epochs run
  Status status = Status::Running;
  bool converged = false;             ///< met tol or gtol
  std::string message;
  std::vector<double> loss_history;   ///< one objective per iteration/epoch
  std::vector<double> learning_rate_history;  ///< the step size in force at each check (see solver.hpp)
  double grad_norm = std::nan("");    ///< ||g||_2 of the last gradient computed
  double learning_rate = 0.0;         ///< eta_0 used (1/L with auto_learning_rate; / 10 per retry)
  index_t n_evals = 0;                ///< batch: loss+gradient evaluations (passes over X, or over S on the
                                      ///< Gram path), line-search trials and rejected points included;
                                      ///< sgd/minibatch: epochs (each a pass over X)
  int retries = 0;                    ///< restarts on_divergence = Retry made
};

/// What one run hands the next so that it continues instead of starting
/// afresh (the estimators' partial_fit and warm starts): the update count
/// (the schedules' clock), the update rule's state, the shuffle's stream
/// and the running average. A fit given an empty one (started = false)
/// starts as usual (seeded by options.seed) and leaves its end in it; a fit
/// given a filled one starts from it (the seed is not used again; with
/// averaging, from its last iterate: the coefficients a run returns are
/// the average).
struct FitState {
  bool started = false;                ///< whether a fit has filled it
  long long steps = 0;                 ///< updates so far
  std::uint64_t random = 0;            ///< the shuffle's SplitMix64 state
  PlateauState schedule;               ///< where ReduceOnPlateau stands (other schedules: unused)
  std::vector<double> state0, state1;  ///< the update rule's buffers (empty when it has none)
  std::vector<double> average;         ///< the running average (options.average > 0)
  std::vector<double> iterate;         ///< with average: the last iterate, where the next run resumes
};

/// Checks options before any work; messages name descend.fit's arguments.
inline void validate_options(const FitOptions& o) {
  detail::validate_loss(o.loss);
  validate_rule(o.optimizer);
  // lbfgs takes no learning rate: whatever was passed is not used.
  if (!o.auto_learning_rate && !o.bb_learning_rate && !quasi_newton(o.optimizer))
    validate_learning_rate(o.learning_rate, "learning_rate");
  if (quasi_newton(o.optimizer) && o.method != Method::Batch)
    detail::invalid("optimizer='lbfgs' searches along each direction over all rows: it needs method='batch', got "
                    "method='", method_name(o.method), "'");
  if (quasi_newton(o.optimizer) && o.loss.kind == LossKind::Hinge)
    detail::invalid("optimizer='lbfgs' needs a loss with a Lipschitz gradient; loss='hinge' has none: use "
                    "optimizer='gd' or 'nesterov'");
  if (o.bb_learning_rate && o.auto_learning_rate)
    detail::invalid("learning_rate is either 'auto' or 'bb', not both");
  if (o.bb_learning_rate && !quasi_newton(o.optimizer) &&
      (o.method != Method::Batch || o.optimizer.index() != UpdateRule(GD{}).index()))
    detail::invalid("learning_rate='bb' (Barzilai-Borwein steps) needs method='batch' and optimizer='gd', got method='",
                    method_name(o.method), "', optimizer='", optimizer_name(o.optimizer), "'");
  if (adaptive_momentum(o.optimizer) && o.method != Method::Batch)
    detail::invalid("momentum='auto' (FISTA with adaptive restart) needs method='batch', got method='",
                    method_name(o.method), "'; pass a number such as momentum=0.9");
  if (o.auto_learning_rate && !takes_auto_learning_rate(o.optimizer) && !quasi_newton(o.optimizer))
    detail::invalid("learning_rate='auto' sets 1/L for optimizer 'gd', 'momentum' or 'nesterov'; "
                    "optimizer='", optimizer_name(o.optimizer), "' adapts its own steps: pass a number");
  if (o.batch_size < 1) detail::invalid("batch_size must be >= 1, got ", o.batch_size);
  validate_stopping(o.stopping);
  if (o.stopping.gtol && o.method != Method::Batch)
    detail::invalid("gtol applies to method='batch' only (got method='", method_name(o.method),
                    "'); pass gtol=None or use tol");
  detail::check_non_negative(o.l2, "l2");
  detail::check_non_negative(o.l1, "l1");
  if (o.average < 0) detail::invalid("average must be False, True or an update count >= 1, got ", o.average);
  if (o.average > 0 && o.method == Method::Batch)
    detail::invalid("average applies to method='sgd' or 'minibatch' (got method='batch'); pass average=False");
  if (o.precompute == Precompute::Always && (o.loss.kind != LossKind::Squared || o.method != Method::Batch))
    detail::invalid("precompute=True needs loss='squared' and method='batch' (got loss='", loss_name(o.loss.kind),
                    "', method='", method_name(o.method), "'); pass precompute='auto' or False");
}

/// What fit(data, options) returns: the fitted parameters and the report.
template <class T>
struct FitResult {
  std::vector<T> coef;       ///< d k coefficients, (d, k) row-major (k = options.loss.outputs())
  std::vector<T> intercept;  ///< k intercepts
  FitReport report;          ///< n_iter, status, message, loss_history, grad_norm, learning_rate
};

}  // namespace descend
