// Pointwise losses loss(p, y) of a prediction p and a target y, with their
// derivative in p. All arithmetic is in double whatever the data's dtype.
#pragma once

#include <cmath>
#include <string>

namespace descend {

/// The losses the solver knows; LossSpec carries their parameters.
enum class LossKind { Squared, Logistic };

/// A loss and its parameters (none yet for squared and logistic).
struct LossSpec {
  LossKind kind = LossKind::Squared;
};

inline const char* loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::Squared: return "squared";
    case LossKind::Logistic: return "logistic";
  }
  return "?";
}

/// squared: loss = (p - y)^2, d loss / dp = 2 (p - y).
/// With the 1/m mean this gives the textbook gradient 2/m X^T (X theta - y).
struct SquaredLoss {
  static constexpr const char* target_domain = "real numbers";
  static bool valid_target(double) { return true; }

  /// Returns loss(p, y) and stores its derivative in `deriv`.
  double eval(double p, double y, double& deriv) const {
    const double r = p - y;
    deriv = 2.0 * r;
    return r * r;
  }
};

/// logistic: loss = log(1 + exp(p)) - y p for y in {0, 1},
/// d loss / dp = sigmoid(p) - y. Computed without overflow for any p:
/// log(1 + exp(p)) = max(p, 0) + log1p(exp(-|p|)).
struct LogisticLoss {
  static constexpr const char* target_domain = "0 or 1";
  static bool valid_target(double y) { return y == 0.0 || y == 1.0; }

  double eval(double p, double y, double& deriv) const {
    const double e = std::exp(-std::fabs(p));  // in (0, 1]: never overflows
    const double sigmoid = p >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    deriv = sigmoid - y;
    return (p > 0 ? p : 0.0) + std::log1p(e) - y * p;
  }
};

/// Calls f(loss_object) with the concrete loss type for `spec`; the hot
/// kernels are instantiated once per loss, so the switch runs once per call.
template <class F>
decltype(auto) visit_loss(const LossSpec& spec, F&& f) {
  switch (spec.kind) {
    case LossKind::Logistic: return f(LogisticLoss{});
    case LossKind::Squared: break;
  }
  return f(SquaredLoss{});
}

}  // namespace descend
