// Host reduction kernels. Every dtype and op; avg reduces as a sum and is finished by
// divideByCount. Narrow floats (fp16, bf16, fp8) are widened to float per element, combined and
// rounded back to nearest even. Picks an AVX2/F16C build at run time when the CPU has it.
#pragma once

#include <strata/strata.h>

#include <cstddef>

namespace strata {

// dst[i] = a[i] op b[i] for i < count. dst may be a or b (exactly, not partially overlapping).
void reduceBuffers(void* dst, const void* a, const void* b, size_t count, strataDataType_t dtype,
                   strataRedOp_t op);

// data[i] = data[i] / divisor: the last step of avg. Integers divide with truncation (as NCCL).
void divideByCount(void* data, size_t count, strataDataType_t dtype, int divisor);

// Which kernel build runs here ("avx2" or "generic"), for logs and benchmarks.
const char* reduceKernelVariant();

}  // namespace strata
