// Other processes' device allocations mapped into this one (CUDA IPC), shared by every
// communicator of the process: the driver maps an allocation once per process and device (a
// second open of the same handle fails on some drivers), so each mapping is held by the
// communicators' proxies that use it and closed when the last one lets go.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>

#include "src/common/status.h"
#include "src/device/device_runtime.h"

namespace strata {

class PeerMemoryCache {
 public:
  static PeerMemoryCache& process();

  // The allocation `handle` (STRATA_DEVICE_IPC_HANDLE_BYTES) names, mapped on `device` for
  // `holder`: opened now, or the mapping another holder already made.
  Result<void*> open(const DeviceRuntime& runtime, int device, const void* handle, const void* holder);
  // Lets go of every mapping `holder` holds; those nobody holds any more are closed.
  void releaseAll(const DeviceRuntime& runtime, const void* holder);

 private:
  struct Entry {
    void* base = nullptr;
    std::set<const void*> holders;
  };
  std::mutex mutex_;
  std::map<std::pair<int, std::string>, Entry> entries_;  // (device, handle bytes)
};

}  // namespace strata
