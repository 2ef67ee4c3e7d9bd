// Fused loss + gradient kernels: prediction, residual and gradient
// accumulation in one pass over row blocks, so X is read from memory once.
//
// For rows R (m = |R|) of a linear model p_i = x_i . coef + intercept:
//   data term   J_data = (1/m) sum_{i in R} w_i loss(p_i, y_i)
//   gradient    g_j    = (1/m) sum_{i in R} w_i loss'(p_i, y_i) x_ij
//   intercept   g_b    = (1/m) sum_{i in R} w_i loss'(p_i, y_i)
// Sums accumulate in double for float and double data, over the fixed
// partition of partition.hpp (bitwise identical for any thread count).
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "dataset.hpp"
#include "losses.hpp"
#include "partition.hpp"
#include "rows.hpp"
#include "validation.hpp"

namespace descend {

/// Scratch space reused across calls so an iteration allocates nothing.
struct GradientWorkspace {
  std::vector<double> partials;  // one slot of (features + 2) doubles per chunk

  /// Sizes the scratch for calls over up to `rows` rows of `features` features.
  void reserve(index_t rows, index_t features) {
    const Partition p = make_partition(rows, features);
    if (p.chunks > 1) partials.reserve(static_cast<size_t>(p.chunks * (features + 2)));
  }
};

namespace detail {

// x . c in double with four independent accumulators: a fixed summation
// order the compiler can vectorise without -ffast-math.
template <class T>
inline double dot(const T* x, const T* c, index_t n) {
  double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  index_t j = 0;
  for (; j + 4 <= n; j += 4) {
    a0 += double(x[j]) * double(c[j]);
    a1 += double(x[j + 1]) * double(c[j + 1]);
    a2 += double(x[j + 2]) * double(c[j + 2]);
    a3 += double(x[j + 3]) * double(c[j + 3]);
  }
  for (; j < n; ++j) a0 += double(x[j]) * double(c[j]);
  return (a0 + a1) + (a2 + a3);
}

// acc += a * x, elementwise in double.
template <class T>
inline void axpy(double* acc, double a, const T* x, index_t n) {
  for (index_t j = 0; j < n; ++j) acc[j] += a * double(x[j]);
}

// Accumulates rows k0..k1-1 of `rows` into g[0..d] (g[d]: intercept) and
// returns sum w_i loss_i. Row-major: each row is a contiguous run of X.
template <class T, class Loss, class Rows>
double chunk_row_major(const Dataset<T>& data, const Rows& rows, index_t k0, index_t k1,
                       const T* coef, double intercept, const Loss& loss, double* g) {
  const index_t d = data.features();
  double value = 0.0;
  for (index_t k = k0; k < k1; ++k) {
    const index_t i = rows.row(k);
    const T* x = data.X.data + i * d;
    const double p = dot(x, coef, d) + intercept;
    double deriv;
    const double w = data.weight(i);
    value += w * loss.eval(p, double(data.y[i]), deriv);
    const double r = w * deriv;
    axpy(g, r, x, d);
    g[d] += r;
  }
  return value;
}

// Column-major: rows are processed in blocks of `block` so the block's
// slice of every column, read for the predictions, is still in cache when
// it is read again for the gradient.
template <class T, class Loss, class Rows>
double chunk_col_major(const Dataset<T>& data, const Rows& rows, index_t k0, index_t k1,
                       const T* coef, double intercept, const Loss& loss, double* g) {
  constexpr index_t block = 256;
  const index_t d = data.features();
  const index_t n = data.rows();
  double value = 0.0;
  double p[block];
  for (index_t kb = k0; kb < k1; kb += block) {
    const index_t nb = std::min(block, k1 - kb);
    for (index_t t = 0; t < nb; ++t) p[t] = intercept;
    for (index_t j = 0; j < d; ++j) {
      const T* col = data.X.data + j * n;
      const double cj = double(coef[j]);
      for (index_t t = 0; t < nb; ++t) p[t] += double(col[rows.row(kb + t)]) * cj;
    }
    for (index_t t = 0; t < nb; ++t) {  // p[t] becomes the residual w_i loss'(p_i)
      const index_t i = rows.row(kb + t);
      double deriv;
      const double w = data.weight(i);
      value += w * loss.eval(p[t], double(data.y[i]), deriv);
      p[t] = w * deriv;
      g[d] += p[t];
    }
    for (index_t j = 0; j < d; ++j) {
      const T* col = data.X.data + j * n;
      double a0 = 0, a1 = 0;
      index_t t = 0;
      for (; t + 2 <= nb; t += 2) {
        a0 += p[t] * double(col[rows.row(kb + t)]);
        a1 += p[t + 1] * double(col[rows.row(kb + t + 1)]);
      }
      if (t < nb) a0 += p[t] * double(col[rows.row(kb + t)]);
      g[j] += a0 + a1;
    }
  }
  return value;
}

template <class T, class Loss, class Rows>
double chunk_sum(const Dataset<T>& data, const Rows& rows, index_t k0, index_t k1,
                 const T* coef, double intercept, const Loss& loss, double* g) {
  const index_t d = data.features();
  std::fill(g, g + d + 1, 0.0);
  if (data.X.layout == Layout::RowMajor)
    return chunk_row_major(data, rows, k0, k1, coef, intercept, loss, g);
  return chunk_col_major(data, rows, k0, k1, coef, intercept, loss, g);
}

// Sum over all chunks of `rows` into g[0..d], in chunk order. No exception
// can be thrown inside the parallel region: it only does arithmetic.
template <class T, class Loss, class Rows>
double sum_loss_grad(const Dataset<T>& data, const Rows& rows, const T* coef, double intercept,
                     const Loss& loss, double* g, int n_threads, GradientWorkspace& ws) {
  const index_t d = data.features();
  const Partition part = make_partition(rows.count, d);
  if (part.chunks <= 1) return chunk_sum(data, rows, 0, rows.count, coef, intercept, loss, g);

  const index_t slot = d + 2;  // d gradient entries, intercept, loss value
  ws.partials.resize(static_cast<size_t>(part.chunks * slot));
  double* partials = ws.partials.data();
  const bool parallel = worth_threading(rows.count * d, part.chunks, n_threads);
  (void)parallel;
  DESCEND_OMP(omp parallel for schedule(static) num_threads(n_threads) if (parallel))
  for (index_t c = 0; c < part.chunks; ++c) {
    double* s = partials + c * slot;
    s[d + 1] = chunk_sum(data, rows, part.begin(c), part.end(c), coef, intercept, loss, s);
  }
  const bool parallel_sum = worth_threading(part.chunks * slot, slot, n_threads);
  (void)parallel_sum;
  DESCEND_OMP(omp parallel for schedule(static) num_threads(n_threads) if (parallel_sum))
  for (index_t j = 0; j <= d; ++j) {
    double acc = 0.0;
    for (index_t c = 0; c < part.chunks; ++c) acc += partials[c * slot + j];
    g[j] = acc;
  }
  double value = 0.0;
  for (index_t c = 0; c < part.chunks; ++c) value += partials[c * slot + d + 1];
  return value;
}

}  // namespace detail

/// Data term and its gradient over `rows`:
/// returns J_data = (1/m) sum w_i loss(p_i, y_i) and writes
/// grad[j] = (1/m) sum w_i loss'(p_i, y_i) x_ij for j < d and the
/// intercept's (1/m) sum w_i loss'(p_i, y_i) to grad[d] (grad has d + 1 entries).
template <class T, class Rows>
double mean_loss_grad(const Dataset<T>& data, const Rows& rows, const T* coef, double intercept,
                      const LossSpec& loss, double* grad, int n_threads, GradientWorkspace& ws) {
  const index_t d = data.features();
  const double sum = visit_loss(loss, [&](const auto& l) {
    return detail::sum_loss_grad(data, rows, coef, intercept, l, grad, n_threads, ws);
  });
  const double inv_m = 1.0 / double(rows.count);
  for (index_t j = 0; j <= d; ++j) grad[j] *= inv_m;
  return sum * inv_m;
}

/// Adds the l2 term: J += (l2/2) ||coef||^2 and grad[j] += l2 coef_j (j < d);
/// the intercept is never regularised.
template <class T>
double add_l2(double value, const T* coef, index_t d, double l2, double* grad) {
  if (l2 == 0.0) return value;
  double sq = 0.0;
  for (index_t j = 0; j < d; ++j) {
    const double c = double(coef[j]);
    sq += c * c;
    grad[j] += l2 * c;
  }
  return value + 0.5 * l2 * sq;
}

/// The full objective over all rows, as descend.loss_grad returns it:
/// J = (1/n) sum w_i loss(p_i, y_i) + (l2/2) ||coef||^2, grad_out = dJ/dcoef
/// (in the data's dtype), and dJ/dintercept as the return's second member.
struct LossGradValue {
  double loss = 0.0;
  double grad_intercept = 0.0;
};

template <class T>
LossGradValue loss_grad(const Dataset<T>& data, const T* coef, double intercept,
                        const LossSpec& loss, double l2, T* grad_out, int n_threads = 0,
                        bool check_finite = true) {
  validate_dataset(data, check_finite, n_threads);
  validate_targets(data.y, loss);
  validate_non_negative(l2, "l2");
  if (!std::isfinite(intercept)) detail::invalid("intercept must be finite, got ", intercept);
  const index_t d = data.features();
  GradientWorkspace ws;
  std::vector<double> grad(static_cast<size_t>(d + 1));
  const RowRange all{0, data.rows()};
  double value = mean_loss_grad(data, all, coef, intercept, loss, grad.data(),
                                resolve_threads(n_threads), ws);
  value = add_l2(value, coef, d, l2, grad.data());
  for (index_t j = 0; j < d; ++j) grad_out[j] = static_cast<T>(grad[j]);
  return {value, grad[d]};
}

}  // namespace descend
