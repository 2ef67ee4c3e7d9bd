// Eight doubles as one value: the lanes of every reduction in the kernels.
//
// With GCC and Clang this is a generic vector type, which the compiler
// lowers to whatever the target has (4 SSE2, 2 AVX2 or 1 AVX-512
// registers); elsewhere a plain struct with the same lane-wise arithmetic.
// Either way each lane is its own accumulator and the lanes are combined
// in a fixed tree, so a sum's bits do not depend on the vector width, the
// compiler or the thread count. (No FMA contraction: the build passes
// -ffp-contract=off so a*b+c rounds the same everywhere.)
#pragma once

#include <cstring>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace descend::simd {

constexpr int width = 8;

#if defined(__GNUC__) || defined(__clang__)
typedef double d8 __attribute__((vector_size(64)));
typedef float f8 __attribute__((vector_size(32)));

inline d8 load(const double* p) {
  d8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline d8 load(const float* p) {
#if defined(__AVX512F__)
  // One vcvtps2pd: GCC lowers the generic conversion below through split
  // halves and re-joins them (4 instructions per 8 floats), which bound
  // the float32 kernels.
  return d8(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
#else
  f8 v;
  std::memcpy(&v, p, sizeof v);
  return __builtin_convertvector(v, d8);
#endif
}
inline void store(double* p, d8 v) { std::memcpy(p, &v, sizeof v); }
inline d8 splat(double a) { return d8{a, a, a, a, a, a, a, a}; }
inline d8 zero() { return d8{}; }
#else
struct d8 {
  double v[width];
  double operator[](int i) const { return v[i]; }
  double& operator[](int i) { return v[i]; }
};
inline d8 operator+(d8 a, const d8& b) {
  for (int i = 0; i < width; ++i) a.v[i] += b.v[i];
  return a;
}
inline d8 operator-(d8 a, const d8& b) {
  for (int i = 0; i < width; ++i) a.v[i] -= b.v[i];
  return a;
}
inline d8 operator*(d8 a, const d8& b) {
  for (int i = 0; i < width; ++i) a.v[i] *= b.v[i];
  return a;
}
inline d8& operator+=(d8& a, const d8& b) { return a = a + b; }
template <class T>
inline d8 load(const T* p) {
  d8 r;
  for (int i = 0; i < width; ++i) r.v[i] = double(p[i]);
  return r;
}
inline void store(double* p, const d8& v) { std::memcpy(p, v.v, sizeof v.v); }
inline d8 splat(double a) { return d8{{a, a, a, a, a, a, a, a}}; }
inline d8 zero() { return d8{}; }
#endif

/// The lanes' sum in a fixed tree.
inline double sum(const d8& v) {
  return ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7]));
}

}  // namespace descend::simd
