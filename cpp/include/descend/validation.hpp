// Checks run before any work: every message names the argument at fault.
#pragma once

#include <cmath>

#include "dataset.hpp"
#include "errors.hpp"
#include "losses.hpp"
#include "params.hpp"
#include "partition.hpp"
#include "simd.hpp"

namespace descend {

/// True when every one of the n values is finite (one parallel pass, no allocation).
template <class T>
bool all_finite(const T* data, index_t n, int n_threads = 0) {
  n_threads = detail::resolve_threads(n_threads);
  // x - x is 0 for finite x and NaN for inf and NaN: a branch-free test,
  // summed in the lanes of detail::simd::d8 so it vectorises.
  auto chunk_is_finite = [data](index_t begin, index_t end) {
    detail::simd::d8 acc = detail::simd::zero();
    index_t i = begin;
    for (; i + detail::simd::width <= end; i += detail::simd::width) {
      const detail::simd::d8 x = detail::simd::load(data + i);
      acc += x - x;
    }
    double rest = 0.0;
    for (; i < end; ++i) rest += double(data[i]) - double(data[i]);
    return detail::simd::sum(acc) + rest == 0.0;
  };
  const detail::Partition part = detail::make_partition(n, 1);
  if (!detail::worth_threading(n, part.chunks, n_threads)) return chunk_is_finite(0, n);
  int finite = 1;
  DESCEND_OMP(omp parallel for schedule(static) num_threads(n_threads) reduction(&& : finite))
  for (index_t c = 0; c < part.chunks; ++c) finite = finite && chunk_is_finite(part.begin(c), part.end(c));
  return finite != 0;
}

namespace detail {

template <class T>
void check_finite_vector(Span<const T> v, const char* name, int n_threads) {
  if (!all_finite(v.data, v.size, n_threads))
    invalid(name, " contains NaN or infinity; remove or impute those values");
}

// A sparse X's arrays must describe a matrix: indptr starts at 0, never
// decreases and ends at nnz; every index names a row/column of the
// matrix; the values are finite (when check_finite). Hand-built arrays
// that break this would read out of bounds, so this is never skipped
// (check_finite skips the values' pass only).
template <class T>
void validate_sparse(const SparseView<T>& m, bool check_finite, int n_threads) {
  const char* major = m.format == SparseFormat::CSR ? "rows" : "columns";
  const char* minor = m.format == SparseFormat::CSR ? "columns" : "rows";
  if (m.rows < 0 || m.cols < 0) invalid("X has a negative shape (", m.rows, ", ", m.cols, ")");
  m.visit([&](const auto* indices, const auto* indptr) {
    if (indptr == nullptr) invalid("X.indptr is missing");
    if (indptr[0] != 0) invalid("X.indptr must start at 0, got ", index_t(indptr[0]));
    for (index_t i = 0; i < m.major(); ++i)
      if (indptr[i + 1] < indptr[i])
        invalid("X.indptr must not decrease: indptr[", i + 1, "] = ", index_t(indptr[i + 1]), " < indptr[", i,
                "] = ", index_t(indptr[i]));
    const index_t nnz = index_t(indptr[m.major()]);
    if (nnz > 0 && (indices == nullptr || m.data == nullptr)) invalid("X has ", nnz, " entries but no data or indices");
    for (index_t e = 0; e < nnz; ++e)
      if (indices[e] < 0 || index_t(indices[e]) >= m.minor())
        invalid("X.indices[", e, "] = ", index_t(indices[e]), " is out of range: X has ", m.minor(), " ", minor,
                " (indptr runs over its ", major, ")");
    if (check_finite && !all_finite(m.data, nnz, n_threads))
      invalid("X contains NaN or infinity; remove or impute those values (or pass check_finite=False to skip this check)");
  });
}

/// Checks shapes, finiteness (when check_finite) and sample weights.
template <class T>
void validate_dataset(const Dataset<T>& data, bool check_finite, int n_threads = 0) {
  if (!data.is_sparse() && data.X.data == nullptr && data.X.size() > 0) invalid("X has no data");
  if (data.rows() < 1) invalid("X is empty: it needs at least one row, got shape (", data.rows(), ", ", data.features(), ")");
  if (data.features() < 1) invalid("X needs at least one feature column, got shape (", data.rows(), ", ", data.features(), ")");
  if (data.y.size != data.rows())
    invalid("y has ", data.y.size, " entries but the number of rows of X is ", data.rows(), "; they must match");
  if (data.has_weights() && data.sample_weight.size != data.rows())
    invalid("sample_weight has ", data.sample_weight.size, " entries but the number of rows of X is ", data.rows(), "; they must match");
  if (data.is_sparse()) validate_sparse(data.sparse, check_finite, n_threads);
  if (check_finite) {
    if (!data.is_sparse() && !all_finite(data.X.data, data.X.size(), n_threads))
      invalid("X contains NaN or infinity; remove or impute those values (or pass check_finite=False to skip this check)");
    check_finite_vector(data.y, "y", n_threads);
  }
  if (data.has_weights()) {
    check_finite_vector(data.sample_weight, "sample_weight", n_threads);
    for (index_t i = 0; i < data.sample_weight.size; ++i)
      if (data.sample_weight[i] < 0) invalid("sample_weight must be non-negative, got ", double(data.sample_weight[i]), " at index ", i);
  }
}

/// A whole data set (not one block of a distributed one) must weigh
/// something: with every weight 0 the objective is 0 (or 0 x inf = NaN).
template <class T>
void validate_total_weight(const Dataset<T>& data) {
  if (!data.has_weights()) return;
  for (index_t i = 0; i < data.sample_weight.size; ++i)
    if (data.sample_weight[i] > 0) return;
  invalid("sample_weight is zero for every row: there is nothing to fit");
}

/// Checks that every target lies in the loss's domain (e.g. 0 or 1 for logistic).
template <class T>
void validate_targets(Span<const T> y, const LossSpec& spec) {
  visit_loss(spec, [&](const auto& loss) {
    for (index_t i = 0; i < y.size; ++i)
      if (!loss.valid_target(double(y[i])))
        invalid("y[", i, "] = ", double(y[i]), " is outside the domain of loss='",
                        loss_name(spec.kind), "': targets must be ", loss.target_domain);
  });
}

/// The parameters must be finite: a NaN there would only surface as a
/// "diverged" message that blames the learning rate.
template <class T>
void validate_finite(const T* values, index_t n, const char* name) {
  for (index_t j = 0; j < n; ++j)
    if (!std::isfinite(double(values[j]))) invalid(name, " contains NaN or infinity at index ", j);
}

/// validate_finite for theta = (coef, intercepts) as ParamLayout lays it out.
template <class T>
void validate_start(const T* theta, const ParamLayout& layout, const char* coef_name,
                    const char* intercept_name) {
  validate_finite(theta, layout.coef_size(), coef_name);
  validate_finite(theta + layout.coef_size(), layout.outputs, intercept_name);
}

/// The loss's own parameters.
inline void validate_loss(const LossSpec& loss) {
  if (loss.kind == LossKind::Huber && !(loss.delta > 0 && std::isfinite(loss.delta)))
    invalid("delta must be a finite number > 0 for loss='huber', got ", loss.delta);
  if (loss.kind == LossKind::Softmax && loss.n_classes < 2)
    invalid("loss='softmax' needs at least 2 classes, got ", loss.n_classes);
}

}  // namespace detail
}  // namespace descend
