#include "transports/ucx/registration_cache.h"

#include <unistd.h>

namespace strata {
namespace {

uintptr_t pageSize() {
  static const uintptr_t size = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

RegistrationCache::RegistrationCache(Limits limits, MapFunction map, UnmapFunction unmap)
    : limits_(limits), map_(std::move(map)), unmap_(std::move(unmap)) {
  // Never grown under the lock (see mutex_): at most `entries` live entries plus stale ones that
  // wait for their users, each of which holds a lease from before.
  entries_.reserve(kMaxEntries);
}

RegistrationCache::~RegistrationCache() {
  // The owner makes sure nothing uses a registration any more (UCX's worker is gone).
  for (const Entry& e : entries_) unmap_(e.handle);
}

size_t RegistrationCache::registeredBytesLocked() const {
  size_t total = 0;
  for (const Entry& e : entries_) total += e.end - e.begin;
  return total;
}

RegistrationCache::Usage RegistrationCache::liveUsageLocked() const {
  Usage usage;
  for (const Entry& e : entries_) {
    if (e.stale) continue;
    ++usage.entries;
    usage.bytes += e.end - e.begin;
  }
  return usage;
}

void RegistrationCache::unmapAll(const Retired& retired) const {
  for (size_t i = 0; i < retired.count; ++i) unmap_(retired.handles[i]);
}

void RegistrationCache::takeRetiredLocked(Retired* out) {
  for (size_t i = entries_.size(); i-- > 0;) {
    if (!entries_[i].stale || entries_[i].users > 0) continue;
    out->handles[out->count++] = entries_[i].handle;  // at most kMaxEntries entries exist
    entries_[i] = entries_.back();
    entries_.pop_back();
  }
}

RegistrationCache::Lease RegistrationCache::acquire(const void* address, size_t bytes) {
  if (bytes < limits_.smallestBuffer || bytes > limits_.bytes || limits_.entries == 0) return {};
  const uintptr_t begin = reinterpret_cast<uintptr_t>(address);
  const uintptr_t end = begin + bytes;
  const uintptr_t first = begin & ~(pageSize() - 1);
  const uintptr_t last = (end + pageSize() - 1) & ~(pageSize() - 1);
  Retired retired;  // unmapped after the lock is let go
  bool room = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Entry& e : entries_) {
      if (!e.stale && e.begin <= begin && end <= e.end) {
        e.lastUse = ++clock_;
        ++e.users;
        ++stats_.hits;
        return {e.handle, e.id};
      }
    }
    ++stats_.misses;
    // Room first: at most `entries` live registrations and `bytes` of them, the least recently
    // used of those nobody is using going first.
    while (liveUsageLocked().entries >= limits_.entries || registeredBytesLocked() + (last - first) > limits_.bytes) {
      Entry* oldest = nullptr;
      for (Entry& e : entries_) {
        if (!e.stale && e.users == 0 && (oldest == nullptr || e.lastUse < oldest->lastUse)) oldest = &e;
      }
      if (oldest == nullptr) break;
      oldest->stale = true;
      ++stats_.evictions;
      takeRetiredLocked(&retired);  // out of the table, so the byte count drops
    }
    takeRetiredLocked(&retired);  // stale from unmap reports
    room = liveUsageLocked().entries < limits_.entries && registeredBytesLocked() + (last - first) <= limits_.bytes &&
           entries_.size() < kMaxEntries;
  }
  unmapAll(retired);
  if (!room) return {};  // every entry is in use
  // Registering may allocate, and an allocation may unmap and report here: no lock is held.
  void* handle = map_(reinterpret_cast<void*>(first), last - first);
  if (handle == nullptr) return {};
  std::lock_guard<std::mutex> lock(mutex_);
  if (entries_.size() >= kMaxEntries) {
    // Another thread filled the table meanwhile: use the registration once, uncached.
    return {handle, 0};
  }
  Entry fresh;
  fresh.begin = first;
  fresh.end = last;
  fresh.handle = handle;
  fresh.id = nextId_++;
  fresh.lastUse = ++clock_;
  fresh.users = 1;
  entries_.push_back(fresh);
  return {handle, fresh.id};
}

void RegistrationCache::release(const Lease& lease) {
  if (!lease) return;
  if (lease.id == 0) {
    unmap_(lease.handle);  // an uncached one
    return;
  }
  Retired retired;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Entry& e : entries_) {
      if (e.id != lease.id) continue;
      if (e.users > 0) --e.users;
      break;
    }
    takeRetiredLocked(&retired);
  }
  unmapAll(retired);
}

void RegistrationCache::unmapped(const void* address, size_t bytes) {
  // Called inside the process's unmap (UCX's memory hook): no allocation, no call into UCX, and a
  // lock that nobody holds while allocating. The entries are only marked; acquire() and release()
  // unmap them later, on their callers' threads.
  const uintptr_t begin = reinterpret_cast<uintptr_t>(address);
  const uintptr_t end = begin + bytes;
  std::lock_guard<std::mutex> lock(mutex_);
  for (Entry& e : entries_) {
    if (!e.stale && e.begin < end && begin < e.end) {
      e.stale = true;
      ++stats_.invalidations;
    }
  }
}

RegistrationCache::Stats RegistrationCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats s = stats_;
  const Usage live = liveUsageLocked();
  s.entries = live.entries;
  s.bytes = live.bytes;
  return s;
}

}  // namespace strata
