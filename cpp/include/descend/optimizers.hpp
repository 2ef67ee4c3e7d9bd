// Update rules: in-place kernels over the flat parameter vector
// theta = (coef, intercept), one fused loop per step. Parameters stay in
// the caller's dtype; gradients arrive in double.
#pragma once

#include <variant>

#include "config.hpp"

namespace descend {

/// Plain gradient descent: theta <- theta - lr * g.
struct GD {
  /// Sizes per-run state for n parameters (GD has none).
  void start(index_t /*n*/) {}

  template <class T>
  void step(T* theta, const double* g, index_t n, double lr) {
    for (index_t j = 0; j < n; ++j) theta[j] = static_cast<T>(double(theta[j]) - lr * g[j]);
  }
};

/// Any update rule; the solver visits it once per run, so each rule gets
/// its own inlined loop.
using UpdateRule = std::variant<GD>;

inline const char* optimizer_name(const UpdateRule& rule) {
  switch (rule.index()) {
    case 0: return "gd";
  }
  return "?";
}

}  // namespace descend
