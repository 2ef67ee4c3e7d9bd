// The solver loop: batch, sgd and minibatch gradient descent composed from
// a loss, an update rule, a learning-rate schedule and a stopping rule.
//
// Objective (m rows in the batch, w_i sample weights, default 1):
//   J = (1/m) sum_i w_i loss(p_i, y_i) + (l2/2) ||coef||^2 + l1 ||coef||_1
// l1 enters as a proximal soft-threshold step after each update:
//   coef_j <- sign(coef_j) * max(|coef_j| - lr * l1, 0)
// so coefficients reach exact zeros. The intercept is never regularised.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "errors.hpp"
#include "gradient.hpp"
#include "optimizers.hpp"
#include "random.hpp"
#include "schedules.hpp"
#include "stopping.hpp"
#include "validation.hpp"

namespace descend {

/// batch: all rows per update; sgd: one row per update; minibatch:
/// batch_size rows per update (the last short batch of an epoch is used).
enum class Method { Batch, SGD, MiniBatch };

inline const char* method_name(Method m) {
  switch (m) {
    case Method::Batch: return "batch";
    case Method::SGD: return "sgd";
    case Method::MiniBatch: return "minibatch";
  }
  return "?";
}

/// Everything a fit needs besides the data; defaults match descend.fit.
struct FitOptions {
  LossSpec loss;                   ///< the pointwise loss
  Method method = Method::Batch;   ///< which rows each update uses
  UpdateRule optimizer = GD{};     ///< the update rule
  Schedule learning_rate;          ///< step size for update t
  index_t batch_size = 32;         ///< rows per update for minibatch
  StoppingRule stopping;           ///< max_iter, tol, gtol, divergence
  double l2 = 0.0;                 ///< (l2/2) ||coef||^2 in the objective
  double l1 = 0.0;                 ///< l1 ||coef||_1, applied as a proximal step
  bool fit_intercept = false;      ///< learn the intercept (else it stays at its start value)
  bool shuffle = true;             ///< fresh seeded shuffle every epoch (sgd, minibatch)
  std::uint64_t seed = 0;          ///< seed of the shuffle's Random stream
  int n_threads = 0;               ///< <= 0: get_num_threads()
  bool check_finite = true;        ///< reject NaN/inf in X and y before starting
};

/// What the observer sees after each iteration (batch) or epoch.
template <class T>
struct Progress {
  index_t iteration = 0;     ///< iterations/epochs completed so far
  double objective = 0.0;    ///< J of this check (see loss_history)
  double grad_norm = 0.0;    ///< ||g||_2 of the last gradient (NaN before any)
  const T* coef = nullptr;   ///< current coefficients (features entries)
  index_t features = 0;
  T intercept = 0;
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
  double grad_norm = std::nan("");    ///< ||g||_2 of the last gradient computed
};

/// Checks options before any work; messages name descend.fit's arguments.
inline void validate_options(const FitOptions& o) {
  validate_positive(o.learning_rate.eta0, "learning_rate");
  if (o.batch_size < 1) detail::invalid("batch_size must be >= 1, got ", o.batch_size);
  // max_iter = 0 is allowed: it validates the input and returns the start.
  if (o.stopping.max_iter < 0) detail::invalid("max_iter must be >= 0, got ", o.stopping.max_iter);
  if (o.stopping.n_iter_no_change < 1)
    detail::invalid("n_iter_no_change must be >= 1, got ", o.stopping.n_iter_no_change);
  if (o.stopping.tol) validate_non_negative(*o.stopping.tol, "tol");
  if (o.stopping.gtol) {
    validate_non_negative(*o.stopping.gtol, "gtol");
    if (o.method != Method::Batch)
      detail::invalid("gtol applies to method='batch' only (got method='", method_name(o.method),
                      "'); pass gtol=None or use tol");
  }
  validate_non_negative(o.l2, "l2");
  validate_non_negative(o.l1, "l1");
}

namespace detail {

// Calls Observer::poll when poll_seconds have passed; the clock is read
// only every ~256k elements of work so the check costs nothing measurable.
template <class T>
class PollTimer {
 public:
  explicit PollTimer(const Observer<T>* obs) : obs_(obs), last_(clock::now()) {}

  void tick(index_t work) {
    if (!obs_ || !obs_->poll) return;
    work_ += work;
    if (work_ < (index_t{1} << 18)) return;
    work_ = 0;
    const auto now = clock::now();
    if (std::chrono::duration<double>(now - last_).count() >= obs_->poll_seconds) {
      last_ = now;
      obs_->poll();
    }
  }

 private:
  using clock = std::chrono::steady_clock;
  const Observer<T>* obs_;
  clock::time_point last_;
  index_t work_ = 0;
};

// coef_j <- sign(coef_j) max(|coef_j| - threshold, 0)
template <class T>
void soft_threshold(T* coef, index_t d, double threshold) {
  for (index_t j = 0; j < d; ++j) {
    const double c = double(coef[j]);
    const double shrunk = std::fabs(c) - threshold;
    coef[j] = static_cast<T>(shrunk > 0 ? std::copysign(shrunk, c) : 0.0);
  }
}

template <class T>
double l1_norm(const T* coef, index_t d) {
  double s = 0.0;
  for (index_t j = 0; j < d; ++j) s += std::fabs(double(coef[j]));
  return s;
}

// The state one run works on: theta = (coef, intercept) in T, the gradient
// in double, and the scratch of the gradient kernel. Sized once per run.
template <class T>
struct RunState {
  const Dataset<T>& data;
  const FitOptions& opt;
  index_t d;
  index_t n_params;          // d, plus 1 when the intercept is learnt
  std::vector<T> theta;      // coef[0..d), intercept at [d]
  std::vector<double> grad;  // d + 1 entries
  GradientWorkspace ws;
  int n_threads;

  RunState(const Dataset<T>& data_, const FitOptions& opt_, const T* coef, T intercept)
      : data(data_), opt(opt_), d(data_.features()),
        n_params(data_.features() + (opt_.fit_intercept ? 1 : 0)),
        theta(coef, coef + data_.features()), grad(static_cast<size_t>(data_.features() + 1)),
        n_threads(resolve_threads(opt_.n_threads)) {
    theta.push_back(intercept);
  }

  // Objective and gradient over `rows` at the current theta.
  template <class Rows>
  double objective_grad(const Rows& rows) {
    double j = mean_loss_grad(data, rows, theta.data(), double(theta[static_cast<size_t>(d)]),
                              opt.loss, grad.data(), n_threads, ws);
    j = add_l2(j, theta.data(), d, opt.l2, grad.data());
    if (opt.l1 > 0) j += opt.l1 * l1_norm(theta.data(), d);
    return j;
  }

  // One update with step size lr, then the l1 proximal step.
  template <class Rule>
  void update(Rule& rule, double lr) {
    rule.step(theta.data(), grad.data(), n_params, lr);
    if (opt.l1 > 0) soft_threshold(theta.data(), d, lr * opt.l1);
  }

  // ||g||_2 over the learnt parameters (the smooth part's gradient).
  double grad_norm() const {
    double s = 0.0;
    for (index_t j = 0; j < n_params; ++j) s += grad[static_cast<size_t>(j)] * grad[static_cast<size_t>(j)];
    return std::sqrt(s);
  }

  // ||G||_2 of the proximal-gradient step G = (theta - prox(theta - lr g)) / lr,
  // the quantity that vanishes at an l1-regularised optimum; equal to
  // grad_norm() when l1 = 0.
  double step_norm(double lr) const {
    if (!(opt.l1 > 0)) return grad_norm();
    double s = 0.0;
    for (index_t j = 0; j < n_params; ++j) {
      double gj = grad[static_cast<size_t>(j)];
      if (j < d) {
        const double t = double(theta[static_cast<size_t>(j)]);
        const double z = t - lr * gj;
        const double shrunk = std::fabs(z) - lr * opt.l1;
        gj = (t - (shrunk > 0 ? std::copysign(shrunk, z) : 0.0)) / lr;
      }
      s += gj * gj;
    }
    return std::sqrt(s);
  }

  Progress<T> progress(index_t iteration, double objective, double grad_norm) const {
    return {iteration, objective, grad_norm, theta.data(), d, theta[static_cast<size_t>(d)]};
  }
};

inline std::string divergence_message(const FitOptions& o, index_t iteration, double objective,
                                      double start) {
  const double lr = o.learning_rate.eta0;
  return message("the objective diverged at ", o.method == Method::Batch ? "iteration " : "epoch ",
                 iteration, " (objective = ", objective, ", it started at ", start,
                 ") with learning_rate=", lr, " and optimizer='", optimizer_name(o.optimizer),
                 "'; try a smaller learning_rate, e.g. ", lr / 10);
}

inline std::string stop_message(Status s, index_t n_iter, const FitOptions& o) {
  const char* unit = o.method == Method::Batch ? "iterations" : "epochs";
  switch (s) {
    case Status::MaxIter:
      return message("stopped after max_iter=", n_iter, " ", unit,
                     " without meeting the tolerance; raise max_iter or the learning rate");
    case Status::Tol:
      return message("converged: relative change of the objective <= tol for ",
                     o.stopping.n_iter_no_change, " check(s) in a row after ", n_iter, " ", unit);
    case Status::Gtol:
      return message("converged: gradient norm <= gtol after ", n_iter, " ", unit);
    case Status::Callback:
      return message("stopped by the callback after ", n_iter, " ", unit);
    default: return status_name(s);
  }
}

// Records check k; returns the status after the stopping rule and the observer.
template <class T>
Status record(RunState<T>& st, StoppingMonitor& monitor, FitReport& report,
              const Observer<T>* obs, double objective, double grad_norm) {
  report.loss_history.push_back(objective);
  report.grad_norm = grad_norm;
  const index_t k = static_cast<index_t>(report.loss_history.size());
  Status s = monitor.check(objective, grad_norm);
  if (s == Status::Diverged)
    throw DivergenceError(divergence_message(st.opt, k - 1, objective, monitor.start()));
  if (s == Status::Running && obs && obs->on_iteration &&
      obs->on_iteration(st.progress(k, objective, grad_norm)))
    s = Status::Callback;
  return s;
}

template <class T, class Rule>
Status run_batch(RunState<T>& st, Rule& rule, FitReport& report, const Observer<T>* obs) {
  StoppingMonitor monitor(st.opt.stopping);
  PollTimer<T> timer(obs);
  const RowRange all{0, st.data.rows()};
  for (index_t it = 0; it < st.opt.stopping.max_iter; ++it) {
    const double lr = st.opt.learning_rate.at(it);
    const double objective = st.objective_grad(all);
    const Status s = record(st, monitor, report, obs, objective, st.step_norm(lr));
    if (s != Status::Running) return s;
    st.update(rule, lr);
    timer.tick(all.count * st.d);
  }
  return Status::MaxIter;
}

// sgd is minibatch with batch_size 1.
template <class T, class Rule>
Status run_epochs(RunState<T>& st, Rule& rule, index_t batch_size, FitReport& report,
                  const Observer<T>* obs) {
  StoppingMonitor monitor(st.opt.stopping);
  PollTimer<T> timer(obs);
  const index_t n = st.data.rows();
  std::vector<index_t> order(st.opt.shuffle ? static_cast<size_t>(n) : 0);
  Random rng(st.opt.seed);
  long long t = 0;  // updates so far: the schedule's clock
  for (index_t epoch = 0; epoch < st.opt.stopping.max_iter; ++epoch) {
    if (st.opt.shuffle) shuffled_order(order, rng);
    double sum = 0.0;
    index_t batches = 0;
    for (index_t start = 0; start < n; start += batch_size, ++batches, ++t) {
      const index_t count = std::min(batch_size, n - start);
      sum += st.opt.shuffle ? st.objective_grad(RowIndex{order.data() + start, count})
                            : st.objective_grad(RowRange{start, count});
      st.update(rule, st.opt.learning_rate.at(t));
      timer.tick(count * st.d);
    }
    const double objective = sum / double(batches);
    const Status s = record(st, monitor, report, obs, objective, st.grad_norm());
    if (s != Status::Running) return s;
  }
  return Status::MaxIter;
}

}  // namespace detail

/// Fits a linear model by gradient descent.
/// coef (features entries) and intercept hold the starting point on entry
/// and the result on return. Throws std::invalid_argument for bad input
/// (before any work) and DivergenceError when the objective diverges.
template <class T>
FitReport fit(const Dataset<T>& data, T* coef, T& intercept, const FitOptions& opt,
              const Observer<T>* observer = nullptr) {
  validate_options(opt);
  validate_dataset(data, opt.check_finite, opt.n_threads);
  validate_targets(data.y, opt.loss);
  validate_start(coef, data.features(), intercept);

  detail::RunState<T> st(data, opt, coef, intercept);
  FitReport report;
  Status status = std::visit(
      [&](auto rule) {
        rule.start(st.n_params);
        switch (opt.method) {
          case Method::Batch:
            st.ws.reserve(data.rows(), data.features());
            return detail::run_batch(st, rule, report, observer);
          case Method::SGD: return detail::run_epochs(st, rule, index_t{1}, report, observer);
          case Method::MiniBatch:
            st.ws.reserve(opt.batch_size, data.features());
            return detail::run_epochs(st, rule, opt.batch_size, report, observer);
        }
        return Status::MaxIter;
      },
      opt.optimizer);

  std::copy(st.theta.begin(), st.theta.begin() + data.features(), coef);
  intercept = st.theta[static_cast<size_t>(data.features())];
  report.n_iter = static_cast<index_t>(report.loss_history.size());
  report.status = status;
  report.converged = converged(status);
  report.message = detail::stop_message(status, report.n_iter, opt);
  return report;
}

}  // namespace descend
