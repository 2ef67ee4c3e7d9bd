// Learning-rate schedules: the step size used for update t (t = 0, 1, ...).
#pragma once

namespace descend {

enum class ScheduleKind { Constant };

/// A learning-rate schedule; `eta0` is the initial rate.
/// Constant: eta_t = eta0.
struct Schedule {
  ScheduleKind kind = ScheduleKind::Constant;
  double eta0 = 0.01;

  /// Step size for update number t (0-based).
  double at(long long /*t*/) const { return eta0; }
};

}  // namespace descend
