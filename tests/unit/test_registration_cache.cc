// The ucx transport's registration cache: hits, the bounds (entries, bytes, smallest buffer),
// least-recently-used eviction that never takes an entry in use, and unmaps that make overlapping
// registrations stale (never handed out again, unmapped once unused, nothing done inside the
// report). With UCX, the same on a real worker: ucp_mem_map registrations, and UCX's memory
// hooks reporting a munmap.
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "transports/ucx/registration_cache.h"
#ifdef STRATA_TEST_UCX
#include "transports/ucx/ucx_worker.h"
#endif

namespace strata {
namespace {

constexpr size_t kPage = 4096;

// Records what the cache maps and unmaps; handles are distinct fake pointers.
struct FakeRegistrar {
  std::map<void*, std::pair<uintptr_t, size_t>> live;
  int next = 1;
  bool fail = false;
  RegistrationCache make(RegistrationCache::Limits limits) {
    return RegistrationCache(
        limits,
        [this](void* address, size_t bytes) -> void* {
          if (fail) return nullptr;
          void* handle = reinterpret_cast<void*>(static_cast<uintptr_t>(next++) * 16);
          live[handle] = {reinterpret_cast<uintptr_t>(address), bytes};
          return handle;
        },
        [this](void* handle) { EXPECT_EQ(live.erase(handle), 1u) << "unmapped twice or never mapped"; });
  }
};

const void* at(uintptr_t address) { return reinterpret_cast<const void*>(address); }

RegistrationCache::Limits smallLimits() {
  RegistrationCache::Limits limits;
  limits.entries = 3;
  limits.bytes = 64 * kPage;
  limits.smallestBuffer = kPage;
  return limits;
}

TEST(RegistrationCache, ReusesARegistrationThatCoversTheBufferAndRegistersWholePages) {
  FakeRegistrar fake;
  RegistrationCache cache = fake.make(smallLimits());
  auto first = cache.acquire(at(0x100010), 2 * kPage);
  ASSERT_TRUE(first);
  EXPECT_EQ(fake.live[first.handle].first, 0x100000u);
  EXPECT_EQ(fake.live[first.handle].second, 3 * kPage);  // 0x100010 .. 0x102010 spans three pages
  cache.release(first);
  auto inside = cache.acquire(at(0x101000), kPage);  // within the registered pages
  EXPECT_EQ(inside.handle, first.handle);
  cache.release(inside);
  auto s = cache.stats();
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, 3 * kPage);
}

TEST(RegistrationCache, SmallOrHugeBuffersAndFailuresAreNotCached) {
  FakeRegistrar fake;
  RegistrationCache cache = fake.make(smallLimits());
  EXPECT_FALSE(cache.acquire(at(0x100000), kPage - 1));
  EXPECT_FALSE(cache.acquire(at(0x100000), 65 * kPage));
  fake.fail = true;
  EXPECT_FALSE(cache.acquire(at(0x100000), kPage));
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_TRUE(fake.live.empty());
}

TEST(RegistrationCache, EvictsTheLeastRecentlyUsedAtTheEntryBound) {
  FakeRegistrar fake;
  RegistrationCache cache = fake.make(smallLimits());  // 3 entries
  std::vector<RegistrationCache::Lease> leases;
  for (uintptr_t i = 0; i < 3; ++i) {
    leases.push_back(cache.acquire(at(0x1000000 * (i + 1)), kPage));
    cache.release(leases.back());
  }
  cache.release(cache.acquire(at(0x1000000), kPage));  // the first is now the most recent
  auto fourth = cache.acquire(at(0x9000000), kPage);  // the second goes
  ASSERT_TRUE(fourth);
  cache.release(fourth);
  EXPECT_EQ(fake.live.count(leases[1].handle), 0u);
  EXPECT_EQ(fake.live.count(leases[0].handle), 1u);
  EXPECT_EQ(fake.live.count(leases[2].handle), 1u);
  EXPECT_EQ(cache.stats().evictions, 1u);
  EXPECT_EQ(cache.stats().entries, 3u);
}

TEST(RegistrationCache, EvictsTheLeastRecentlyUsedAtTheByteBound) {
  FakeRegistrar fake;
  RegistrationCache::Limits limits = smallLimits();
  limits.entries = 4;  // room for a fourth entry: only the 64 pages bound the next one
  RegistrationCache cache = fake.make(limits);
  std::vector<RegistrationCache::Lease> leases;
  for (uintptr_t i = 0; i < 3; ++i) {
    leases.push_back(cache.acquire(at(0x1000000 * (i + 1)), kPage));
    cache.release(leases.back());
  }
  cache.release(cache.acquire(at(0x1000000), kPage));
  // 62 pages fit beside two of the three single pages: the least recently used (the second) goes.
  auto big = cache.acquire(at(0x20000000), 62 * kPage);
  ASSERT_TRUE(big);
  EXPECT_EQ(cache.stats().entries, 3u);
  EXPECT_EQ(cache.stats().bytes, 64 * kPage);
  EXPECT_EQ(fake.live.count(leases[1].handle), 0u);
  EXPECT_EQ(fake.live.count(leases[0].handle), 1u);
  EXPECT_EQ(fake.live.count(leases[2].handle), 1u);
  EXPECT_EQ(cache.stats().evictions, 1u);
  cache.release(big);
}

TEST(RegistrationCache, NeverEvictsARegistrationInUse) {
  FakeRegistrar fake;
  RegistrationCache cache = fake.make(smallLimits());
  std::vector<RegistrationCache::Lease> held;
  for (uintptr_t i = 0; i < 3; ++i) held.push_back(cache.acquire(at(0x1000000 * (i + 1)), kPage));
  EXPECT_FALSE(cache.acquire(at(0x9000000), kPage)) << "every entry is in use: no room, no registration";
  EXPECT_EQ(fake.live.size(), 3u);
  cache.release(held[2]);
  EXPECT_TRUE(cache.acquire(at(0x9000000), kPage));
  EXPECT_EQ(fake.live.count(held[2].handle), 0u);
  EXPECT_EQ(fake.live.count(held[0].handle), 1u);
}

TEST(RegistrationCache, AnUnmappedRangeIsNeverHandedOutAgainAndIsUnmappedOnceUnused) {
  FakeRegistrar fake;
  RegistrationCache cache = fake.make(smallLimits());
  auto idle = cache.acquire(at(0x100000), 2 * kPage);
  cache.release(idle);
  auto busy = cache.acquire(at(0x200000), 2 * kPage);
  auto apart = cache.acquire(at(0x300000), kPage);
  cache.release(apart);
  // The report (inside the process's munmap) only marks: nothing is unmapped from there.
  cache.unmapped(at(0x101000), 0x100000 + kPage);  // overlaps the first two, not the third
  EXPECT_EQ(cache.stats().invalidations, 2u);
  EXPECT_EQ(cache.stats().entries, 1u);
  EXPECT_EQ(fake.live.size(), 3u);
  // Memory at the same address later is other memory: a new registration, not the stale one;
  // and the idle stale one is unmapped on the way.
  auto again = cache.acquire(at(0x200000), 2 * kPage);
  ASSERT_TRUE(again);
  EXPECT_NE(again.handle, busy.handle);
  EXPECT_EQ(fake.live.count(idle.handle), 0u);
  EXPECT_EQ(fake.live.count(busy.handle), 1u) << "one in use stays mapped until released";
  EXPECT_EQ(fake.live.count(apart.handle), 1u);
  cache.release(busy);
  EXPECT_EQ(fake.live.count(busy.handle), 0u);
  cache.release(again);
}

#ifdef STRATA_TEST_UCX
TEST(RegistrationCacheOnUcx, RegistersWithUcxAndForgetsWhatTheProcessUnmaps) {
  auto worker = UcxWorker::create();
  ASSERT_TRUE(worker.ok()) << worker.status().message();
  const RegistrationCache* cache = worker.value()->registrations();
  if (cache == nullptr) GTEST_SKIP() << "UCX cannot report unmaps here (UCX_MEM_EVENTS=no?): the cache is off";
  const size_t bytes = 1 << 20;
  void* buffer = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(buffer, MAP_FAILED);
  auto first = worker.value()->registration(buffer, bytes);
  ASSERT_TRUE(first) << "ucp_mem_map failed";
  worker.value()->release(first);
  auto second = worker.value()->registration(static_cast<char*>(buffer) + 4096, bytes / 2);
  EXPECT_EQ(second.handle, first.handle);
  worker.value()->release(second);
  EXPECT_EQ(cache->stats().hits, 1u);
  ASSERT_EQ(munmap(buffer, bytes), 0);
  EXPECT_EQ(cache->stats().invalidations, 1u) << "UCX's memory hooks did not report the munmap";
  EXPECT_EQ(cache->stats().entries, 0u);
  // New memory at the old address gets a registration of its own.
  void* again = mmap(buffer, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (again == buffer) {
    auto third = worker.value()->registration(again, bytes);
    ASSERT_TRUE(third);
    EXPECT_EQ(cache->stats().misses, 2u);
    worker.value()->release(third);
    munmap(again, bytes);
  } else if (again != MAP_FAILED) {
    munmap(again, bytes);
  }
}
#endif

}  // namespace
}  // namespace strata
