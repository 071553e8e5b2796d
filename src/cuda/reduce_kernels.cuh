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
#include <type_traits>

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

// dst = src_0 op src_1 op ... op src_{n-1}, sources read from `table` (table[0] = n, table[1 + k]
// = the address of src_k) when the kernel runs: the proxy fills it with the peers' addresses just
// before it lets the stream through. Combined left to right and rounded at each step as
// reduceOne does (the host's pairwise kernels); `average` divides as the host's divideByCount.
template <typename T>
__device__ T divideOne(T x, int n) {
  if constexpr (sizeof(typename Arith<T>::Wide) == sizeof(T) && !std::is_floating_point_v<T>) {
    return static_cast<T>(x / static_cast<T>(n));
  } else {
    return Arith<T>::narrow(Arith<T>::widen(x) / static_cast<typename Arith<T>::Wide>(n));
  }
}

constexpr int kMaxTableSources = 64;

template <typename T, Op O>
__device__ T combineSources(const T* const* sources, int n, size_t i, bool average) {
  T acc = sources[0][i];
  for (int k = 1; k < n; ++k) acc = reduceOne<T, O>(acc, sources[k][i]);
  return average ? divideOne(acc, n) : acc;
}

// The table is read once per block into shared memory (it lives in host memory). Each thread
// then takes 16 bytes at a time when every address is 16-byte aligned, one element otherwise.
template <typename T, Op O>
__global__ void reduceFromTable(T* dst, const volatile uint64_t* table, size_t count, bool average) {
  __shared__ const T* sources[kMaxTableSources];
  __shared__ int n;
  __shared__ bool aligned;
  if (threadIdx.x == 0) {
    n = static_cast<int>(table[0]);
    if (n > kMaxTableSources) n = 0;
    uintptr_t bits = reinterpret_cast<uintptr_t>(dst);
    for (int k = 0; k < n; ++k) {
      sources[k] = reinterpret_cast<const T*>(table[1 + k]);
      bits |= reinterpret_cast<uintptr_t>(sources[k]);
    }
    aligned = (bits & 15) == 0;
  }
  __syncthreads();
  if (n == 0) return;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  const size_t first = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  constexpr size_t kPer = 16 / sizeof(T);
  size_t done = 0;
  if (aligned) {
    union Pack {
      uint4 raw;
      T elements[kPer];
    };
    const size_t vectors = count / kPer;
    for (size_t v = first; v < vectors; v += stride) {
      Pack acc, next;
      acc.raw = reinterpret_cast<const uint4*>(sources[0])[v];
      for (int k = 1; k < n; ++k) {
        next.raw = reinterpret_cast<const uint4*>(sources[k])[v];
#pragma unroll
        for (size_t e = 0; e < kPer; ++e) acc.elements[e] = reduceOne<T, O>(acc.elements[e], next.elements[e]);
      }
      if (average) {
#pragma unroll
        for (size_t e = 0; e < kPer; ++e) acc.elements[e] = divideOne(acc.elements[e], n);
      }
      reinterpret_cast<uint4*>(dst)[v] = acc.raw;
    }
    done = vectors * kPer;
  }
  for (size_t i = done + first; i < count; i += stride) dst[i] = combineSources<T, O>(sources, n, i, average);
}

// Copies each source of `table` (table[0] = n, then per source k its address table[1 + 3k], its
// place in dst table[2 + 3k] and its size table[3 + 3k]) into dst. Each block takes the sources in
// turn, its threads striding over one source at a time: 16 bytes per thread where both addresses
// are 16-byte aligned, then the tail (or everything, unaligned) byte by byte. Sources never
// overlap their destinations.
__global__ void copyFromTable(char* dst, const volatile uint64_t* table) {
  __shared__ const char* sources[kMaxTableSources];
  __shared__ char* places[kMaxTableSources];
  __shared__ size_t sizes[kMaxTableSources];
  __shared__ int n;
  if (threadIdx.x == 0) {
    n = static_cast<int>(table[0]);
    if (n > kMaxTableSources) n = 0;
    for (int k = 0; k < n; ++k) {
      sources[k] = reinterpret_cast<const char*>(table[1 + 3 * k]);
      places[k] = dst + table[2 + 3 * k];
      sizes[k] = table[3 + 3 * k];
    }
  }
  __syncthreads();
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  const size_t first = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x;
  for (int k = 0; k < n; ++k) {
    const char* from = sources[k];
    char* to = places[k];
    const size_t bytes = sizes[k];
    const bool aligned = ((reinterpret_cast<uintptr_t>(from) | reinterpret_cast<uintptr_t>(to)) & 15) == 0;
    const size_t vectors = aligned ? bytes / 16 : 0;
    for (size_t i = first; i < vectors; i += stride) {
      reinterpret_cast<uint4*>(to)[i] = reinterpret_cast<const uint4*>(from)[i];
    }
    for (size_t i = vectors * 16 + first; i < bytes; i += stride) to[i] = from[i];
  }
}

}  // namespace strata::cuda
