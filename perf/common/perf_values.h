// Values the perf tools put in buffers (type names and sizes: common/datatype.h) and the tolerance a check allows, for every dtype.
#pragma once

#include <strata/strata.h>

#include <cstddef>

namespace strata::perf {

// Input element i of `rank`: a small integer 1..3, exact in every format.
double inputValue(int rank, size_t i);
void storeValue(strataDataType_t dtype, void* buffer, size_t i, double value);
double loadValue(strataDataType_t dtype, const void* buffer, size_t i);

// The reduction of inputValue over nranks for element i, computed in double.
double reducedValue(strataRedOp_t op, int nranks, size_t i, strataDataType_t dtype);

// True when `got` is acceptably close to `expected` for the format (exact for integers).
bool closeEnough(strataDataType_t dtype, double got, double expected, int nranks);

}  // namespace strata::perf
