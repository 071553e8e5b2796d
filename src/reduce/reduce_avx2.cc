// AVX2 + F16C + FMA build of the reduction kernels (compiled with -march=haswell, see CMake).
#include <strata/strata.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "src/reduce/float_formats.h"

namespace strata::reduce_avx2 {
#include "src/reduce/reduce_kernels.inc"
}  // namespace strata::reduce_avx2
