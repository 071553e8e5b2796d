// A comm's requests: a fixed pool (NCCL bounds how many are in flight per comm), handed out and
// taken back without allocating. A request handed out is in the plugin's registry of live objects
// until it is taken back or its pool goes, so test() on a stale request is an error, not a crash.
#pragma once

#include <array>
#include <cstddef>
#include <vector>

#include "plugins/nccl_net/live_objects.h"

namespace strata::nccl_net {

template <typename Request, size_t Capacity, ObjectKind Kind>
class RequestPool {
 public:
  RequestPool() {
    free_.reserve(Capacity);
    for (auto it = requests_.rbegin(); it != requests_.rend(); ++it) free_.push_back(&*it);
  }
  ~RequestPool() {
    for (size_t i = 0; i < Capacity; ++i) {
      if (inUse_[i]) forgetObject(&requests_[i]);
    }
  }
  RequestPool(const RequestPool&) = delete;
  RequestPool& operator=(const RequestPool&) = delete;

  bool empty() const { return free_.empty(); }
  // A request reset to its defaults; null when all Capacity are out.
  Request* take() {
    if (free_.empty()) return nullptr;
    Request* request = free_.back();
    free_.pop_back();
    *request = Request{};
    inUse_[index(request)] = true;
    rememberObject(request, Kind);
    return request;
  }
  void give(Request* request) {
    forgetObject(request);
    inUse_[index(request)] = false;
    free_.push_back(request);
  }

 private:
  size_t index(const Request* request) const { return static_cast<size_t>(request - requests_.data()); }

  std::array<Request, Capacity> requests_;
  std::array<bool, Capacity> inUse_{};
  std::vector<Request*> free_;
};

}  // namespace strata::nccl_net
