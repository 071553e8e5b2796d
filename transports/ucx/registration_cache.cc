#include "transports/ucx/registration_cache.h"

#include <unistd.h>

#include <algorithm>

namespace strata {
namespace {

uintptr_t pageSize() {
  static const uintptr_t size = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  return size;
}

}  // namespace

RegistrationCache::RegistrationCache(Limits limits, MapFunction map, UnmapFunction unmap)
    : limits_(limits), map_(std::move(map)), unmap_(std::move(unmap)) {
  entries_.reserve(limits_.entries + 1);
}

RegistrationCache::~RegistrationCache() {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  while (!entries_.empty()) {
    void* handle = entries_.back().handle;
    entries_.pop_back();
    unmap_(handle);
  }
}

size_t RegistrationCache::registeredBytesLocked() const {
  size_t total = 0;
  for (const Entry& e : entries_) total += e.end - e.begin;
  return total;
}

RegistrationCache::Lease RegistrationCache::acquire(const void* address, size_t bytes) {
  if (bytes < limits_.smallestBuffer || bytes > limits_.bytes || limits_.entries == 0) return {};
  const uintptr_t begin = reinterpret_cast<uintptr_t>(address);
  const uintptr_t end = begin + bytes;
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  for (Entry& e : entries_) {
    if (!e.stale && e.begin <= begin && end <= e.end) {
      e.lastUse = ++clock_;
      ++e.users;
      ++stats_.hits;
      return {e.handle, e.id};
    }
  }
  ++stats_.misses;
  Entry fresh;
  fresh.begin = begin & ~(pageSize() - 1);
  fresh.end = (end + pageSize() - 1) & ~(pageSize() - 1);
  // Room first: at most `entries` registrations and `bytes` of them, evicting the least recently
  // used of those nobody is using.
  while (entries_.size() >= limits_.entries || registeredBytesLocked() + (fresh.end - fresh.begin) > limits_.bytes) {
    size_t oldest = entries_.size();
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].users == 0 && (oldest == entries_.size() || entries_[i].lastUse < entries_[oldest].lastUse)) oldest = i;
    }
    if (oldest == entries_.size()) return {};  // all in use
    retireLocked(oldest);
    ++stats_.evictions;
  }
  fresh.handle = map_(reinterpret_cast<void*>(fresh.begin), fresh.end - fresh.begin);
  if (fresh.handle == nullptr) return {};
  fresh.id = nextId_++;
  fresh.lastUse = ++clock_;
  fresh.users = 1;
  entries_.push_back(fresh);
  return {fresh.handle, fresh.id};
}

void RegistrationCache::release(const Lease& lease) {
  if (!lease) return;
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].id != lease.id) continue;
    if (entries_[i].users > 0) --entries_[i].users;
    if (entries_[i].stale && entries_[i].users == 0) retireLocked(i);
    return;
  }
}

void RegistrationCache::unmapped(const void* address, size_t bytes) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(address);
  const uintptr_t end = begin + bytes;
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  for (size_t i = entries_.size(); i-- > 0;) {
    // An unmap below may report back here and shorten the list.
    if (i >= entries_.size() || entries_[i].stale) continue;
    if (entries_[i].begin < end && begin < entries_[i].end) {
      retireLocked(i);
      ++stats_.invalidations;
    }
  }
}

RegistrationCache::Stats RegistrationCache::stats() const {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  Stats s = stats_;
  s.entries = entries_.size();
  s.bytes = registeredBytesLocked();
  return s;
}

void RegistrationCache::retireLocked(size_t index) {
  if (entries_[index].users > 0) {
    entries_[index].stale = true;
    return;
  }
  // Out of the list before unmapping: the unmap may report an unmap back into the cache.
  void* handle = entries_[index].handle;
  entries_[index] = entries_.back();
  entries_.pop_back();
  unmap_(handle);
}

}  // namespace strata
