// libstrata_cuda.so: the device module (src/device/device_api.h) on the CUDA runtime, linked
// statically so that the module needs only the driver (libcuda.so.1) at run time. libstrata loads
// it when a process that uses CUDA creates a communicator.
#include <cuda.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "src/cuda/reduce_kernels.cuh"
#include "src/device/device_api.h"
#include "strata/strata.h"

namespace strata::cuda {
namespace {

int deviceCount(char* why, size_t whyBytes) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    std::snprintf(why, whyBytes, "%s", cudaGetErrorString(e));
    cudaGetLastError();
    return -1;
  }
  if (count == 0) std::snprintf(why, whyBytes, "no CUDA device");
  return count > 0 ? count : -1;
}

int getDevice(int* device) { return cudaGetDevice(device); }

int pointerKind(const void* ptr, int* kind, int* device) {
  cudaPointerAttributes attributes{};
  cudaError_t e = cudaPointerGetAttributes(&attributes, ptr);
  *kind = strataPointerHost;
  *device = -1;
  if (e == cudaErrorInvalidValue) {  // memory CUDA has never seen: plain host memory
    cudaGetLastError();
    return 0;
  }
  if (e != cudaSuccess) return e;
  if (attributes.type == cudaMemoryTypeDevice) *kind = strataPointerDevice;
  if (attributes.type == cudaMemoryTypeManaged) *kind = strataPointerManaged;
  if (*kind != strataPointerHost) *device = attributes.device;
  return 0;
}

int hostAlloc(void** ptr, void** deviceView, size_t bytes) {
  cudaError_t e = cudaHostAlloc(ptr, bytes, cudaHostAllocMapped | cudaHostAllocPortable);
  if (e != cudaSuccess) return e;
  e = cudaHostGetDevicePointer(deviceView, *ptr, 0);
  if (e != cudaSuccess) {
    cudaFreeHost(*ptr);
    *ptr = nullptr;
  }
  return e;
}

int hostFree(void* ptr) { return cudaFreeHost(ptr); }

int copyAsync(void* dst, const void* src, size_t bytes, void* stream) {
  return cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDefault, static_cast<cudaStream_t>(stream));
}

int hostCallback(void* stream, void (*fn)(void*), void* arg) {
  return cudaLaunchHostFunc(static_cast<cudaStream_t>(stream), fn, arg);
}

// One thread polls the proxy's counter in mapped host memory; the stream's later work (the
// copies back) starts when it returns.
__global__ void waitForCounter(const volatile uint64_t* counter, uint64_t target) {
  while (*counter < target) __nanosleep(1000);
  __threadfence_system();
}

int waitCounter(void* stream, const volatile uint64_t* counter, uint64_t target) {
  waitForCounter<<<1, 1, 0, static_cast<cudaStream_t>(stream)>>>(counter, target);
  return cudaGetLastError();
}

template <typename T, Op O>
int launchReduce(void* dst, const void* a, const void* b, size_t count, cudaStream_t stream) {
  if (count == 0) return 0;
  constexpr int kThreads = 256;
  auto* d = static_cast<T*>(dst);
  const auto* x = static_cast<const T*>(a);
  const auto* y = static_cast<const T*>(b);
  const bool aligned =
      ((reinterpret_cast<uintptr_t>(d) | reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(y)) & 15) == 0;
  constexpr size_t kPer = 16 / sizeof(T);
  size_t done = 0;
  if (aligned && count >= kPer) {
    size_t vectors = count / kPer;
    unsigned blocks = static_cast<unsigned>(std::min<size_t>((vectors + kThreads - 1) / kThreads, 4096));
    reduceVector<T, O><<<blocks, kThreads, 0, stream>>>(d, x, y, vectors);
    done = vectors * kPer;
  }
  if (done < count) {
    size_t rest = count - done;
    unsigned blocks = static_cast<unsigned>(std::min<size_t>((rest + kThreads - 1) / kThreads, 4096));
    reduceScalar<T, O><<<blocks, kThreads, 0, stream>>>(d + done, x + done, y + done, rest);
  }
  return cudaGetLastError();
}

// Calls f(std::integral_constant<Op, O>{}) with the combining operation of strataRedOp_t `op`
// (avg combines as a sum; the caller divides).
template <typename F>
int withOp(int op, F&& f) {
  switch (op) {
    case strataSum:
    case strataAvg:
      return f(std::integral_constant<Op, Op::Sum>{});
    case strataProd:
      return f(std::integral_constant<Op, Op::Prod>{});
    case strataMax:
      return f(std::integral_constant<Op, Op::Max>{});
    case strataMin:
      return f(std::integral_constant<Op, Op::Min>{});
  }
  return cudaErrorInvalidValue;
}

// Calls f(T{}) with the element type of strataDataType_t `dtype`.
template <typename F>
int withElementType(int dtype, F&& f) {
  switch (dtype) {
    case strataInt8:
      return f(int8_t{});
    case strataUint8:
      return f(uint8_t{});
    case strataInt32:
      return f(int32_t{});
    case strataUint32:
      return f(uint32_t{});
    case strataInt64:
      return f(int64_t{});
    case strataUint64:
      return f(uint64_t{});
    case strataFloat16:
      return f(__half{});
    case strataFloat32:
      return f(float{});
    case strataFloat64:
      return f(double{});
    case strataBfloat16:
      return f(__nv_bfloat16{});
    case strataFloat8e4m3:
      return f(Fp8<__NV_E4M3>{});
    case strataFloat8e5m2:
      return f(Fp8<__NV_E5M2>{});
  }
  return cudaErrorInvalidValue;
}

int reduce(void* dst, const void* a, const void* b, size_t count, int dtype, int op, void* streamHandle) {
  auto stream = static_cast<cudaStream_t>(streamHandle);
  return withElementType(dtype, [&](auto element) {
    return withOp(
        op, [&](auto combine) { return launchReduce<decltype(element), combine.value>(dst, a, b, count, stream); });
  });
}

template <typename T>
int reduceTableType(void* dst, const volatile uint64_t* table, size_t count, int op, bool average,
                    cudaStream_t stream) {
  if (count == 0) return 0;
  constexpr int kThreads = 256;
  const size_t perThread = std::max<size_t>(1, 16 / sizeof(T));
  const unsigned blocks =
      static_cast<unsigned>(std::min<size_t>((count / perThread + kThreads - 1) / kThreads + 1, 4096));
  return withOp(op, [&](auto combine) {
    reduceFromTable<T, combine.value><<<blocks, kThreads, 0, stream>>>(static_cast<T*>(dst), table, count, average);
    return static_cast<int>(cudaGetLastError());
  });
}

int reduceTable(void* dst, const volatile uint64_t* table, size_t count, int dtype, int op, int average,
                void* streamHandle) {
  auto stream = static_cast<cudaStream_t>(streamHandle);
  return withElementType(dtype, [&](auto element) {
    return reduceTableType<decltype(element)>(dst, table, count, op, average != 0, stream);
  });
}

int copyTable(void* dst, const volatile uint64_t* table, size_t maxBytes, int maxSources, void* stream) {
  if (maxBytes == 0 || maxSources <= 0) return 0;
  constexpr int kThreads = 256;
  const size_t units = (maxBytes + 15) / 16 * static_cast<size_t>(maxSources);
  const unsigned blocks = static_cast<unsigned>(std::min<size_t>((units + kThreads - 1) / kThreads, 4096));
  copyFromTable<<<blocks, kThreads, 0, static_cast<cudaStream_t>(stream)>>>(static_cast<char*>(dst), table);
  return cudaGetLastError();
}

// Runs `call` with `device` current on this thread, then puts the thread's device back.
template <typename Call>
int onDevice(int device, Call&& call) {
  int current = 0;
  cudaError_t e = cudaGetDevice(&current);
  if (e != cudaSuccess) return e;
  if (current != device && (e = cudaSetDevice(device)) != cudaSuccess) return e;
  e = call();
  if (current != device) cudaSetDevice(current);
  return e;
}

int deviceIdentity(int device, char* out, size_t outBytes) {
  cudaDeviceProp properties{};
  cudaError_t e = cudaGetDeviceProperties(&properties, device);
  if (e != cudaSuccess) return e;
  const auto* uuid = reinterpret_cast<const unsigned char*>(&properties.uuid);
  size_t at = 0;
  for (size_t i = 0; i < sizeof(properties.uuid) && at + 3 <= outBytes; ++i) {
    at += static_cast<size_t>(std::snprintf(out + at, outBytes - at, "%02x", uuid[i]));
  }
  return at == 2 * sizeof(properties.uuid) ? 0 : cudaErrorInvalidValue;
}

int deviceAlloc(int device, void** ptr, size_t bytes) {
  return onDevice(device, [&] { return cudaMalloc(ptr, bytes); });
}

int deviceFree(void* ptr) { return cudaFree(ptr); }

// cudaIpcGetMemHandle names the whole allocation; the driver says where it starts.
int ipcHandle(const void* ptr, void* handle, size_t* offset) {
  static_assert(sizeof(cudaIpcMemHandle_t) <= STRATA_DEVICE_IPC_HANDLE_BYTES, "IPC handle does not fit");
  using GetRange = CUresult (*)(CUdeviceptr*, size_t*, CUdeviceptr);
  static GetRange getRange = [] {
    void* fn = nullptr;
    cudaDriverEntryPointQueryResult found{};
    if (cudaGetDriverEntryPointByVersion("cuMemGetAddressRange", &fn, 12000, cudaEnableDefault, &found) !=
            cudaSuccess ||
        found != cudaDriverEntryPointSuccess) {
      cudaGetLastError();
      fn = nullptr;
    }
    return reinterpret_cast<GetRange>(fn);
  }();
  if (getRange == nullptr) return cudaErrorNotSupported;
  CUdeviceptr base = 0;
  size_t bytes = 0;
  if (getRange(&base, &bytes, reinterpret_cast<CUdeviceptr>(ptr)) != CUDA_SUCCESS) return cudaErrorInvalidValue;
  cudaIpcMemHandle_t h;
  cudaError_t e = cudaIpcGetMemHandle(&h, reinterpret_cast<void*>(base));
  if (e != cudaSuccess) return e;
  std::memset(handle, 0, STRATA_DEVICE_IPC_HANDLE_BYTES);
  std::memcpy(handle, &h, sizeof(h));
  *offset = reinterpret_cast<uintptr_t>(ptr) - static_cast<uintptr_t>(base);
  return 0;
}

int ipcOpen(int device, const void* handle, void** base) {
  cudaIpcMemHandle_t h;
  std::memcpy(&h, handle, sizeof(h));
  return onDevice(device, [&] { return cudaIpcOpenMemHandle(base, h, cudaIpcMemLazyEnablePeerAccess); });
}

int ipcClose(int device, void* base) {
  return onDevice(device, [&] { return cudaIpcCloseMemHandle(base); });
}

int streamSynchronize(void* stream) { return cudaStreamSynchronize(static_cast<cudaStream_t>(stream)); }

const char* errorString(int code) { return cudaGetErrorString(static_cast<cudaError_t>(code)); }

char moduleName[64];

const strataDeviceApi* table() {
  static const strataDeviceApi api = [] {
    int runtime = 0;
    cudaRuntimeGetVersion(&runtime);
    std::snprintf(moduleName, sizeof(moduleName), "CUDA runtime %d", runtime);
    return strataDeviceApi{STRATA_DEVICE_API_VERSION,
                           moduleName,
                           deviceCount,
                           getDevice,
                           pointerKind,
                           hostAlloc,
                           hostFree,
                           copyAsync,
                           hostCallback,
                           waitCounter,
                           reduce,
                           streamSynchronize,
                           errorString,
                           deviceIdentity,
                           deviceAlloc,
                           deviceFree,
                           ipcHandle,
                           ipcOpen,
                           ipcClose,
                           reduceTable,
                           copyTable};
  }();
  return &api;
}

}  // namespace
}  // namespace strata::cuda

extern "C" __attribute__((visibility("default"))) const strataDeviceApi* strataDeviceApiV1(void) {
  return strata::cuda::table();
}
