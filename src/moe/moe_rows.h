// Hidden-state rows in float32, bfloat16 or float16, read and written as float32: combine and the
// backward passes sum and scale in float32 whatever the wire format.
#pragma once

#include <strata/strata.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "src/reduce/float_formats.h"

namespace strata::moe {

inline float loadFloat(strataDataType_t dtype, const void* row, size_t i) {
  const auto* bytes = static_cast<const unsigned char*>(row);
  if (dtype == strataFloat32) {
    float v;
    std::memcpy(&v, bytes + 4 * i, 4);
    return v;
  }
  uint16_t bits;
  std::memcpy(&bits, bytes + 2 * i, 2);
  return dtype == strataBfloat16 ? bfloat16ToFloat(bits) : halfToFloat(bits);
}

inline void storeFloat(strataDataType_t dtype, void* row, size_t i, float v) {
  auto* bytes = static_cast<unsigned char*>(row);
  if (dtype == strataFloat32) {
    std::memcpy(bytes + 4 * i, &v, 4);
    return;
  }
  uint16_t bits = dtype == strataBfloat16 ? floatToBfloat16(v) : floatToHalf(v);
  std::memcpy(bytes + 2 * i, &bits, 2);
}

// acc[i] += row[i] for a row of `hidden` elements.
inline void accumulateRow(strataDataType_t dtype, const void* row, size_t hidden, float* acc, float scale = 1.0f) {
  if (dtype == strataFloat32) {
    const auto* v = static_cast<const float*>(row);
    for (size_t i = 0; i < hidden; ++i) acc[i] += scale * v[i];
    return;
  }
  for (size_t i = 0; i < hidden; ++i) acc[i] += scale * loadFloat(dtype, row, i);
}

inline void storeRow(strataDataType_t dtype, const float* acc, size_t hidden, void* row) {
  if (dtype == strataFloat32) {
    std::memcpy(row, acc, hidden * sizeof(float));
    return;
  }
  for (size_t i = 0; i < hidden; ++i) storeFloat(dtype, row, i, acc[i]);
}

}  // namespace strata::moe
