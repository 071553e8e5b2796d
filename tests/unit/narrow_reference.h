// Independent reference conversions for the narrow float formats: decode each format from its
// definition and encode by searching every code for the nearest value (ties to the even code),
// saturating as Strata documents. Slow and obviously right; the kernels must agree with it.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace reference {

// value = (-1)^s · 2^(e - bias) · (1 + m / 2^M), subnormal when e == 0.
inline double decodeMinifloat(uint32_t code, int exponentBits, int mantissaBits, bool ieeeSpecials) {
  uint32_t sign = code >> (exponentBits + mantissaBits);
  uint32_t e = (code >> mantissaBits) & ((1u << exponentBits) - 1);
  uint32_t m = code & ((1u << mantissaBits) - 1);
  int bias = (1 << (exponentBits - 1)) - 1;
  double s = sign ? -1.0 : 1.0;
  uint32_t maxE = (1u << exponentBits) - 1;
  if (ieeeSpecials && e == maxE) return m == 0 ? s * std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
  if (!ieeeSpecials && e == maxE && m == (1u << mantissaBits) - 1) return std::numeric_limits<double>::quiet_NaN();
  if (e == 0) return s * std::ldexp(static_cast<double>(m), 1 - bias - mantissaBits);
  return s * std::ldexp(1.0 + std::ldexp(static_cast<double>(m), -mantissaBits), static_cast<int>(e) - bias);
}

// Nearest finite code by exhaustive search; beyond the largest finite value: saturate.
inline uint32_t encodeMinifloat(double x, int exponentBits, int mantissaBits, bool ieeeSpecials, bool saturate) {
  int totalBits = 1 + exponentBits + mantissaBits;
  uint32_t signBit = 1u << (exponentBits + mantissaBits);
  if (std::isnan(x)) return 0;  // callers test NaN separately
  uint32_t best = 0;
  double bestError = std::numeric_limits<double>::infinity();
  double maxFinite = 0;
  uint32_t maxCode = 0;
  for (uint32_t c = 0; c < signBit; ++c) {
    double v = decodeMinifloat(c, exponentBits, mantissaBits, ieeeSpecials);
    if (!std::isfinite(v)) continue;
    if (v > maxFinite) { maxFinite = v; maxCode = c; }
    double err = std::fabs(std::fabs(x) - v);
    if (err < bestError || (err == bestError && (c & 1u) == 0)) { best = c; bestError = err; }
  }
  (void)totalBits;
  double a = std::fabs(x);
  if (a > maxFinite) {
    // Past the top: IEEE formats round to infinity from maxFinite + half an ulp unless saturating.
    double ulp = maxFinite - decodeMinifloat(maxCode - 1, exponentBits, mantissaBits, ieeeSpecials);
    if (!saturate && ieeeSpecials && a >= maxFinite + ulp / 2) best = ((1u << exponentBits) - 1) << mantissaBits;
    else best = maxCode;
  }
  return (std::signbit(x) ? signBit : 0u) | best;
}

// Exhaustive search over 32768 codes is too slow for bulk use; test_float_formats checks that the
// compiler's _Float16 conversion agrees with it, and bulk references use the compiler's.
inline uint16_t floatToHalfExhaustive(float x) { return static_cast<uint16_t>(encodeMinifloat(x, 5, 10, true, false)); }
inline uint16_t floatToHalf(float x) {
  _Float16 h = static_cast<_Float16>(x);
  uint16_t bits;
  std::memcpy(&bits, &h, 2);
  return bits;
}
inline float halfToFloat(uint16_t h) { return static_cast<float>(decodeMinifloat(h, 5, 10, true)); }
inline uint8_t floatToE4m3(float x) { return static_cast<uint8_t>(encodeMinifloat(x, 4, 3, false, true)); }
inline float e4m3ToFloat(uint8_t b) { return static_cast<float>(decodeMinifloat(b, 4, 3, false)); }
inline uint8_t floatToE5m2(float x) { return static_cast<uint8_t>(encodeMinifloat(x, 5, 2, true, true)); }
inline float e5m2ToFloat(uint8_t b) { return static_cast<float>(decodeMinifloat(b, 5, 2, true)); }

// bfloat16: the top half of a float, rounded to nearest even on the dropped 16 bits.
inline uint16_t floatToBf16(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  uint32_t down = u & 0xffff0000u;
  uint32_t up = down + 0x10000u;
  float fd, fu;
  std::memcpy(&fd, &down, 4);
  std::memcpy(&fu, &up, 4);
  double ed = std::fabs(static_cast<double>(x) - fd);
  double eu = std::fabs(static_cast<double>(fu) - x);
  uint32_t pick = ed < eu ? down : eu < ed ? up : (((down >> 16) & 1u) ? up : down);
  return static_cast<uint16_t>(pick >> 16);
}
inline float bf16ToFloat(uint16_t b) {
  uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace reference
