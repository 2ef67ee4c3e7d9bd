// Learning-rate schedules: the step size used for update t (t = 0, 1, ...;
// the solver counts updates, so for sgd and minibatch t runs across epochs).
#pragma once

#include <algorithm>
#include <cmath>

#include "errors.hpp"

namespace descend {

/// Which formula a Schedule evaluates (see Schedule).
enum class ScheduleKind { Constant, InverseScaling, Exponential, Step, Cosine };

/// A learning-rate schedule with initial rate eta0:
///   Constant        eta_t = eta0
///   InverseScaling  eta_t = eta0 / (t + 1)^power_t
///   Exponential     eta_t = eta0 gamma^t
///   Step            eta_t = eta0 gamma^floor(t / step_size)
///   Cosine          eta_t = eta_min + (eta0 - eta_min) (1 + cos(pi min(t, t_max) / t_max)) / 2
///                   (stays at eta_min after t_max)
struct Schedule {
  ScheduleKind kind = ScheduleKind::Constant;  ///< the formula
  double eta0 = 0.01;                          ///< the rate at t = 0
  double power_t = 0.25;                       ///< InverseScaling's exponent
  double gamma = 0.1;                          ///< Exponential's and Step's factor
  long long step_size = 1;                     ///< Step: updates per decay
  long long t_max = 1;                         ///< Cosine: updates to reach eta_min
  double eta_min = 0.0;                        ///< Cosine: the final rate

  /// eta_t = eta0 for every t.
  static Schedule constant(double eta0) { return {ScheduleKind::Constant, eta0}; }

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
  }
}

/// The one rule for a learning rate, wherever it is given: a schedule whose
/// parameters validate_schedule accepts (eta0 a finite number > 0). A
/// constant is named `constant_name` in messages ("learning_rate", "lr"),
/// a schedule's first rate "eta0".
inline void validate_learning_rate(const Schedule& s, const char* constant_name) {
  validate_schedule(s, s.kind == ScheduleKind::Constant ? constant_name : "eta0");
}

}  // namespace descend
