// The data a linear model is fitted to: X, y and optional sample weights,
// all caller-owned and read-only.
#pragma once

#include "view.hpp"

namespace descend {

/// X (rows x features), y (rows) and sample_weight (rows, or empty = all 1).
template <class T>
struct Dataset {
  MatrixView<T> X;              ///< the features, row- or column-major
  VectorView<T> y;              ///< one target per row
  VectorView<T> sample_weight;  ///< one weight per row, or empty (all 1)

  index_t rows() const { return X.rows; }      ///< number of samples
  index_t features() const { return X.cols; }  ///< number of features
  /// w_i: sample_weight[i], or 1 without weights.
  double weight(index_t i) const { return sample_weight.empty() ? 1.0 : double(sample_weight[i]); }
};

}  // namespace descend
