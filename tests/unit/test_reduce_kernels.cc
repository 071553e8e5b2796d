// Reduction kernels against the scalar reference, every dtype and op, awkward sizes, in place.
#include <gtest/gtest.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include <cmath>
#include <cstdlib>
#include <string>
#include <random>
#include <vector>

#include "src/common/datatype.h"
#include "src/reduce/float_formats.h"
#include "src/reduce/reduce.h"
#include "reference_values.h"

namespace {

using reference::allOps;
using reference::allTypes;

// Arbitrary bit patterns would make NaNs; random values in a comfortable range instead.
std::vector<uint8_t> randomBuffer(strataDataType_t t, size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> real(-3.0, 3.0);
  std::uniform_int_distribution<int> integer(-100, 100);
  std::vector<uint8_t> b(count * reference::sizeOf(t) + 1);
  bool isFloat = t == strataFloat32 || t == strataFloat64 || reference::isNarrowFloat(t);
  for (size_t i = 0; i < count; ++i) {
    double v = isFloat ? real(rng) : integer(rng);
    if (t == strataUint8 || t == strataUint32 || t == strataUint64) v = std::fabs(v);
    reference::store(t, b.data(), i, v);
  }
  return b;
}

class ReduceKernelTest : public ::testing::TestWithParam<std::tuple<strataDataType_t, strataRedOp_t>> {};

TEST_P(ReduceKernelTest, MatchesScalarReference) {
  auto [dtype, op] = GetParam();
  for (size_t count : {size_t{0}, size_t{1}, size_t{7}, size_t{1023}, size_t{65537}}) {
    auto a = randomBuffer(dtype, count, 1);
    auto b = randomBuffer(dtype, count, 2);
    std::vector<uint8_t> out(a.size(), 0xcd);
    strata::reduceBuffers(out.data(), a.data(), b.data(), count, dtype, op);
    std::vector<uint8_t> expected(a.size(), 0xcd);
    for (size_t i = 0; i < count; ++i) {
      reference::store(dtype, expected.data(), i,
                       reference::combine(dtype, op, reference::load(dtype, a.data(), i), reference::load(dtype, b.data(), i)));
    }
    ASSERT_EQ(out, expected) << strata::dataTypeName(dtype) << " " << strata::redOpName(op) << " count " << count;
    // In place (dst == a) gives the same answer.
    strata::reduceBuffers(a.data(), a.data(), b.data(), count, dtype, op);
    a.back() = expected.back();  // the guard byte past the end differs by construction
    ASSERT_EQ(a, expected) << "in place";
  }
}

// STRATA_REDUCE_KERNELS=generic really runs the portable build (the generic_kernels.* copies of
// these tests rely on it); otherwise the best build the CPU supports.
TEST(ReduceKernel, VariantFollowsTheSwitch) {
  const char* forced = std::getenv("STRATA_REDUCE_KERNELS");
  if (forced != nullptr && std::string(forced) == "generic") {
    EXPECT_STREQ(strata::reduceKernelVariant(), "generic");
  } else {
#if defined(__x86_64__)
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && f16c && __builtin_cpu_supports("fma")) {
      EXPECT_STREQ(strata::reduceKernelVariant(), "avx2");
    }
#endif
  }
}

// The 16-bit floats are converted 16 at a time by hand in the AVX2 build: every bit pattern
// (zeros, subnormals, infinities, NaNs, the largest values, whose sums overflow) against partners
// of every kind, element for element equal to the scalar conversions, for every op and average.
class SixteenBitFloatTest : public ::testing::TestWithParam<strataDataType_t> {};

// The kernels' ops on widened values, as the scalar code applies them (max/min keep `a` unless
// `b` is strictly beyond it).
float scalarOp(strataRedOp_t op, float a, float b) {
  switch (op) {
    case strataSum: return a + b;
    case strataProd: return a * b;
    case strataMax: return a < b ? b : a;
    default: return b < a ? b : a;
  }
}

float widen16(strataDataType_t t, uint16_t v) {
  return t == strataFloat16 ? strata::halfToFloat(v) : strata::bfloat16ToFloat(v);
}
uint16_t narrow16(strataDataType_t t, float v) {
  return t == strataFloat16 ? strata::floatToHalf(v) : strata::floatToBfloat16(v);
}

TEST_P(SixteenBitFloatTest, EveryPatternMatchesTheScalarConversions) {
  const strataDataType_t t = GetParam();
  constexpr size_t kPatterns = 65536;
  // Each pattern meets a pseudo-random partner and the same pattern; 65536 + 3 elements leave a
  // tail of 3 for the padded last step.
  std::vector<uint16_t> a, b;
  for (size_t i = 0; i < kPatterns; ++i) {
    a.push_back(static_cast<uint16_t>(i));
    b.push_back(static_cast<uint16_t>((i * 40503u + 12345u) & 0xffffu));
  }
  for (uint16_t i : {uint16_t{0x3c00}, uint16_t{0x8000}, uint16_t{0x7c01}}) {
    a.push_back(i);
    b.push_back(static_cast<uint16_t>(i ^ 0x8000u));
  }
  // A NaN's sign and payload are the hardware's business (IEEE leaves them open; with two NaN
  // operands x86 keeps either, by operand order): it must stay a NaN. Everything else bit for bit.
  auto sameResult = [&](uint16_t got, uint16_t want) {
    return std::isnan(widen16(t, want)) ? std::isnan(widen16(t, got)) : got == want;
  };
  for (strataRedOp_t op : {strataSum, strataProd, strataMax, strataMin}) {
    for (const std::vector<uint16_t>* partner : {&b, &a}) {
      std::vector<uint16_t> out(a.size());
      strata::reduceBuffers(out.data(), a.data(), partner->data(), a.size(), t, op);
      for (size_t i = 0; i < a.size(); ++i) {
        const float x = widen16(t, a[i]), y = widen16(t, (*partner)[i]);
        const float r = scalarOp(op, x, y);
        const uint16_t want = narrow16(t, r);
        ASSERT_TRUE(sameResult(out[i], want))
            << strata::dataTypeName(t) << " " << strata::redOpName(op) << " of 0x" << std::hex << a[i] << " and 0x"
            << (*partner)[i] << ": 0x" << out[i] << ", expected 0x" << want;
      }
    }
  }
  for (int divisor : {3, 7}) {
    std::vector<uint16_t> data = a;
    strata::divideByCount(data.data(), data.size(), t, divisor);
    for (size_t i = 0; i < a.size(); ++i) {
      const uint16_t want = narrow16(t, widen16(t, a[i]) / static_cast<float>(divisor));
      ASSERT_TRUE(sameResult(data[i], want))
          << strata::dataTypeName(t) << " 0x" << std::hex << a[i] << " / " << std::dec << divisor;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(HalfAndBfloat16, SixteenBitFloatTest, ::testing::Values(strataFloat16, strataBfloat16));

// The 8-bit floats are reduced through tables of every pair's result: every pair, every op,
// against the scalar conversions (NaN as NaN, as above).
class EightBitFloatTest : public ::testing::TestWithParam<strataDataType_t> {};

TEST_P(EightBitFloatTest, EveryPairMatchesTheScalarConversions) {
  const strataDataType_t t = GetParam();
  auto widen = [&](uint8_t v) { return t == strataFloat8e4m3 ? strata::float8e4m3ToFloat(v) : strata::float8e5m2ToFloat(v); };
  auto narrow = [&](float v) { return t == strataFloat8e4m3 ? strata::floatToFloat8e4m3(v) : strata::floatToFloat8e5m2(v); };
  std::vector<uint8_t> a, b;
  for (unsigned x = 0; x < 256; ++x) {
    for (unsigned y = 0; y < 256; ++y) {
      a.push_back(static_cast<uint8_t>(x));
      b.push_back(static_cast<uint8_t>(y));
    }
  }
  for (strataRedOp_t op : {strataSum, strataProd, strataMax, strataMin}) {
    std::vector<uint8_t> out(a.size());
    strata::reduceBuffers(out.data(), a.data(), b.data(), a.size(), t, op);
    for (size_t i = 0; i < a.size(); ++i) {
      const float x = widen(a[i]), y = widen(b[i]);
      const float r = scalarOp(op, x, y);
      const uint8_t want = narrow(r);
      ASSERT_TRUE(std::isnan(widen(want)) ? std::isnan(widen(out[i])) : out[i] == want)
          << strata::dataTypeName(t) << " " << strata::redOpName(op) << " of 0x" << std::hex << unsigned{a[i]} << " and 0x"
          << unsigned{b[i]} << ": 0x" << unsigned{out[i]} << ", expected 0x" << unsigned{want};
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Float8, EightBitFloatTest, ::testing::Values(strataFloat8e4m3, strataFloat8e5m2));

INSTANTIATE_TEST_SUITE_P(AllTypesAllOps, ReduceKernelTest,
                         ::testing::Combine(::testing::ValuesIn(allTypes()), ::testing::ValuesIn(allOps())));

TEST(ReduceKernel, DivideFinishesAverage) {
  for (strataDataType_t dtype : allTypes()) {
    size_t count = 1031;
    auto data = randomBuffer(dtype, count, 3);
    std::vector<uint8_t> expected = data;
    for (size_t i = 0; i < count; ++i) {
      double v = reference::load(dtype, data.data(), i);
      bool integer = !(dtype == strataFloat32 || dtype == strataFloat64 || reference::isNarrowFloat(dtype));
      double q = integer ? std::trunc(v / 3) : (dtype == strataFloat64 ? v / 3 : static_cast<double>(static_cast<float>(v) / 3.0f));
      reference::store(dtype, expected.data(), i, q);
    }
    strata::divideByCount(data.data(), count, dtype, 3);
    ASSERT_EQ(data, expected) << strata::dataTypeName(dtype);
  }
}

}  // namespace
