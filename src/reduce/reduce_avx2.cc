// AVX2 + F16C + FMA build of the reduction kernels (compiled with -march=haswell, see CMake).
#include <immintrin.h>
#include <strata/strata.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "src/reduce/float_formats.h"

namespace strata::reduce_avx2 {
#include "src/reduce/reduce_kernels.inc"

// The 16-bit floats 16 elements at a time (the element-by-element conversions do not vectorise:
// binary16 summed at under 1 GB/s, bfloat16 at 11, float at 60).
#include "src/reduce/narrow16_avx2.inc"

namespace {

template <typename Op>
void reduceHalf(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t n) {
  reduce16<Half, Op>(out, a, b, n);
}
template <typename Op>
void reduceBfloat16(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t n) {
  reduce16<Bfloat16, Op>(out, a, b, n);
}
void divideHalf(uint16_t* data, size_t n, int divisor) { divide16<Half>(data, n, divisor); }
void divideBfloat16(uint16_t* data, size_t n, int divisor) { divide16<Bfloat16>(data, n, divisor); }

}  // namespace
}  // namespace strata::reduce_avx2
