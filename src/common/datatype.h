// Facts about strataDataType_t and strataRedOp_t shared by every layer.
#pragma once

#include <strata/strata.h>

#include <cstddef>

namespace strata {

inline bool isValidDataType(int dtype) { return dtype >= 0 && dtype < strataNumTypes; }
inline bool isValidRedOp(int op) { return op >= 0 && op < strataNumOps; }

// These take int: values may come from outside (a frame, a caller) and need not be valid enums.
inline size_t dataTypeSize(int dtype) {
  switch (dtype) {
    case strataInt8: case strataUint8: case strataFloat8e4m3: case strataFloat8e5m2: return 1;
    case strataFloat16: case strataBfloat16: return 2;
    case strataInt32: case strataUint32: case strataFloat32: return 4;
    case strataInt64: case strataUint64: case strataFloat64: return 8;
    default: return 0;
  }
}

inline const char* dataTypeName(int dtype) {
  switch (dtype) {
    case strataInt8: return "int8";
    case strataUint8: return "uint8";
    case strataInt32: return "int32";
    case strataUint32: return "uint32";
    case strataInt64: return "int64";
    case strataUint64: return "uint64";
    case strataFloat16: return "half";
    case strataFloat32: return "float";
    case strataFloat64: return "double";
    case strataBfloat16: return "bfloat16";
    case strataFloat8e4m3: return "f8e4m3";
    case strataFloat8e5m2: return "f8e5m2";
    default: return "invalid";
  }
}

inline const char* redOpName(int op) {
  switch (op) {
    case strataSum: return "sum";
    case strataProd: return "prod";
    case strataMax: return "max";
    case strataMin: return "min";
    case strataAvg: return "avg";
    default: return "invalid";
  }
}

}  // namespace strata
