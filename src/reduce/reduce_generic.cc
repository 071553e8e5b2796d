// Baseline x86-64 (SSE2) build of the reduction kernels.
#include <strata/strata.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "src/reduce/float_formats.h"

namespace strata::reduce_generic {
#include "src/reduce/reduce_kernels.inc"
}  // namespace strata::reduce_generic
