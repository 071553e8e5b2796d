#include "src/core/peer_memory_cache.h"

namespace strata {

PeerMemoryCache& PeerMemoryCache::process() {
  static auto* cache = new PeerMemoryCache();  // lives as long as the process: proxies go at exit in any order
  return *cache;
}

Result<void*> PeerMemoryCache::open(const DeviceRuntime& runtime, int device, const void* handle, const void* holder) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto key = std::make_pair(device, std::string(static_cast<const char*>(handle), STRATA_DEVICE_IPC_HANDLE_BYTES));
  auto found = entries_.find(key);
  if (found == entries_.end()) {
    void* base = nullptr;
    int code = runtime.api().ipcOpen(device, handle, &base);
    if (code != 0) {
      return systemError("opening a peer's device memory: " + runtime.errorText("cudaIpcOpenMemHandle", code));
    }
    found = entries_.emplace(std::move(key), Entry{base, {}}).first;
  }
  found->second.holders.insert(holder);
  return found->second.base;
}

void PeerMemoryCache::releaseAll(const DeviceRuntime& runtime, const void* holder) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto it = entries_.begin(); it != entries_.end();) {
    it->second.holders.erase(holder);
    if (it->second.holders.empty()) {
      runtime.api().ipcClose(it->first.first, it->second.base);
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace strata
