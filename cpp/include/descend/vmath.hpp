// exp and log1p on the ranges the logistic loss needs, in branch-free
// arithmetic on doubles, so that a loop applying them to the rows of a
// group vectorises (libm's calls do not: they were a fifth to a third of
// a logistic fit's time). Both stay within 2 ulp of the correctly rounded
// value (cpp/tests/test_core.cpp checks them against libm), and give the
// same bits on every build: no FMA (-ffp-contract=off), no table, no
// instruction-set-specific approximation.
#pragma once

#include <cstdint>
#include <cstring>

#include "config.hpp"

namespace descend::detail {

inline double from_bits(std::uint64_t b) {
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
}

inline std::int64_t to_bits(double d) {
  std::int64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
}

// 2^k for -1022 <= k <= 1023, built from its exponent bits.
inline double pow2(std::int64_t k) { return from_bits(static_cast<std::uint64_t>(k + 1023) << 52); }

// ln 2 = ln2_hi + ln2_lo, ln2_hi with its low 32 bits zero, so that
// k ln2_hi is exact for |k| < 2^20.
constexpr double ln2_hi = 6.93147180369123816490e-01;
constexpr double ln2_lo = 1.90821492927058770002e-10;
constexpr double inv_ln2 = 1.44269504088896338700e+00;

// x + round_shift - round_shift rounds x to an integer (ties to even) for
// |x| < 2^51, without a libm call: the addition leaves no fraction bits.
constexpr double round_shift = 6755399441055744.0;  // 1.5 * 2^52

/// exp(x) for x <= 0: exp(-|p|) of the logistic loss, in (0, 1].
/// x = k ln2 + r with |r| <= ln2 / 2; exp(r) from its Taylor series to
/// r^13 (the remainder is below 2^-60 there), with the leading 1 added
/// last; 2^k applied in two halves so results down to the subnormals
/// (x > -745.1) round once more at most, and anything below underflows
/// to 0.
DESCEND_INLINE double exp_nonpositive(double x) {
  const double input = x;
  // exp(-746) is 0 in double already: clamping keeps k in range. NaN (and
  // anything above 0, outside the domain) computes on 0 instead, so no
  // integer below overflows, and the NaN is returned at the end.
  x = x < -746.0 ? -746.0 : (x <= 0.0 ? x : 0.0);
  const double t = x * inv_ln2 + round_shift;
  const double kd = t - round_shift;
  // k from t's low bits (ulp(t) = 1 there): integer lanes, no conversion
  // instruction (AVX2 has none from double to int64).
  const std::int64_t k = to_bits(t) - to_bits(round_shift);
  const double r = (x - kd * ln2_hi) - kd * ln2_lo;
  // exp(r) - 1 - r = r^2 (1/2! + r (1/3! + r (... + r / 13!))), Horner.
  double q = 1.0 / 6227020800.0;  // 1/13!
  q = q * r + 1.0 / 479001600.0;  // 1/12!
  q = q * r + 1.0 / 39916800.0;
  q = q * r + 1.0 / 3628800.0;
  q = q * r + 1.0 / 362880.0;
  q = q * r + 1.0 / 40320.0;
  q = q * r + 1.0 / 5040.0;
  q = q * r + 1.0 / 720.0;
  q = q * r + 1.0 / 120.0;
  q = q * r + 1.0 / 24.0;
  q = q * r + 1.0 / 6.0;
  q = q * r + 0.5;
  const double er = 1.0 + (r + r * r * q);
  // k in [-1077, 0], halved towards zero with a logical shift (AVX2 has
  // no arithmetic one on 64-bit lanes): both halves >= -539.
  const std::int64_t k1 = -static_cast<std::int64_t>(static_cast<std::uint64_t>(-k) >> 1);
  const double value = er * pow2(k1) * pow2(k - k1);
  return input != input ? input : value;
}

/// log1p(e) for e in [0, 1]: log1p(exp(-|p|)) of the logistic loss.
/// u = 1 + e rounds off c = e - (u - 1) (exact); u = 2^j (1 + f) with
/// 1 + f in [sqrt(1/2), sqrt(2)) and f exact; log(1 + f) = 2 atanh(s),
/// s = f / (2 + f) in [-0.172, 0.172], written as
///   f - (f^2/2 - s (f^2/2 + R)),  R = 2 atanh(s) - 2s - 2s^3 ... = sum_k>=1 2 s^2k / (2k + 1)
/// so the exact f leads and the rounding falls on the smaller terms (R
/// from its series to s^22, remainder below 2^-60); then
/// log1p(e) = j ln2 + log(1 + f) + c / u.
DESCEND_INLINE double log1p_unit(double e) {
  const double u = 1.0 + e;
  const double c = (e - (u - 1.0)) / u;
  const bool halve = u > 1.4142135623730951;  // sqrt(2)
  const double j = halve ? 1.0 : 0.0;
  const double f = (halve ? 0.5 * u : u) - 1.0;  // exact: 1 + f in [0.707, 1.42)
  const double s = f / (2.0 + f);
  const double z = s * s;
  // R / z = 2/3 + z (2/5 + z (... + z 2/23)), Horner.
  double q = 2.0 / 23.0;
  q = q * z + 2.0 / 21.0;
  q = q * z + 2.0 / 19.0;
  q = q * z + 2.0 / 17.0;
  q = q * z + 2.0 / 15.0;
  q = q * z + 2.0 / 13.0;
  q = q * z + 2.0 / 11.0;
  q = q * z + 2.0 / 9.0;
  q = q * z + 2.0 / 7.0;
  q = q * z + 2.0 / 5.0;
  q = q * z + 2.0 / 3.0;
  const double half_f2 = 0.5 * f * f;
  const double log_1pf = f - (half_f2 - s * (half_f2 + z * q));
  return j * ln2_hi + ((log_1pf + c) + j * ln2_lo);
}

}  // namespace descend::detail
