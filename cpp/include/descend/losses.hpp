// Pointwise losses loss(p, y) of a prediction p and a target y, with their
// derivative in p. All arithmetic is in double whatever the data's dtype.
//
// Scalar losses (one prediction per row) have eval(p, y, deriv). softmax
// has k predictions per row and is evaluated by eval(p, y, deriv) over
// arrays of k values; the kernels in gradient.hpp specialise on it.
#pragma once

#include <cmath>
#include <string>
#include <type_traits>

#include "config.hpp"
#include "vmath.hpp"

namespace descend {

/// The losses the solver knows; LossSpec carries their parameters.
enum class LossKind { Squared, Logistic, Hinge, Huber, Softmax };

/// A loss and its parameters.
struct LossSpec {
  LossKind kind = LossKind::Squared;  ///< which loss
  double delta = 1.0;     ///< huber: where the quadratic turns linear
  index_t n_classes = 2;  ///< softmax: k, the number of classes (labels 0..k-1)

  /// Predictions (and coefficient columns) per row: k for softmax, else 1.
  index_t outputs() const { return kind == LossKind::Softmax ? n_classes : 1; }
};

/// The public name (loss= in descend.fit): "squared", "logistic", ...
inline const char* loss_name(LossKind kind) {
  switch (kind) {
    case LossKind::Squared: return "squared";
    case LossKind::Logistic: return "logistic";
    case LossKind::Hinge: return "hinge";
    case LossKind::Huber: return "huber";
    case LossKind::Softmax: return "softmax";
  }
  return "?";
}

/// Whether y is a valid label for logistic and hinge (0 or 1).
inline bool is_binary_label(double y) { return y == 0.0 || y == 1.0; }

/// squared: loss = (p - y)^2, d loss / dp = 2 (p - y).
/// With the 1/m mean this gives the textbook gradient 2/m X^T (X theta - y).
struct SquaredLoss {
  static constexpr const char* target_domain = "real numbers";
  /// Bound on d^2 loss / dp^2, for learning_rate="auto".
  static constexpr double curvature = 2.0;
  bool valid_target(double) const { return true; }

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
  static constexpr double curvature = 0.25;
  bool valid_target(double y) const { return is_binary_label(y); }

  // vmath.hpp's exp and log1p: branch-free, so the kernels' loops over a
  // group of rows vectorise this.
  DESCEND_INLINE double eval(double p, double y, double& deriv) const {
    const double e = detail::exp_nonpositive(-std::fabs(p));  // in (0, 1]: never overflows
    const double sigmoid = p >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
    deriv = sigmoid - y;
    return (p > 0 ? p : 0.0) + detail::log1p_unit(e) - y * p;
  }
};

/// hinge: loss = max(0, 1 - s p) with s = 2y - 1 for y in {0, 1};
/// subgradient -s where s p < 1, else 0 (0 at the kink).
struct HingeLoss {
  static constexpr const char* target_domain = "0 or 1";
  static constexpr double curvature = 0.0;  // not smooth: no Lipschitz gradient
  bool valid_target(double y) const { return is_binary_label(y); }

  double eval(double p, double y, double& deriv) const {
    const double s = 2.0 * y - 1.0;
    const double margin = 1.0 - s * p;
    deriv = margin > 0 ? -s : 0.0;
    return margin > 0 ? margin : 0.0;
  }
};

/// huber (PyTorch's HuberLoss): r = p - y, loss = r^2 / 2 where |r| <= delta,
/// else delta (|r| - delta / 2); d loss / dp = clamp(r, -delta, delta).
struct HuberLoss {
  static constexpr const char* target_domain = "real numbers";
  static constexpr double curvature = 1.0;
  double delta = 1.0;
  bool valid_target(double) const { return true; }

  double eval(double p, double y, double& deriv) const {
    const double r = p - y;
    const double a = std::fabs(r);
    if (a <= delta) {
      deriv = r;
      return 0.5 * r * r;
    }
    deriv = std::copysign(delta, r);
    return delta * (a - 0.5 * delta);
  }
};

/// softmax (multinomial logistic): for k predictions p_0..p_{k-1} and a
/// label y in 0..k-1, loss = logsumexp(p) - p_y, computed as
/// m + log(sum_c exp(p_c - m)) with m = max_c p_c so nothing overflows;
/// d loss / dp_c = softmax(p)_c - [c == y].
struct SoftmaxLoss {
  static constexpr const char* target_domain = "integer class labels 0..k-1";
  static constexpr double curvature = 0.5;  // largest eigenvalue of diag(s) - s s^T
  index_t k = 2;
  bool valid_target(double y) const {
    return y >= 0 && y < double(k) && y == std::floor(y);
  }

  /// Loss of the k predictions in p; deriv receives the k derivatives.
  double eval(const double* p, double y, double* deriv) const {
    double m = p[0];
    for (index_t c = 1; c < k; ++c) m = p[c] > m ? p[c] : m;
    double s = 0.0;
    for (index_t c = 0; c < k; ++c) s += (deriv[c] = std::exp(p[c] - m));
    const auto label = static_cast<index_t>(y);
    const double inv = 1.0 / s;
    for (index_t c = 0; c < k; ++c) deriv[c] *= inv;
    deriv[label] -= 1.0;
    return m + std::log(s) - p[label];
  }
};

/// Calls f(loss_object) with the concrete loss type for `spec`; the hot
/// kernels are instantiated once per loss, so the switch runs once per call.
template <class F>
decltype(auto) visit_loss(const LossSpec& spec, F&& f) {
  switch (spec.kind) {
    case LossKind::Logistic: return f(LogisticLoss{});
    case LossKind::Hinge: return f(HingeLoss{});
    case LossKind::Huber: return f(HuberLoss{spec.delta});
    case LossKind::Softmax: return f(SoftmaxLoss{spec.n_classes});
    case LossKind::Squared: break;
  }
  return f(SquaredLoss{});
}

/// Whether Loss predicts k values per row (softmax) rather than one.
template <class Loss>
constexpr bool is_multi_output = std::is_same_v<Loss, SoftmaxLoss>;

/// Predictions per row of a loss object: k for softmax, else 1.
template <class Loss>
index_t loss_outputs(const Loss& loss) {
  if constexpr (is_multi_output<Loss>) return loss.k;
  else return 1;
}

}  // namespace descend
