// sgd and minibatch with plain gd over a sparse (CSR) X at O(non-zeros of
// the batch) per update, with the dense path's iterates (to rounding).
//
// The dense update of a batch B of m rows with step lr is
//   theta <- S_{lr l1}((1 - lr l2) theta - lr g),  g = (1/m) sum_i a_i x_i,
// where S is the soft-threshold. Only the coordinates the batch touches
// have g != 0, so the coefficients are kept as theta = s v (scikit-learn's
// wscale): the l2 shrinkage multiplies the scale s, and the gradient moves
// the touched entries of v by -lr g / s_new. Soft-thresholds compose,
// S_a(S_b(x)) = S_{a+b}(x), and commute with a positive scaling up to the
// scale, S_tau(s x) = s S_{tau/s}(x), so the l1 shrinkage of every step is
// added to one running total U (in units of v); a coordinate remembers the
// total u_j it has seen and takes the difference when a row next touches
// it, and every coordinate at the end of the epoch.
//
// The epoch's objective is the mean over its steps of the batch objective
// at the parameters before the step, penalties included, as the dense
// path records it. Without l1 the penalty is (l2/2) s^2 ||v||^2, with
// ||v||^2 kept up to date as entries of v change. With l1 a coordinate's
// value between two touches is s_t max(c - U_t, 0) (c = |v_j| + u_j), so
// its penalty over those steps is a sum over steps of s_t (c - U_t) and
// s_t^2 (c - U_t)^2 up to the first step where U_t reaches c: prefix sums
// of s, s U, s^2, s^2 U, s^2 U^2 over the epoch's steps give it in
// O(log steps) (U never decreases). All of this is per epoch: an epoch
// starts from theta with s = 1, U = 0 and ends by writing theta back.
#pragma once

#include <algorithm>
#include <cmath>
#include <vector>

#include "buffer.hpp"
#include "dataset.hpp"
#include "losses.hpp"
#include "norm.hpp"
#include "penalties.hpp"

namespace descend::detail {

// A double-double: hi + lo with |lo| <= ulp(hi) / 2, for the epoch's
// prefix sums. Their terms shrink with the scale (s_t^2 falls to 1e-18
// before the scale is folded back), so the sums over a coordinate's
// recent steps are differences of totals many orders larger: in plain
// doubles those differences are rounding noise. Error-free sums and
// products (Knuth's two-sum, Dekker's product with Veltkamp's split: no
// FMA, so every build gives the same bits) keep about 106 bits.
struct DD {
  double hi = 0.0, lo = 0.0;

  static DD two_sum(double a, double b) {
    const double s = a + b;
    const double bb = s - a;
    return {s, (a - (s - bb)) + (b - bb)};
  }
  static DD two_prod(double a, double b) {
    const double p = a * b;
    const auto split = [](double x, double& h, double& l) {
      const double c = 134217729.0 * x;  // 2^27 + 1
      h = c - (c - x);
      l = x - h;
    };
    double ah, al, bh, bl;
    split(a, ah, al);
    split(b, bh, bl);
    return {p, ((ah * bh - p) + ah * bl + al * bh) + al * bl};
  }
  friend DD operator+(DD a, DD b) {
    DD s = two_sum(a.hi, b.hi);
    s.lo += a.lo + b.lo;
    return two_sum(s.hi, s.lo);
  }
  friend DD operator-(DD a, DD b) { return a + DD{-b.hi, -b.lo}; }
  friend DD operator*(DD a, double b) {
    DD p = two_prod(a.hi, b);
    p.lo += a.lo * b;
    return two_sum(p.hi, p.lo);
  }
  double value() const { return hi + lo; }
};

template <class T>
class LazySparseGD {
 public:
  // A model with d features and k outputs per row.
  LazySparseGD(index_t d, index_t k, double l2, double l1, bool fit_intercept)
      : d_(d), k_(k), l2_(l2), l1_(l1), fit_intercept_(fit_intercept),
        v_(static_cast<size_t>(d * k)), gs_(static_cast<size_t>(d * k), 0.0), b_(static_cast<size_t>(k)),
        gb_(static_cast<size_t>(k)), stamp_(static_cast<size_t>(d), -1) {
    if (l1_ > 0) {
      u_.assign(static_cast<size_t>(d), 0.0);
      last_.assign(static_cast<size_t>(d), 0);
    }
  }

  // Starts an epoch of `steps` updates from theta = (coef, intercepts).
  void begin_epoch(const T* theta, index_t steps) {
    for (index_t j = 0; j < d_ * k_; ++j) v_[j] = double(theta[j]);
    for (index_t c = 0; c < k_; ++c) b_[c] = double(theta[d_ * k_ + c]);
    s_ = 1.0;
    U_ = 0.0;
    t_ = 0;
    penalty_ = 0.0;
    sq_ = squared_norm_v();
    if (l1_ > 0) {
      std::fill(u_.begin(), u_.end(), 0.0);
      std::fill(last_.begin(), last_.end(), 0);
      for (auto* a : {&P1_, &Q1_, &P2_, &Q2_, &R2_}) a->assign(static_cast<size_t>(steps + 1), DD{});
      Ut_.assign(static_cast<size_t>(steps + 1), 0.0);
    }
  }

  // One update over the CSR rows `rows` (m of them) with step lr; returns
  // the batch's data term (1/m) sum w_i loss_i at the parameters before
  // the update. With `last`, *grad_norm receives ||g||_2 of the update's
  // gradient over the learnt parameters (an O(d) pass, once an epoch).
  template <class I, class Loss, class Rows>
  double step(const Dataset<T>& data, const I* indices, const I* indptr, const Rows& rows, const Loss& loss,
              double lr, bool last, double* grad_norm) {
    if constexpr (!is_multi_output<Loss>) {
      if (rows.count == 1 && l1_ <= 0 && !last && 1.0 - lr * l2_ >= min_scale)
        return one_row(data, indices, indptr, rows.row(0), loss, lr);
    }
    const index_t t = t_;
    if (l1_ > 0) record_prefix(t);
    if (last) {
      for (index_t j = 0; j < d_; ++j) catch_up(j, t, true);
    }
    const T* x = data.sparse.data;
    const index_t m = rows.count;
    touched_.clear();
    std::fill(gb_.begin(), gb_.end(), 0.0);
    double value = 0.0;
    p_.resize(static_cast<size_t>(k_));
    deriv_.resize(static_cast<size_t>(k_));
    // Every prediction at the parameters before the update, so the rows'
    // entries are caught up first and the gradient is applied after all.
    for (index_t r = 0; r < m; ++r) {
      const index_t i = rows.row(r);
      const index_t e0 = index_t(indptr[i]), e1 = index_t(indptr[i + 1]);
      for (index_t e = e0; e < e1; ++e) catch_up(index_t(indices[e]), t, true);
    }
    for (index_t r = 0; r < m; ++r) {
      const index_t i = rows.row(r);
      const index_t e0 = index_t(indptr[i]), e1 = index_t(indptr[i + 1]);
      for (index_t c = 0; c < k_; ++c) p_[c] = 0.0;
      for (index_t e = e0; e < e1; ++e) {
        const double xe = double(x[e]);
        const double* vj = v_.data() + index_t(indices[e]) * k_;
        for (index_t c = 0; c < k_; ++c) p_[c] += xe * vj[c];
      }
      for (index_t c = 0; c < k_; ++c) p_[c] = s_ * p_[c] + b_[c];
      const double w = data.weight(i);
      if constexpr (is_multi_output<Loss>) {
        value += w * loss.eval(p_.data(), double(data.y[i]), deriv_.data());
      } else {
        value += w * loss.eval(p_[0], double(data.y[i]), deriv_[0]);
      }
      for (index_t c = 0; c < k_; ++c) {
        const double a = w * deriv_[c];
        deriv_[c] = a;
        gb_[c] += a;
      }
      for (index_t e = e0; e < e1; ++e) {
        const index_t j = index_t(indices[e]);
        if (stamp_[j] != stamp_now_) {
          stamp_[j] = stamp_now_;
          touched_.push_back(j);
        }
        const double xe = double(x[e]);
        double* g = gs_.data() + j * k_;
        for (index_t c = 0; c < k_; ++c) g[c] += deriv_[c] * xe;
      }
    }
    const double inv_m = 1.0 / double(m);
    if (last) *grad_norm = gradient_norm(inv_m);
    if (l1_ <= 0) penalty_ += 0.5 * l2_ * s_ * s_ * sq_;
    update(lr, inv_m);
    ++stamp_now_;
    ++t_;
    return value * inv_m;
  }

  // Asks for what row i's update will read to be brought into cache: its
  // entries (`entries`), or the coefficients they name (`coefficients`,
  // which reads the row's indices: ask for its entries earlier).
  template <class I>
  void prefetch(const Dataset<T>& data, const I* indices, const I* indptr, index_t i, bool coefficients) const {
    const index_t e0 = index_t(indptr[i]), e1 = index_t(indptr[i + 1]);
    if (!coefficients) {
      for (index_t e = e0; e < e1; e += 64 / sizeof(I)) DESCEND_PREFETCH(indices + e);
      for (index_t e = e0; e < e1; e += 64 / sizeof(T)) DESCEND_PREFETCH(data.sparse.data + e);
      return;
    }
    for (index_t e = e0; e < e1; ++e) DESCEND_PREFETCH(v_.data() + index_t(indices[e]) * k_);
  }

  // Ends the epoch: every coordinate caught up, theta written back.
  // Returns the epoch's summed penalty (one term per step).
  double end_epoch(T* theta) {
    if (l1_ > 0)
      for (index_t j = 0; j < d_; ++j) catch_up(j, t_, false);
    for (index_t j = 0; j < d_ * k_; ++j) theta[j] = static_cast<T>(s_ * v_[j]);
    for (index_t c = 0; c < k_; ++c) theta[d_ * k_ + c] = static_cast<T>(b_[c]);
    return penalty_;
  }

 private:
  // step() for one row of a single-output loss without l1 (plain sgd, the
  // common case): each entry updates v in place, in one pass, with no
  // gradient buffer (a duplicate entry updates its coordinate twice, which
  // adds up as the dense gradient's sum does).
  template <class I, class Loss>
  double one_row(const Dataset<T>& data, const I* indices, const I* indptr, index_t i, const Loss& loss, double lr) {
    const T* x = data.sparse.data;
    const index_t e0 = index_t(indptr[i]), e1 = index_t(indptr[i + 1]);
    double* const v = v_.data();
    // Four partial sums: one chain of dependent additions would cost more
    // than the (mostly cached) loads of v.
    double d4[4] = {0.0, 0.0, 0.0, 0.0};
    index_t e = e0;
    for (; e + 4 <= e1; e += 4)
      for (int l = 0; l < 4; ++l) d4[l] += double(x[e + l]) * v[index_t(indices[e + l])];
    for (; e < e1; ++e) d4[0] += double(x[e]) * v[index_t(indices[e])];
    const double dot = (d4[0] + d4[1]) + (d4[2] + d4[3]);
    double deriv;
    const double w = data.weight(i);
    const double value = w * loss.eval(s_ * dot + b_[0], double(data.y[i]), deriv);
    const double a = w * deriv;
    if (l2_ != 0.0) penalty_ += 0.5 * l2_ * s_ * s_ * sq_;
    const double s_new = s_ * (1.0 - lr * l2_);
    const double step = lr * a / s_new;
    if (l2_ != 0.0) {
      // ||v||^2 moves by (new - old)(new + old) per entry, in four partial sums.
      double c4[4] = {0.0, 0.0, 0.0, 0.0};
      for (index_t f = e0; f < e1; ++f) {
        double& vj = v[index_t(indices[f])];
        const double delta = -step * double(x[f]);
        c4[(f - e0) & 3] += delta * (2.0 * vj + delta);
        vj += delta;
      }
      sq_ += (c4[0] + c4[1]) + (c4[2] + c4[3]);
    } else {
      for (index_t e = e0; e < e1; ++e) v[index_t(indices[e])] -= step * double(x[e]);
    }
    if (fit_intercept_) b_[0] -= lr * a;
    s_ = s_new;
    if (s_ < min_scale) fold_scale();
    ++stamp_now_;
    ++t_;
    return value;
  }

  // Below this scale v is folded back into theta (s = 1): s shrinks by
  // 1 - lr l2 every step and would underflow on long epochs.
  static constexpr double min_scale = 1e-9;

  double squared_norm_v() const {
    double s = 0.0;
    for (double x : v_) s += x * x;
    return s;
  }

  void record_prefix(index_t t) {
    const DD s2 = DD::two_prod(s_, s_);
    Ut_[t] = U_;
    P1_[t + 1] = P1_[t] + DD{s_, 0.0};
    Q1_[t + 1] = Q1_[t] + DD::two_prod(s_, U_);
    P2_[t + 1] = P2_[t] + s2;
    Q2_[t + 1] = Q2_[t] + s2 * U_;
    R2_[t + 1] = R2_[t] + (s2 * U_) * U_;
  }

  // Brings coordinate j up to step t (l1 only; without l1 v_j is always
  // current): its penalty over the steps since it was last current (step
  // t too when `through`, the steps before t otherwise) and the shrinkage
  // it has missed.
  void catch_up(index_t j, index_t t, bool through) {
    if (l1_ <= 0) return;
    const index_t from = last_[j];
    const index_t to = through ? t + 1 : t;
    const double uj = u_[j];
    if (from >= to && uj == U_) return;
    double* vj = v_.data() + j * k_;
    for (index_t c = 0; c < k_; ++c) {
      const double cval = std::fabs(vj[c]) + uj;
      if (from < to) {
        // The steps of [from, to) at which the coordinate is still
        // non-zero: U_t < cval, a prefix since U never decreases.
        const index_t stop = index_t(std::lower_bound(Ut_.begin() + from, Ut_.begin() + to, cval) - Ut_.begin());
        if (stop > from) penalty_ += penalty_over(from, stop, std::fabs(vj[c]), uj);
      }
      // The shrinkage it missed, up to the current total.
      vj[c] = shrink(vj[c], U_ - uj);
    }
    u_[j] = U_;
    last_[j] = std::max(from, to);
  }

  // The penalty of a coordinate worth a = |v_j| with u_j = uj over the
  // steps [from, stop), all before it reaches zero:
  //   l1 sum s_t (a - (U_t - uj)) + (l2/2) sum s_t^2 (a - (U_t - uj))^2,
  // from the prefix sums about the origin uj (U_t - uj is small where U_t
  // and uj are large, so it is formed in double-double too).
  double penalty_over(index_t from, index_t stop, double a, double uj) const {
    const DD p1 = P1_[stop] - P1_[from], q1 = Q1_[stop] - Q1_[from];
    const DD p2 = P2_[stop] - P2_[from], q2 = Q2_[stop] - Q2_[from], r2 = R2_[stop] - R2_[from];
    const DD q1u = q1 - p1 * uj;                               // sum s (U - uj)
    const DD q2u = q2 - p2 * uj;                               // sum s^2 (U - uj)
    const DD r2u = r2 - q2 * (2.0 * uj) + (p2 * uj) * uj;      // sum s^2 (U - uj)^2
    const DD l1_part = p1 * a - q1u;
    const DD l2_part = (p2 * a) * a - q2u * (2.0 * a) + r2u;
    return l1_ * l1_part.value() + 0.5 * l2_ * l2_part.value();
  }

  // ||g||_2 of this step's gradient: (1/m) sum a_i x_i + l2 theta over the
  // coefficients (every coordinate is current), then the intercepts.
  double gradient_norm(double inv_m) const {
    const index_t coefs = d_ * k_;
    return norm_of(coefs + (fit_intercept_ ? k_ : 0), [&](index_t j, double m) {
      const double g = j < coefs ? gs_[j] * inv_m + (l2_ != 0.0 ? l2_ * s_ * v_[j] : 0.0) : gb_[j - coefs] * inv_m;
      const double v = g / m;
      return v * v;
    });
  }

  void update(double lr, double inv_m) {
    const double shrink = 1.0 - lr * l2_;
    if (shrink < min_scale) {
      // The step (nearly) zeroes the coefficients' old values: fold the
      // scale in and take it on every coordinate, as the dense path does.
      fold_scale();
      for (index_t j = 0; j < d_ * k_; ++j) v_[j] = shrink * v_[j] - lr * (gs_[j] * inv_m);
      sq_ = squared_norm_v();
    } else {
      const double s_new = s_ * shrink;
      for (index_t j : touched_) {
        double* vj = v_.data() + j * k_;
        for (index_t c = 0; c < k_; ++c) {
          const double old = vj[c];
          vj[c] = old - lr * (gs_[j * k_ + c] * inv_m) / s_new;
          sq_ += vj[c] * vj[c] - old * old;
        }
      }
      s_ = s_new;
    }
    for (index_t j : touched_)
      for (index_t c = 0; c < k_; ++c) gs_[j * k_ + c] = 0.0;
    if (fit_intercept_)
      for (index_t c = 0; c < k_; ++c) b_[c] -= lr * (gb_[c] * inv_m);
    if (l1_ > 0) U_ += lr * l1_ / s_;
    if (s_ < min_scale) fold_scale();
  }

  // theta = s v with s = 1: every coordinate caught up to the current
  // step (its penalty through the previous step), v scaled, U reset.
  void fold_scale() {
    if (l1_ > 0) {
      for (index_t j = 0; j < d_; ++j) catch_up(j, t_, true);
      std::fill(u_.begin(), u_.end(), 0.0);
    }
    for (double& x : v_) x *= s_;
    s_ = 1.0;
    U_ = 0.0;
    sq_ = squared_norm_v();
  }

  index_t d_, k_;
  double l2_, l1_;
  bool fit_intercept_;
  // Huge-page backed: a row's entries land on random pages of v.
  Buffer<double> v_;        // the coefficients over the scale: theta = s v
  Buffer<double> gs_;       // the batch's gradient sums at touched coordinates, else 0
  std::vector<double> b_;   // the intercepts
  std::vector<double> gb_;  // their gradient sums
  std::vector<index_t> stamp_;   // the step that last listed coordinate j in touched_
  index_t stamp_now_ = 0;
  std::vector<index_t> touched_;  // the coordinates of this batch, once each
  std::vector<double> p_, deriv_;
  double s_ = 1.0;       // scale
  double sq_ = 0.0;      // ||v||^2 (penalty without l1)
  double penalty_ = 0.0; // the epoch's penalties so far
  index_t t_ = 0;        // steps taken in this epoch
  // l1 only:
  double U_ = 0.0;                  // shrinkage so far, in units of v
  std::vector<double> u_;           // the U coordinate j has seen
  std::vector<index_t> last_;       // first step whose value coordinate j has not accounted
  std::vector<DD> P1_, Q1_, P2_, Q2_, R2_;  // prefix sums over the epoch's steps: s, s U, s^2, s^2 U, s^2 U^2
  std::vector<double> Ut_;                  // U_t, the shrinkage before step t
};

}  // namespace descend::detail
