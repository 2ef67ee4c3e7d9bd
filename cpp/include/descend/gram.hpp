// Sufficient statistics of the squared loss: the Gram path of a batch fit.
//
// With z_i = (x_i, 1, y_i) (the row, the intercept's 1 and the target) and
// u = (coef, intercept, -1), the residual is p_i - y_i = z_i . u, so
//   sum_i w_i (p_i - y_i)^2 = u^T S u,   S = sum_i w_i z_i z_i^T,
// and the gradient's sums over (coef, intercept) are 2 (S u)[0 .. d]. S,
// (d + 2)^2 doubles formed in one pass over X, holds Z^T W Z, Z^T W y and
// y^T W y at once; afterwards an iteration costs one (d + 2)^2 product
// instead of a pass over the n rows, and the solver loop runs on it as on
// any other sums (RemoteSums). Every entry of S adds its rows in row order
// within chunks and blocks whose sizes the shape alone sets, and the chunks
// in order, whichever thread computes what: the same bits for any thread
// count.
#pragma once

#include <algorithm>
#include <cmath>
#include <functional>
#include <type_traits>
#include <vector>

#include "config.hpp"
#include "dataset.hpp"
#include "partition.hpp"
#include "precondition.hpp"
#include "rows.hpp"
#include "remote.hpp"
#include "simd.hpp"

namespace descend::detail {

// The Gram path pays when one product with S (p^2 multiply-adds, p =
// d + 2) costs at most a quarter of a streaming iteration (2 nnz: one
// prediction and one gradient pass; dense: n >= ~2 d), and forming S
// (sum_i (nnz_i + 2)^2 / 2; dense: ~ d / 4 streaming iterations) costs no
// more than max_iter streaming iterations; past 4,096 columns S (128 MiB)
// is more memory than this library takes unasked.
constexpr index_t gram_max_features = 4096;

// S holds raw sums: a column far from zero next to its spread (mean^2 /
// variance = r) costs the gradient 2 S u about log10(r) of its digits in
// the centred problem, which preconditioning reads (centred, unit-variance
// coordinates), and Barzilai-Borwein's acceptance reads the objective u^T S
// u, as noisy. Measured on kappa ~1e6 least squares: r = 1e5 left the
// preconditioned gradient a floor of 3e-8. precompute="auto" with either
// keeps to columns within 10 standard deviations of zero: r <= 1e2.
constexpr double gram_max_offset_ratio = 1e2;

/// Whether S of columns with these sums keeps gram_max_offset_ratio's
/// precision (a constant column, tied to the intercept, is not counted).
inline bool gram_keeps_precision(const ColumnSums& c) {
  const size_t d = c.sums.size() - 1;
  const double weight = c.sums[d];
  for (size_t j = 0; j < d; ++j) {
    const double offset = c.sums[j] * c.sums[j] / weight;
    const double centred = c.squares[j] - offset;
    if (centred > 1e-12 * c.squares[j] && offset > gram_max_offset_ratio * centred) return false;
  }
  return true;
}

/// Whether precompute="auto" takes the Gram path for this data and budget.
template <class T>
bool gram_pays(const Dataset<T>& data, index_t max_iter) {
  const index_t n = data.rows(), d = data.features();
  if (d > gram_max_features) return false;
  double nnz = double(n) * double(d), form = double(n) * double(d + 2) * double(d + 2) / 2;
  if (data.is_sparse()) {
    nnz = double(data.sparse.nnz());
    // Rows' entry counts: from indptr for CSR; a CSC X's are bounded by its mean.
    form = data.sparse.visit([&](const auto*, const auto* indptr) {
      double f = 0.0;
      if (data.sparse.format == SparseFormat::CSR) {
        for (index_t i = 0; i < n; ++i) f += std::pow(double(indptr[i + 1] - indptr[i]) + 2.0, 2.0) / 2;
      } else {
        f = double(n) * std::pow(nnz / double(std::max<index_t>(n, 1)) + 2.0, 2.0) / 2;
      }
      return f;
    });
  }
  const double stream = 2.0 * nnz, p = double(d + 2);
  return 4.0 * p * p <= stream && form <= double(max_iter) * stream;
}

// Partial sums of S take at most this many doubles (32 MiB) in all, in
// at most gram_max_chunks slots.
constexpr index_t max_slot_doubles = index_t{1} << 22;
constexpr index_t gram_max_chunks = 64;

// Rows of z and of w z (the same memory without weights), `stride`
// doubles apart.
struct BlockRows {
  const double* z;
  const double* wz;
  index_t stride;
};

// A block of rows as doubles, z_r = (x_r, 1, y_r, 0 padding), in two
// parts: the features, columns [0, dx) (dx: d rounded up to 8), and the
// tail from column dx on (the 1 and y where they lie past the features'
// last 8-column tile). Gathered into Z, pp values a row, and w_r z_r into
// WZ (Z itself without weights). A float64 row-major X without weights
// whose d is a multiple of 8 is read where it lies instead: its rows are
// the features as they are, and Z holds only the tail, 8 values a row
// (the gather's copy cost ~15% of forming S at 2,000,000 x 64).
template <class T>
struct Blocks {
  const Dataset<T>& data;
  index_t pp, dx;
  bool in_place;
  std::vector<double> Z, WZ;

  Blocks(const Dataset<T>& data_, index_t pp_, index_t dx_, index_t block)
      : data(data_),
        pp(pp_),
        dx(dx_),
        in_place(std::is_same<T, double>::value && data.X.layout == Layout::RowMajor && !data.has_weights() &&
                 data.features() == dx_),
        Z(static_cast<size_t>(block * (in_place ? 8 : pp_)), 0.0) {
    if (data.has_weights()) WZ.assign(Z.size(), 0.0);
  }

  // The block's features and tail, as the last gather() left them.
  BlockRows features() const { return features_; }
  BlockRows tail() const { return tail_; }

  // Rows [first, first + rows) into the block; returns rows.
  index_t gather(index_t first, index_t rows) {
    const index_t d = data.features();
    if (data.X.layout == Layout::RowMajor) {
      const index_t following = std::max<index_t>(0, std::min(rows, data.rows() - first - rows));
      next_ = reinterpret_cast<const char*>(data.X.data + (first + rows) * d);
      next_lines_ = following * d * index_t(sizeof(T)) / 64;
    }
    if (in_place) {
      for (index_t r = 0; r < rows; ++r) {
        Z[static_cast<size_t>(8 * r)] = 1.0;
        Z[static_cast<size_t>(8 * r + 1)] = double(data.y[first + r]);
      }
      const double* x = reinterpret_cast<const double*>(data.X.data) + first * d;
      features_ = {x, x, d};
      tail_ = {Z.data(), Z.data(), 8};
      return rows;
    }
    for (index_t r = 0; r < rows; ++r) {
      const index_t i = first + r;
      double* z = Z.data() + r * pp;
      if (data.X.layout == Layout::RowMajor) {
        const T* x = data.X.data + i * d;
        for (index_t j = 0; j < d; ++j) z[j] = double(x[j]);
      } else {
        for (index_t j = 0; j < d; ++j) z[j] = double(data.X.data[i + j * data.X.rows]);
      }
      z[d] = 1.0;
      z[d + 1] = double(data.y[i]);
      if (!WZ.empty()) {
        const double w = data.weight(i);
        double* wz = WZ.data() + r * pp;
        for (index_t j = 0; j < d + 2; ++j) wz[j] = w * z[j];
      }
    }
    const double* weighted = WZ.empty() ? Z.data() : WZ.data();
    features_ = {Z.data(), weighted, pp};
    tail_ = {Z.data() + dx, weighted + dx, pp};
    return rows;
  }

  // Share `part` of `parts` of the cache lines of a row-major X's block
  // after the last gathered one, prefetched: the tiles spread them over
  // their work on this block, so the next block's reads find them in
  // cache instead of waiting on memory (1 thread, 2,000,000 x 64: S 7%
  // faster).
  void prefetch_next(index_t part, index_t parts) const {
    const index_t share = (next_lines_ + parts - 1) / parts;
    for (index_t l = part * share; l < std::min(next_lines_, (part + 1) * share); ++l)
      DESCEND_PREFETCH(next_ + 64 * l);
  }

 private:
  BlockRows features_{}, tail_{};
  const char* next_ = nullptr;
  index_t next_lines_ = 0;
};

// The tiles of S on or above its diagonal, in two kinds:
// - row tiles, `rows` x 8 entries of the columns [0, dx) (dx: d rounded up
//   to whole tiles; rows per tile: as many accumulators as the target's
//   vector registers hold), z_r[i] broadcast against wz_r[j .. j + 8);
// - tail tiles, columns d and d + 1 (the 1 and y) where they lie at or past
//   dx, 8 or 16 of their rows each, z_r[i .. i + 8) against wz_r[c]
//   broadcast, kept in row c of the padded sums (S is symmetric; unpad
//   reads them there). A row tile of 8 columns for these two would carry 6
//   padding columns: on 64 features, 18 of 90 tiles and 15% of S's work.
// An entry adds the same products z_r[i] wz_r[j] in the same order in
// either kind.
struct Tiles {
  static constexpr index_t rows = simd::native_doubles >= 4 ? 4 : 2;
  index_t dx;                // columns in row tiles
  index_t pp;                // S's side d + 2, padded to whole tiles: dx, or dx + 8 with a tail
  index_t tail_first;        // the first tail column, the 1 or y
  index_t tail_count;        // tail columns: 0, 1 or 2
  index_t tail_blocks;       // 8-row blocks a tail column spans
  std::vector<index_t> at;   // i0 * pp + j0 of each row tile

  explicit Tiles(index_t d)
      : dx((d + 7) / 8 * 8),
        pp((d + 2 + 7) / 8 * 8),
        tail_first(std::max(d, dx)),
        tail_count(std::max<index_t>(0, d + 2 - tail_first)),
        tail_blocks(tail_count > 0 ? (tail_first + tail_count + 7) / 8 : 0) {
    for (index_t j0 = 0; j0 < dx; j0 += 8)
      for (index_t i0 = 0; i0 < j0 + 8; i0 += rows) at.push_back(i0 * pp + j0);
  }
  index_t row_tiles() const { return static_cast<index_t>(at.size()); }
  index_t count() const { return row_tiles() + (tail_blocks + 1) / 2; }

  // Where S's entry (i, j), i <= j, is in the padded sums.
  index_t entry(index_t i, index_t j) const { return j >= dx ? j * pp + i : i * pp + j; }

  // Tile t of out += sum over the block's rows r of z_r[i] wz_r[j], r in order.
  template <class T>
  void add(index_t t, const Blocks<T>& b, index_t n_rows, double* out) const {
    if (t < row_tiles()) {
      add_row_tile(at[static_cast<size_t>(t)] / pp, at[static_cast<size_t>(t)] % pp, b, n_rows, out);
    } else {
      const index_t i0 = 16 * (t - row_tiles());
      if (i0 + 16 <= 8 * tail_blocks)
        add_tail_tile<2>(i0, b, n_rows, out);
      else
        add_tail_tile<1>(i0, b, n_rows, out);
    }
  }

 private:
  template <class T>
  void add_row_tile(index_t i0, index_t j0, const Blocks<T>& b, index_t n_rows, double* out) const {
    simd::d8 s[rows];
    for (index_t a = 0; a < rows; ++a) s[a] = simd::zero();
    const BlockRows f = b.features();
    // Unrolled: 1 in 4 of the tiles' issue slots went to the loop itself
    // (in L1, 136 to 126 ns a row of S at 64 features).
    DESCEND_UNROLL_2
    for (index_t r = 0; r < n_rows; ++r) {
      const double* z = f.z + r * f.stride + i0;
      const simd::d8 v = simd::load(f.wz + r * f.stride + j0);
      for (index_t a = 0; a < rows; ++a) s[a] += simd::splat(z[a]) * v;
    }
    for (index_t a = 0; a < rows; ++a) {
      double* o = out + (i0 + a) * pp + j0;
      simd::store(o, simd::load(o) + s[a]);
    }
  }

  // Rows [i0, i0 + 8 B) of the (two) tail columns; a second column past
  // d + 1 is padding (zeros into an unread row).
  template <int B, class T>
  void add_tail_tile(index_t i0, const Blocks<T>& b, index_t n_rows, double* out) const {
    simd::d8 s[2][B];
    for (auto& column : s)
      for (auto& v : column) v = simd::zero();
    // S's rows i0 + 8 k from the features, or (at dx) from the tail.
    const BlockRows f = b.features(), t = b.tail();
    const double* z[B];
    index_t stride[B];
    for (int k = 0; k < B; ++k) {
      const bool in_tail = i0 + 8 * k >= dx;
      z[k] = in_tail ? t.z + (i0 + 8 * k - dx) : f.z + i0 + 8 * k;
      stride[k] = in_tail ? t.stride : f.stride;
    }
    const double* wz = t.wz + (tail_first - dx);
    for (index_t r = 0; r < n_rows; ++r) {
      for (int c = 0; c < 2; ++c) {
        const simd::d8 w = simd::splat(wz[r * t.stride + c]);
        for (int k = 0; k < B; ++k) s[c][k] += simd::load(z[k] + r * stride[k]) * w;
      }
    }
    for (int c = 0; c < 2; ++c)
      for (int k = 0; k < B; ++k) {
        double* o = out + (tail_first + c) * pp + i0 + 8 * k;
        simd::store(o, simd::load(o) + s[c][k]);
      }
  }
};

// S of the rows, full (both triangles), p x p row-major with p = d + 2.
class GramMatrix {
 public:
  index_t p = 0;
  std::vector<double> S;

  // Dense X: the rows cut into chunks (their count a function of the
  // shape alone), each chunk's S summed into its own slot, the slots added
  // in chunk order. In a chunk, the rows are taken in blocks (Blocks:
  // gathered as doubles into Z, weighted into WZ, or read in place) and
  // every tile of S on or above the diagonal adds the block's products.
  // Threads take whole chunks when there are
  // enough of them, else the tiles of each block (a large d): an entry of
  // S adds the same products in the same order either way.
  template <class T>
  void add_dense(const Dataset<T>& data, int n_threads, const std::function<void()>& poll) {
    const index_t n = data.rows();
    const Tiles tiles(data.features());
    // A block of Z (and WZ) stays in L1 while every tile passes over it:
    // a block L2 holds made the tiles wait on L2 (~25% slower, W8). X read
    // in place takes the same blocks, so either way S has the same bits.
    const index_t block = std::max<index_t>(16, (index_t{1} << 11) / tiles.pp);
    const index_t chunks = std::clamp<index_t>(
        std::min((n + block - 1) / block, max_slot_doubles / (tiles.pp * tiles.pp)), 1, gram_max_chunks);
    const index_t chunk_rows = (n + chunks - 1) / chunks;
    std::vector<double> slots(static_cast<size_t>(chunks * tiles.pp * tiles.pp), 0.0);
    auto slot = [&](index_t c) { return slots.data() + c * tiles.pp * tiles.pp; };
    auto rows_of = [&](index_t c) { return RowRange{c * chunk_rows, std::min(chunk_rows, n - c * chunk_rows)}; };
    // Chunk c's rows, a block at a time through `blocks`; add_block(rows)
    // adds each gathered block's tiles into slot(c).
    auto add_chunk = [&](index_t c, Blocks<T>& blocks, auto&& add_block) {
      const RowRange range = rows_of(c);
      for (index_t r = 0; r < range.count; r += block)
        add_block(blocks.gather(range.begin + r, std::min(block, range.count - r)));
    };
    if (chunks >= 2 * n_threads || n_threads <= 1) {
      // Rounds of chunks between which poll() runs, outside any parallel region.
      const index_t round = 4 * std::max(n_threads, 1);
      for (index_t c0 = 0; c0 < chunks; c0 += round) {
        const index_t c1 = std::min(chunks, c0 + round);
        DESCEND_OMP(omp parallel for schedule(static) num_threads(n_threads) if (n_threads > 1))
        for (index_t c = c0; c < c1; ++c) {
          Blocks<T> blocks(data, tiles.pp, tiles.dx, block);
          add_chunk(c, blocks, [&](index_t rows) {
            for (index_t t = 0; t < tiles.count(); ++t) {
              blocks.prefetch_next(t, tiles.count());
              tiles.add(t, blocks, rows, slot(c));
            }
          });
        }
        if (poll) poll();
      }
    } else {
      Blocks<T> blocks(data, tiles.pp, tiles.dx, block);
      for (index_t c = 0; c < chunks; ++c)
        add_chunk(c, blocks, [&](index_t rows) {
          parallel_for(tiles.count(), n_threads, true, [&](index_t t) { tiles.add(t, blocks, rows, slot(c)); });
          if (poll) poll();
        });
    }
    for (index_t c = 1; c < chunks; ++c)
      for (index_t e = 0; e < tiles.pp * tiles.pp; ++e) slots[static_cast<size_t>(e)] += slot(c)[e];
    unpad(slots, tiles);
  }

  // Sparse X (CSR): every ordered pair of a row's entries (with the 1 and
  // y as two more) adds w v_a v_b into S[c_a][c_b] when c_a <= c_b, so
  // duplicate entries of a column add up as scipy defines them. One thread,
  // rows in order: O(sum of (nnz_i + 2)^2).
  template <class T>
  void add_sparse(const Dataset<T>& data, const std::function<void()>& poll) {
    const index_t n = data.rows(), d = data.features();
    std::vector<double> upper(static_cast<size_t>(p * p), 0.0);
    std::vector<index_t> cols;
    std::vector<double> vals;
    data.sparse.visit([&](const auto* indices, const auto* indptr) {
      for (index_t i = 0; i < n; ++i) {
        cols.clear();
        vals.clear();
        for (auto e = indptr[i]; e < indptr[i + 1]; ++e) {
          cols.push_back(index_t(indices[e]));
          vals.push_back(double(data.sparse.data[e]));
        }
        cols.push_back(d);
        vals.push_back(1.0);
        cols.push_back(d + 1);
        vals.push_back(double(data.y[i]));
        const double w = data.weight(i);
        for (size_t a = 0; a < cols.size(); ++a) {
          const double wa = w * vals[a];
          double* row = upper.data() + cols[a] * p;
          for (size_t c = 0; c < cols.size(); ++c)
            if (cols[a] <= cols[c]) row[cols[c]] += wa * vals[c];
        }
        if (poll && (i & 0xffff) == 0xffff) poll();
      }
    });
    S = std::move(upper);
    mirror();
  }

 private:
  // The p x p upper triangle of the padded pp x pp sums, mirrored.
  void unpad(const std::vector<double>& acc, const Tiles& tiles) {
    S.assign(static_cast<size_t>(p * p), 0.0);
    for (index_t i = 0; i < p; ++i)
      for (index_t j = i; j < p; ++j) S[static_cast<size_t>(i * p + j)] = acc[static_cast<size_t>(tiles.entry(i, j))];
    mirror();
  }

  void mirror() {
    for (index_t i = 0; i < p; ++i)
      for (index_t j = 0; j < i; ++j) S[static_cast<size_t>(i * p + j)] = S[static_cast<size_t>(j * p + i)];
  }
};

// The sums a batch fit of the squared loss asks for, from S: one product
// S u per call (rows of S shared out over the threads, each a serial dot
// product: the same bits for any thread count).
template <class T>
class GramSums {
 public:
  GramSums(const Dataset<T>& data, int n_threads, const std::function<void()>& poll)
      : d_(data.features()), n_threads_(n_threads) {
    gram_.p = d_ + 2;
    if (data.is_sparse())
      gram_.add_sparse(data, poll);
    else
      gram_.add_dense(data, n_threads, poll);
    u_.resize(static_cast<size_t>(gram_.p));
    su_.resize(static_cast<size_t>(gram_.p));
    sums_.rows = data.rows();
    sums_.features = d_;
    sums_.loss_grad = [this](const T* theta, double* grad) { return loss_grad(theta, grad); };
    sums_.curvature = [this](const T* v, double* hv) { curvature(v, hv); };
    // S's diagonal and its ones column (index d): Z^T W Z's.
    sums_.column_sums = [this](double* sums, double* squares) {
      for (index_t j = 0; j <= d_; ++j) {
        sums[j] = gram_.S[static_cast<size_t>(j * gram_.p + d_)];
        squares[j] = gram_.S[static_cast<size_t>(j * gram_.p + j)];
      }
    };
  }
  GramSums(const GramSums&) = delete;
  GramSums& operator=(const GramSums&) = delete;

  /// The sums, valid while this object lives.
  const RemoteSums<T>& sums() const { return sums_; }

 private:
  // u^T S u and 2 (S u)[0 .. d], u = (theta, -1).
  double loss_grad(const T* theta, double* grad) {
    for (index_t j = 0; j <= d_; ++j) u_[static_cast<size_t>(j)] = double(theta[j]);
    u_[static_cast<size_t>(d_ + 1)] = -1.0;
    product(gram_.p);
    double total = 0.0;
    for (index_t j = 0; j < gram_.p; ++j) total += u_[static_cast<size_t>(j)] * su_[static_cast<size_t>(j)];
    for (index_t j = 0; j <= d_; ++j) grad[j] = 2.0 * su_[static_cast<size_t>(j)];
    return total;
  }

  // (Z^T W Z) v, the (d + 1) x (d + 1) block of S: H v for the Lanczos passes.
  void curvature(const T* v, double* hv) {
    for (index_t j = 0; j <= d_; ++j) u_[static_cast<size_t>(j)] = double(v[j]);
    u_[static_cast<size_t>(d_ + 1)] = 0.0;
    product(gram_.p);
    for (index_t j = 0; j <= d_; ++j) hv[j] = su_[static_cast<size_t>(j)];
  }

  // su = S u.
  void product(index_t p) {
    const double* S = gram_.S.data();
    const double* u = u_.data();
    double* out = su_.data();
    parallel_for(p, n_threads_, p * p >= (index_t{1} << 16), [&](index_t i) {
      const double* row = S + i * p;
      simd::d8 acc = simd::zero();
      index_t j = 0;
      for (; j + 8 <= p; j += 8) acc += simd::load(row + j) * simd::load(u + j);
      double s = simd::sum(acc);
      for (; j < p; ++j) s += row[j] * u[j];
      out[i] = s;
    });
  }

  index_t d_;
  int n_threads_;
  GramMatrix gram_;
  std::vector<double> u_, su_;
  RemoteSums<T> sums_;
};

}  // namespace descend::detail
