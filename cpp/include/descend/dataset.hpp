// The data a linear model is fitted to: X, y and optional sample weights,
// all caller-owned and read-only.
#pragma once

#include "view.hpp"

namespace descend {

/// X (rows x features), y (rows) and sample_weight (rows, or a default
/// Span, data == nullptr, for unit weights).
template <class T>
struct Dataset {
  MatrixView<T> X;                ///< the features, row- or column-major
  Span<const T> y;                ///< one target per row
  Span<const T> sample_weight;    ///< one weight per row, or no data (all 1)

  index_t rows() const { return X.rows; }      ///< number of samples
  index_t features() const { return X.cols; }  ///< number of features
  /// Whether rows carry weights (sample_weight has data).
  bool has_weights() const { return sample_weight.data != nullptr; }
  /// w_i: sample_weight[i], or 1 without weights.
  double weight(index_t i) const { return has_weights() ? double(sample_weight[i]) : 1.0; }
};

}  // namespace descend
