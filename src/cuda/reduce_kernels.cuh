// Element-wise reduction kernels for every strataDataType_t and strataRedOp_t: dst = a op b.
// Narrow floats (fp16, bf16, fp8) combine in float and round back to nearest even, fp8 saturating
// to the largest finite value (satfinite), as the host kernels do (src/reduce/float_formats.h), so
// a device result equals the host's bit for bit. Integers wrap. Avg reduces as a sum; the caller
// divides. Each thread handles 16 bytes (one vector load of each input) when all three pointers
// are 16-byte aligned, one element otherwise.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

#include <cstddef>
#include <cstdint>

namespace strata::cuda {

enum class Op { Sum = 0, Prod = 1, Max = 2, Min = 3 };

// How an element type is combined: in itself (integers, float, double) or widened to float.
template <typename T>
struct Arith {
  using Wide = T;
  __device__ static Wide widen(T x) { return x; }
  __device__ static T narrow(Wide x) { return x; }
};
template <>
struct Arith<__half> {
  using Wide = float;
  __device__ static float widen(__half x) { return __half2float(x); }
  __device__ static __half narrow(float x) { return __float2half_rn(x); }
};
template <>
struct Arith<__nv_bfloat16> {
  using Wide = float;
  __device__ static float widen(__nv_bfloat16 x) { return __bfloat162float(x); }
  __device__ static __nv_bfloat16 narrow(float x) { return __float2bfloat16_rn(x); }
};
// fp8 elements travel as their storage byte; the interpretation is the kernel's template argument.
template <__nv_fp8_interpretation_t Format>
struct Fp8 {
  __nv_fp8_storage_t bits;
};
template <__nv_fp8_interpretation_t Format>
struct Arith<Fp8<Format>> {
  using Wide = float;
  __device__ static float widen(Fp8<Format> x) { return __half2float(__half(__nv_cvt_fp8_to_halfraw(x.bits, Format))); }
  __device__ static Fp8<Format> narrow(float x) { return {__nv_cvt_float_to_fp8(x, __NV_SATFINITE, Format)}; }
};

template <Op O, typename W>
__device__ W combine(W a, W b) {
  if constexpr (O == Op::Sum) return static_cast<W>(a + b);
  if constexpr (O == Op::Prod) return static_cast<W>(a * b);
  // As the host kernels compare (src/reduce/reduce_kernels.inc), so signed zeros and NaN come
  // out alike.
  if constexpr (O == Op::Max) return a < b ? b : a;
  return b < a ? b : a;
}

template <typename T, Op O>
__device__ T reduceOne(T a, T b) {
  return Arith<T>::narrow(combine<O>(Arith<T>::widen(a), Arith<T>::widen(b)));
}

template <typename T, Op O>
__global__ void reduceScalar(T* dst, const T* a, const T* b, size_t count) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < count;
       i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    dst[i] = reduceOne<T, O>(a[i], b[i]);
  }
}

// 16 bytes per thread per step; `vectors` counts 16-byte groups.
template <typename T, Op O>
__global__ void reduceVector(T* dst, const T* a, const T* b, size_t vectors) {
  constexpr int kPer = 16 / sizeof(T);
  union Pack {
    uint4 raw;
    T elements[kPer];
  };
  for (size_t v = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; v < vectors;
       v += static_cast<size_t>(gridDim.x) * blockDim.x) {
    Pack x, y, out;
    x.raw = reinterpret_cast<const uint4*>(a)[v];
    y.raw = reinterpret_cast<const uint4*>(b)[v];
#pragma unroll
    for (int k = 0; k < kPer; ++k) out.elements[k] = reduceOne<T, O>(x.elements[k], y.elements[k]);
    reinterpret_cast<uint4*>(dst)[v] = out.raw;
  }
}

}  // namespace strata::cuda
