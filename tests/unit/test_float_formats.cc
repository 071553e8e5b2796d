// Narrow float conversions against the exhaustive-search reference and the compiler's _Float16.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "narrow_reference.h"
#include "src/reduce/float_formats.h"

namespace {

std::vector<float> probeValues() {
  std::vector<float> values = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 448.0f, 449.0f, 464.0f, 500.0f,
                               57344.0f, 60000.0f, 65504.0f, 65519.0f, 65520.0f, 1e-8f, 6e-8f,
                               3e-8f, 1.9073486e-06f, 0.0009765625f, 0.001953125f, 1e30f, -1e30f};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> exponent(-30.0f, 20.0f);
  std::uniform_real_distribution<float> mantissa(1.0f, 2.0f);
  for (int i = 0; i < 20000; ++i) {
    float v = std::ldexp(mantissa(rng), static_cast<int>(exponent(rng)));
    values.push_back(i % 2 ? -v : v);
  }
  // Exact halfway points of the 8-bit formats exercise ties-to-even.
  for (int code = 0; code < 127; ++code) {
    float a = reference::e4m3ToFloat(static_cast<uint8_t>(code));
    float b = reference::e4m3ToFloat(static_cast<uint8_t>(code + 1));
    if (std::isfinite(a) && std::isfinite(b)) values.push_back((a + b) / 2);
    float c = reference::e5m2ToFloat(static_cast<uint8_t>(code));
    float d = reference::e5m2ToFloat(static_cast<uint8_t>(code + 1));
    if (std::isfinite(c) && std::isfinite(d)) values.push_back((c + d) / 2);
  }
  return values;
}

TEST(FloatFormats, HalfMatchesCompilerConversion) {
  for (float v : probeValues()) {
    _Float16 h = static_cast<_Float16>(v);
    uint16_t expected;
    std::memcpy(&expected, &h, 2);
    ASSERT_EQ(strata::floatToHalf(v), expected) << v;
    ASSERT_EQ(strata::floatToHalf(v), reference::floatToHalfExhaustive(v)) << v;
  }
  for (uint32_t code = 0; code < 65536; ++code) {
    float expected = reference::halfToFloat(static_cast<uint16_t>(code));
    float got = strata::halfToFloat(static_cast<uint16_t>(code));
    if (std::isnan(expected)) {
      ASSERT_TRUE(std::isnan(got));
    } else {
      ASSERT_EQ(got, expected) << code;
    }
  }
}

TEST(FloatFormats, Bfloat16RoundsToNearestEven) {
  for (float v : probeValues()) ASSERT_EQ(strata::floatToBfloat16(v), reference::floatToBf16(v)) << v;
  EXPECT_TRUE(std::isnan(strata::bfloat16ToFloat(strata::floatToBfloat16(std::nanf("")))));
}

TEST(FloatFormats, Float8MatchesExhaustiveSearch) {
  for (float v : probeValues()) {
    ASSERT_EQ(strata::floatToFloat8e4m3(v), reference::floatToE4m3(v)) << v;
    ASSERT_EQ(strata::floatToFloat8e5m2(v), reference::floatToE5m2(v)) << v;
  }
  for (int code = 0; code < 256; ++code) {
    float a = reference::e4m3ToFloat(static_cast<uint8_t>(code));
    float b = strata::float8e4m3ToFloat(static_cast<uint8_t>(code));
    if (std::isnan(a)) ASSERT_TRUE(std::isnan(b)); else ASSERT_EQ(a, b) << code;
    float c = reference::e5m2ToFloat(static_cast<uint8_t>(code));
    float d = strata::float8e5m2ToFloat(static_cast<uint8_t>(code));
    if (std::isnan(c)) ASSERT_TRUE(std::isnan(d)); else if (std::isinf(c)) ASSERT_EQ(c, d); else ASSERT_EQ(c, d) << code;
  }
}

TEST(FloatFormats, Float8SaturatesAndKeepsNan) {
  EXPECT_EQ(strata::floatToFloat8e4m3(1e6f), 0x7e);
  EXPECT_EQ(strata::floatToFloat8e4m3(-1e6f), 0xfe);
  EXPECT_EQ(strata::floatToFloat8e5m2(INFINITY), 0x7b);
  EXPECT_TRUE(std::isnan(strata::float8e4m3ToFloat(strata::floatToFloat8e4m3(std::nanf("")))));
  EXPECT_TRUE(std::isnan(strata::float8e5m2ToFloat(strata::floatToFloat8e5m2(std::nanf("")))));
}

}  // namespace
