// The few runtime calls a test program needs to hold device memory, found at run time in a
// library with cudart's signatures: CUDA's own (libcudart.so, names cuda*) on a GPU machine, the
// fake device module (fakeCuda*) elsewhere. STRATA_TEST_CUDART names the library, and
// STRATA_TEST_CUDART_PREFIX the names' prefix ("cuda" or "fakeCuda"); a program built once runs on
// either. Errors end the program with a message: these are the test's own set-up calls.
#pragma once

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace strata::test {

class CudaLike {
 public:
  // False when STRATA_TEST_CUDART is unset (host memory only).
  bool load() {
    const char* path = std::getenv("STRATA_TEST_CUDART");
    if (path == nullptr || *path == 0) return false;
    const char* prefix = std::getenv("STRATA_TEST_CUDART_PREFIX");
    prefix_ = prefix != nullptr ? prefix : "cuda";
    library_ = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (library_ == nullptr) fail(std::string("cannot load ") + path + ": " + dlerror());
    find("SetDevice", setDevice_);
    find("Malloc", malloc_);
    find("Free", free_);
    find("Memcpy", memcpy_);
    find("StreamCreate", streamCreate_);
    find("StreamSynchronize", streamSynchronize_);
    find("StreamDestroy", streamDestroy_);
    return true;
  }

  void setDevice(int device) { check(setDevice_(device), "SetDevice"); }
  void* malloc(size_t bytes) {
    void* p = nullptr;
    check(malloc_(&p, bytes), "Malloc");
    return p;
  }
  void free(void* p) { check(free_(p), "Free"); }
  void copy(void* dst, const void* src, size_t bytes) { check(memcpy_(dst, src, bytes, 4 /* default */), "Memcpy"); }
  void* streamCreate() {
    void* s = nullptr;
    check(streamCreate_(&s), "StreamCreate");
    return s;
  }
  void synchronize(void* stream) { check(streamSynchronize_(stream), "StreamSynchronize"); }
  void streamDestroy(void* stream) { check(streamDestroy_(stream), "StreamDestroy"); }
  // A function of the library beyond cudart's calls (the fake module's test hooks), null if absent.
  template <typename F>
  F hook(const char* name) const {
    return library_ != nullptr ? reinterpret_cast<F>(dlsym(library_, name)) : nullptr;
  }

 private:
  template <typename F>
  void find(const char* name, F& fn) {
    std::string symbol = prefix_ + name;
    fn = reinterpret_cast<F>(dlsym(library_, symbol.c_str()));
    if (fn == nullptr) fail("no " + symbol + " in STRATA_TEST_CUDART");
  }
  void check(int code, const char* what) {
    if (code != 0) fail(prefix_ + what + " failed with error " + std::to_string(code));
  }
  [[noreturn]] static void fail(const std::string& message) {
    std::fprintf(stderr, "device set-up: %s\n", message.c_str());
    std::exit(2);
  }

  void* library_ = nullptr;
  std::string prefix_;
  int (*setDevice_)(int) = nullptr;
  int (*malloc_)(void**, size_t) = nullptr;
  int (*free_)(void*) = nullptr;
  int (*memcpy_)(void*, const void*, size_t, int) = nullptr;
  int (*streamCreate_)(void**) = nullptr;
  int (*streamSynchronize_)(void*) = nullptr;
  int (*streamDestroy_)(void*) = nullptr;
};

}  // namespace strata::test
