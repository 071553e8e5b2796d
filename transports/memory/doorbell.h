// A rank's doorbell: how a rank that found nothing to do sleeps until a peer on its host moves
// something it may be waiting for, instead of spinning or yielding its core away.
//
// One 32-bit word per rank, in memory its peers map (the rank's inbound shm segment; the heap for
// thread ranks). The owner arms it (1) when it is about to sleep, looks once more at what it
// waits for, and sleeps on the word with a futex. A peer that publishes anything (ring data, ring
// space, a window flag) rings the bell: one load of the word while nobody sleeps, a futex wake
// when someone does (the first ringer clears the word, so one wake per sleep).
//
// Ordering: the publisher's store is seq_cst and the owner arms with a seq_cst exchange and a
// fence, so either the owner's second look sees the publication or the publisher sees the armed
// word. A
// sleep is bounded anyway (the waiter's next health check), so a wake lost to a bug costs time,
// never a hang.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace strata {

struct alignas(64) DoorbellWord {
  std::atomic<uint32_t> armed;  // 1 while the owner is (about to be) asleep
  char pad[60];
};
static_assert(sizeof(DoorbellWord) == 64, "doorbell layout is shared between processes");
static_assert(std::atomic<uint32_t>::is_always_lock_free, "doorbells are shared between processes");

// Wakes the owner of `bell` if it sleeps. Call after the publication's seq_cst store.
void ringDoorbell(DoorbellWord& bell);

// The owner's side.
void armDoorbell(DoorbellWord& bell);
void disarmDoorbell(DoorbellWord& bell);
// Sleeps while the bell stays armed, at most `timeoutNs`; returns at once if it was rung.
void sleepOnDoorbell(DoorbellWord& bell, int64_t timeoutNs);

// Doorbells on the heap for N thread ranks (tests), all in one shared block.
std::shared_ptr<std::vector<DoorbellWord>> makeMemoryDoorbells(int nranks);

}  // namespace strata
