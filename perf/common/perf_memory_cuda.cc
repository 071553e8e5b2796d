// --memory cuda: device buffers of the current device and one CUDA stream (CUDA builds only).
#include <cuda_runtime.h>

#include <cstdio>
#include <cstdlib>

#include "perf/common/perf_memory.h"

namespace strata::perf {
namespace {

void check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return;
  std::fprintf(stderr, "perf tool: %s: %s\n", what, cudaGetErrorString(e));
  std::exit(1);
}

class CudaMemory : public PerfMemory {
 public:
  CudaMemory(cudaStream_t stream, int device) : stream_(stream), device_(device) {}
  ~CudaMemory() override { cudaStreamDestroy(stream_); }
  void* allocate(size_t bytes) override {
    void* p = nullptr;
    check(cudaMalloc(&p, bytes > 0 ? bytes : 1), "cudaMalloc");
    return p;
  }
  void release(void* buffer) override { check(cudaFree(buffer), "cudaFree"); }
  void upload(void* ours, const void* host, size_t bytes) override {
    if (bytes > 0) check(cudaMemcpy(ours, host, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to the device");
  }
  void download(void* host, const void* ours, size_t bytes) override {
    if (bytes > 0) check(cudaMemcpy(host, ours, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy from the device");
  }
  strataStream_t stream() override { return stream_; }
  void synchronize() override { check(cudaStreamSynchronize(stream_), "cudaStreamSynchronize"); }
  bool onHost() const override { return false; }
  int device() const override { return device_; }

 private:
  cudaStream_t stream_;
  int device_;
};

}  // namespace

std::unique_ptr<PerfMemory> makeCudaPerfMemory(int slot, std::string* error) {
  int devices = 0;
  cudaError_t e = cudaGetDeviceCount(&devices);
  if (e != cudaSuccess || devices == 0) {
    *error = std::string("--memory cuda: no usable CUDA device (") +
             (e != cudaSuccess ? cudaGetErrorString(e) : "none present") + ")";
    return nullptr;
  }
  // The current device is per thread: each rank (process or -t thread) sets its own.
  const int device = slot % devices;
  e = cudaSetDevice(device);
  if (e != cudaSuccess) {
    *error = std::string("--memory cuda: cudaSetDevice: ") + cudaGetErrorString(e);
    return nullptr;
  }
  // Non-blocking: a rank's stream waits inside each call until every rank has joined, and must
  // not hold up the other ranks' streams in this process.
  cudaStream_t stream = nullptr;
  e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
  if (e != cudaSuccess) {
    *error = std::string("--memory cuda: cudaStreamCreate: ") + cudaGetErrorString(e);
    return nullptr;
  }
  return std::make_unique<CudaMemory>(stream, device);
}

}  // namespace strata::perf
