// Registrations of the buffers a communicator sends from and receives into, kept for reuse. RDMA
// moves only registered memory, and registering (pinning pages, telling the NIC) costs far more
// than a lookup; training steps reuse the same buffers call after call. Bounded in entries and
// bytes, the least recently used going first.
//
// A registration names pages, not an address: once the process unmaps a range (munmap, mremap,
// a shrinking brk), a new buffer at the same address is other memory. The owner reports those
// unmaps (UCX's memory hooks, see UcxWorker): overlapping entries are marked stale at once and
// never handed out again, and unmapped by the next acquire() or release() once nobody uses them.
//
// The mapping itself is a pair of functions (ucp_mem_map / ucp_mem_unmap in the ucx transport,
// fakes in the unit tests). Thread-safe. An unmap report runs inside the process's unmap, maybe
// inside the allocator with its locks held: it only marks entries, under a lock that is never held
// while anything allocates, maps or unmaps (which could wait for those allocator locks).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

namespace strata {

class RegistrationCache {
 public:
  struct Limits {
    size_t entries = 64;
    size_t bytes = size_t{1} << 30;
    size_t smallestBuffer = 64 << 10;  // below this, eager messages copy anyway: not worth a registration
  };
  // Registers [address, address + bytes); null when it cannot.
  using MapFunction = std::function<void*(void* address, size_t bytes)>;
  using UnmapFunction = std::function<void(void* handle)>;

  struct Stats {
    uint64_t hits = 0, misses = 0, evictions = 0, invalidations = 0;
    size_t entries = 0, bytes = 0;  // live (not stale) entries
  };

  RegistrationCache(Limits limits, MapFunction map, UnmapFunction unmap);
  ~RegistrationCache();
  RegistrationCache(const RegistrationCache&) = delete;
  RegistrationCache& operator=(const RegistrationCache&) = delete;

  // A registration in use by one operation: hand `handle` to UCX, release() when the operation
  // is over. An entry in use is never evicted or unmapped under it.
  struct Lease {
    void* handle = nullptr;
    uint64_t id = 0;  // 0: a registration made for this use only (the table was full)
    explicit operator bool() const { return handle != nullptr; }
  };

  // A registration covering [address, address + bytes), made on a miss (whole pages); empty for
  // a buffer below Limits::smallestBuffer or above Limits::bytes, when every entry is in use, or
  // when registering fails. Call it from no unmap report.
  Lease acquire(const void* address, size_t bytes);
  void release(const Lease& lease);

  // The process unmapped [address, address + bytes): no registration overlapping it is handed
  // out again. Allocates nothing and calls nothing (safe inside a memory hook).
  void unmapped(const void* address, size_t bytes);

  Stats stats() const;

 private:
  struct Entry {
    uintptr_t begin = 0, end = 0;  // whole pages
    void* handle = nullptr;
    uint64_t id = 0;
    uint64_t lastUse = 0;
    uint32_t users = 0;
    bool stale = false;  // evicted, or its pages were unmapped: never handed out again
  };
  static constexpr size_t kMaxEntries = 256;  // live and stale together

  // Handles taken out of the table under the lock, unmapped once it is let go. On the stack: a
  // send or receive acquires and releases, and must not allocate for it.
  struct Retired {
    std::array<void*, kMaxEntries> handles{};
    size_t count = 0;
  };
  // Takes the stale entries nobody uses out of the table.
  void takeRetiredLocked(Retired* out);
  void unmapAll(const Retired& retired) const;
  // Bytes of every entry, stale ones still in use included (they stay registered): the bound.
  size_t registeredBytesLocked() const;
  // The entries that may still be handed out, and their bytes.
  struct Usage {
    size_t entries = 0, bytes = 0;
  };
  Usage liveUsageLocked() const;

  const Limits limits_;
  MapFunction map_;
  UnmapFunction unmap_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  uint64_t clock_ = 0;
  uint64_t nextId_ = 1;
  Stats stats_;
};

}  // namespace strata
