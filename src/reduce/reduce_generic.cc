// Baseline x86-64 (SSE2) build of the reduction kernels.
#include <strata/strata.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <vector>

#include "src/reduce/float_formats.h"

namespace strata::reduce_generic {
#include "src/reduce/reduce_kernels.inc"

namespace {

float widenHalf(uint16_t v) { return strata::halfToFloat(v); }
uint16_t narrowHalf(float v) { return strata::floatToHalf(v); }
float widenBf16(uint16_t v) { return strata::bfloat16ToFloat(v); }
uint16_t narrowBf16(float v) { return strata::floatToBfloat16(v); }

template <typename Op>
void reduceHalf(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t n) {
  reduceNarrow<uint16_t, widenHalf, narrowHalf, Op>(out, a, b, n);
}
template <typename Op>
void reduceBfloat16(uint16_t* out, const uint16_t* a, const uint16_t* b, size_t n) {
  reduceNarrow<uint16_t, widenBf16, narrowBf16, Op>(out, a, b, n);
}
void divideHalf(uint16_t* data, size_t n, int divisor) { divideNarrow<uint16_t, widenHalf, narrowHalf>(data, n, divisor); }
void divideBfloat16(uint16_t* data, size_t n, int divisor) {
  divideNarrow<uint16_t, widenBf16, narrowBf16>(data, n, divisor);
}

}  // namespace
}  // namespace strata::reduce_generic
