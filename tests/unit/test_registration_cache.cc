// The ucx transport's registration cache: hits, the bounds (entries, bytes, smallest buffer),
// least-recently-used eviction that never takes an entry in use, and unmaps that drop overlapping
// registrations (at once, or when the last user releases them). With UCX, the same on a real
// worker: ucp_mem_map registrations, and UCX's memory hooks reporting a munmap.
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

TEST(RegistrationCache, EvictsTheLeastRecentlyUsedWithinTheEntryAndByteBounds) {
  FakeRegistrar fake;
  RegistrationCache cache = fake.make(smallLimits());
  std::vector<RegistrationCache::Lease> leases;
  for (uintptr_t i = 0; i < 3; ++i) {
    leases.push_back(cache.acquire(at(0x1000000 * (i + 1)), kPage));
    cache.release(leases.back());
  }
  cache.release(cache.acquire(at(0x1000000), kPage));  // the first is now the most recent
  auto fourth = cache.acquire(at(0x9000000), kPage);  // entry bound: the second goes
  ASSERT_TRUE(fourth);
  cache.release(fourth);
  EXPECT_EQ(fake.live.count(leases[1].handle), 0u);
  EXPECT_EQ(fake.live.count(leases[0].handle), 1u);
  EXPECT_EQ(cache.stats().evictions, 1u);
  // Byte bound (64 pages): 62 more fit beside two of the three single pages, so the least
  // recently used of them (the third) goes, and only it.
  auto big = cache.acquire(at(0x20000000), 62 * kPage);
  ASSERT_TRUE(big);
  EXPECT_EQ(cache.stats().entries, 3u);
  EXPECT_EQ(cache.stats().bytes, 64 * kPage);
  EXPECT_EQ(fake.live.count(leases[2].handle), 0u);
  EXPECT_EQ(fake.live.count(leases[0].handle), 1u);
  EXPECT_EQ(fake.live.count(fourth.handle), 1u);
  EXPECT_EQ(cache.stats().evictions, 2u);
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

TEST(RegistrationCache, AnUnmapDropsOverlappingRegistrationsAtOnceOrWhenReleased) {
  FakeRegistrar fake;
  RegistrationCache cache = fake.make(smallLimits());
  auto idle = cache.acquire(at(0x100000), 2 * kPage);
  cache.release(idle);
  auto busy = cache.acquire(at(0x200000), 2 * kPage);
  auto apart = cache.acquire(at(0x300000), kPage);
  cache.release(apart);
  cache.unmapped(at(0x101000), 0x100000 + kPage);  // overlaps the first two, not the third
  EXPECT_EQ(fake.live.count(idle.handle), 0u) << "an idle registration goes at once";
  EXPECT_EQ(fake.live.count(busy.handle), 1u) << "one in use stays mapped until released";
  EXPECT_EQ(fake.live.count(apart.handle), 1u);
  EXPECT_EQ(cache.stats().invalidations, 2u);
  // Memory at the same address later is other memory: a new registration, not the stale one.
  auto again = cache.acquire(at(0x200000), 2 * kPage);
  ASSERT_TRUE(again);
  EXPECT_NE(again.handle, busy.handle);
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
}
#endif

}  // namespace
}  // namespace strata
