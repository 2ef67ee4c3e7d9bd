// How a linear model's parameters sit in one flat vector, shared by the
// gradient kernels, the update rules and the solver.
#pragma once

#include "config.hpp"

namespace descend {

/// The parameter vector of a linear model with d features and k outputs
/// (k = 1 except for softmax): theta = (coef, intercept) with coef (d, k)
/// row-major in theta[0 .. d k) and the k intercepts in theta[d k .. (d+1) k).
/// Gradients use the same layout.
struct ParamLayout {
  index_t features = 0;
  index_t outputs = 1;
  index_t coef_size() const { return features * outputs; }
  index_t size() const { return (features + 1) * outputs; }
};

}  // namespace descend
