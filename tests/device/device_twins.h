// Device twins of a test's host vectors for one call (or group): with a runtime (cuda_like.h), each
// vector handed to a call gets a device copy, and when the scope ends the stream is synchronised
// and every twin of a writable vector is copied back over it. Without one, the vectors themselves
// and the host stream go to the call, so one test body checks both paths.
#pragma once

#include <vector>

#include "cuda_like.h"

namespace strata::test {

class Twins {
 public:
  Twins(CudaLike* cuda, void* deviceStream, void* hostStream)
      : cuda_(cuda), deviceStream_(deviceStream), hostStream_(hostStream) {}
  ~Twins() {
    if (cuda_ == nullptr) return;
    cuda_->synchronize(deviceStream_);
    for (const Twin& t : twins_) {
      if (t.writable) cuda_->copy(t.host, t.device, t.bytes);
      cuda_->free(t.device);
    }
  }
  Twins(const Twins&) = delete;
  Twins& operator=(const Twins&) = delete;

  template <typename T>
  T* operator()(std::vector<T>& v) {
    return static_cast<T*>(twinOf(v.data(), v.size() * sizeof(T), true));
  }
  template <typename T>
  const T* operator()(const std::vector<T>& v) {
    return static_cast<const T*>(twinOf(const_cast<T*>(v.data()), v.size() * sizeof(T), false));
  }
  void* stream() const { return cuda_ != nullptr ? deviceStream_ : hostStream_; }

 private:
  struct Twin {
    void* host;
    size_t bytes;
    void* device;
    bool writable;
  };
  void* twinOf(void* host, size_t bytes, bool writable) {
    if (cuda_ == nullptr) return host;
    for (Twin& t : twins_) {
      if (t.host == host) {  // one vector passed twice (in place): one twin
        t.writable = t.writable || writable;
        return t.device;
      }
    }
    void* device = cuda_->malloc(bytes);
    cuda_->copy(device, host, bytes);
    twins_.push_back({host, bytes, device, writable});
    return device;
  }

  CudaLike* cuda_;
  void* deviceStream_;
  void* hostStream_;
  std::vector<Twin> twins_;
};

}  // namespace strata::test
