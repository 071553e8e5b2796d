// Element-wise reference semantics for every dtype and op, written as plain scalar code that shares
// nothing with the kernels, plus helpers to fill buffers with values that keep sums exact enough.
#pragma once

#include <strata/strata.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "narrow_reference.h"

namespace reference {

inline size_t sizeOf(strataDataType_t t) {
  switch (t) {
    case strataInt8: case strataUint8: case strataFloat8e4m3: case strataFloat8e5m2: return 1;
    case strataFloat16: case strataBfloat16: return 2;
    case strataInt32: case strataUint32: case strataFloat32: return 4;
    default: return 8;
  }
}

inline bool isNarrowFloat(strataDataType_t t) {
  return t == strataFloat16 || t == strataBfloat16 || t == strataFloat8e4m3 || t == strataFloat8e5m2;
}

// Reads element i as a double (narrow floats decoded by the reference decoders).
inline double load(strataDataType_t t, const void* p, size_t i) {
  const auto* b = static_cast<const uint8_t*>(p);
  switch (t) {
    case strataInt8: { int8_t v; std::memcpy(&v, b + i, 1); return v; }
    case strataUint8: return b[i];
    case strataInt32: { int32_t v; std::memcpy(&v, b + 4 * i, 4); return v; }
    case strataUint32: { uint32_t v; std::memcpy(&v, b + 4 * i, 4); return v; }
    case strataInt64: { int64_t v; std::memcpy(&v, b + 8 * i, 8); return static_cast<double>(v); }
    case strataUint64: { uint64_t v; std::memcpy(&v, b + 8 * i, 8); return static_cast<double>(v); }
    case strataFloat32: { float v; std::memcpy(&v, b + 4 * i, 4); return v; }
    case strataFloat64: { double v; std::memcpy(&v, b + 8 * i, 8); return v; }
    case strataFloat16: { uint16_t v; std::memcpy(&v, b + 2 * i, 2); return halfToFloat(v); }
    case strataBfloat16: { uint16_t v; std::memcpy(&v, b + 2 * i, 2); return bf16ToFloat(v); }
    case strataFloat8e4m3: return e4m3ToFloat(b[i]);
    case strataFloat8e5m2: return e5m2ToFloat(b[i]);
    default: return 0;
  }
}

// Writes a value (already representable, or rounded by the reference encoders) as element i.
inline void store(strataDataType_t t, void* p, size_t i, double value) {
  auto* b = static_cast<uint8_t*>(p);
  switch (t) {
    case strataInt8: { auto v = static_cast<int8_t>(static_cast<int64_t>(value)); std::memcpy(b + i, &v, 1); break; }
    case strataUint8: b[i] = static_cast<uint8_t>(static_cast<int64_t>(value)); break;
    case strataInt32: { auto v = static_cast<int32_t>(static_cast<int64_t>(value)); std::memcpy(b + 4 * i, &v, 4); break; }
    case strataUint32: { auto v = static_cast<uint32_t>(static_cast<int64_t>(value)); std::memcpy(b + 4 * i, &v, 4); break; }
    case strataInt64: { auto v = static_cast<int64_t>(value); std::memcpy(b + 8 * i, &v, 8); break; }
    case strataUint64: { auto v = static_cast<uint64_t>(static_cast<int64_t>(value)); std::memcpy(b + 8 * i, &v, 8); break; }
    case strataFloat32: { auto v = static_cast<float>(value); std::memcpy(b + 4 * i, &v, 4); break; }
    case strataFloat64: std::memcpy(b + 8 * i, &value, 8); break;
    case strataFloat16: { uint16_t v = floatToHalf(static_cast<float>(value)); std::memcpy(b + 2 * i, &v, 2); break; }
    case strataBfloat16: { uint16_t v = floatToBf16(static_cast<float>(value)); std::memcpy(b + 2 * i, &v, 2); break; }
    case strataFloat8e4m3: b[i] = floatToE4m3(static_cast<float>(value)); break;
    case strataFloat8e5m2: b[i] = floatToE5m2(static_cast<float>(value)); break;
    default: break;
  }
}

// Integer types wrap modulo 2^bits: compute on 64-bit unsigned and let store() truncate.
inline double combine(strataDataType_t t, strataRedOp_t op, double a, double b) {
  bool integer = !(t == strataFloat32 || t == strataFloat64 || isNarrowFloat(t));
  if (integer && (op == strataSum || op == strataAvg || op == strataProd)) {
    uint64_t x = static_cast<uint64_t>(static_cast<int64_t>(a));
    uint64_t y = static_cast<uint64_t>(static_cast<int64_t>(b));
    uint64_t r = op == strataProd ? x * y : x + y;
    // Sign-extend back from the element width so store() gets the wrapped value.
    size_t bits = sizeOf(t) * 8;
    if (bits < 64) {
      r &= (uint64_t{1} << bits) - 1;
      bool isSigned = t == strataInt8 || t == strataInt32;
      if (isSigned && (r >> (bits - 1))) r |= ~((uint64_t{1} << bits) - 1);
    }
    return static_cast<double>(static_cast<int64_t>(r));
  }
  // Floats: the library accumulates narrow formats and float32 in float.
  if (t != strataFloat64) {
    float x = static_cast<float>(a), y = static_cast<float>(b);
    switch (op) {
      case strataProd: return x * y;
      case strataMax: return x < y ? y : x;
      case strataMin: return y < x ? y : x;
      default: return x + y;
    }
  }
  switch (op) {
    case strataProd: return a * b;
    case strataMax: return a < b ? b : a;
    case strataMin: return b < a ? b : a;
    default: return a + b;
  }
}

// Small integers (so products of a few and sums of many stay exact in every format), varied per
// rank and position, negative for signed types.
inline double testValue(strataDataType_t t, int rank, size_t i) {
  bool unsignedType = t == strataUint8 || t == strataUint32 || t == strataUint64;
  int v = static_cast<int>((i * 7 + static_cast<size_t>(rank) * 13) % 5) + 1;  // 1..5
  if (!unsignedType && ((i + static_cast<size_t>(rank)) % 3 == 0)) v = -v;
  // 8-bit floats hold few integers exactly: +-1 keeps every partial sum (at most 8) exact.
  if (t == strataFloat8e4m3 || t == strataFloat8e5m2) v = v > 0 ? 1 : -1;
  return v;
}

inline std::vector<uint8_t> makeBuffer(strataDataType_t t, size_t count, int rank) {
  std::vector<uint8_t> buffer(count * sizeOf(t) + 1);
  for (size_t i = 0; i < count; ++i) store(t, buffer.data(), i, testValue(t, rank, i));
  return buffer;
}

inline const std::vector<strataDataType_t>& allTypes() {
  static const std::vector<strataDataType_t> types = {
      strataInt8, strataUint8, strataInt32, strataUint32, strataInt64, strataUint64,
      strataFloat16, strataFloat32, strataFloat64, strataBfloat16, strataFloat8e4m3, strataFloat8e5m2};
  return types;
}

inline const std::vector<strataRedOp_t>& allOps() {
  static const std::vector<strataRedOp_t> ops = {strataSum, strataProd, strataMax, strataMin, strataAvg};
  return ops;
}

}  // namespace reference
