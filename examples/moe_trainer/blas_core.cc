#include "blas_core.h"

#include <cblas.h>

#include <cstdlib>
#include <cstring>

namespace trainer {

const char* betterBlasCore() {
  if (std::getenv("OPENBLAS_CORETYPE")) return "";
  const char* chosen = openblas_get_corename();
  if (!chosen || std::strcmp(chosen, "Prescott") != 0) return "";
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
  if (__builtin_cpu_supports("avx2")) return "Haswell";
  return "";
}

}  // namespace trainer
