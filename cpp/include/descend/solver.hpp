// The solver loop: batch, sgd and minibatch gradient descent composed from
// a loss, an update rule, a learning-rate schedule and a stopping rule.
//
// Objective (m rows in the batch, w_i sample weights, default 1):
//   J = (1/m) sum_i w_i loss(p_i, y_i) + (l2/2) ||coef||^2 + l1 ||coef||_1
// with the penalties of penalties.hpp (l1 as a proximal step).
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "accelerated.hpp"
#include "errors.hpp"
#include "fit_options.hpp"
#include "gather.hpp"
#include "gram.hpp"
#include "gradient.hpp"
#include "lbfgs.hpp"
#include "norm.hpp"
#include "optimizers.hpp"
#include "penalties.hpp"
#include "precondition.hpp"
#include "random.hpp"
#include "remote.hpp"
#include "sparse_sgd.hpp"
#include "schedules.hpp"
#include "step_size.hpp"
#include "stopping.hpp"
#include "validation.hpp"

namespace descend {

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

// The state one run works on: theta = (coef, intercept) in T (ParamLayout),
// the gradient in double, the update rule's state buffers in T, the
// schedule's state and the scratch of the gradient kernel. Sized once per
// run. The learnt parameters theta[0 .. n_params) are contiguous: coef,
// then the intercepts when they are learnt. With on_divergence = Retry it
// also keeps the point a restart goes back to.
template <class T>
struct RunState {
  const Dataset<T>& data;
  const FitOptions& opt;
  ParamLayout layout;
  index_t n_coef;
  index_t n_params;
  std::vector<T> theta;
  std::vector<double> grad;
  std::vector<T> state0, state1;  // the update rule's buffers, zero at the start
  long long steps = 0;            // updates so far (since the last restart)
  ScheduleRun lr;                 // the step sizes: lr.at(steps) is the next update's
  GradientWorkspace ws;
  const RemoteSums<T>* remote = nullptr;  // the data term's sums come from here instead of data
  int n_threads;
  // Iterate averaging (opt.average = k > 0): the mean of theta after
  // updates k, k + 1, ..., in double; avg_t its copy in T for the observer.
  std::vector<double> avg;
  mutable std::vector<T> avg_t;
  Random rng;  // the shuffle's stream (sgd, minibatch); continues from epoch to epoch
  // precondition="auto" (precondition.hpp): P over the learnt parameters
  // (empty: off), the column means mu (empty: not centred), the gradient
  // in u and P times it, the buffer the rule steps with.
  std::vector<double> scale, mean, ugrad, pgrad;
  FistaMomentum fista;  // momentum="auto"
  BarzilaiBorwein bb;   // learning_rate="bb"

  RunState(const Dataset<T>& data_, const FitOptions& opt_, const T* coef, const T* intercept)
      : data(data_), opt(opt_), layout{data_.features(), opt_.loss.outputs()},
        n_coef(layout.coef_size()),
        n_params(layout.coef_size() + (opt_.fit_intercept ? layout.outputs : 0)),
        theta(coef, coef + layout.coef_size()), grad(static_cast<size_t>(layout.size())),
        lr(opt_.learning_rate), n_threads(resolve_threads(opt_.n_threads)), rng(opt_.seed) {
    theta.insert(theta.end(), intercept, intercept + layout.outputs);
    const int slots = optimizer_slots(opt.optimizer);
    if (slots >= 1) state0.assign(static_cast<size_t>(n_params), T(0));
    if (slots >= 2) state1.assign(static_cast<size_t>(n_params), T(0));
    if (opt.average > 0) avg.assign(static_cast<size_t>(n_params), 0.0);
    reset_accelerated();
  }

  // Continues from where an earlier run left `s` (FitState); refuses one
  // left by another update rule or number of parameters.
  void resume(const FitState& s) {
    if (!s.started) return;
    if (s.state0.size() != state0.size() || s.state1.size() != state1.size() || s.average.size() != avg.size())
      invalid("the FitState was left by a fit with another update rule, average or number of parameters (",
              s.state0.size(), " + ", s.state1.size(), " rule state values, ", s.average.size(),
              " averaged; this fit has ", state0.size(), " + ", state1.size(), " and ", avg.size(),
              "): pass a fresh FitState");
    steps = s.steps;
    rng = Random(s.random);
    lr.resume(s.schedule);
    std::copy(s.state0.begin(), s.state0.end(), state0.begin());
    std::copy(s.state1.begin(), s.state1.end(), state1.begin());
    avg = s.average;
    if (!avg.empty() && s.iterate.size() == static_cast<size_t>(n_params))
      std::transform(s.iterate.begin(), s.iterate.end(), theta.begin(), [](double v) { return T(v); });
  }

  // Leaves this run's end in s for the next to continue from.
  void save(FitState& s) const {
    s.started = true;
    s.steps = steps;
    s.random = rng.state();
    s.schedule = lr.progress();
    s.state0.assign(state0.begin(), state0.end());
    s.state1.assign(state1.begin(), state1.end());
    s.average = avg;
    s.iterate.assign(theta.begin(), avg.empty() ? theta.begin() : theta.begin() + n_params);
  }

  // Whether the average has started (some update k or later has run).
  bool averaging() const { return opt.average > 0 && steps >= opt.average; }

  // After an update: theta folded into the running mean,
  // avg += (theta - avg) / (updates averaged so far).
  DESCEND_INLINE void fold_average() {
    if (!averaging()) return;
    const double count = double(steps - opt.average + 1);
    for (index_t j = 0; j < n_params; ++j) {
      double& a = avg[static_cast<size_t>(j)];
      a += (double(theta[static_cast<size_t>(j)]) - a) / count;
    }
  }

  // The parameters a run returns: the average once it has started, else theta.
  const T* result() const {
    if (!averaging()) return theta.data();
    avg_t.assign(theta.begin(), theta.end());  // a fixed intercept stays theta's
    for (index_t j = 0; j < n_params; ++j) avg_t[static_cast<size_t>(j)] = T(avg[static_cast<size_t>(j)]);
    return avg_t.data();
  }

  // Objective and gradient over `rows` of `rows_of` (the data or a
  // gathered block of it) at the current theta; `loss` is opt.loss, as a
  // LossSpec or as the loss object it names.
  template <class Rows, class Loss>
  DESCEND_INLINE double objective_grad(const Loss& loss, const Dataset<T>& rows_of, const Rows& rows) {
    const double j = remote ? remote_mean(rows.count) : mean_loss_grad(rows_of, rows, theta.data(), loss, grad.data(), n_threads, ws);
    return with_l1(add_l2(j, theta.data(), n_coef, opt.l2, grad.data()));
  }

  // The remote data term and gradient over its `rows` rows, as means.
  double remote_mean(index_t rows) {
    const double sum = remote->loss_grad(theta.data(), grad.data());
    const double inv_m = 1.0 / double(rows);
    for (double& g : grad) g *= inv_m;
    return sum * inv_m;
  }

  // m, the rows the objective's mean is over: the remote data's, or the local.
  index_t rows_total() const { return remote ? remote->rows : data.rows(); }

  // J + l1 ||coef||_1 at the current theta.
  double with_l1(double j) const { return detail::with_l1(j, theta.data(), n_coef, opt.l1); }

  // P (precondition.hpp), or null when the fit is not preconditioned.
  const double* preconditioner() const { return scale.empty() ? nullptr : scale.data(); }

  // Turns preconditioning on (precondition.hpp).
  void precondition(const Scaling& scaling) {
    scale = detail::preconditioner(scaling.columns, layout, opt.fit_intercept);
    mean = scaling.mean;
    ugrad.resize(scale.size());
    pgrad.resize(scale.size());
  }

  // The gradient the rules step with: g_u (precondition.hpp) once
  // to_u_gradient() has formed it, else g.
  const double* step_grad() const { return mean.empty() ? grad.data() : ugrad.data(); }

  // After each gradient: g_u from g when the fit is centred.
  void to_u_gradient() {
    if (!mean.empty()) gradient_in_u(grad.data(), ugrad.data(), mean, n_params, layout.outputs);
  }

  // theta <-> u (c = b + mu^T coef) around a step, when centred.
  void to_u() {
    if (!mean.empty()) recentre(theta.data(), mean, layout.outputs, true);
  }
  void from_u() {
    if (!mean.empty()) recentre(theta.data(), mean, layout.outputs, false);
  }

  // One update with step size lr, then the l1 proximal step (in the metric
  // of P when preconditioned); FISTA's own step for momentum="auto".
  template <class Rule>
  DESCEND_INLINE void update(const Rule& rule, double lr) {
    if constexpr (std::is_same_v<Rule, Nesterov>) {
      if (rule.adaptive) {
        to_u();
        fista.step(theta.data(), state0.data(), step_grad(), n_params, n_coef, lr, opt.l1, preconditioner());
        from_u();
        ++steps;
        return;
      }
    }
    const double* g = step_grad();
    if (!scale.empty()) {
      for (index_t j = 0; j < n_params; ++j) pgrad[static_cast<size_t>(j)] = scale[static_cast<size_t>(j)] * g[j];
      g = pgrad.data();
    }
    const StepBuffers<T, double> b{theta.data(), g, state0.empty() ? nullptr : state0.data(),
                                   state1.empty() ? nullptr : state1.data(), n_params};
    to_u();
    detail::apply_step(rule, b, lr, ++steps, n_threads);
    if (opt.l1 > 0) {
      if (scale.empty())
        soft_threshold(theta.data(), n_coef, lr * opt.l1);
      else
        soft_threshold(theta.data(), n_coef, lr * opt.l1, scale.data());
    }
    from_u();
    fold_average();
  }

  // Whether row_update can stand in for objective_grad + update on a
  // one-row batch of rows_of.
  bool fuses_rows(const Dataset<T>& rows_of) const {
    return !rows_of.is_sparse() && layout.outputs == 1 && rows_of.X.layout == Layout::RowMajor &&
           n_params < detail::parallel_update_min;
  }

  // objective_grad + update(rule, lr) on row i alone, in one pass over
  // theta: one row's gradient is a x_i (+ l2 coef), a = w_i loss'(p_i), so
  // each element of it is formed inside the update's loop instead of in a
  // buffer that is zeroed, accumulated, scaled and read back (the
  // per-update passes that dominated an sgd epoch). Same arithmetic as the
  // unfused pair; grad still receives the gradient, for grad_norm().
  // Single-output losses, row-major rows_of.
  template <class Rule>
  double row_update(const Dataset<T>& rows_of, index_t i, const Rule& rule, double lr) {
    const index_t d = n_coef;
    const T* x = rows_of.X.data + i * d;
    T* const p = theta.data();
    double dot;
    detail::dot_rows<1>(&x, p, d, &dot);
    const double w = rows_of.weight(i);
    double deriv;
    const double value = w * visit_loss(opt.loss, [&](const auto& loss) {
      if constexpr (is_multi_output<std::decay_t<decltype(loss)>>) {
        return 0.0;  // not reached: fuses_rows() excludes multi-output losses
      } else {
        return loss.eval(dot + double(p[d]), double(rows_of.y[i]), deriv);
      }
    });
    const double a = w * deriv;
    T* const s0 = state0.empty() ? nullptr : state0.data();
    T* const s1 = state1.empty() ? nullptr : state1.data();
    // The penalties at theta before the step, as objective_grad adds them
    // (its l2 gradient is added element by element below).
    const double j_value = with_l1(with_l2(value, p, d, opt.l2));
    const auto step = rule.template prepare<double>(lr, ++steps);
    constexpr int slots = Rule::slots;
    // Locals, not members: the stores below could alias *this, which would
    // force a reload per element and keep the loop from vectorising.
    const double l2 = opt.l2;
    double* const g = grad.data();
    for (index_t j = 0; j < d; ++j) {
      double gj = a * double(x[j]);
      if (l2 != 0.0) gj += l2 * double(p[j]);
      g[j] = gj;
      detail::step_element<slots>(step, p, s0, s1, j, gj);
    }
    g[d] = a;
    if (opt.fit_intercept) detail::step_element<slots>(step, p, s0, s1, d, a);
    if (opt.l1 > 0) soft_threshold(p, n_coef, lr * opt.l1);
    fold_average();
    return j_value;
  }

  // ||g||_2 over the learnt parameters (the smooth part's gradient);
  // preconditioned, ||D^-1 g||_2 = sqrt(sum_j P_j g_j^2), the gradient in
  // the scaled coordinates.
  double grad_norm() const {
    const double* g = step_grad();
    // A weight of zero (P_j underflowed: a column near 1e300) adds zero,
    // not 0 * inf = NaN where g_j^2 overflows.
    return norm_of(n_params, [&](index_t j, double m) {
      const double v = g[j] / m, v2 = v * v;
      if (scale.empty()) return v2;
      const double p = scale[static_cast<size_t>(j)];
      return p == 0.0 ? 0.0 : p * v2;
    });
  }

  // ||G||_2 of the proximal-gradient step G = (theta - prox(theta - lr g)) / lr,
  // the quantity that vanishes at an l1-regularised optimum; equal to
  // grad_norm() when l1 = 0.
  double step_norm(double lr) const {
    if (!(opt.l1 > 0)) return grad_norm();
    if (!scale.empty()) return scaled_step_norm(lr);
    return norm_of(n_params, [&](index_t j, double m) {
      double gj = grad[static_cast<size_t>(j)];
      if (j < n_coef) gj = prox_gradient(double(theta[static_cast<size_t>(j)]), gj, lr, opt.l1, 1.0);
      const double v = gj / m;
      return v * v;
    });
  }

  // step_norm in the scaled coordinates: ||P^-1/2 (u - prox(u - lr P g_u)) / lr||_2
  // (the coefficients, which l1 reads, are the same in u and theta).
  double scaled_step_norm(double lr) const {
    const double* g = step_grad();
    return norm_of(n_params, [&](index_t j, double m) {
      const double t = double(theta[static_cast<size_t>(j)]), p = scale[static_cast<size_t>(j)];
      const double step = (j < n_coef ? prox_gradient(t, g[j], lr, opt.l1, p) : p * g[j]) / m;
      return p == 0.0 ? 0.0 : step * step / p;
    });
  }

  // What the observer sees: the parameters the run would return now.
  Progress<T> progress(index_t iteration, double objective, double grad_norm) const {
    const T* p = result();
    return {iteration, objective, grad_norm, p, p + n_coef, layout};
  }

  // The step size of the next update.
  double lr_now() const { return opt.bb_learning_rate ? bb.alpha() : lr.at(steps); }

  // learning_rate="bb": whether the point theta, with this objective, is
  // accepted (accelerated.hpp); if so the next step is set from it, if not
  // theta is moved back towards the last accepted point.
  bool bb_accepts(double objective) {
    if (!opt.bb_learning_rate) return true;
    to_u();
    const bool accepted =
        bb.accept(theta.data(), step_grad(), n_params, objective, rows_total(), preconditioner());
    if (accepted)
      bb.accepted(theta.data(), step_grad(), n_params, objective, preconditioner());
    else
      bb.backtrack(theta.data(), n_params, n_coef, opt.l1, preconditioner());
    from_u();
    return accepted;
  }

  // The tuning-free rules' state afresh (a new run or a restart).
  void reset_accelerated() {
    fista.reset();
    if (opt.bb_learning_rate) bb.reset(lr.schedule().eta0, n_params);
  }

  // on_divergence = Retry: where a restart goes back to is the best point
  // checked so far, the lowest objective (the latest of equal ones): theta
  // becomes it when `objective` is no higher than the point's, with the
  // first `checks` checks of the history leading there. Not merely the
  // last point that passed: a run trips the divergence check only once it
  // is 1e10 times above its start, and the first epoch of an exploding
  // sgd run passes it (it is its own reference). A copy of theta per
  // improving check, and only when retrying is on.
  void keep_restart_point(index_t checks, double objective) {
    if (opt.on_divergence != OnDivergence::Retry || !(objective <= restart_objective)) return;
    restart_theta.assign(theta.begin(), theta.end());
    restart_checks = checks;
    restart_objective = objective;
  }

  // The objective at theta over every row, in one pass (the gradient is
  // formed too, and not used): an epoch's check is a mean along the way,
  // so the start's own objective takes a pass of its own.
  double objective_now() { return objective_grad(opt.loss, data, RowRange{0, data.rows()}); }

  // theta becomes coef ((d, k) row-major) and intercept (k).
  void set_theta(const T* coef, const T* intercept) {
    std::copy(coef, coef + n_coef, theta.begin());
    std::copy(intercept, intercept + layout.outputs, theta.begin() + n_coef);
  }

  // objective_now() at coef and intercept, which theta becomes.
  double objective_at(const T* coef, const T* intercept) {
    set_theta(coef, intercept);
    return objective_now();
  }

  // Back to the restart point as a fresh run with every step size divided
  // by 10: the update rule's state zero, the step count (the schedules'
  // clock) at 0, ReduceOnPlateau's state new, the shuffle's stream from the
  // seed again, the average empty. Returns the checks to keep.
  index_t restart() {
    std::copy(restart_theta.begin(), restart_theta.end(), theta.begin());
    std::fill(state0.begin(), state0.end(), T(0));
    std::fill(state1.begin(), state1.end(), T(0));
    steps = 0;
    rng = Random(opt.seed);
    std::fill(avg.begin(), avg.end(), 0.0);
    lr = ScheduleRun(lr.schedule().divided_by(10.0));
    reset_accelerated();
    return restart_checks;
  }

  std::vector<T> restart_theta;
  index_t restart_checks = 0;
  double restart_objective = std::numeric_limits<double>::infinity();  // not finite: nothing to go back to
};

// What one unit of a run is called in messages.
inline const char* run_unit(Method m, bool plural) {
  if (m == Method::Batch) return plural ? "iterations" : "iteration";
  return plural ? "epochs" : "epoch";
}

// Records check k, made with step size lr in force; returns the status
// after the stopping rule and the observer (Diverged: solve() decides
// between raising and a restart). A check that passes feeds the schedule.
template <class T>
DESCEND_INLINE Status record(RunState<T>& st, StoppingMonitor& monitor, FitReport& report,
                             const Observer<T>* obs, double objective, double grad_norm, double lr) {
  report.loss_history.push_back(objective);
  report.learning_rate_history.push_back(lr);
  report.grad_norm = grad_norm;
  const index_t k = static_cast<index_t>(report.loss_history.size());
  Status s = monitor.check(objective, grad_norm);
  if (s == Status::Diverged) return s;
  st.lr.check(objective);
  if (s == Status::Running && obs && obs->on_iteration &&
      obs->on_iteration(st.progress(k, objective, grad_norm)))
    s = Status::Callback;
  return s;
}

// batch: iterations from check report.loss_history.size() on (0, or a
// restart's point). The loss is a template argument here: on a tiny
// problem the dispatch on its kind costs a noticeable part of an iteration.
template <class T, class Rule, class Loss>
Status run_batch(RunState<T>& st, const Rule& rule, const Loss& loss, StoppingMonitor& monitor,
                 FitReport& report, const Observer<T>* obs) {
  PollTimer<T> timer(obs);
  const RowRange all{0, st.data.rows()};
  // The gradient norm is needed at every check only by gtol, the observer
  // and l1's step norm (which reads theta before the update); otherwise it
  // is taken once, of the last gradient (an update leaves grad as it is),
  // when the run ends: on a tiny problem its square root is a noticeable
  // part of an iteration.
  const bool norm_each = st.opt.stopping.gtol || (obs && obs->on_iteration) || st.opt.l1 > 0;
  Status s = Status::Running;
  for (index_t it = index_t(report.loss_history.size()); s == Status::Running && it < st.opt.stopping.max_iter;) {
    const double objective = st.objective_grad(loss, st.data, all);
    ++report.n_evals;
    st.to_u_gradient();
    // learning_rate="bb": a rejected point is no check (accelerated.hpp).
    if (!st.bb_accepts(objective)) {
      timer.tick(all.count * st.n_coef);
      continue;
    }
    const double lr = st.lr_now();
    s = record(st, monitor, report, obs, objective, norm_each ? st.step_norm(lr) : 0.0, lr);
    if (s == Status::Diverged) return s;
    // Batch checks the point an iteration starts from: a restart goes
    // back to it and checks it again.
    st.keep_restart_point(it, objective);
    if (s != Status::Running) break;
    st.update(rule, lr);
    timer.tick(all.count * st.n_coef);
    ++it;
  }
  if (!norm_each && !report.loss_history.empty()) report.grad_norm = st.grad_norm();
  return s == Status::Running ? Status::MaxIter : s;
}

// optimizer="lbfgs" (lbfgs.hpp): iterations from check
// report.loss_history.size() on, in the coordinates u of the other
// tuning-free rules. Each line-search trial is one objective_grad pass;
// the accepted trial's objective and gradient are the next check's.
template <class T, class Loss>
Status run_lbfgs(RunState<T>& st, const LBFGS& rule, const Loss& loss, StoppingMonitor& monitor,
                 FitReport& report, const Observer<T>* obs) {
  PollTimer<T> timer(obs);
  const RowRange all{0, st.data.rows()};
  const index_t n = st.n_params, n_coef = st.n_coef;
  const double l1 = st.opt.l1;
  const double alpha0 = st.lr.schedule().eta0;  // learning_rate="bb"'s first step (resolved_steps)
  const double* p = st.preconditioner();
  Lbfgs quasi;
  quasi.reset(n, n_coef, int(rule.history), alpha0);
  std::vector<double> u(static_cast<size_t>(n)), g(u), v(u), d(u), trial(u);
  std::vector<double> grad_at_u, ugrad_at_u;  // the gradient at u, kept for a search that fails
  // theta at the point `at` of u.
  auto move_to = [&](const double* at) {
    for (index_t j = 0; j < n; ++j) st.theta[static_cast<size_t>(j)] = static_cast<T>(at[j]);
    st.from_u();
  };
  // theta, and the gradient in u, at the point `at`; returns its objective F.
  auto evaluate = [&](const double* at) {
    move_to(at);
    const double F = st.objective_grad(loss, st.data, all);
    ++report.n_evals;
    st.to_u_gradient();
    timer.tick(all.count * n_coef);
    return F;
  };
  st.to_u();
  std::copy(st.theta.begin(), st.theta.begin() + n, u.begin());
  double F = evaluate(u.data());
  const bool norm_each = st.opt.stopping.gtol || (obs && obs->on_iteration) || l1 > 0;
  Status s = Status::Running;
  for (index_t it = index_t(report.loss_history.size()); s == Status::Running && it < st.opt.stopping.max_iter;) {
    s = record(st, monitor, report, obs, F, norm_each ? st.step_norm(alpha0) : 0.0, alpha0);
    if (s == Status::Diverged) return s;
    st.keep_restart_point(it, F);
    if (s != Status::Running) break;
    std::copy(st.step_grad(), st.step_grad() + n, g.begin());
    grad_at_u = st.grad;
    ugrad_at_u = st.ugrad;
    quasi.steepest(u.data(), g.data(), l1, v.data());
    const double slope = quasi.direction(v.data(), p, l1 > 0, d.data());
    double trial_F = F;
    const double a = line_search(F, slope, objective_rounding(F, st.rows_total()), !(l1 > 0),
                                 [&](double step, double& phi, double& dphi) {
      for (index_t j = 0; j < n; ++j) {
        double t = u[static_cast<size_t>(j)] + step * d[static_cast<size_t>(j)];
        if (l1 > 0 && j < n_coef) {  // OWL-QN: stay in u's orthant
          const double uj = u[static_cast<size_t>(j)];
          const double side = uj != 0 ? uj : -v[static_cast<size_t>(j)];
          if (t * side <= 0) t = 0.0;
        }
        trial[static_cast<size_t>(j)] = t;
      }
      phi = trial_F = evaluate(trial.data());
      dphi = dot(st.step_grad(), d.data(), n);
      if (!(l1 > 0)) return true;
      double decrease = 0.0;
      for (index_t j = 0; j < n; ++j)
        decrease += v[static_cast<size_t>(j)] * (trial[static_cast<size_t>(j)] - u[static_cast<size_t>(j)]);
      return phi <= F + lbfgs_c1 * decrease;
    });
    if (!(a > 0)) {  // back to u and its gradient: the point of the last check
      move_to(u.data());
      st.grad = grad_at_u;
      st.ugrad = ugrad_at_u;
      return Status::LineSearch;
    }
    std::vector<double> step(trial), change(st.step_grad(), st.step_grad() + n);
    for (index_t j = 0; j < n; ++j) {
      step[static_cast<size_t>(j)] -= u[static_cast<size_t>(j)];
      change[static_cast<size_t>(j)] -= g[static_cast<size_t>(j)];
    }
    quasi.add_pair(std::move(step), std::move(change));
    u = trial;
    F = trial_F;
    ++st.steps;
    ++it;
  }
  if (!norm_each && !report.loss_history.empty()) report.grad_norm = st.grad_norm();
  return s == Status::Running ? Status::MaxIter : s;
}

// Whether a shuffled epoch gathers the next block on a second thread:
// when there is one, and the batches are too small for their gradient to
// be threaded (a larger batch keeps both threads on its gradient instead).
template <class T>
bool overlap_gather(const RunState<T>& st, index_t batch_size) {
  const index_t width = st.data.features() * st.layout.outputs;
  return detail::has_openmp && st.n_threads >= 2 &&
         !worth_threading(batch_size * width, make_partition(batch_size, width).chunks, st.n_threads);
}

// sgd and minibatch over a sparse (CSR) X, one epoch at a time: every
// batch is the permutation's rows read in place (RowList). Plain gd takes
// O(non-zeros) per update (sparse_sgd.hpp); the stateful rules keep their
// exact dense semantics, an O(d) update each (their state moves every
// coordinate). The shuffle's stream continues from epoch to epoch.
template <class T, class Rule>
class SparseEpochs {
 public:
  SparseEpochs(RunState<T>& st, const Rule& rule, index_t batch_size)
      : st_(st), rule_(rule), batch_size_(batch_size) {
    const index_t n = st.data.rows();
    order_.resize(static_cast<size_t>(n));
    std::iota(order_.begin(), order_.end(), index_t{0});
    // Averaging reads every coordinate after each update: the lazy path
    // would gain nothing, so it runs the plain one then.
    if constexpr (is_gd)
      if (st.opt.average == 0) gd_.emplace(st.data.features(), st.layout.outputs, st.opt.l2, st.opt.l1, st.opt.fit_intercept);
  }

  // One epoch: its objective (the mean of its batches'); *grad_norm gets
  // the last batch's gradient norm.
  double run(PollTimer<T>& timer, double* grad_norm) {
    RunState<T>& st = st_;
    const index_t n = st.data.rows(), batches = (n + batch_size_ - 1) / batch_size_;
    if (st.opt.shuffle) shuffled_order(order_, st.rng);
    return st.data.sparse.visit([&](const auto* indices, const auto* indptr) {
      return visit_loss(st.opt.loss, [&](const auto& loss) {
        double sum = 0.0;
        if (gd_) gd_->begin_epoch(st.theta.data(), batches);
        for (index_t b = 0; b < batches; ++b) {
          const index_t start = b * batch_size_;
          const RowList rows{order_.data() + start, std::min(batch_size_, n - start)};
          // Read per update: ReduceOnPlateau's reductions take effect on
          // the lazy path too.
          const double lr = st.lr_now();
          if (gd_) {
            // sgd's rows come in random order: their entries are asked for
            // 16 updates ahead and the coefficients they name 4 ahead, so
            // the loads overlap the updates in between instead of stalling
            // each one.
            if (batch_size_ == 1) {
              if (b + 16 < batches) gd_->prefetch(st.data, indices, indptr, order_[b + 16], false);
              if (b + 4 < batches) gd_->prefetch(st.data, indices, indptr, order_[b + 4], true);
            }
            ++st.steps;
            sum += gd_->step(st.data, indices, indptr, rows, loss, lr, b + 1 == batches, grad_norm);
          } else {
            sum += st.objective_grad(loss, st.data, rows);
            st.update(rule_, lr);
          }
          timer.tick(rows.count * st.layout.outputs);
        }
        if (gd_) {
          sum += gd_->end_epoch(st.theta.data());
        } else {
          *grad_norm = st.grad_norm();
        }
        return sum / double(batches);
      });
    });
  }

 private:
  static constexpr bool is_gd = std::is_same_v<Rule, GD>;
  RunState<T>& st_;
  const Rule rule_;
  index_t batch_size_;
  std::vector<index_t> order_;
  std::optional<LazySparseGD<T>> gd_;
};

// sgd and minibatch over a dense X, one epoch at a time. sgd is minibatch
// with batch_size 1. A shuffled epoch runs over blocks of the permutation
// gathered into contiguous memory (gather.hpp); a block holds whole
// batches, so the batches are those of the permutation. The shuffle's
// stream continues from epoch to epoch.
template <class T, class Rule>
class DenseEpochs {
 public:
  DenseEpochs(RunState<T>& st, const Rule& rule, index_t batch_size)
      : st_(st), rule_(rule), batch_size_(batch_size),
        order_(st.opt.shuffle ? static_cast<size_t>(st.data.rows()) : 0),
        block_rows_(RowBlock<T>::rows_for(batch_size, st.data.features())),
        // Without a second thread the blocks are gathered on this one:
        // still twice as fast for sgd as reading the permutation's rows in
        // place with a prefetch 8 rows ahead (200,000 x 64 float64: 23.5
        // against 44 ms an epoch; 16 and 4 features likewise; even at 256).
        overlap_(overlap_gather(st, batch_size)) {}

  // One epoch: its objective (the mean of its batches'); *grad_norm gets
  // the last batch's gradient norm.
  double run(PollTimer<T>& timer, double* grad_norm) {
    RunState<T>& st = st_;
    const index_t n = st.data.rows();
    const index_t batch_size = batch_size_;
    double sum = 0.0;
    index_t batches = 0;
    // The batches of rows [0, count) of rows_of, one update each.
    auto run_batches = [&](const Dataset<T>& rows_of, index_t count) {
      const bool fused = batch_size == 1 && st.fuses_rows(rows_of);
      for (index_t start = 0; start < count; start += batch_size, ++batches) {
        const index_t rows = std::min(batch_size, count - start);
        const double lr = st.lr_now();
        if (fused) {
          sum += st.row_update(rows_of, start, rule_, lr);
        } else {
          sum += st.objective_grad(st.opt.loss, rows_of, RowRange{start, rows});
          st.update(rule_, lr);
        }
        timer.tick(rows * st.n_coef);
      }
    };
    if (st.opt.shuffle) {
      shuffled_order(order_, st.rng);
      pipeline_.run(st.data, order_.data(), n, block_rows_, overlap_,
                    [&](const Dataset<T>& block, index_t b0, index_t b1) { run_batches(block, b1 - b0); });
    } else {
      run_batches(st.data, n);
    }
    *grad_norm = st.grad_norm();
    return sum / double(batches);
  }

 private:
  RunState<T>& st_;
  const Rule rule_;
  index_t batch_size_;
  std::vector<index_t> order_;
  GatherPipeline<T> pipeline_;
  index_t block_rows_;
  bool overlap_;
};

// sgd and minibatch: epochs until a stopping rule or the observer ends the
// run, from check report.loss_history.size() on (0, or a restart's point).
// An epoch's learning_rate_history entry is the rate of its first update.
template <class T, class Rule>
Status run_epochs(RunState<T>& st, const Rule& rule, index_t batch_size, StoppingMonitor& monitor,
                  FitReport& report, const Observer<T>* obs) {
  PollTimer<T> timer(obs);
  auto loop = [&](auto& epochs) {
    for (index_t epoch = index_t(report.loss_history.size()); epoch < st.opt.stopping.max_iter; ++epoch) {
      double grad_norm = 0.0;
      const double lr = st.lr_now();
      const double objective = epochs.run(timer, &grad_norm);
      const Status s = record(st, monitor, report, obs, objective, grad_norm, lr);
      if (s == Status::Diverged) return s;
      // An epoch is checked where it ended up: a restart goes on from there.
      st.keep_restart_point(epoch + 1, objective);
      if (s != Status::Running) return s;
    }
    return Status::MaxIter;
  };
  if (st.data.is_sparse()) {
    SparseEpochs<T, Rule> epochs(st, rule, batch_size);
    return loop(epochs);
  }
  DenseEpochs<T, Rule> epochs(st, rule, batch_size);
  return loop(epochs);
}

// Whether this fit runs on the Gram matrix (gram.hpp): precompute=True, or
// "auto" when it pays; squared loss and batch only.
template <class T>
bool use_gram(const Dataset<T>& data, const FitOptions& o) {
  if (o.precompute == Precompute::Never || o.loss.kind != LossKind::Squared || o.method != Method::Batch)
    return false;
  return o.precompute == Precompute::Always || gram_pays(data, o.stopping.max_iter);
}

// Whether the fit needs X's column sums: to precondition, or for
// learning_rate="bb"'s first step (lbfgs's too).
inline bool needs_column_sums(const FitOptions& o) {
  return preconditions(o) || o.bb_learning_rate || quasi_newton(o.optimizer);
}

// The Scaling (precondition.hpp) of a fit that needs_column_sums, from
// its column sums over n rows.
inline Scaling fit_scaling(const FitOptions& o, const ColumnSums& c, index_t n) {
  return scaling(c, n, preconditions(o) && o.fit_intercept, preconditions(o));
}

// The options with learning_rate="auto" resolved to a constant 1/L and
// "bb"'s first step set (bb_first_step), given the fit's scaling and
// curvature(scaling), the data's bound h of L = c h + l2 (in the
// preconditioned coordinates when it has P).
template <class Curvature>
FitOptions resolved_steps(const FitOptions& opt, const Scaling& scaling, Curvature&& curvature) {
  FitOptions o = opt;
  if (opt.auto_learning_rate && !quasi_newton(opt.optimizer)) {
    const double c = loss_curvature(opt.loss);
    o.learning_rate =
        Schedule::constant(inverse_lipschitz(lipschitz_from(c, curvature(scaling), opt.l2, scaling.columns)));
    o.auto_learning_rate = false;
  }
  // lbfgs's first step (its H0 without pairs) is bb's; it takes no other rate.
  if (opt.bb_learning_rate || quasi_newton(opt.optimizer))
    o.learning_rate = Schedule::constant(bb_first_step(opt.loss, scaling, opt.fit_intercept, opt.l2));
  if (quasi_newton(opt.optimizer)) o.auto_learning_rate = o.bb_learning_rate = false;
  return o;
}

// resolved_steps over a local dataset: batch's h by Lanczos, the others'
// the largest row norm.
template <class T>
FitOptions resolve_learning_rate(const Dataset<T>& data, const FitOptions& opt, const Scaling& scaling = {}) {
  return resolved_steps(opt, scaling, [&](const Scaling& sc) {
    return curvature_bound(data, opt.method == Method::Batch, opt.fit_intercept, resolve_threads(opt.n_threads), sc);
  });
}

}  // namespace detail

namespace detail {

// A batch of more rows than X has is one batch of all of them (as
// scikit-learn's MLP clamps its batch_size): the same updates, and no size
// arithmetic on a batch_size of up to 2^63 - 1.
inline index_t effective_batch_size(index_t batch_size, index_t rows) {
  return std::max<index_t>(1, std::min(batch_size, rows));
}

// One attempt of the method's loop, from the report's history on.
template <class T>
Status run_method(RunState<T>& st, StoppingMonitor& monitor, FitReport& report, const Observer<T>* observer) {
  const FitOptions& opt = st.opt;
  const bool dense = !st.remote && !st.data.is_sparse();
  return std::visit(
      [&](const auto& rule) {
        switch (opt.method) {
          case Method::Batch:
            if (dense) st.ws.reserve(st.data.rows(), st.data.features(), st.layout.outputs);
            return visit_loss(opt.loss, [&](const auto& loss) {
              if constexpr (std::is_same_v<std::decay_t<decltype(rule)>, LBFGS>)
                return run_lbfgs(st, rule, loss, monitor, report, observer);
              else
                return run_batch(st, rule, loss, monitor, report, observer);
            });
          case Method::SGD: return run_epochs(st, rule, index_t{1}, monitor, report, observer);
          case Method::MiniBatch: {
            const index_t batch = effective_batch_size(opt.batch_size, st.data.rows());
            if (dense) st.ws.reserve(batch, st.data.features(), st.layout.outputs);
            return run_epochs(st, rule, batch, monitor, report, observer);
          }
        }
        return Status::MaxIter;
      },
      opt.optimizer);
}

// The DivergenceError of a run that diverged at its last check and is not
// restarted; coef and intercept still hold the start point. A divergence
// at the first check says where the run started: batch's first check is
// the start's objective, and an epoch's (a mean over its updates) is not,
// so sgd and minibatch take a pass at the start point on this path. A
// start that is not finite is no learning rate's fault.
template <class T>
DivergenceError divergence_error(RunState<T>& st, const StoppingMonitor& monitor, const FitReport& report,
                                 const T* coef, const T* intercept) {
  const index_t at = index_t(report.loss_history.size()) - 1;
  const bool first = at == 0 && report.retries == 0;
  // After restarts an epoch's run started from its restart point, whose
  // objective (a pass over all rows) is kept; the monitor's start is an
  // epoch's mean, which may be the non-finite one that diverged.
  const bool epochs = st.opt.method != Method::Batch;
  const double start = first && epochs                   ? st.objective_at(coef, intercept)
                       : epochs && report.retries > 0 ? st.restart_objective
                                                      : monitor.start();
  std::string text = first && !std::isfinite(start)
                         ? start_not_finite_message(start)
                         : divergence_message(run_unit(st.opt.method, false), at, report.loss_history.back(), start,
                                              st.lr.schedule().eta0, "optimizer", optimizer_name(st.opt.optimizer));
  if (st.opt.on_divergence == OnDivergence::Retry)
    text += std::isfinite(st.restart_objective)
                ? retry_note(report.retries)
                : " (on_divergence='retry' cannot help: the objective at the start is not finite)";
  return DivergenceError(text);
}

// The DivergenceError of a run whose last update, after its last check,
// made the parameters non-finite.
template <class T>
DivergenceError last_update_error(const RunState<T>& st, const FitReport& report) {
  std::string text = last_update_message(run_unit(st.opt.method, false), index_t(report.loss_history.size()),
                                         st.lr.schedule().eta0, "optimizer", optimizer_name(st.opt.optimizer));
  if (st.opt.on_divergence == OnDivergence::Retry) text += retry_note(report.retries);
  return DivergenceError(text);
}

// The run itself, on a prepared RunState: the method's loop (again from
// the restart point after a divergence, with on_divergence = Retry), then
// the parameters written back and the report completed. The history holds
// the path of the parameters returned: a restart drops the checks after
// its point.
template <class T>
FitReport solve(RunState<T>& st, T* coef, T* intercept, const Observer<T>* observer) {
  const FitOptions& opt = st.opt;
  validate_start(st.theta.data(), st.layout, "coef0", "intercept0");
  FitReport report;
  // Sized once, not grown by doubling during the run (capped: a run that
  // asks for 10^9 iterations and stops on tol after 50 needs no more).
  const auto reserve = static_cast<size_t>(std::min<index_t>(opt.stopping.max_iter, 1 << 16));
  report.loss_history.reserve(reserve);
  report.learning_rate_history.reserve(reserve);
  StoppingMonitor monitor(opt.stopping);
  if (opt.on_divergence == OnDivergence::Retry) {
    // The start is the first restart point. batch's first check is its
    // objective; an epoch's check is not, so it takes a pass here. One
    // that is not finite is no step size's fault: nothing to go back to.
    const double start = opt.method == Method::Batch ? std::numeric_limits<double>::infinity() : st.objective_now();
    st.keep_restart_point(0, std::isfinite(start) ? start : std::numeric_limits<double>::infinity());
  }
  Status status;
  while (true) {
    status = run_method(st, monitor, report, observer);
    // The last update comes after the last check (at max_iter, and within
    // an epoch): parameters it made non-finite are a divergence too, never
    // a result.
    const bool last_update = status != Status::Diverged && !all_finite(st.result(), index_t(st.theta.size()), 1);
    if (status != Status::Diverged && !last_update) break;
    if (opt.on_divergence != OnDivergence::Retry || !std::isfinite(st.restart_objective) ||
        report.retries == max_divergence_retries)
      throw last_update ? last_update_error(st, report) : divergence_error(st, monitor, report, coef, intercept);
    ++report.retries;
    const auto keep = static_cast<size_t>(st.restart());
    report.loss_history.resize(keep);
    report.learning_rate_history.resize(keep);
    monitor.restart();
  }
  const T* result = st.result();
  std::copy(result, result + st.n_coef, coef);
  std::copy(result + st.n_coef, result + st.theta.size(), intercept);
  report.n_iter = static_cast<index_t>(report.loss_history.size());
  if (opt.method != Method::Batch) report.n_evals = report.n_iter;  // an epoch is a pass over X
  report.status = status;
  report.converged = converged(status);
  report.learning_rate = st.lr.schedule().eta0;
  report.message = stop_message(status, report.n_iter, run_unit(opt.method, true), opt.stopping) +
                   retry_note(report.retries);
  return report;
}

// solve(), continuing from `state` when it is filled and leaving the
// run's end in it (a null state: a fresh run, nothing kept).
template <class T>
FitReport solve_from(RunState<T>& st, T* coef, T* intercept, const Observer<T>* observer, FitState* state) {
  if (state) st.resume(*state);
  FitReport report = solve(st, coef, intercept, observer);
  if (state) st.save(*state);
  return report;
}

}  // namespace detail

/// Fits a linear model by gradient descent.
/// coef ((d, k) row-major, k = opt.loss.outputs()) and intercept (k) hold
/// the starting point on entry and the result on return. Throws
/// std::invalid_argument for bad input (before any work) and
/// DivergenceError when the objective diverges.
/// With `state`, the run continues from it when it is filled and leaves
/// its own end in it (FitState).
template <class T>
FitReport fit(const Dataset<T>& data, T* coef, T* intercept, const FitOptions& options,
              const Observer<T>* observer = nullptr, FitState* state = nullptr) {
  validate_options(options);
  detail::validate_dataset(data, options.check_finite, options.n_threads);
  detail::validate_total_weight(data);
  detail::validate_targets(data.y, options.loss);
  // sgd, minibatch and the Gram matrix read a sparse X one row at a time:
  // a CSC X is copied to CSR once (batch methods use it as it is).
  // The column sums come first when the fit needs them: they also tell
  // whether S keeps the precision that preconditioning reads (gram.hpp).
  std::optional<detail::ColumnSums> sums;
  if (detail::needs_column_sums(options)) sums = detail::column_sums(data);
  const bool gram = detail::use_gram(data, options) &&
                    (options.precompute == Precompute::Always || !sums || detail::gram_keeps_precision(*sums));
  detail::CsrCopy<T> csr;
  Dataset<T> rows_data = data;
  if (data.is_sparse() && data.sparse.format == SparseFormat::CSC && (gram || options.method != Method::Batch))
    rows_data.sparse = csr.of(data.sparse);
  if (gram) {
    // One pass over X, then the remote-sums loop over S (learning_rate
    // "auto" from S's own Lanczos passes).
    const detail::GramSums<T> gram_sums(rows_data, detail::resolve_threads(options.n_threads),
                                        observer ? observer->poll : std::function<void()>{});
    return fit(gram_sums.sums(), coef, intercept, options, observer, state);
  }
  const detail::Scaling scaling = sums ? detail::fit_scaling(options, *sums, data.rows()) : detail::Scaling{};
  const FitOptions opt = detail::resolve_learning_rate(data, options, scaling);
  detail::RunState<T> st(rows_data, opt, coef, intercept);
  if (preconditions(opt)) st.precondition(scaling);
  return detail::solve_from(st, coef, intercept, observer, state);
}

/// Fits a linear model by batch gradient descent to data held elsewhere,
/// e.g. the blocks of a distributed array: every iteration asks `remote`
/// for the data term's sums at the current parameters, and everything else
/// (the update rule, schedule, penalties, stopping rules, history,
/// divergence, the observer) is this library's own loop, as in the other
/// fit(). coef, intercept and the exceptions as there; options.method must
/// be Method::Batch.
template <class T>
FitReport fit(const RemoteSums<T>& remote, T* coef, T* intercept, const FitOptions& options,
              const Observer<T>* observer = nullptr, FitState* state = nullptr) {
  validate_options(options);
  if (options.method != Method::Batch)
    detail::invalid("a fit over remote sums runs method='batch' only, got method='", method_name(options.method),
                    "'");
  if (remote.rows < 1 || remote.features < 1)
    detail::invalid("the remote data needs at least one row and one feature, got shape (", remote.rows, ", ",
                    remote.features, ")");
  if (!remote.loss_grad) detail::invalid("the remote data has no loss_grad sums");
  detail::Scaling scaling;
  if (detail::needs_column_sums(options)) {
    if (!remote.column_sums)
      detail::invalid("precondition='auto' and learning_rate='bb' need the remote data's column sums; pass "
                      "precondition=None and a learning_rate other than 'bb'");
    detail::ColumnSums c{std::vector<double>(static_cast<size_t>(remote.features + 1)),
                         std::vector<double>(static_cast<size_t>(remote.features + 1))};
    remote.column_sums(c.sums.data(), c.squares.data());
    scaling = detail::fit_scaling(options, c, remote.rows);
  }
  const FitOptions opt = detail::resolved_steps(options, scaling, [&](const detail::Scaling& sc) {
    if (!remote.curvature) detail::invalid("learning_rate='auto' needs the remote data's curvature sums");
    return detail::lanczos_lambda_max<T>(remote.features, remote.rows, options.fit_intercept,
                                         detail::scaled_sums<T>(sc, remote.curvature));
  });
  // A Dataset of the remote data's shape: the loop reads its sizes only.
  const Dataset<T> shape{{nullptr, remote.rows, remote.features, Layout::RowMajor}, {}, {}};
  detail::RunState<T> st(shape, opt, coef, intercept);
  st.remote = &remote;
  if (preconditions(opt)) st.precondition(scaling);
  return detail::solve_from(st, coef, intercept, observer, state);
}

/// Checks options for an EpochRunner as fit() does, and what it does not
/// run: method batch, and the two features that need fit's checks
/// (ReduceOnPlateau's objective, on_divergence = Retry's restarts), which
/// are its caller's business.
inline void validate_epoch_runner(const FitOptions& options) {
  validate_options(options);
  if (options.method == Method::Batch) detail::invalid("EpochRunner runs method='sgd' or 'minibatch'");
  if (!options.auto_learning_rate && options.learning_rate.watches_objective())
    detail::invalid("learning_rate=ReduceOnPlateau needs the checks of fit()'s loop; epochs run one at a time "
                    "(descend.dask's sgd and minibatch) take a number or another schedule");
  if (options.on_divergence != OnDivergence::Raise)
    detail::invalid("on_divergence='", on_divergence_name(options.on_divergence),
                    "' restarts fit()'s loop; epochs run one at a time (descend.dask's sgd and minibatch) "
                    "take on_divergence='raise'");
}

/// sgd or minibatch one epoch at a time, the run's state kept between
/// epochs (the update rule's buffers, the schedule's clock, the shuffle's
/// stream) while the parameters may be set from outside before each: the
/// local step of parameter mixing over the blocks of a distributed array.
/// Epochs run from (coef, intercept) with the same arithmetic as fit()'s,
/// so run from their own result they are fit()'s epochs, bit for bit.
template <class T>
class EpochRunner {
 public:
  /// Validates as fit() does, and as validate_epoch_runner() says (method
  /// SGD or MiniBatch, no ReduceOnPlateau, on_divergence Raise); a
  /// learning_rate="auto" is resolved over this data.
  EpochRunner(const Dataset<T>& data, const FitOptions& options) : data_(data) {
    validate_epoch_runner(options);
    detail::validate_dataset(data, options.check_finite, options.n_threads);
    detail::validate_targets(data.y, options.loss);
    opt_ = detail::resolve_learning_rate(data, options);
    if (data.is_sparse() && data.sparse.format == SparseFormat::CSC) data_.sparse = csr_.of(data.sparse);
    const index_t k = opt_.loss.outputs();
    const std::vector<T> zeros(static_cast<size_t>(data.features() * k + k), T(0));
    st_ = std::make_unique<detail::RunState<T>>(data_, opt_, zeros.data(), zeros.data() + data.features() * k);
    const index_t batch = opt_.method == Method::SGD ? 1 : detail::effective_batch_size(opt_.batch_size, data.rows());
    run_ = std::visit(
        [&](const auto& rule) -> std::function<double(double*)> {
          using Rule = std::decay_t<decltype(rule)>;
          if (data_.is_sparse()) {
            auto e = std::make_shared<detail::SparseEpochs<T, Rule>>(*st_, rule, batch);
            return [this, e](double* g) { return e->run(timer_, g); };
          }
          auto e = std::make_shared<detail::DenseEpochs<T, Rule>>(*st_, rule, batch);
          return [this, e](double* g) { return e->run(timer_, g); };
        },
        opt_.optimizer);
  }

  /// One epoch from coef ((d, k) row-major) and intercept (k), written
  /// back; returns the epoch's objective, *grad_norm its last gradient's norm.
  double epoch(T* coef, T* intercept, double* grad_norm) {
    detail::RunState<T>& st = *st_;
    st.set_theta(coef, intercept);
    detail::validate_start(st.theta.data(), st.layout, "coef0", "intercept0");
    const double objective = run_(grad_norm);
    std::copy(st.theta.begin(), st.theta.begin() + st.n_coef, coef);
    std::copy(st.theta.begin() + st.n_coef, st.theta.end(), intercept);
    return objective;
  }

  /// The objective over the rows at coef and intercept (one pass; the
  /// next epoch starts from the parameters it is given, as always).
  double objective(const T* coef, const T* intercept) { return st_->objective_at(coef, intercept); }

  /// The options in force (learning_rate="auto" resolved).
  const FitOptions& options() const { return opt_; }

  /// coef's entries, d k.
  index_t coef_size() const { return st_->n_coef; }

  /// The step size of the next epoch's first update.
  double learning_rate_now() const { return st_->lr_now(); }

 private:
  Dataset<T> data_;
  detail::CsrCopy<T> csr_;
  FitOptions opt_;
  std::unique_ptr<detail::RunState<T>> st_;
  detail::PollTimer<T> timer_{nullptr};
  std::function<double(double*)> run_;
};

namespace detail {

// Whether gradient_descent runs textbook_loop: a dense X of at most one
// chunk's elements (one thread), which fit() would stream (not the Gram
// path), and no per-iteration callback to call.
template <class T>
bool textbook_loop_applies(const Dataset<T>& data, const FitOptions& options, const Observer<T>* observer) {
  return !data.is_sparse() && data.rows() * data.features() <= chunk_elements && !use_gram(data, options) &&
         !(observer && observer->on_iteration);
}

// fit()'s batch gd loop for gradient_descent on a tiny problem (W0's 3 x 2
// takes ~24 ns an iteration here against ~37 ns there): the same
// gradient (mean_loss_grad), divergence rule (StoppingMonitor) and step
// (apply_step), so the same bits, without the bookkeeping that fit()
// keeps for its report (history, schedule, restart point), which costs
// more than the arithmetic of a few rows. Data and options are fit()'s,
// checked. Writes theta and returns true when the run ends finite;
// otherwise returns false with theta as it was, and fit() runs it again
// to raise its own DivergenceError.
template <class T>
bool textbook_loop(const Dataset<T>& data, T* theta, const FitOptions& options, index_t num_iterations,
                   const Observer<T>* observer) {
  const index_t d = data.features();
  std::vector<T> t(theta, theta + d);
  t.push_back(T(0));  // the intercept, not learnt
  std::vector<double> grad(static_cast<size_t>(d + 1));
  GradientWorkspace ws;
  StoppingMonitor monitor(options.stopping);
  PollTimer<T> timer(observer);
  const double lr = options.learning_rate.eta0;
  const RowRange all{0, data.rows()};
  const StepBuffers<T, double> step{t.data(), grad.data(), nullptr, nullptr, d};
  for (index_t it = 0; it < num_iterations; ++it) {
    const double objective = mean_loss_grad(data, all, t.data(), SquaredLoss{}, grad.data(), 1, ws);
    if (monitor.check(objective, 0.0) != Status::Running) return false;
    apply_step(GD{}, step, lr, it + 1, 1);
    timer.tick(all.count * d);
  }
  if (!all_finite(t.data(), d, 1)) return false;
  std::copy(t.begin(), t.begin() + d, theta);
  return true;
}

}  // namespace detail

/// descend.gradient_descent: num_iterations steps of the textbook batch
/// gradient descent for least squares,
///   theta <- theta - learning_rate (2/m) X^T (X theta - y),
/// that is fit() with the squared loss, method batch, optimizer gd, a
/// constant learning rate, no intercept and no tolerance. theta (d
/// entries) holds the start on entry and the result on return. Throws
/// std::invalid_argument naming theta, num_iterations, learning_rate, X or
/// y (before any work) and DivergenceError instead of returning NaN.
template <class T>
void gradient_descent(const Dataset<T>& data, T* theta, double learning_rate, index_t num_iterations,
                      const Observer<T>* observer = nullptr) {
  detail::validate_finite(theta, data.features(), "theta");
  if (num_iterations < 0) detail::invalid("num_iterations must be >= 0, got ", num_iterations);
  FitOptions options;
  options.learning_rate = Schedule::constant(learning_rate);
  options.stopping.max_iter = num_iterations;
  options.stopping.tol.reset();
  if (detail::textbook_loop_applies(data, options, observer)) {
    validate_options(options);
    detail::validate_dataset(data, options.check_finite, options.n_threads);
    if (detail::textbook_loop(data, theta, options, num_iterations, observer)) return;
  }
  T intercept = 0;
  fit(data, theta, &intercept, options, observer);
}

/// Fits from zero coefficients and intercepts (descend.fit's default
/// start); throws as the other fit does.
template <class T>
FitResult<T> fit(const Dataset<T>& data, const FitOptions& options,
                 const Observer<T>* observer = nullptr) {
  const index_t k = options.loss.outputs();
  FitResult<T> result;
  result.coef.assign(static_cast<std::size_t>(data.features() * k), T(0));
  result.intercept.assign(static_cast<std::size_t>(k), T(0));
  result.report = fit(data, result.coef.data(), result.intercept.data(), options, observer);
  return result;
}

}  // namespace descend
