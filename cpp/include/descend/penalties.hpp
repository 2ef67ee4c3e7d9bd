// The penalties of the objective, in one place:
//   (l2/2) ||coef||^2  enters the objective and the gradient (l2 coef_j);
//   l1 ||coef||_1      enters the objective, and the parameters through a
//                      proximal soft-threshold step after each update,
//                      coef_j <- sign(coef_j) max(|coef_j| - lr l1, 0),
//                      so coefficients reach exact zeros.
// The intercept is never penalised: these see the coefficients only.
// Sums run in double, in index order (the same bits for any thread count).
#pragma once

#include <cmath>

#include "config.hpp"

namespace descend::detail {

// ||coef||^2 = sum_j coef_j^2 in double, summed in index order.
template <class T>
double squared_norm(const T* coef, index_t n) {
  double s = 0.0;
  for (index_t j = 0; j < n; ++j) s += double(coef[j]) * double(coef[j]);
  return s;
}

// J + (l2/2) ||coef||^2 over the n_coef coefficients (J when l2 = 0).
template <class T>
double with_l2(double value, const T* coef, index_t n_coef, double l2) {
  return l2 == 0.0 ? value : value + 0.5 * l2 * squared_norm(coef, n_coef);
}

// Adds the l2 term: J += (l2/2) ||coef||^2 and grad[j] += l2 coef_j over
// the n_coef coefficients; the intercept is never regularised.
template <class T>
double add_l2(double value, const T* coef, index_t n_coef, double l2, double* grad) {
  if (l2 == 0.0) return value;
  for (index_t j = 0; j < n_coef; ++j) grad[j] += l2 * double(coef[j]);
  return with_l2(value, coef, n_coef, l2);
}

// J + l1 ||coef||_1 over the n_coef coefficients (J when l1 = 0).
template <class T>
double with_l1(double value, const T* coef, index_t n_coef, double l1) {
  if (!(l1 > 0)) return value;
  double s = 0.0;
  for (index_t j = 0; j < n_coef; ++j) s += std::fabs(double(coef[j]));
  return value + l1 * s;
}

// l1's proximal map of one value: sign(v) max(|v| - threshold, 0).
inline double shrink(double v, double threshold) {
  const double shrunk = std::fabs(v) - threshold;
  return shrunk > 0 ? std::copysign(shrunk, v) : 0.0;
}

// (t - shrink(t - lr p g, lr l1 p)) / lr, the proximal-gradient step of a
// coefficient t with gradient g in the metric p; at lr = 0 (a schedule
// that ends at 0) its limit, p times the least subgradient: g + l1 sign(t),
// or shrink(g, l1) at t = 0.
inline double prox_gradient(double t, double g, double lr, double l1, double p) {
  if (!(lr > 0)) return p * (t != 0 ? g + std::copysign(l1, t) : shrink(g, l1));
  return (t - shrink(t - lr * p * g, lr * l1 * p)) / lr;
}

// The proximal step of l1: coef_j <- sign(coef_j) max(|coef_j| - threshold, 0).
template <class T>
void soft_threshold(T* coef, index_t n, double threshold) {
  for (index_t j = 0; j < n; ++j) coef[j] = static_cast<T>(shrink(double(coef[j]), threshold));
}

// The same in the metric of a preconditioner P (precondition.hpp): the
// threshold of coef_j is threshold P_j.
template <class T>
void soft_threshold(T* coef, index_t n, double threshold, const double* p) {
  for (index_t j = 0; j < n; ++j) coef[j] = static_cast<T>(shrink(double(coef[j]), threshold * p[j]));
}

}  // namespace descend::detail
