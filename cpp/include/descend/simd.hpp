// Eight doubles as one value: the lanes of every reduction in the kernels
// (and f8, eight floats: the lanes of a float row's dot product).
//
// With GCC and Clang a d8 is built from the target's own vector registers:
// one AVX-512 register, or a pair of AVX registers, or a pair of pairs of
// SSE2 registers, so every operation is one instruction a register. (A
// single 64-byte generic vector on a target without AVX-512 is lowered by
// GCC through the stack: 2-3x slower kernels.) Elsewhere a plain struct
// with the same lane-wise arithmetic. Either way each lane is its own
// accumulator and the lanes are combined in a fixed tree, so a sum's bits
// do not depend on the vector width, the compiler or the thread count.
// (No FMA contraction: the build passes -ffp-contract=off so a*b+c rounds
// the same everywhere.)
#pragma once

#include <cstring>

#if defined(__GNUC__) || defined(__clang__)
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#endif

namespace descend::detail::simd {

constexpr int width = 8;

#if defined(__GNUC__) || defined(__clang__)

#if defined(__AVX512F__)
constexpr int native_doubles = 8;
#elif defined(__AVX__)
constexpr int native_doubles = 4;
#else
constexpr int native_doubles = 2;
#endif

/// One register of doubles, and the floats that convert to it.
typedef double dreg __attribute__((vector_size(8 * native_doubles)));
typedef float freg __attribute__((vector_size(4 * native_doubles)));

/// Two values of H side by side: lanes 0..n-1 in lo, n..2n-1 in hi.
template <class H>
struct twice {
  H lo, hi;
};

template <class V>
struct lanes_of {
  static constexpr int value = native_doubles;
};
template <class H>
struct lanes_of<twice<H>> {
  static constexpr int value = 2 * lanes_of<H>::value;
};

template <class H>
inline twice<H> operator+(const twice<H>& a, const twice<H>& b) {
  return {a.lo + b.lo, a.hi + b.hi};
}
template <class H>
inline twice<H> operator-(const twice<H>& a, const twice<H>& b) {
  return {a.lo - b.lo, a.hi - b.hi};
}
template <class H>
inline twice<H> operator*(const twice<H>& a, const twice<H>& b) {
  return {a.lo * b.lo, a.hi * b.hi};
}
template <class H>
inline twice<H>& operator+=(twice<H>& a, const twice<H>& b) {
  return a = a + b;
}

namespace detail {

inline double lane(const dreg& v, int i) { return v[i]; }
template <class H>
inline double lane(const twice<H>& v, int i) {
  constexpr int n = lanes_of<H>::value;
  return i < n ? lane(v.lo, i) : lane(v.hi, i - n);
}

template <class V>
struct ops;

template <>
struct ops<dreg> {
  static dreg load(const double* p) {
    dreg v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static dreg load(const float* p) {
    // One vcvtps2pd from memory on x86: GCC lowers the generic conversion
    // below through split halves re-joined on the stack (on AVX2, 4-5
    // instructions and a store-to-load round trip per 4 floats: it made
    // the float32 kernels 2x slower than the float64 ones).
#if defined(__AVX512F__)
    return dreg(_mm512_cvtps_pd(_mm256_loadu_ps(p)));
#elif defined(__AVX__)
    return dreg(_mm256_cvtps_pd(_mm_loadu_ps(p)));
#elif defined(__SSE2__)
    double two;  // the two floats' bits, one 8-byte load
    std::memcpy(&two, p, sizeof two);
    return dreg(_mm_cvtps_pd(_mm_castpd_ps(_mm_load_sd(&two))));
#else
    freg f;
    std::memcpy(&f, p, sizeof f);
    return __builtin_convertvector(f, dreg);
#endif
  }
  static void store(double* p, const dreg& v) { std::memcpy(p, &v, sizeof v); }
  // a in every lane. Not dreg{} + a: 0.0 + a turns -0.0 into +0.0, so GCC
  // must keep a scalar add before the broadcast (an FP uop and a shuffle
  // per splat: the Gram tiles' inner loop ran 1.5x slower for it); a - 0.0
  // is a for every a and folds away, leaving one broadcast from memory.
  static dreg splat(double a) { return a - dreg{}; }
};

template <class H>
struct ops<twice<H>> {
  static constexpr int n = lanes_of<H>::value;
  template <class T>
  static twice<H> load(const T* p) {
    return {ops<H>::load(p), ops<H>::load(p + n)};
  }
  static void store(double* p, const twice<H>& v) {
    ops<H>::store(p, v.lo);
    ops<H>::store(p + n, v.hi);
  }
  static twice<H> splat(double a) { return {ops<H>::splat(a), ops<H>::splat(a)}; }
};

// Lanes doubles: one register, or two of half as many lanes.
template <int Lanes, bool Native = (Lanes == native_doubles)>
struct vec_of {
  using type = twice<typename vec_of<Lanes / 2>::type>;
};
template <int Lanes>
struct vec_of<Lanes, true> {
  using type = dreg;
};

}  // namespace detail

using d8 = typename detail::vec_of<width>::type;

inline d8 load(const double* p) { return detail::ops<d8>::load(p); }
inline d8 load(const float* p) { return detail::ops<d8>::load(p); }
inline void store(double* p, const d8& v) { detail::ops<d8>::store(p, v); }
inline d8 splat(double a) { return detail::ops<d8>::splat(a); }
inline d8 zero() { return d8{}; }
inline double lane(const d8& v, int i) { return detail::lane(v, i); }

/// Eight floats as one value: one AVX register (half of an AVX-512 one),
/// or a pair of SSE2 registers.
#if defined(__AVX__)
typedef float f8 __attribute__((vector_size(32)));
#else
typedef float f4 __attribute__((vector_size(16)));
using f8 = twice<f4>;
#endif
inline f8 load_f8(const float* p) {
  f8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store(float* p, const f8& v) { std::memcpy(p, &v, sizeof v); }

#else
constexpr int native_doubles = 1;

/// Eight values of S, lane by lane: d8 and f8 where the compiler has no
/// vector extensions.
template <class S>
struct lanes8 {
  S v[width];
};
template <class S>
inline lanes8<S> operator+(lanes8<S> a, const lanes8<S>& b) {
  for (int i = 0; i < width; ++i) a.v[i] += b.v[i];
  return a;
}
template <class S>
inline lanes8<S> operator-(lanes8<S> a, const lanes8<S>& b) {
  for (int i = 0; i < width; ++i) a.v[i] -= b.v[i];
  return a;
}
template <class S>
inline lanes8<S> operator*(lanes8<S> a, const lanes8<S>& b) {
  for (int i = 0; i < width; ++i) a.v[i] *= b.v[i];
  return a;
}
template <class S>
inline lanes8<S>& operator+=(lanes8<S>& a, const lanes8<S>& b) {
  return a = a + b;
}
using d8 = lanes8<double>;
using f8 = lanes8<float>;
template <class T>
inline d8 load(const T* p) {
  d8 r;
  for (int i = 0; i < width; ++i) r.v[i] = double(p[i]);
  return r;
}
inline f8 load_f8(const float* p) {
  f8 r;
  std::memcpy(r.v, p, sizeof r.v);
  return r;
}
template <class S>
inline void store(S* p, const lanes8<S>& v) {
  std::memcpy(p, v.v, sizeof v.v);
}
inline d8 splat(double a) { return d8{{a, a, a, a, a, a, a, a}}; }
inline d8 zero() { return d8{}; }
inline double lane(const d8& v, int i) { return v.v[i]; }
#endif

/// The lanes' sum in a fixed tree.
inline double sum(const d8& v) {
  return ((lane(v, 0) + lane(v, 1)) + (lane(v, 2) + lane(v, 3))) +
         ((lane(v, 4) + lane(v, 5)) + (lane(v, 6) + lane(v, 7)));
}

/// The lanes of f8 widened to double (exact), then summed in the same tree.
inline double sum(const f8& v) {
  float f[width];
  store(f, v);
  return sum(load(f));
}

/// The lanes a dot product of T values sums in: the data's own type (the
/// products and lane sums of float data in float; see dot_rows).
inline d8 load_lanes(const double* p) { return load(p); }
inline f8 load_lanes(const float* p) { return load_f8(p); }

/// Registers of the target that one V occupies.
template <class V>
constexpr int registers_of = sizeof(V) / (8 * native_doubles) > 0 ? int(sizeof(V) / (8 * native_doubles)) : 1;

}  // namespace descend::detail::simd
