// Fused loss + gradient kernels: prediction, residual and gradient
// accumulation in one pass over row blocks, so X is read from memory once.
//
// For rows R (m = |R|) of a linear model p_i = x_i . coef + intercept:
//   data term   J_data = (1/m) sum_{i in R} w_i loss(p_i, y_i)
//   gradient    g_j    = (1/m) sum_{i in R} w_i loss'(p_i, y_i) x_ij
//   intercept   g_b    = (1/m) sum_{i in R} w_i loss'(p_i, y_i)
// Sums over rows accumulate in double for float and double data, over the
// fixed partition of partition.hpp (bitwise identical for any thread
// count); a row-major row's dot product sums in the data's type (dot_rows).
#pragma once

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <utility>
#include <vector>

#include "dataset.hpp"
#include "losses.hpp"
#include "partition.hpp"
#include "penalties.hpp"
#include "rows.hpp"
#include "simd.hpp"
#include "sparse_gradient.hpp"
#include "validation.hpp"

namespace descend {
namespace detail {

/// Scratch space reused across calls so an iteration allocates nothing.
struct GradientWorkspace {
  std::vector<double> partials;  // per chunk: its (d + 1) k gradient sums, then its loss sum
  SparsePartition sparse_part;   // sparse CSR X: the chunks by non-zeros, remembered
  std::vector<double> predictions;  // sparse CSC X: the rows' predictions

  /// Sizes the scratch for calls over up to `rows` rows of `features`
  /// features with `outputs` predictions per row.
  void reserve(index_t rows, index_t features, index_t outputs) {
    if (rows <= 0) return;
    const Partition p = make_partition(rows, features * outputs);
    if (p.chunks > 1) partials.reserve(static_cast<size_t>(p.chunks * ((features + 1) * outputs + 1)));
  }

  /// make_partition(rows, width), remembered: a solver asks for the same
  /// shape on every update, and its integer divisions cost more than a
  /// whole update of a tiny problem.
  const Partition& partition(index_t rows, index_t width) {
    if (rows != last_rows_ || width != last_width_) {
      last_ = make_partition(rows, width);
      last_rows_ = rows;
      last_width_ = width;
    }
    return last_;
  }

 private:
  Partition last_;
  index_t last_rows_ = -1, last_width_ = -1;
};

// The lanes a row's dot product sums in for T data: simd::d8, or for
// float data simd::f8. A dot product of float data sums its products in
// float: this is a sum over one row's features, not over rows (those
// stay in double, DESIGN 4), and its rounding (a few float ulps of the
// row's sum of |x_ij c_j|) is that of the float data and coef themselves.
// Widening every element to double instead cost a vcvtps2pd per 4 floats
// (two cycles each on AVX2's Zen 3), which made float32 W1 compute-bound.
template <class T>
using dot_lanes = decltype(simd::load_lanes(static_cast<const T*>(nullptr)));

// p[r] = x[r] . c for R rows at once: c is read once for all of them.
// Each row sums in the lanes of dot_lanes<T> (element j in lane j mod 8),
// whose sum is taken in double in a fixed tree.
template <int R, class T>
inline void dot_rows(const T* const* x, const T* c, index_t n, double* p) {
  using V = dot_lanes<T>;
  const index_t body = n - n % simd::width;
  for (int r = 0; r < R; ++r) p[r] = 0.0;
  if (body > 0) {
    // Two accumulators per row (even and odd blocks of 8) halve the chain
    // of dependent additions.
    V acc[R], acc1[R];
    for (int r = 0; r < R; ++r) acc[r] = acc1[r] = V{};
    index_t j = 0;
    for (; j + 2 * simd::width <= body; j += 2 * simd::width) {
      const V c0 = simd::load_lanes(c + j), c1 = simd::load_lanes(c + j + simd::width);
      for (int r = 0; r < R; ++r) {
        acc[r] += simd::load_lanes(x[r] + j) * c0;
        acc1[r] += simd::load_lanes(x[r] + j + simd::width) * c1;
      }
    }
    if (j < body) {
      const V c0 = simd::load_lanes(c + j);
      for (int r = 0; r < R; ++r) acc[r] += simd::load_lanes(x[r] + j) * c0;
    }
    for (int r = 0; r < R; ++r) p[r] = simd::sum(acc[r] + acc1[r]);
  }
  // The last n mod 8 elements in plain doubles: writing single lanes of a
  // vector register goes through memory and stalls on wide registers.
  for (index_t j = body; j < n; ++j)
    for (int r = 0; r < R; ++r) p[r] += double(x[r][j]) * double(c[j]);
}

// g[j] += a[r] x[r][j] for R rows at once, added row after row (so the
// sum is the same for any R): g is loaded and stored once per R rows.
template <int R, class T>
inline void axpy_rows(double* g, const double* a, const T* const* x, index_t n) {
  using simd::d8;
  d8 ar[R];
  for (int r = 0; r < R; ++r) ar[r] = simd::splat(a[r]);
  index_t j = 0;
  for (; j + simd::width <= n; j += simd::width) {
    d8 s = simd::load(g + j);
    for (int r = 0; r < R; ++r) s += ar[r] * simd::load(x[r] + j);
    simd::store(g + j, s);
  }
  for (; j < n; ++j) {
    double s = g[j];
    for (int r = 0; r < R; ++r) s += a[r] * double(x[r][j]);
    g[j] = s;
  }
}

// acc += a * x, elementwise in double.
template <class T>
inline void axpy(double* acc, double a, const T* x, index_t n) {
  for (index_t j = 0; j < n; ++j) acc[j] += a * double(x[j]);
}

// Rows per dot_rows call for T data: 8 bytes of each feature across the
// call's rows (one float64 row, two float32 rows), and never more than
// keep every row's two accumulators and coef's two in half the vector
// registers. A call walks its rows side by side, so each row is a stream
// of loads of its own that jumps back every few blocks: streamed from
// memory or L3, R such streams are read slower as R grows, whatever the
// vector width (a plain sum over 2,000,000 x 64 float64 rows, R rows side
// by side, on Zen 4: 18-21 ns a row for R = 1 or 2, 30-45 for R = 8).
// With the bound from registers alone the AVX-512 build (32 registers,
// one per d8) walked 8 rows and streamed W1 at 2.4x the read floor, the
// AVX2 build (two registers per d8) 2 rows at 1.2x; one float64 row at a
// time is 1.1-1.2x under every build (RESULTS.md, "Rows side by side").
// Two float32 rows keep the reduction of a row's short f8 lanes from
// being the chain that a call waits on. (Widening float rows to doubles
// once per group, for both passes, was slower: 0.41 against 0.34 ms for
// 20,000 x 64 in cache on AVX2.)
constexpr int vector_registers = simd::native_doubles == 8 ? 32 : 16;
template <class T>
constexpr int dot_group_size = std::max(
    1, std::min(8 / int(sizeof(T)), (vector_registers / 2) / (2 * simd::registers_of<dot_lanes<T>>)));

// Rows per axpy_rows call: their factors (a d8 each) and the sum in
// registers, half of them at most.
constexpr int axpy_group_size = std::max(1, std::min(8, (vector_registers / 2) / simd::registers_of<simd::d8>));

// Rows per call when R rows are cut into calls of at most `most` rows.
template <int R, int most>
constexpr int calls_of = R <= most ? R : (R % most == 0 ? most : 1);

// dot_rows for R rows, dot_group_size rows a call.
template <int R, class T>
inline void dot_row_groups(const T* const* x, const T* c, index_t n, double* p) {
  constexpr int G = calls_of<R, dot_group_size<T>>;
  for (int r = 0; r < R; r += G) dot_rows<G>(x + r, c, n, p + r);
}

// axpy_rows for R rows, axpy_group_size rows a call: the rows are still
// added in row order, so the sums are the same.
template <int R, class T>
inline void axpy_row_groups(double* g, const double* a, const T* const* x, index_t n) {
  constexpr int G = calls_of<R, axpy_group_size>;
  for (int r = 0; r < R; r += G) axpy_rows<G>(g, a + r, x + r, n);
}

// Rows k .. k+R-1 of `rows`, row-major: predictions, loss and gradient in
// one pass; adds their w_i loss_i to `value` in row order (so the sum,
// like the gradient's, is the same for any group size).
template <int R, class T, class Loss, class Rows>
inline void row_group(const Dataset<T>& data, const Rows& rows, index_t k, const T* coef,
                      double intercept, const Loss& loss, double* g, double& value) {
  const index_t d = data.features();
  const T* x[R];
  index_t idx[R];
  double y[R];
  for (int r = 0; r < R; ++r) {
    idx[r] = rows.row(k + r);
    x[r] = data.X.data + idx[r] * d;
    y[r] = double(data.y[idx[r]]);
  }
  double p[R], a[R], l[R];
  dot_row_groups<R>(x, coef, d, p);
  // The rows' losses apart from their sum in row order: this loop over
  // plain arrays has no dependence between rows, so it vectorises.
  for (int r = 0; r < R; ++r) l[r] = loss.eval(p[r] + intercept, y[r], a[r]);
  for (int r = 0; r < R; ++r) {
    const double w = data.weight(idx[r]);
    value += w * l[r];
    a[r] = w * a[r];
  }
  axpy_row_groups<R>(g, a, x, d);
  for (int r = 0; r < R; ++r) g[d] += a[r];
}

// Asks for row i of a row-major X to be brought into cache.
template <class T>
inline void prefetch_row(const Dataset<T>& data, index_t i) {
  const char* a = reinterpret_cast<const char*>(data.X.data + i * data.features());
  for (index_t b = 0; b < index_t(data.features() * sizeof(T)); b += 64) DESCEND_PREFETCH(a + b);
}

// Rows per group of the row-major kernel: 8, whatever the loss, cut into
// dot_rows calls of dot_group_size rows and axpy_rows calls of
// axpy_group_size rows. The group's loss loop then fills whole vectors
// (logistic's exp and log1p, vmath.hpp: twice as fast on AVX2 as groups
// of 2), and g is loaded and stored once per axpy call instead of once per
// row (rows in cache, one float64 row a dot call: 16 against 21 ns a row
// on Zen 4). The sums do not depend on it: each row's dot product has its
// own lanes, and the gradient and the loss add the rows in row order.
constexpr int row_group_size = 8;

// chunk_row_major for rows of D < simd::width features: the same
// arithmetic as row_group's (each dot product in index order, the
// gradient added row after row), without its per-row set-up of pointer
// arrays, vector loops and prefetches, which on such rows costs more than
// the arithmetic. D is a template argument so the loops over a row unroll
// completely.
//
// coef and the sums live in locals for the whole chunk, and g is written
// (not added to) at the end: g may alias X as far as the compiler knows,
// so adding into g[j] row after row would store and reload every sum on
// every row, and reading g just after chunk_sum's memset of it would
// stall on the store.
template <int D, class T, class Loss, class Rows>
double chunk_row_major_narrow(const Dataset<T>& data, const Rows& rows, index_t k0, index_t k1,
                              const T* coef, const Loss& loss, double* g) {
  double c[D], sum[D + 1] = {};
  for (int j = 0; j < D; ++j) c[j] = double(coef[j]);
  const double intercept = double(coef[D]);
  double value = 0.0;
  for (index_t k = k0; k < k1; ++k) {
    const index_t i = rows.row(k);
    const T* x = data.X.data + i * D;
    double p = 0.0;
    for (int j = 0; j < D; ++j) p += double(x[j]) * c[j];
    double deriv;
    const double w = data.weight(i);
    value += w * loss.eval(p + intercept, double(data.y[i]), deriv);
    const double a = w * deriv;
    for (int j = 0; j < D; ++j) sum[j] += a * double(x[j]);
    sum[D] += a;
  }
  for (int j = 0; j <= D; ++j) g[j] = sum[j];
  return value;
}

// chunk_row_major_narrow<d> for the runtime d (1 .. simd::width - 1):
// writes g[0..d].
template <class T, class Loss, class Rows, int... D>
double chunk_row_major_narrow(std::integer_sequence<int, D...>, const Dataset<T>& data, const Rows& rows,
                              index_t k0, index_t k1, const T* coef, const Loss& loss, double* g) {
  double value = 0.0;
  ((data.features() == D + 1 ? (value = chunk_row_major_narrow<D + 1>(data, rows, k0, k1, coef, loss, g), 0) : 0),
   ...);
  return value;
}

// Accumulates rows k0..k1-1 of `rows` into g[0..d] (g[d]: intercept) and
// returns sum w_i loss_i. Row-major, at least simd::width features: each
// row is a contiguous run of X; a group of rows shares each pass over coef
// and over g.
template <class T, class Loss, class Rows>
double chunk_row_major(const Dataset<T>& data, const Rows& rows, index_t k0, index_t k1,
                       const T* coef, const Loss& loss, double* g) {
  const double intercept = double(coef[data.features()]);
  // Rows `ahead` on are prefetched, so their loads of X are in flight
  // while this group's arithmetic runs: the hardware prefetcher alone
  // leaves the core waiting on X.
  constexpr int R = row_group_size;
  constexpr index_t ahead = 8;
  double value = 0.0;
  index_t k = k0;
  for (; k + R <= k1; k += R) {
    if (k + ahead + R <= k1)
      for (int r = 0; r < R; ++r) prefetch_row(data, rows.row(k + ahead + r));
    row_group<R>(data, rows, k, coef, intercept, loss, g, value);
  }
  for (; k < k1; ++k) row_group<1>(data, rows, k, coef, intercept, loss, g, value);
  return value;
}

// Rows per block of the column-major kernels: the block's slice of every
// column, read for the predictions, is still in cache when it is read
// again for the gradient.
constexpr index_t col_block = 256;

// sum_t p[t] x[rows(kb + t)] over a block, in the lanes of simd::d8.
template <class T, class Rows>
inline double dot_block(const double* p, const T* col, const Rows& rows, index_t kb, index_t nb) {
  simd::d8 acc = simd::zero();
  const T* x = col + rows.row(kb);
  index_t t = 0;
  for (; t + simd::width <= nb; t += simd::width) acc += simd::load(p + t) * simd::load(x + t);
  double rest = 0.0;  // scalar, as in dot_rows
  for (; t < nb; ++t) rest += p[t] * double(x[t]);
  return simd::sum(acc) + rest;
}

// Column-major, one prediction per row.
template <class T, class Loss, class Rows>
double chunk_col_major(const Dataset<T>& data, const Rows& rows, index_t k0, index_t k1,
                       const T* coef, const Loss& loss, double* g) {
  const index_t d = data.features();
  const index_t n = data.rows();
  double value = 0.0;
  double p[col_block];
  for (index_t kb = k0; kb < k1; kb += col_block) {
    const index_t nb = std::min(col_block, k1 - kb);
    for (index_t t = 0; t < nb; ++t) p[t] = double(coef[d]);
    // Four columns a pass: p is loaded and stored once for four products
    // instead of four times, added in column order as one column a pass
    // would add them (the same bits).
    const index_t first = rows.row(kb);
    index_t j = 0;
    for (; j + 4 <= d; j += 4) {
      const T* x0 = data.X.data + j * n + first;
      const T *x1 = x0 + n, *x2 = x1 + n, *x3 = x2 + n;
      const double c0 = double(coef[j]), c1 = double(coef[j + 1]), c2 = double(coef[j + 2]),
                   c3 = double(coef[j + 3]);
      for (index_t t = 0; t < nb; ++t)
        p[t] = (((p[t] + double(x0[t]) * c0) + double(x1[t]) * c1) + double(x2[t]) * c2) + double(x3[t]) * c3;
    }
    for (; j < d; ++j) {
      const T* col = data.X.data + j * n + first;
      const double cj = double(coef[j]);
      for (index_t t = 0; t < nb; ++t) p[t] += double(col[t]) * cj;
    }
    // p[t] becomes the residual w_i loss'(p_i): the losses first, in a
    // loop with no dependence between rows (it vectorises), then their
    // weighted sum in row order.
    const T* y = data.y.data + first;
    double l[col_block];
    for (index_t t = 0; t < nb; ++t) l[t] = loss.eval(p[t], double(y[t]), p[t]);
    for (index_t t = 0; t < nb; ++t) {
      const double w = data.weight(first + t);
      value += w * l[t];
      p[t] = w * p[t];
      g[d] += p[t];
    }
    for (index_t j = 0; j < d; ++j) g[j] += dot_block(p, data.X.data + j * n, rows, kb, nb);
  }
  return value;
}

// Softmax, k predictions per row: coef is (d, k) row-major followed by the
// k intercepts, g has the same layout. The rows of a block are handled
// together so each column (column-major X) or row (row-major X) of the
// block is read from cache for the gradient.
template <class T, class Rows>
double chunk_softmax(const Dataset<T>& data, const Rows& rows, index_t k0, index_t k1,
                     const T* coef, const SoftmaxLoss& loss, double* g) {
  const index_t d = data.features();
  const index_t n = data.rows();
  const index_t k = loss.k;
  const bool row_major = data.X.layout == Layout::RowMajor;
  // x_ij of the block's row t, for either layout.
  auto x = [&](index_t i, index_t j) {
    return double(row_major ? data.X.data[i * d + j] : data.X.data[j * n + i]);
  };
  const T* intercept = coef + d * k;
  double value = 0.0;
  // One allocation per chunk (>= 2^15 elements of work): negligible.
  std::vector<double> block(static_cast<size_t>(col_block * k)), deriv(static_cast<size_t>(k));
  double* p = block.data();
  for (index_t kb = k0; kb < k1; kb += col_block) {
    const index_t nb = std::min(col_block, k1 - kb);
    for (index_t t = 0; t < nb; ++t)
      for (index_t c = 0; c < k; ++c) p[t * k + c] = double(intercept[c]);
    for (index_t t = 0; t < nb; ++t) {
      const index_t i = rows.row(kb + t);
      double* pt = p + t * k;
      for (index_t j = 0; j < d; ++j) axpy(pt, x(i, j), coef + j * k, k);
    }
    for (index_t t = 0; t < nb; ++t) {  // p becomes w_i dloss/dp_i
      const index_t i = rows.row(kb + t);
      const double w = data.weight(i);
      double* pt = p + t * k;
      value += w * loss.eval(pt, double(data.y[i]), deriv.data());
      for (index_t c = 0; c < k; ++c) {
        pt[c] = w * deriv[static_cast<size_t>(c)];
        g[d * k + c] += pt[c];
      }
    }
    for (index_t t = 0; t < nb; ++t) {
      const index_t i = rows.row(kb + t);
      for (index_t j = 0; j < d; ++j) axpy(g + j * k, x(i, j), p + t * k, k);
    }
  }
  return value;
}

// Sum over rows k0..k1-1 into g (zeroed first).
template <class T, class Loss, class Rows>
DESCEND_INLINE double chunk_sum(const Dataset<T>& data, const Rows& rows, index_t k0, index_t k1,
                                const T* coef, const Loss& loss, double* g) {
  const bool row_major = data.X.layout == Layout::RowMajor;
  if constexpr (!is_multi_output<Loss>) {
    if (row_major && data.features() < simd::width)
      return chunk_row_major_narrow(std::make_integer_sequence<int, simd::width - 1>{}, data, rows, k0, k1,
                                    coef, loss, g);
  }
  std::fill(g, g + (data.features() + 1) * loss_outputs(loss), 0.0);
  if constexpr (is_multi_output<Loss>) {
    return chunk_softmax(data, rows, k0, k1, coef, loss, g);
  } else {
    if (row_major) return chunk_row_major(data, rows, k0, k1, coef, loss, g);
    return chunk_col_major(data, rows, k0, k1, coef, loss, g);
  }
}

// Sum over all chunks of `rows` into g[0..(d+1)k), in chunk order. No
// exception can be thrown inside the parallel region: it only does arithmetic.
template <class T, class Loss, class Rows>
double sum_loss_grad(const Dataset<T>& data, const Rows& rows, const T* coef, const Loss& loss,
                     double* g, int n_threads, GradientWorkspace& ws) {
  if (data.is_sparse()) {
    return data.sparse.visit([&](const auto* indices, const auto* indptr) {
      // CSC runs over all rows only (batch work); the solver gives
      // mini-batches a CSR copy.
      if (data.sparse.format == SparseFormat::CSC)
        return csc_loss_grad(data, indices, indptr, coef, loss, g, n_threads, ws.predictions);
      return csr_loss_grad(data, indices, indptr, rows, coef, loss, g, n_threads, ws.sparse_part, ws.partials);
    });
  }
  const index_t k = loss_outputs(loss);
  const index_t n_grad = (data.features() + 1) * k;
  // One chunk: straight to it, past the partition's bookkeeping, which
  // costs more than the whole gradient of a tiny problem.
  if (single_chunk(rows.count, data.features() * k)) return chunk_sum(data, rows, 0, rows.count, coef, loss, g);
  const Partition part = ws.partition(rows.count, data.features() * k);
  if (part.chunks <= 1) return chunk_sum(data, rows, 0, rows.count, coef, loss, g);

  const index_t slot = n_grad + 1;  // the chunk's gradient, then its loss sum
  const bool parallel = worth_threading(rows.count * data.features() * k, part.chunks, n_threads);
  ws.partials.resize(static_cast<size_t>(part.chunks * slot));
  double* partials = ws.partials.data();
  parallel_for(part.chunks, n_threads, parallel, [&](index_t c) {
    double* s = partials + c * slot;
    s[n_grad] = chunk_sum(data, rows, part.begin(c), part.end(c), coef, loss, s);
  });
  // Each gradient entry sums the chunks in chunk order.
  const bool parallel_sum = worth_threading(part.chunks * slot, slot, n_threads);
  parallel_for(n_grad, n_threads, parallel_sum, [&](index_t j) {
    double acc = 0.0;
    for (index_t c = 0; c < part.chunks; ++c) acc += partials[c * slot + j];
    g[j] = acc;
  });
  double value = 0.0;
  for (index_t c = 0; c < part.chunks; ++c) value += partials[c * slot + n_grad];
  return value;
}

/// Data term and its gradient over `rows` at theta (see ParamLayout), for
/// a loss object (SquaredLoss{}, ...): returns
/// J_data = (1/m) sum w_i loss(p_i, y_i) and writes
/// grad = (1/m) sum w_i dloss(p_i, y_i)/dtheta, (d + 1) k entries.
template <class T, class Rows, class Loss>
DESCEND_INLINE double mean_loss_grad(const Dataset<T>& data, const Rows& rows, const T* theta,
                                     const Loss& loss, double* grad, int n_threads, GradientWorkspace& ws) {
  const index_t n_grad = (data.features() + 1) * loss_outputs(loss);
  const double sum = detail::sum_loss_grad(data, rows, theta, loss, grad, n_threads, ws);
  const double inv_m = 1.0 / double(rows.count);
  for (index_t j = 0; j < n_grad; ++j) grad[j] *= inv_m;
  return sum * inv_m;
}

/// The same for the loss a LossSpec names.
template <class T, class Rows>
double mean_loss_grad(const Dataset<T>& data, const Rows& rows, const T* theta,
                      const LossSpec& loss, double* grad, int n_threads, GradientWorkspace& ws) {
  return visit_loss(loss,
                    [&](const auto& l) { return mean_loss_grad(data, rows, theta, l, grad, n_threads, ws); });
}

}  // namespace detail

/// The full objective over all rows, as descend.loss_grad returns it:
///   J = (1/n) sum w_i loss(p_i, y_i) + (l2/2) ||coef||^2
/// coef has d k entries ((d, k) row-major), intercept k. Writes dJ/dcoef
/// to grad_coef (the data's dtype) and dJ/dintercept to grad_intercept
/// (k doubles); returns J.
template <class T>
double loss_grad(const Dataset<T>& data, const T* coef, const T* intercept, const LossSpec& loss,
                 double l2, T* grad_coef, double* grad_intercept, int n_threads = 0,
                 bool check_finite = true) {
  detail::validate_dataset(data, check_finite, n_threads);
  detail::validate_loss(loss);
  detail::validate_targets(data.y, loss);
  detail::check_non_negative(l2, "l2");
  const ParamLayout layout{data.features(), loss.outputs()};
  std::vector<T> theta(coef, coef + layout.coef_size());
  theta.insert(theta.end(), intercept, intercept + layout.outputs);
  detail::validate_start(theta.data(), layout, "coef", "intercept");
  detail::GradientWorkspace ws;
  std::vector<double> grad(static_cast<size_t>(layout.size()));
  double value = detail::mean_loss_grad(data, detail::RowRange{0, data.rows()}, theta.data(), loss,
                                        grad.data(), detail::resolve_threads(n_threads), ws);
  value = detail::add_l2(value, theta.data(), layout.coef_size(), l2, grad.data());
  for (index_t j = 0; j < layout.coef_size(); ++j) grad_coef[j] = static_cast<T>(grad[j]);
  std::copy(grad.begin() + layout.coef_size(), grad.end(), grad_intercept);
  return value;
}

}  // namespace descend
