#include "src/reduce/reduce.h"

#include "src/common/params.h"

#if defined(STRATA_HAVE_AVX2_KERNELS)
#include <cpuid.h>
#endif

namespace strata {
namespace reduce_generic {
void reduceKernel(void*, const void*, const void*, size_t, strataDataType_t, strataRedOp_t);
void divideKernel(void*, size_t, strataDataType_t, int);
}  // namespace reduce_generic
#if defined(STRATA_HAVE_AVX2_KERNELS)
namespace reduce_avx2 {
void reduceKernel(void*, const void*, const void*, size_t, strataDataType_t, strataRedOp_t);
void divideKernel(void*, size_t, strataDataType_t, int);
}  // namespace reduce_avx2
#endif

namespace {

struct KernelTable {
  void (*reduce)(void*, const void*, const void*, size_t, strataDataType_t, strataRedOp_t);
  void (*divide)(void*, size_t, strataDataType_t, int);
  const char* name;
};

#if defined(STRATA_HAVE_AVX2_KERNELS)
// F16C through cpuid (leaf 1, ECX bit 29): not every compiler's __builtin_cpu_supports knows it.
bool cpuHasF16c() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & (1u << 29)) != 0;
}
#endif

// STRATA_REDUCE_KERNELS=generic forces the portable build (tests run both builds with it).
KernelTable chooseKernels() {
#if defined(STRATA_HAVE_AVX2_KERNELS)
  __builtin_cpu_init();
  if (reduceKernelsRequest() != "generic" && __builtin_cpu_supports("avx2") && cpuHasF16c() &&
      __builtin_cpu_supports("fma")) {
    return {reduce_avx2::reduceKernel, reduce_avx2::divideKernel, "avx2"};
  }
#endif
  return {reduce_generic::reduceKernel, reduce_generic::divideKernel, "generic"};
}

const KernelTable& kernels() {
  static const KernelTable table = chooseKernels();
  return table;
}

}  // namespace

void reduceBuffers(void* dst, const void* a, const void* b, size_t count, strataDataType_t dtype,
                   strataRedOp_t op) {
  if (count == 0) return;
  kernels().reduce(dst, a, b, count, dtype, op);
}

void divideByCount(void* data, size_t count, strataDataType_t dtype, int divisor) {
  if (count == 0 || divisor <= 1) return;
  kernels().divide(data, count, dtype, divisor);
}

const char* reduceKernelVariant() { return kernels().name; }

}  // namespace strata
