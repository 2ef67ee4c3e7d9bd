// The data a linear model is fitted to: X, y and optional sample weights,
// all caller-owned and read-only. X is dense (a MatrixView) or sparse (a
// SparseView, CSR or CSC); every kernel takes either.
#pragma once

#include "sparse.hpp"
#include "view.hpp"

namespace descend {

/// X (rows x features), y (rows) and sample_weight (rows, or a default
/// Span, data == nullptr, for unit weights). A sparse X goes in `sparse`
/// (X is then left empty):
///   Dataset<double> data{{}, {y, n}, {}, SparseView<double>::make(SparseFormat::CSR, n, d, ...)};
template <class T>
struct Dataset {
  MatrixView<T> X;                ///< dense features, row- or column-major (empty when sparse)
  Span<const T> y;                ///< one target per row
  Span<const T> sample_weight;    ///< one weight per row, or no data (all 1)
  SparseView<T> sparse{};         ///< sparse features, when X is sparse

  /// Whether X is the sparse one.
  bool is_sparse() const { return sparse.present(); }
  index_t rows() const { return is_sparse() ? sparse.rows : X.rows; }      ///< number of samples
  index_t features() const { return is_sparse() ? sparse.cols : X.cols; }  ///< number of features
  /// Whether rows carry weights (sample_weight has data).
  bool has_weights() const { return sample_weight.data != nullptr; }
  /// w_i: sample_weight[i], or 1 without weights.
  double weight(index_t i) const { return has_weights() ? double(sample_weight[i]) : 1.0; }
};

}  // namespace descend
