#include "perf/common/perf_values.h"

#include <cmath>
#include <cstdint>
#include <cstring>

#include "src/common/datatype.h"
#include "src/reduce/float_formats.h"

namespace strata::perf {

double inputValue(int rank, size_t i) { return static_cast<double>((static_cast<size_t>(rank) + i) % 3 + 1); }

void storeValue(strataDataType_t t, void* buffer, size_t i, double v) {
  auto* b = static_cast<uint8_t*>(buffer);
  switch (t) {
    case strataInt8: { auto x = static_cast<int8_t>(static_cast<int64_t>(v)); std::memcpy(b + i, &x, 1); break; }
    case strataUint8: b[i] = static_cast<uint8_t>(static_cast<int64_t>(v)); break;
    case strataInt32: { auto x = static_cast<int32_t>(static_cast<int64_t>(v)); std::memcpy(b + 4 * i, &x, 4); break; }
    case strataUint32: { auto x = static_cast<uint32_t>(static_cast<int64_t>(v)); std::memcpy(b + 4 * i, &x, 4); break; }
    case strataInt64: { auto x = static_cast<int64_t>(v); std::memcpy(b + 8 * i, &x, 8); break; }
    case strataUint64: { auto x = static_cast<uint64_t>(static_cast<int64_t>(v)); std::memcpy(b + 8 * i, &x, 8); break; }
    case strataFloat32: { auto x = static_cast<float>(v); std::memcpy(b + 4 * i, &x, 4); break; }
    case strataFloat64: std::memcpy(b + 8 * i, &v, 8); break;
    case strataFloat16: { uint16_t x = floatToHalf(static_cast<float>(v)); std::memcpy(b + 2 * i, &x, 2); break; }
    case strataBfloat16: { uint16_t x = floatToBfloat16(static_cast<float>(v)); std::memcpy(b + 2 * i, &x, 2); break; }
    case strataFloat8e4m3: b[i] = floatToFloat8e4m3(static_cast<float>(v)); break;
    case strataFloat8e5m2: b[i] = floatToFloat8e5m2(static_cast<float>(v)); break;
    default: break;
  }
}

double loadValue(strataDataType_t t, const void* buffer, size_t i) {
  const auto* b = static_cast<const uint8_t*>(buffer);
  switch (t) {
    case strataInt8: { int8_t x; std::memcpy(&x, b + i, 1); return x; }
    case strataUint8: return b[i];
    case strataInt32: { int32_t x; std::memcpy(&x, b + 4 * i, 4); return x; }
    case strataUint32: { uint32_t x; std::memcpy(&x, b + 4 * i, 4); return x; }
    case strataInt64: { int64_t x; std::memcpy(&x, b + 8 * i, 8); return static_cast<double>(x); }
    case strataUint64: { uint64_t x; std::memcpy(&x, b + 8 * i, 8); return static_cast<double>(x); }
    case strataFloat32: { float x; std::memcpy(&x, b + 4 * i, 4); return x; }
    case strataFloat64: { double x; std::memcpy(&x, b + 8 * i, 8); return x; }
    case strataFloat16: { uint16_t x; std::memcpy(&x, b + 2 * i, 2); return halfToFloat(x); }
    case strataBfloat16: { uint16_t x; std::memcpy(&x, b + 2 * i, 2); return bfloat16ToFloat(x); }
    case strataFloat8e4m3: return float8e4m3ToFloat(b[i]);
    case strataFloat8e5m2: return float8e5m2ToFloat(b[i]);
    default: return 0;
  }
}

double reducedValue(strataRedOp_t op, int nranks, size_t i, strataDataType_t t) {
  double acc = inputValue(0, i);
  for (int r = 1; r < nranks; ++r) {
    double v = inputValue(r, i);
    switch (op) {
      case strataProd: acc *= v; break;
      case strataMax: acc = std::fmax(acc, v); break;
      case strataMin: acc = std::fmin(acc, v); break;
      default: acc += v; break;
    }
  }
  if (op == strataAvg) {
    bool integer = !(t == strataFloat16 || t == strataFloat32 || t == strataFloat64 || t == strataBfloat16 ||
                     t == strataFloat8e4m3 || t == strataFloat8e5m2);
    acc = integer ? std::trunc(acc / nranks) : acc / nranks;
  }
  return acc;
}

bool closeEnough(strataDataType_t t, double got, double expected, int nranks) {
  double tolerance = 0;
  switch (t) {
    case strataFloat16: tolerance = 1e-3 * nranks; break;
    case strataBfloat16: tolerance = 1e-2 * nranks; break;
    case strataFloat8e4m3: tolerance = 0.07 * nranks; break;
    case strataFloat8e5m2: tolerance = 0.15 * nranks; break;
    case strataFloat32: tolerance = 1e-6 * nranks; break;
    case strataFloat64: tolerance = 1e-12 * nranks; break;
    default: {
      // Integers: compare modulo the type's width (products of many ranks wrap).
      size_t bits = dataTypeSize(t) * 8;
      if (bits >= 64) return static_cast<int64_t>(got) == static_cast<int64_t>(expected) || std::fabs(expected) > 9e15;
      uint64_t mask = (uint64_t{1} << bits) - 1;
      return (static_cast<uint64_t>(static_cast<int64_t>(got)) & mask) ==
             (static_cast<uint64_t>(static_cast<int64_t>(std::fmod(expected, 18446744073709551616.0))) & mask);
    }
  }
  // Beyond the largest finite value the narrow formats saturate (or reach infinity).
  double largest = t == strataFloat8e4m3 ? 448.0 : t == strataFloat8e5m2 ? 57344.0 : t == strataFloat16 ? 65504.0 : 1e300;
  if (std::fabs(expected) > largest) return std::isinf(got) || std::fabs(got) >= largest * 0.99;
  return std::fabs(got - expected) <= tolerance * std::fmax(1.0, std::fabs(expected));
}

}  // namespace strata::perf
