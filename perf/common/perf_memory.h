// Where the perf tools' buffers live (--memory): host memory, or CUDA device memory with a CUDA
// stream, as nccl-tests uses. The tools fill and check through host copies; the calls take the
// buffers and the stream this gives.
#pragma once

#include <strata/strata.h>

#include <cstddef>
#include <memory>
#include <string>

namespace strata::perf {

class PerfMemory {
 public:
  virtual ~PerfMemory() = default;
  virtual void* allocate(size_t bytes) = 0;  // never null: failure ends the tool with a message
  virtual void release(void* buffer) = 0;
  // Copies between a host buffer and one of ours (a plain copy for host memory).
  virtual void upload(void* ours, const void* host, size_t bytes) = 0;
  virtual void download(void* host, const void* ours, size_t bytes) = 0;
  virtual strataStream_t stream() = 0;  // what the calls take: NULL, or the CUDA stream
  virtual void synchronize() = 0;       // waits for the stream's work (nothing for host memory)
  virtual bool onHost() const = 0;      // the CPU may read and write the buffers directly
  virtual int device() const = 0;       // the GPU it is on, -1 for host memory
};

// "host" or "cuda"; an error message instead when this build or machine cannot. "cuda" uses the
// CUDA runtime the tools were built with, or the library STRATA_TEST_CUDART names (cuda_like.h).
// `thread` of `threads` ranks in this process (-t): with cuda, the calling thread is set to GPU
// (local rank x threads + thread) mod GPUs, as nccl-tests place their ranks.
std::unique_ptr<PerfMemory> makePerfMemory(const std::string& kind, int thread, int threads, std::string* error);
bool perfHasCuda();  // this build was made with CUDA

}  // namespace strata::perf
