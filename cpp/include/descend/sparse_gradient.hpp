// The fused loss + gradient kernel over sparse X (the same sums as
// gradient.hpp's dense kernels, over the stored entries only):
//   CSR: rows are cut into chunks by their non-zeros (a function of the
//        matrix's shape and pattern, never of the thread count); each chunk
//        accumulates its rows' loss and a gradient of its own, and the
//        chunks are added in chunk order. The chunks' gradients are d k
//        doubles each, so their count is capped by memory
//        (max_partial_doubles): for d = 2^22 one chunk remains and the
//        gradient is summed on one thread, in row order.
//   CSC: the predictions by columns (one pass, in column order), the
//        losses by rows in row order, then each gradient entry as the dot
//        product of its column with the rows' derivatives, in parallel over
//        columns (each entry is its own sum).
// Sums accumulate in double; duplicates of an entry add up.
#pragma once

#include <algorithm>
#include <vector>

#include "dataset.hpp"
#include "losses.hpp"
#include "partition.hpp"
#include "rows.hpp"

namespace descend::detail {

// Rows per chunk are chosen so a chunk holds about this many non-zeros.
constexpr index_t sparse_chunk_nnz = index_t{1} << 15;

// A CSR partition of rows [begin, begin + count) by non-zeros: chunk c
// covers rows starts[c] .. starts[c + 1] (absolute row numbers).
struct SparsePartition {
  index_t begin = -1, count = -1, nnz = -1, width = -1;
  std::vector<index_t> starts;
  index_t chunks() const { return static_cast<index_t>(starts.size()) - 1; }
};

template <class I>
void partition_by_nnz(SparsePartition& part, const I* indptr, index_t begin, index_t count, index_t width) {
  const index_t nnz = index_t(indptr[begin + count]) - index_t(indptr[begin]);
  if (part.begin == begin && part.count == count && part.nnz == nnz && part.width == width) return;
  part.begin = begin;
  part.count = count;
  part.nnz = nnz;
  part.width = width;
  const index_t cap = std::max<index_t>(1, std::min(max_chunks, max_partial_doubles / (width + 1)));
  const index_t chunks = std::max<index_t>(1, std::min({(nnz + sparse_chunk_nnz - 1) / sparse_chunk_nnz, cap, count}));
  part.starts.assign(1, begin);
  const index_t base = index_t(indptr[begin]);
  for (index_t c = 1; c < chunks; ++c) {
    // The first row whose entries start at or past c/chunks of the non-zeros.
    const index_t target = base + nnz * c / chunks;
    const index_t row = index_t(std::lower_bound(indptr + begin, indptr + begin + count, I(target)) - indptr);
    if (row > part.starts.back() && row < begin + count) part.starts.push_back(row);
  }
  part.starts.push_back(begin + count);
}

// The rows of `rows` k0 .. k1 of a CSR X: their summed w_i loss_i, with
// the gradient added into g (zeroed by the caller); coef (d, k) row-major,
// then the k intercepts.
template <class T, class I, class Loss, class Rows>
double csr_chunk(const Dataset<T>& data, const I* indices, const I* indptr, const Rows& rows, index_t k0,
                 index_t k1, const T* coef, const Loss& loss, double* g) {
  const index_t d = data.features();
  const T* x = data.sparse.data;
  double value = 0.0;
  if constexpr (is_multi_output<Loss>) {
    const index_t k = loss.k;
    std::vector<double> p(static_cast<size_t>(k)), deriv(static_cast<size_t>(k));
    for (index_t r = k0; r < k1; ++r) {
      const index_t i = rows.row(r);
      for (index_t c = 0; c < k; ++c) p[c] = double(coef[d * k + c]);
      for (index_t e = index_t(indptr[i]); e < index_t(indptr[i + 1]); ++e) {
        const double v = double(x[e]);
        const T* cj = coef + index_t(indices[e]) * k;
        for (index_t c = 0; c < k; ++c) p[c] += v * double(cj[c]);
      }
      const double w = data.weight(i);
      value += w * loss.eval(p.data(), double(data.y[i]), deriv.data());
      for (index_t c = 0; c < k; ++c) {
        deriv[c] *= w;
        g[d * k + c] += deriv[c];
      }
      for (index_t e = index_t(indptr[i]); e < index_t(indptr[i + 1]); ++e) {
        const double v = double(x[e]);
        double* gj = g + index_t(indices[e]) * k;
        for (index_t c = 0; c < k; ++c) gj[c] += v * deriv[c];
      }
    }
  } else {
    const double intercept = double(coef[d]);
    for (index_t r = k0; r < k1; ++r) {
      const index_t i = rows.row(r);
      const index_t e0 = index_t(indptr[i]), e1 = index_t(indptr[i + 1]);
      double p = 0.0;
      for (index_t e = e0; e < e1; ++e) p += double(x[e]) * double(coef[index_t(indices[e])]);
      double deriv;
      const double w = data.weight(i);
      value += w * loss.eval(p + intercept, double(data.y[i]), deriv);
      const double a = w * deriv;
      for (index_t e = e0; e < e1; ++e) g[index_t(indices[e])] += a * double(x[e]);
      g[d] += a;
    }
  }
  return value;
}

// The CSR kernel over `rows`: a RowRange is cut by non-zeros, a RowList (a
// shuffled mini-batch: few rows) is one chunk.
template <class T, class I, class Loss, class Rows>
double csr_loss_grad(const Dataset<T>& data, const I* indices, const I* indptr, const Rows& rows, const T* coef,
                     const Loss& loss, double* g, int n_threads, SparsePartition& part,
                     std::vector<double>& partials) {
  const index_t n_grad = (data.features() + 1) * loss_outputs(loss);
  auto one_chunk = [&] {
    std::fill(g, g + n_grad, 0.0);
    return csr_chunk(data, indices, indptr, rows, 0, rows.count, coef, loss, g);
  };
  if constexpr (!std::is_same_v<Rows, RowRange>) {
    return one_chunk();
  } else {
    partition_by_nnz(part, indptr, rows.begin, rows.count, n_grad);
    const index_t chunks = part.chunks();
    if (chunks <= 1) return one_chunk();
    const index_t slot = n_grad + 1;  // the chunk's gradient, then its loss sum
    partials.resize(static_cast<size_t>(chunks * slot));
    double* s = partials.data();
    const bool parallel = n_threads > 1;
    parallel_for(chunks, n_threads, parallel, [&](index_t c) {
      double* gc = s + c * slot;
      std::fill(gc, gc + n_grad, 0.0);
      // Chunk rows are absolute; the range's row(k) is begin + k.
      gc[n_grad] = csr_chunk(data, indices, indptr, RowRange{0, data.rows()}, part.starts[c],
                             part.starts[c + 1], coef, loss, gc);
    });
    parallel_for(n_grad, n_threads, worth_threading(chunks * slot, slot, n_threads), [&](index_t j) {
      double acc = 0.0;
      for (index_t c = 0; c < chunks; ++c) acc += s[c * slot + j];
      g[j] = acc;
    });
    double value = 0.0;
    for (index_t c = 0; c < chunks; ++c) value += s[c * slot + n_grad];
    return value;
  }
}

// The CSC kernel over all rows (CSC is used for batch work only: a
// mini-batch of rows runs on a CSR copy). pred holds rows x k doubles.
template <class T, class I, class Loss>
double csc_loss_grad(const Dataset<T>& data, const I* indices, const I* indptr, const T* coef, const Loss& loss,
                     double* g, int n_threads, std::vector<double>& pred) {
  const index_t n = data.rows(), d = data.features(), k = loss_outputs(loss);
  const T* x = data.sparse.data;
  pred.resize(static_cast<size_t>(n * k));
  double* p = pred.data();
  for (index_t i = 0; i < n; ++i)
    for (index_t c = 0; c < k; ++c) p[i * k + c] = double(coef[d * k + c]);
  for (index_t j = 0; j < d; ++j)
    for (index_t e = index_t(indptr[j]); e < index_t(indptr[j + 1]); ++e) {
      const double v = double(x[e]);
      double* pi = p + index_t(indices[e]) * k;
      for (index_t c = 0; c < k; ++c) pi[c] += v * double(coef[j * k + c]);
    }
  // p becomes w_i dloss/dp_i, row by row; the loss sums in row order.
  double value = 0.0;
  std::vector<double> deriv(static_cast<size_t>(k));
  for (index_t c = 0; c < k; ++c) g[d * k + c] = 0.0;
  for (index_t i = 0; i < n; ++i) {
    const double w = data.weight(i);
    double* pi = p + i * k;
    if constexpr (is_multi_output<Loss>) {
      value += w * loss.eval(pi, double(data.y[i]), deriv.data());
    } else {
      value += w * loss.eval(pi[0], double(data.y[i]), deriv[0]);
    }
    for (index_t c = 0; c < k; ++c) {
      pi[c] = w * deriv[c];
      g[d * k + c] += pi[c];
    }
  }
  const bool parallel = worth_threading(data.sparse.nnz() * k, d, n_threads);
  parallel_for(d, n_threads, parallel, [&](index_t j) {
    double* gj = g + j * k;
    for (index_t c = 0; c < k; ++c) gj[c] = 0.0;
    for (index_t e = index_t(indptr[j]); e < index_t(indptr[j + 1]); ++e) {
      const double v = double(x[e]);
      const double* a = p + index_t(indices[e]) * k;
      for (index_t c = 0; c < k; ++c) gj[c] += v * a[c];
    }
  });
  return value;
}

}  // namespace descend::detail
