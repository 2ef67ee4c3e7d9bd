// Update rules: in-place kernels over contiguous buffers, one fused loop
// over parameters, gradient and state per step. Definitions, defaults and
// bias correction follow PyTorch's torch.optim; parameters and state stay
// in the caller's dtype T, the gradient may be double (the solver) or T
// (descend.optim over the user's arrays). The arithmetic is in the wider
// of the two (compute_t): double in the solver, where the gradient is a
// double sum; T in descend.optim, as torch's fused kernels do, where a
// float32 step in double would be bound by double square roots and
// divisions rather than by memory.
//
// Each rule is a small struct of hyper-parameters (their defaults are the
// one place descend's defaults are written) with
//   name        the public name (optimizer= in descend.fit)
//   default_lr  torch.optim's default learning rate for the rule (Optimizer<T>
//               and descend.optim use it when none is given)
//   slots       how many state buffers of the parameters' size it keeps
//               (zero-initialised by the caller before the first step)
//   params(f)   calls f(name, member) for each hyper-parameter
//   validate()  throws std::invalid_argument naming a bad hyper-parameter
//   prepare<C>(lr, t)  the elementwise update of step t = 1, 2, ... in
//               arithmetic of type C
// and step() applies it to every element (in parallel for large n).
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <variant>
#include <vector>

#include "buffer.hpp"
#include "config.hpp"
#include "errors.hpp"
#include "schedules.hpp"
#include "view.hpp"

namespace descend {

/// The buffers one step works on: n parameters, their gradient and the
/// rule's state buffers (unused ones may be null).
template <class T, class G>
struct StepBuffers {
  T* param = nullptr;       ///< the parameters, updated in place
  const G* grad = nullptr;  ///< their gradient
  T* state0 = nullptr;      ///< the rule's first state buffer (momentum, s, v, Adam's m)
  T* state1 = nullptr;      ///< its second (Adam's v)
  index_t size = 0;         ///< entries in each buffer
};

/// The arithmetic type of a step over parameters T with gradient G.
template <class T, class G>
using compute_t = std::common_type_t<T, G>;

namespace detail {

// Below this many parameters a step runs on one thread: a parallel region
// costs more than the loop.
constexpr index_t parallel_update_min = index_t{1} << 16;

// Element j of a step: `step` (a rule's prepare<C>) updates p[j] and its
// Slots state entries with gradient gj, in arithmetic C.
template <int Slots, class C, class Step, class T>
inline void step_element(const Step& step, T* p, T* s0, T* s1, index_t j, C gj) {
  C pj = C(p[j]);
  C a = Slots >= 1 ? C(s0[j]) : C(0);
  C c = Slots >= 2 ? C(s1[j]) : C(0);
  step(pj, gj, a, c);
  p[j] = static_cast<T>(pj);
  if constexpr (Slots >= 1) s0[j] = static_cast<T>(a);
  if constexpr (Slots >= 2) s1[j] = static_cast<T>(c);
}

// One step of `rule` over every element; elementwise, so any thread count
// gives bitwise the same result. Specialised on the number of state
// buffers so the loop has no branch and vectorises.
template <int Slots, class Rule, class T, class G>
void apply_step_slots(const Rule& rule, const StepBuffers<T, G>& b, double lr, long long t,
                      int n_threads) {
  using C = compute_t<T, G>;
  const auto step = rule.template prepare<C>(lr, t);
  T* const p = b.param;
  const G* const g = b.grad;
  T* const s0 = b.state0;
  T* const s1 = b.state1;
  if (b.size < parallel_update_min || n_threads <= 1) {
    // A plain loop over a copy of the step: the parallel region's closure
    // takes `step` by reference, and the loop that shared it reloaded the
    // step's constants from the stack behind an alias check, which costs
    // more than the step itself on a few parameters.
    const auto serial = step;
    for (index_t j = 0; j < b.size; ++j) step_element<Slots>(serial, p, s0, s1, j, C(g[j]));
    return;
  }
  parallel_for(b.size, n_threads, true, [&](index_t j) { step_element<Slots>(step, p, s0, s1, j, C(g[j])); });
}

template <class Rule, class T, class G>
void apply_step(const Rule& rule, const StepBuffers<T, G>& b, double lr, long long t, int n_threads) {
  apply_step_slots<Rule::slots>(rule, b, lr, t, n_threads);
}

}  // namespace detail

// Each rule's prepare<C>(lr, t) folds the per-step constants (bias
// corrections, decay factors) once, in double, rounds them to C and
// returns the elementwise update f(p, g, s0, s1) over C, applied to every
// parameter. The adaptive rules form their direction first (g / (sqrt(s)
// + epsilon), a few units at most) and scale it by the rate last: lr g, or
// Adam's lr / (1 - beta_1^t), can overflow C (lr = 1e300 in double, 1e38
// in float32) where the update itself does not, and inf * 0 is NaN.

/// gd: p <- p - lr g.
struct GD {
  static constexpr const char* name = "gd";
  static constexpr double default_lr = 1e-3;
  static constexpr int slots = 0;
  template <class F> void params(F&&) {}
  void validate() const {}
  template <class C> auto prepare(double lr, long long) const {
    return [lr = C(lr)](C& p, C g, C&, C&) { p -= lr * g; };
  }
};

/// What momentum and nesterov share: the buffer and its factor.
struct MomentumParams {
  static constexpr int slots = 1;
  double momentum = 0.9;
  template <class F> void params(F&& f) { f("momentum", momentum); }
  void validate() const { detail::check_unit_interval(momentum, "momentum"); }
};

/// momentum (heavy ball, torch.optim.SGD with momentum, dampening 0):
/// b <- momentum b + g; p <- p - lr b.
struct Momentum : MomentumParams {
  static constexpr const char* name = "momentum";
  static constexpr double default_lr = 1e-3;
  template <class C> auto prepare(double lr, long long) const {
    return [lr = C(lr), mu = C(momentum)](C& p, C g, C& b, C&) {
      b = mu * b + g;
      p -= lr * b;
    };
  }
};

/// nesterov (torch.optim.SGD with nesterov=True):
/// b <- momentum b + g; p <- p - lr (g + momentum b).
/// With `adaptive` (momentum="auto"), batch fits only: FISTA's momentum
/// sequence with adaptive restart instead of a fixed momentum
/// (accelerated.hpp), the buffer holding the last proximal point.
struct Nesterov : MomentumParams {
  static constexpr const char* name = "nesterov";
  static constexpr double default_lr = 1e-3;
  bool adaptive = false;
  void validate() const {
    if (!adaptive) MomentumParams::validate();
  }
  template <class C> auto prepare(double lr, long long) const {
    return [lr = C(lr), mu = C(momentum)](C& p, C g, C& b, C&) {
      b = mu * b + g;
      p -= lr * (g + mu * b);
    };
  }
};

/// adagrad: s <- s + g^2; p <- p - lr g / (sqrt(s) + epsilon).
struct Adagrad {
  static constexpr const char* name = "adagrad";
  static constexpr double default_lr = 1e-2;
  static constexpr int slots = 1;
  double epsilon = 1e-10;
  template <class F> void params(F&& f) { f("epsilon", epsilon); }
  void validate() const { detail::check_positive(epsilon, "epsilon"); }
  template <class C> auto prepare(double lr, long long) const {
    return [lr = C(lr), eps = C(epsilon)](C& p, C g, C& s, C&) {
      s += g * g;
      p -= lr * (g / (std::sqrt(s) + eps));
    };
  }
};

/// rmsprop: v <- rho v + (1 - rho) g^2; p <- p - lr g / (sqrt(v) + epsilon).
struct RMSprop {
  static constexpr const char* name = "rmsprop";
  static constexpr double default_lr = 1e-2;
  static constexpr int slots = 1;
  double rho = 0.99;
  double epsilon = 1e-8;
  template <class F> void params(F&& f) {
    f("rho", rho);
    f("epsilon", epsilon);
  }
  void validate() const {
    detail::check_unit_interval(rho, "rho");
    detail::check_positive(epsilon, "epsilon");
  }
  template <class C> auto prepare(double lr, long long) const {
    return [lr = C(lr), rho = C(rho), rho_c = C(1.0 - rho), eps = C(epsilon)](C& p, C g, C& v, C&) {
      v = rho * v + rho_c * g * g;
      p -= lr * (g / (std::sqrt(v) + eps));
    };
  }
};

/// adam: m <- b1 m + (1 - b1) g; v <- b2 v + (1 - b2) g^2;
/// p <- p - lr ((1 / (1 - b1^t)) (m / (sqrt(v) / sqrt(1 - b2^t) + epsilon))).
struct Adam {
  static constexpr const char* name = "adam";
  static constexpr double default_lr = 1e-3;
  static constexpr int slots = 2;
  double beta_1 = 0.9;
  double beta_2 = 0.999;
  double epsilon = 1e-8;
  template <class F> void params(F&& f) {
    f("beta_1", beta_1);
    f("beta_2", beta_2);
    f("epsilon", epsilon);
  }
  void validate() const {
    detail::check_unit_interval(beta_1, "beta_1");
    detail::check_unit_interval(beta_2, "beta_2");
    detail::check_positive(epsilon, "epsilon");
  }
  template <class C> auto prepare(double lr, long long t) const {
    const C rate = C(lr), inv_c1 = C(1.0 / (1.0 - std::pow(beta_1, double(t))));
    const C root_c2 = C(std::sqrt(1.0 - std::pow(beta_2, double(t))));
    return [=, b1 = C(beta_1), b1_c = C(1.0 - beta_1), b2 = C(beta_2), b2_c = C(1.0 - beta_2),
            eps = C(epsilon)](C& p, C g, C& m, C& v) {
      m = b1 * m + b1_c * g;
      v = b2 * v + b2_c * g * g;
      p -= rate * (inv_c1 * (m / (std::sqrt(v) / root_c2 + eps)));
    };
  }
};

/// adamw: p <- p (1 - lr weight_decay), then the adam step (decoupled decay).
struct AdamW : Adam {
  static constexpr const char* name = "adamw";
  double weight_decay = 1e-2;
  template <class F> void params(F&& f) {
    Adam::params(f);
    f("weight_decay", weight_decay);
  }
  void validate() const {
    Adam::validate();
    detail::check_non_negative(weight_decay, "weight_decay");
  }
  template <class C> auto prepare(double lr, long long t) const {
    const auto adam = Adam::prepare<C>(lr, t);
    const C decay = C(1.0 - lr * weight_decay);
    return [=](C& p, C g, C& m, C& v) {
      p *= decay;
      adam(p, g, m, v);
    };
  }
};

/// lbfgs: limited-memory BFGS (OWL-QN with l1), descend.fit's batch loop
/// only (lbfgs.hpp): the direction -H g from the last `history` pairs of
/// steps and gradient differences, the step length from a strong-Wolfe
/// line search; learning_rate is not used (the first step is
/// learning_rate="bb"'s, at most 1/L). Not an elementwise rule: descend.optim
/// refuses it, and prepare() (never reached by a fit) is gd's step.
struct LBFGS {
  static constexpr const char* name = "lbfgs";
  static constexpr double default_lr = 1.0;
  static constexpr int slots = 0;
  double history = 10;  ///< pairs kept (scipy's and torch's default)
  template <class F> void params(F&& f) { f("history", history); }
  void validate() const {
    if (!(history >= 1 && history <= 1000 && history == std::floor(history)))
      detail::invalid("history must be a whole number from 1 to 1000, got ", history);
  }
  template <class C> auto prepare(double lr, long long) const {
    return [lr = C(lr)](C& p, C g, C&, C&) { p -= lr * g; };
  }
};

/// Any update rule; the solver visits it once per run, so each rule gets
/// its own inlined loop.
using UpdateRule = std::variant<GD, Momentum, Nesterov, Adagrad, RMSprop, Adam, AdamW, LBFGS>;

/// Whether the rule is lbfgs (the batch loop's own, lbfgs.hpp).
inline bool quasi_newton(const UpdateRule& rule) { return std::holds_alternative<LBFGS>(rule); }

/// The public name (optimizer= in descend.fit).
inline const char* optimizer_name(const UpdateRule& rule) {
  return std::visit([](const auto& r) { return r.name; }, rule);
}

/// How many state buffers of the parameters' size the rule keeps (0, 1 or 2).
inline int optimizer_slots(const UpdateRule& rule) {
  return std::visit([](const auto& r) { return r.slots; }, rule);
}

/// Whether learning_rate="auto" (1/L) suits the rule: the plain and
/// momentum rules; the adaptive ones scale their own steps.
inline bool takes_auto_learning_rate(const UpdateRule& rule) {
  return std::holds_alternative<GD>(rule) || std::holds_alternative<Momentum>(rule) ||
         std::holds_alternative<Nesterov>(rule);
}

/// Whether the rule is nesterov with momentum="auto" (FISTA with adaptive
/// restart: the batch loop's own step, not an elementwise one).
inline bool adaptive_momentum(const UpdateRule& rule) {
  const auto* n = std::get_if<Nesterov>(&rule);
  return n && n->adaptive;
}

/// `rule` with momentum="auto"; std::invalid_argument unless it is nesterov.
inline UpdateRule with_auto_momentum(UpdateRule rule) {
  auto* n = std::get_if<Nesterov>(&rule);
  if (!n)
    detail::invalid("momentum='auto' (FISTA's momentum with adaptive restart) applies to optimizer='nesterov', got "
                    "optimizer='", std::visit([](const auto& r) { return r.name; }, rule), "'");
  n->adaptive = true;
  return rule;
}

/// Throws std::invalid_argument naming a bad hyper-parameter.
inline void validate_rule(const UpdateRule& rule) {
  std::visit([](const auto& r) { r.validate(); }, rule);
}

/// One step of `rule` in place: t counts steps from 1 (Adam's bias
/// correction); state buffers must hold optimizer_slots(rule) arrays.
template <class T, class G>
void step(const UpdateRule& rule, const StepBuffers<T, G>& buffers, double lr, long long t,
          int n_threads = 1) {
  std::visit([&](const auto& r) { detail::apply_step(r, buffers, lr, t, n_threads); }, rule);
}

/// torch.optim's default learning rate for the rule.
inline double default_learning_rate(const UpdateRule& rule) {
  return std::visit([](const auto& r) { return r.default_lr; }, rule);
}

/// An update rule with its own state, as a torch.optim optimizer (and
/// descend.optim) keeps it: the state buffers start at zero and step t at
/// 0; each step(params, grad) updates params in place with the rate
/// learning_rate.at(t), as step t + 1 of the rule (Adam's bias correction).
///   descend::Optimizer<float> opt(descend::Adam{}, n, descend::Schedule::constant(1e-3));
///   opt.step(params, grad);  // Span<float>, Span<const float> (or std::vectors)
/// The learning rate follows one rule everywhere: a schedule whose eta0 is
/// a finite number > 0 (a constant is named "lr" in messages).
template <class T>
class Optimizer {
 public:
  using value_type = T;  ///< the parameters' and state's scalar

  /// Validates the rule and the schedule (std::invalid_argument naming the
  /// bad hyper-parameter) and sizes the state for `size` parameters.
  Optimizer(UpdateRule rule, index_t size, Schedule learning_rate, int n_threads = 1)
      : rule_(rule), size_(size), n_threads_(n_threads) {
    validate_rule(rule_);
    if (adaptive_momentum(rule_))
      detail::invalid("momentum='auto' restarts on the objective's geometry, which descend.fit's batch loop sees "
                      "and an optimizer stepping on gradients alone does not: pass a number");
    if (quasi_newton(rule_))
      detail::invalid("lbfgs searches along each direction, evaluating the objective at trial points, which an "
                      "optimizer stepping on gradients alone cannot do: use descend.minimize(fun, x0, "
                      "method='lbfgs') or descend.fit(..., optimizer='lbfgs')");
    set_learning_rate(learning_rate);
    if (size < 0) detail::invalid("size must be >= 0, got ", size);
    const int slots = optimizer_slots(rule_);
    for (int k = 0; k < slots; ++k) state_[k].assign(static_cast<std::size_t>(size), T(0));
  }
  /// The same at the rule's default learning rate (default_learning_rate).
  Optimizer(UpdateRule rule, index_t size)
      : Optimizer(rule, size, Schedule::constant(default_learning_rate(rule))) {}

  /// One step: params -= the rule's update for grad; both hold size() values.
  void step(Span<T> params, Span<const T> grad) {
    if (params.size != size_ || grad.size != size_)
      detail::invalid("step() got params of size ", params.size, " and grad of size ", grad.size,
                      " for an optimizer of size ", size_);
    const StepBuffers<T, T> b{params.data, grad.data, slot_data(0), slot_data(1), size_};
    descend::step(rule_, b, lr_.at(t_), t_ + 1, detail::resolve_threads(n_threads_));
    ++t_;
  }

  index_t size() const { return size_; }                   ///< parameters per step
  long long steps() const { return t_; }                   ///< steps taken so far
  const UpdateRule& rule() const { return rule_; }         ///< the rule and its hyper-parameters
  const Schedule& learning_rate() const { return lr_; }    ///< the schedule of step sizes
  double current_lr() const { return lr_.at(t_); }         ///< the rate the next step uses
  int n_threads() const { return n_threads_; }             ///< threads of a step (<= 0: the default)

  /// A new schedule of step sizes, evaluated from the current step count on.
  void set_learning_rate(const Schedule& learning_rate) {
    validate_learning_rate(learning_rate, "lr");
    if (learning_rate.watches_objective())
      detail::invalid("ReduceOnPlateau follows the objective of descend.fit's checks; an optimizer stepping on "
                      "gradients alone has none to watch: pass a number or another schedule");
    lr_ = learning_rate;
  }
  /// Threads for the next steps (<= 0: get_num_threads()); never changes a result.
  void set_n_threads(int n_threads) { n_threads_ = n_threads; }
  /// Continues from `steps` steps taken (a restored state's clock).
  void set_steps(long long steps) {
    if (steps < 0) detail::invalid("the step count must be >= 0, got ", steps);
    t_ = steps;
  }

  /// State buffer `slot` (0 .. optimizer_slots(rule()) - 1): momentum's b,
  /// Adagrad's s, RMSprop's v, Adam's m (0) and v (1); writable, so a
  /// saved state can be loaded into it.
  Span<T> state(int slot) {
    check_slot(slot);
    return state_[slot];
  }
  Span<const T> state(int slot) const {
    check_slot(slot);
    return state_[slot];
  }
  /// Back to the start: state zero, no steps taken.
  void reset() {
    for (auto& s : state_) std::fill(s.begin(), s.end(), T(0));
    t_ = 0;
  }

 private:
  void check_slot(int slot) const {
    if (slot < 0 || slot >= optimizer_slots(rule_))
      detail::invalid("optimizer='", optimizer_name(rule_), "' has ", optimizer_slots(rule_),
                      " state buffer(s); there is no slot ", slot);
  }
  T* slot_data(int slot) { return state_[slot].empty() ? nullptr : state_[slot].data(); }

  UpdateRule rule_;
  Schedule lr_;
  index_t size_;
  int n_threads_;
  detail::Buffer<T> state_[2];
  long long t_ = 0;
};

}  // namespace descend
