// The CUDA module's reduction kernels against the host kernels, bit for bit: every dtype and op,
// awkward counts, aligned and misaligned buffers (the vector and the scalar paths). Also the
// physical limits the perf figures are judged by: device-to-device copy and reduction bandwidth.
//   gpu_kernels_check --probe              exit 0 with the GPU's name, 77 with the reason without one
//   gpu_kernels_check MODULE               the kernel check (label gpu; skipped without a GPU)
//   gpu_kernels_check MODULE --bandwidth   copy and reduce GB/s at 256 MiB
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "src/device/device_api.h"
#include "src/reduce/reduce.h"
#include "tests/unit/reference_values.h"

namespace {

constexpr int kSkip = 77;

int probe(bool quiet) {
  int devices = 0;
  cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess || devices == 0) {
    std::printf("no GPU: %s\n", e != cudaSuccess ? cudaGetErrorString(e) : "no CUDA device");
    return kSkip;
  }
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, 0);
  if (!quiet)
    std::printf("GPU 0: %s, sm_%d%d, %.0f GiB\n", prop.name, prop.major, prop.minor,
                prop.totalGlobalMem / 1073741824.0);
  return 0;
}

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  std::fprintf(stderr, "%s: %s\n", what, cudaGetErrorString(e));
  std::exit(1);
}

size_t sizeOf(int dtype) { return reference::sizeOf(static_cast<strataDataType_t>(dtype)); }

// Finite inputs of every type: small integers and values of a few magnitudes (no NaN, so max and
// min are defined alike on both sides).
std::vector<uint8_t> inputs(int dtype, size_t count, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> real(-4.0, 4.0);
  std::vector<uint8_t> b(count * sizeOf(dtype));
  const bool integer = dtype <= strataUint64;
  for (size_t i = 0; i < count; ++i) {
    double v = integer ? static_cast<double>(rng() % 200) - (dtype % 2 == 0 ? 100 : 0) : real(rng);
    reference::store(static_cast<strataDataType_t>(dtype), b.data(), i, v);
  }
  return b;
}

int kernelCheck(const strataDeviceApi& api) {
  const int ops[] = {strataSum, strataProd, strataMax, strataMin};
  const size_t counts[] = {1, 7, 31, 1000, 65537};
  long cases = 0, wrong = 0;
  for (int dtype = 0; dtype < strataNumTypes; ++dtype) {
    const size_t es = sizeOf(dtype);
    for (int op : ops) {
      for (size_t count : counts) {
        for (size_t shift : {size_t{0}, size_t{1}}) {  // one element off: the scalar kernel
          std::vector<uint8_t> a = inputs(dtype, count, 1), b = inputs(dtype, count, 2), want(count * es),
                               got(count * es);
          strata::reduceBuffers(want.data(), a.data(), b.data(), count, static_cast<strataDataType_t>(dtype),
                                static_cast<strataRedOp_t>(op));
          const size_t bytes = (count + shift) * es;
          char *da = nullptr, *db = nullptr, *dd = nullptr;
          check(cudaMalloc(&da, bytes), "cudaMalloc");
          check(cudaMalloc(&db, bytes), "cudaMalloc");
          check(cudaMalloc(&dd, bytes), "cudaMalloc");
          check(cudaMemcpy(da + shift * es, a.data(), count * es, cudaMemcpyHostToDevice), "copy a");
          check(cudaMemcpy(db + shift * es, b.data(), count * es, cudaMemcpyHostToDevice), "copy b");
          int code = api.reduce(dd + shift * es, da + shift * es, db + shift * es, count, dtype, op, nullptr);
          if (code != 0) {
            std::fprintf(stderr, "reduce dtype %d op %d: %s\n", dtype, op, api.errorString(code));
            return 1;
          }
          check(cudaDeviceSynchronize(), "reduce kernel");
          check(cudaMemcpy(got.data(), dd + shift * es, count * es, cudaMemcpyDeviceToHost), "copy out");
          cudaFree(da);
          cudaFree(db);
          cudaFree(dd);
          ++cases;
          if (std::memcmp(got.data(), want.data(), want.size()) != 0) {
            ++wrong;
            size_t at = 0;
            while (got[at] == want[at]) ++at;
            std::printf("MISMATCH dtype %d op %d count %zu shift %zu: first at element %zu\n", dtype, op, count, shift,
                        at / es);
          }
        }
      }
    }
  }
  std::printf("reduction kernels: %ld cases, %ld wrong\n", cases, wrong);
  return wrong == 0 ? 0 : 1;
}

// The peer-memory kernels (device_api.h reduceTable, copyTable) against the host: three sources
// read through a table in mapped pinned memory, combined left to right (avg divided by 3), also
// with the result written over the second source (a two-shot allreduce in place); and copies of
// sources of different sizes into their places.
int tableKernelCheck(const strataDeviceApi& api) {
  const int ops[] = {strataSum, strataProd, strataMax, strataMin, strataAvg};
  long cases = 0, wrong = 0;
  uint64_t* table = nullptr;
  uint64_t* tableOnDevice = nullptr;
  check(cudaHostAlloc(reinterpret_cast<void**>(&table), 64 * sizeof(uint64_t), cudaHostAllocMapped), "cudaHostAlloc");
  check(cudaHostGetDevicePointer(reinterpret_cast<void**>(&tableOnDevice), table, 0), "cudaHostGetDevicePointer");
  for (int dtype = 0; dtype < strataNumTypes; ++dtype) {
    const size_t es = sizeOf(dtype);
    for (int op : ops) {
      for (size_t count : {size_t{1}, size_t{33}, size_t{65537}}) {
        for (bool overSecond : {false, true}) {
          std::vector<uint8_t> in[3] = {inputs(dtype, count, 3), inputs(dtype, count, 4), inputs(dtype, count, 5)};
          std::vector<uint8_t> want = in[0], got(count * es);
          const auto t = static_cast<strataDataType_t>(dtype);
          const auto o = static_cast<strataRedOp_t>(op == strataAvg ? strataSum : op);
          strata::reduceBuffers(want.data(), want.data(), in[1].data(), count, t, o);
          strata::reduceBuffers(want.data(), want.data(), in[2].data(), count, t, o);
          if (op == strataAvg) strata::divideByCount(want.data(), count, t, 3);
          char* device[3] = {};
          for (int k = 0; k < 3; ++k) {
            check(cudaMalloc(&device[k], count * es), "cudaMalloc");
            check(cudaMemcpy(device[k], in[k].data(), count * es, cudaMemcpyHostToDevice), "copy in");
          }
          char* dst = overSecond ? device[1] : nullptr;
          if (dst == nullptr) check(cudaMalloc(&dst, count * es), "cudaMalloc");
          table[0] = 3;
          for (int k = 0; k < 3; ++k) table[1 + k] = reinterpret_cast<uint64_t>(device[k]);
          int code = api.reduceTable(dst, tableOnDevice, count, dtype, op, op == strataAvg ? 1 : 0, nullptr);
          if (code != 0) {
            std::fprintf(stderr, "reduceTable dtype %d op %d: %s\n", dtype, op, api.errorString(code));
            return 1;
          }
          check(cudaDeviceSynchronize(), "reduceTable kernel");
          check(cudaMemcpy(got.data(), dst, count * es, cudaMemcpyDeviceToHost), "copy out");
          for (char* d : device) cudaFree(d);
          if (!overSecond) cudaFree(dst);
          ++cases;
          if (got != want) {
            ++wrong;
            std::printf("MISMATCH reduceTable dtype %d op %d count %zu%s\n", dtype, op, count,
                        overSecond ? " (over the second source)" : "");
          }
        }
      }
    }
  }
  // Copies: sources of 1, 4099 and 65536 bytes (odd and aligned), at places that follow each other.
  const size_t sizes[3] = {1, 4099, 65536};
  size_t total = 0;
  std::vector<uint8_t> want;
  char* sources[3] = {};
  for (int k = 0; k < 3; ++k) {
    std::vector<uint8_t> bytes = inputs(strataUint8, sizes[k], 10 + k);
    check(cudaMalloc(&sources[k], sizes[k]), "cudaMalloc");
    check(cudaMemcpy(sources[k], bytes.data(), sizes[k], cudaMemcpyHostToDevice), "copy in");
    table[1 + 3 * k] = reinterpret_cast<uint64_t>(sources[k]);
    table[2 + 3 * k] = total;
    table[3 + 3 * k] = sizes[k];
    want.insert(want.end(), bytes.begin(), bytes.end());
    total += sizes[k];
  }
  table[0] = 3;
  char* dst = nullptr;
  check(cudaMalloc(&dst, total), "cudaMalloc");
  int code = api.copyTable(dst, tableOnDevice, 65536, 3, nullptr);
  if (code != 0) {
    std::fprintf(stderr, "copyTable: %s\n", api.errorString(code));
    return 1;
  }
  check(cudaDeviceSynchronize(), "copyTable kernel");
  std::vector<uint8_t> got(total);
  check(cudaMemcpy(got.data(), dst, total, cudaMemcpyDeviceToHost), "copy out");
  ++cases;
  if (got != want) {
    ++wrong;
    std::printf("MISMATCH copyTable\n");
  }
  for (char* s : sources) cudaFree(s);
  cudaFree(dst);
  cudaFreeHost(table);
  std::printf("peer-memory kernels: %ld cases, %ld wrong\n", cases, wrong);
  return wrong == 0 ? 0 : 1;
}

double seconds(const std::chrono::steady_clock::time_point& start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int bandwidth(const strataDeviceApi& api) {
  const size_t bytes = size_t{256} << 20;
  char *a = nullptr, *b = nullptr, *d = nullptr;
  check(cudaMalloc(&a, bytes), "cudaMalloc");
  check(cudaMalloc(&b, bytes), "cudaMalloc");
  check(cudaMalloc(&d, bytes), "cudaMalloc");
  check(cudaMemset(a, 0, bytes), "memset");
  check(cudaMemset(b, 0, bytes), "memset");
  const int reps = 20;
  check(cudaMemcpy(d, a, bytes, cudaMemcpyDeviceToDevice), "warm-up copy");
  check(cudaDeviceSynchronize(), "sync");
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) check(cudaMemcpyAsync(d, a, bytes, cudaMemcpyDeviceToDevice, nullptr), "copy");
  check(cudaDeviceSynchronize(), "sync");
  double copy = seconds(start) / reps;
  api.reduce(d, a, b, bytes / 4, strataFloat32, strataSum, nullptr);
  check(cudaDeviceSynchronize(), "sync");
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) api.reduce(d, a, b, bytes / 4, strataFloat32, strataSum, nullptr);
  check(cudaDeviceSynchronize(), "sync");
  double reduce = seconds(start) / reps;
  // Bytes moved: a copy reads and writes each byte; a reduction reads two and writes one.
  std::printf("device-to-device copy 256 MiB: %.3f ms, %.1f GB/s of memory traffic (read + write)\n", copy * 1e3,
              2.0 * bytes / copy / 1e9);
  std::printf("float32 sum kernel 256 MiB:    %.3f ms, %.1f GB/s of memory traffic (2 reads + 1 write)\n", reduce * 1e3,
              3.0 * bytes / reduce / 1e9);
  // The one-shot peer-memory kernel of a 2-rank allreduce: the same traffic through the table.
  uint64_t* table = nullptr;
  uint64_t* tableOnDevice = nullptr;
  check(cudaHostAlloc(reinterpret_cast<void**>(&table), 3 * sizeof(uint64_t), cudaHostAllocMapped), "cudaHostAlloc");
  check(cudaHostGetDevicePointer(reinterpret_cast<void**>(&tableOnDevice), table, 0), "cudaHostGetDevicePointer");
  table[0] = 2;
  table[1] = reinterpret_cast<uint64_t>(a);
  table[2] = reinterpret_cast<uint64_t>(b);
  api.reduceTable(d, tableOnDevice, bytes / 4, strataFloat32, strataSum, 0, nullptr);
  check(cudaDeviceSynchronize(), "sync");
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) api.reduceTable(d, tableOnDevice, bytes / 4, strataFloat32, strataSum, 0, nullptr);
  check(cudaDeviceSynchronize(), "sync");
  double oneShot = seconds(start) / reps;
  std::printf("float32 one-shot table kernel, 2 inputs, 256 MiB: %.3f ms, %.1f GB/s of memory traffic\n",
              oneShot * 1e3, 3.0 * bytes / oneShot / 1e9);
  cudaFreeHost(table);
  cudaFree(a);
  cudaFree(b);
  cudaFree(d);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--probe") == 0) return probe(false);
  if (argc < 2) {
    std::fprintf(stderr, "usage: gpu_kernels_check --probe | MODULE [--bandwidth]\n");
    return 2;
  }
  int found = probe(false);
  if (found != 0) return found;
  void* module = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  auto entry =
      module != nullptr ? reinterpret_cast<strataDeviceApiEntry>(dlsym(module, STRATA_DEVICE_API_SYMBOL)) : nullptr;
  if (entry == nullptr) {
    std::fprintf(stderr, "%s is not a Strata device module: %s\n", argv[1], dlerror());
    return 1;
  }
  const strataDeviceApi& api = *entry();
  std::printf("module: %s\n", api.name);
  if (argc > 2 && std::strcmp(argv[2], "--bandwidth") == 0) return bandwidth(api);
  const int pairwise = kernelCheck(api);
  const int tables = tableKernelCheck(api);
  return pairwise != 0 ? pairwise : tables;
}
