// Conversions between float and the narrow floating formats Strata reduces: IEEE binary16, bfloat16,
// and the OCP 8-bit formats E4M3 (FN: no infinity, one NaN pattern, max 448) and E5M2 (IEEE-like,
// max 57344). Narrow values are widened to float, combined, and narrowed again with round to
// nearest even. Results beyond the largest finite value saturate to it (as CUDA's satfinite
// conversions do), NaN stays NaN.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

namespace strata {

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof(u));
  return u;
}

inline float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof(f));
  return f;
}

// ---- binary16 ----
inline float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return bitsToFloat(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) return bitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Subnormal or zero: value = mantissa * 2^-24, exact in float.
  float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
  return sign ? -magnitude : magnitude;
}

inline uint16_t floatToHalf(float f) {
  uint32_t u = floatBits(f);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t a = u & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to infinity
  if (a < 0x38800000u) {
    // Below the smallest normal (2^-14): quantum is 2^-24; rint rounds half to even.
    float scaled = bitsToFloat(a) * 16777216.0f;
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(scaled)));
  }
  uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  return static_cast<uint16_t>(sign | ((rounded >> 13) - (112u << 10)));
}

// ---- bfloat16 ----
inline float bfloat16ToFloat(uint16_t b) { return bitsToFloat(static_cast<uint32_t>(b) << 16); }

inline uint16_t floatToBfloat16(float f) {
  uint32_t u = floatBits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

// ---- 8-bit formats ----
// A narrow format with `kMantissaBits` mantissa bits and exponent bias `kBias`; `kMaxCode` is the
// code of its largest finite magnitude and `kNanCode` its canonical NaN (sign bit clear).
template <int kMantissaBits, int kBias, uint8_t kMaxCode, uint8_t kNanCode>
struct Float8Format {
  static uint8_t fromFloat(float f) {
    uint32_t u = floatBits(f);
    uint8_t sign = static_cast<uint8_t>((u >> 24) & 0x80u);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return static_cast<uint8_t>(sign | kNanCode);
    int exponent = static_cast<int>(a >> 23) - 127;
    uint32_t code;
    if (exponent < 1 - kBias) {
      // Target subnormal: count quanta of 2^(1 - bias - mantissaBits). A result of 2^M quanta
      // is exactly the code of the smallest normal, so no special case is needed.
      float scaled = std::ldexp(bitsToFloat(a), kMantissaBits - (1 - kBias));
      code = static_cast<uint32_t>(std::nearbyint(scaled));
    } else {
      constexpr int shift = 23 - kMantissaBits;
      uint32_t rounded = a + ((1u << (shift - 1)) - 1u) + ((a >> shift) & 1u);
      code = (rounded >> shift) - (static_cast<uint32_t>(127 - kBias) << kMantissaBits);
    }
    if (code > kMaxCode) code = kMaxCode;  // saturate (infinity included)
    return static_cast<uint8_t>(sign | code);
  }
};

using Float8E4M3 = Float8Format<3, 7, 0x7e, 0x7f>;
using Float8E5M2 = Float8Format<2, 15, 0x7b, 0x7e>;

inline float float8e4m3ToFloat(uint8_t b) {
  float sign = (b & 0x80u) ? -1.0f : 1.0f;
  int exponent = (b >> 3) & 0xf;
  int mantissa = b & 0x7;
  if (exponent == 0xf && mantissa == 0x7) return std::nanf("");
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -9);
  return sign * std::ldexp(1.0f + static_cast<float>(mantissa) / 8.0f, exponent - 7);
}

inline float float8e5m2ToFloat(uint8_t b) {
  // E5M2 is binary16 with the low 8 mantissa bits cut off.
  return halfToFloat(static_cast<uint16_t>(b) << 8);
}

inline uint8_t floatToFloat8e4m3(float f) { return Float8E4M3::fromFloat(f); }
inline uint8_t floatToFloat8e5m2(float f) { return Float8E5M2::fromFloat(f); }

}  // namespace strata
