// Learning-rate schedules: the step size used for update t (t = 0, 1, ...;
// the solver counts updates, so for sgd and minibatch t runs across epochs).
// ReduceOnPlateau is the one that also watches the objective: a run keeps
// its state in a ScheduleRun.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "errors.hpp"

namespace descend {

/// Which formula a Schedule evaluates (see Schedule).
enum class ScheduleKind { Constant, InverseScaling, Exponential, Step, Cosine, ReduceOnPlateau };

/// A learning-rate schedule with initial rate eta0:
///   Constant        eta_t = eta0
///   InverseScaling  eta_t = eta0 / (t + 1)^power_t
///   Exponential     eta_t = eta0 gamma^t
///   Step            eta_t = eta0 gamma^floor(t / step_size)
///   Cosine          eta_t = eta_min + (eta0 - eta_min) (1 + cos(pi min(t, t_max) / t_max)) / 2
///                   (stays at eta_min after t_max)
///   ReduceOnPlateau eta = eta0, times factor whenever the objective of
///                   `patience` checks in a row has not improved (see
///                   ScheduleRun); never below min_lr. Not a function of t.
struct Schedule {
  ScheduleKind kind = ScheduleKind::Constant;  ///< the formula
  double eta0 = 0.01;                          ///< the rate at t = 0
  double power_t = 0.25;                       ///< InverseScaling's exponent
  double gamma = 0.1;                          ///< Exponential's and Step's factor
  long long step_size = 1;                     ///< Step: updates per decay
  long long t_max = 1;                         ///< Cosine: updates to reach eta_min
  double eta_min = 0.0;                        ///< Cosine: the final rate
  double factor = 0.2;                         ///< ReduceOnPlateau: the step's multiplier at a plateau
  long long patience = 5;                      ///< ReduceOnPlateau: checks without improvement that make one
  double threshold = 1e-4;                     ///< ReduceOnPlateau: relative gain that counts as improvement
  double min_lr = 0.0;                         ///< ReduceOnPlateau: the floor of the reductions

  /// eta_t = eta0 for every t.
  static Schedule constant(double eta0) { return {ScheduleKind::Constant, eta0}; }

  /// Whether the step size follows the run's objective (ReduceOnPlateau),
  /// so that only a run's ScheduleRun knows it.
  bool watches_objective() const { return kind == ScheduleKind::ReduceOnPlateau; }

  /// The same schedule with every rate divided by c: eta_t / c for every t
  /// (eta0, and the floors eta_min and min_lr that scale with it).
  Schedule divided_by(double c) const {
    Schedule s = *this;
    s.eta0 /= c;
    s.eta_min /= c;
    s.min_lr /= c;
    return s;
  }

  /// Step size for update number t (0-based).
  double at(long long t) const {
    switch (kind) {
      case ScheduleKind::Constant: return eta0;
      case ScheduleKind::InverseScaling: return eta0 / std::pow(double(t) + 1.0, power_t);
      case ScheduleKind::Exponential: return eta0 * std::pow(gamma, double(t));
      case ScheduleKind::Step: return eta0 * std::pow(gamma, double(t / step_size));
      case ScheduleKind::Cosine: {
        const double pi = 3.14159265358979323846;
        const double frac = double(std::min(t, t_max)) / double(t_max);
        return eta_min + (eta0 - eta_min) * 0.5 * (1.0 + std::cos(pi * frac));
      }
      case ScheduleKind::ReduceOnPlateau: return eta0;  // before any reduction: ScheduleRun has the rest
    }
    return eta0;
  }
};

/// The class name in descend.schedules ("Constant", "Cosine", ...).
inline const char* schedule_name(ScheduleKind kind) {
  switch (kind) {
    case ScheduleKind::Constant: return "Constant";
    case ScheduleKind::InverseScaling: return "InverseScaling";
    case ScheduleKind::Exponential: return "Exponential";
    case ScheduleKind::Step: return "Step";
    case ScheduleKind::Cosine: return "Cosine";
    case ScheduleKind::ReduceOnPlateau: return "ReduceOnPlateau";
  }
  return "?";
}

/// Checks a schedule's parameters; messages name them as descend.schedules
/// does, and eta0 as `eta0_name` (descend.fit's "learning_rate" for a number).
inline void validate_schedule(const Schedule& s, const char* eta0_name) {
  using detail::invalid;
  detail::check_positive(s.eta0, eta0_name);
  switch (s.kind) {
    case ScheduleKind::Constant: break;
    case ScheduleKind::InverseScaling:
      detail::check_non_negative(s.power_t, "power_t");
      break;
    case ScheduleKind::Exponential:
    case ScheduleKind::Step:
      if (!(s.gamma > 0 && s.gamma <= 1)) invalid("gamma must be in (0, 1], got ", s.gamma);
      if (s.kind == ScheduleKind::Step && s.step_size < 1)
        invalid("step_size must be >= 1, got ", s.step_size);
      break;
    case ScheduleKind::Cosine:
      if (s.t_max < 1) invalid("t_max must be >= 1, got ", s.t_max);
      if (!(s.eta_min >= 0 && s.eta_min <= s.eta0))
        invalid("eta_min must be in [0, eta0], got ", s.eta_min);
      break;
    case ScheduleKind::ReduceOnPlateau:
      if (!(s.factor > 0 && s.factor < 1)) invalid("factor must be in (0, 1), got ", s.factor);
      if (s.patience < 1) invalid("patience must be >= 1, got ", s.patience);
      detail::check_non_negative(s.threshold, "threshold");
      // As Cosine's eta_min: a floor above the start would never be reached.
      if (!(s.min_lr >= 0 && s.min_lr <= s.eta0)) invalid("min_lr must be in [0, eta0], got ", s.min_lr);
      break;
  }
}

/// The one rule for a learning rate, wherever it is given: a schedule whose
/// parameters validate_schedule accepts (eta0 a finite number > 0). A
/// constant is named `constant_name` in messages ("learning_rate", "lr"),
/// a schedule's first rate "eta0".
inline void validate_learning_rate(const Schedule& s, const char* constant_name) {
  validate_schedule(s, s.kind == ScheduleKind::Constant ? constant_name : "eta0");
}

/// A Schedule as one run evaluates it: at(t) is the step size of update t,
/// and check(J) takes each check's objective J (every batch iteration, or
/// every sgd/minibatch epoch), which moves ReduceOnPlateau (PyTorch's
/// ReduceLROnPlateau, mode "min", threshold_mode "rel"):
///   the first check sets best = J; a later one improves when
///   J < best (1 - threshold) (best = J, count = 0), else count += 1;
///   at count == patience: eta = max(eta factor, min_lr), count = 0.
/// A reduction decided at check k applies from the next update on, as
/// scheduler.step(loss) after an epoch does in PyTorch. The other kinds
/// ignore check() and are pure functions of t.
/// Where a ReduceOnPlateau run stands (its step size, best objective and
/// checks without improvement), for a FitState to carry to the next run.
struct PlateauState {
  bool set = false;  ///< false: nothing carried (the run starts at eta0)
  double eta = 0.0;
  double best = std::numeric_limits<double>::infinity();
  long long bad = 0;
  bool first = true;
};

class ScheduleRun {
 public:
  explicit ScheduleRun(const Schedule& s) : s_(s), eta_(s.eta0) {}

  /// The step size of update t (t counts this run's updates from 0).
  double at(long long t) const { return s_.watches_objective() ? eta_ : s_.at(t); }

  /// Feeds one check's objective (finite: a diverged check never gets here).
  void check(double objective) {
    if (!s_.watches_objective()) return;
    if (first_ || objective < best_ * (1.0 - s_.threshold)) {
      first_ = false;
      best_ = objective;
      bad_ = 0;
      return;
    }
    if (++bad_ < s_.patience) return;
    eta_ = std::max(eta_ * s_.factor, s_.min_lr);
    bad_ = 0;
  }

  /// The schedule it evaluates.
  const Schedule& schedule() const { return s_; }

  /// ReduceOnPlateau's state now, and a run picking it up again.
  PlateauState progress() const { return {true, eta_, best_, bad_, first_}; }
  void resume(const PlateauState& p) {
    if (!p.set || !s_.watches_objective()) return;
    eta_ = p.eta;
    best_ = p.best;
    bad_ = p.bad;
    first_ = p.first;
  }

 private:
  Schedule s_;
  double eta_;  // ReduceOnPlateau's step size now
  double best_ = std::numeric_limits<double>::infinity();
  long long bad_ = 0;  // checks in a row without improvement
  bool first_ = true;
};

}  // namespace descend
