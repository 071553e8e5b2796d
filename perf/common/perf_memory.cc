#include "perf/common/perf_memory.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "tests/device/cuda_like.h"

namespace strata::perf {

// perf_memory_cuda.cc (CUDA builds): on GPU `slot` mod GPUs.
std::unique_ptr<PerfMemory> makeCudaPerfMemory(int slot, std::string* error);

// The launcher's local rank (strata-run, torchrun, Open MPI, Slurm), 0 when none says.
int localRank() {
  for (const char* name : {"STRATA_LOCAL_RANK", "LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != 0) return std::atoi(value);
  }
  return 0;
}

namespace {

class HostMemory : public PerfMemory {
 public:
  void* allocate(size_t bytes) override {
    void* p = std::malloc(bytes > 0 ? bytes : 1);
    if (p == nullptr) {
      std::fprintf(stderr, "perf tool: out of memory allocating %zu bytes\n", bytes);
      std::exit(1);
    }
    return p;
  }
  void release(void* buffer) override { std::free(buffer); }
  void upload(void* ours, const void* host, size_t bytes) override {
    if (ours != host && bytes > 0) std::memcpy(ours, host, bytes);
  }
  void download(void* host, const void* ours, size_t bytes) override {
    if (ours != host && bytes > 0) std::memcpy(host, ours, bytes);
  }
  strataStream_t stream() override { return nullptr; }
  void synchronize() override {}
  bool onHost() const override { return true; }
  int device() const override { return -1; }
};

// Device memory through a library with cudart's calls named by STRATA_TEST_CUDART: the fake
// device module in the tests (so the device path of the tools is checked without a GPU), or a
// shared libcudart.
class LibraryMemory : public PerfMemory {
 public:
  LibraryMemory() {
    library_.load();
    library_.setDevice(0);  // the fake has one device; a shared libcudart's ranks share GPU 0
    stream_ = library_.streamCreate();
  }
  ~LibraryMemory() override { library_.streamDestroy(stream_); }
  void* allocate(size_t bytes) override { return library_.malloc(bytes > 0 ? bytes : 1); }
  void release(void* buffer) override { library_.free(buffer); }
  void upload(void* ours, const void* host, size_t bytes) override { library_.copy(ours, host, bytes); }
  void download(void* host, const void* ours, size_t bytes) override { library_.copy(host, ours, bytes); }
  strataStream_t stream() override { return stream_; }
  void synchronize() override { library_.synchronize(stream_); }
  bool onHost() const override { return false; }
  int device() const override { return 0; }

 private:
  strata::test::CudaLike library_;
  void* stream_ = nullptr;
};

}  // namespace

std::unique_ptr<PerfMemory> makePerfMemory(const std::string& kind, int thread, int threads, std::string* error) {
  if (kind == "host") return std::make_unique<HostMemory>();
  if (kind == "cuda") {
    const char* library = std::getenv("STRATA_TEST_CUDART");
    if (library != nullptr && *library != 0) return std::make_unique<LibraryMemory>();
#if STRATA_PERF_HAVE_CUDA
    return makeCudaPerfMemory(localRank() * threads + thread, error);
#else
    (void)thread;
    (void)threads;
    *error = "--memory cuda: this build has no CUDA (no CUDA toolkit was found when it was built)";
    return nullptr;
#endif
  }
  *error = "--memory " + kind + ": host or cuda";
  return nullptr;
}

bool perfHasCuda() {
  const char* library = std::getenv("STRATA_TEST_CUDART");
  return STRATA_PERF_HAVE_CUDA != 0 || (library != nullptr && *library != 0);
}

}  // namespace strata::perf
