#include "transports/memory/peer_windows.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>

#include "transports/memory/single_copy.h"

namespace strata {

void PeerWindows::format(std::byte* region) {
  auto* flags = new (region) WindowFlags{};
  flags->ready.store(0, std::memory_order_relaxed);
  flags->shared.store(0, std::memory_order_relaxed);
  flags->done.store(0, std::memory_order_relaxed);
  flags->probe.ownerAddress = reinterpret_cast<uint64_t>(region);
  flags->probe.nonce = (reinterpret_cast<uint64_t>(region) * 0x9e3779b97f4a7c15ull) ^
                       static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

bool PeerWindows::canReadDirectly(int owner, pid_t pid) const {
  const WindowProbe& probe = flags(owner).probe;
  return readsBackEqual(pid, probe.ownerAddress + offsetof(WindowFlags, probe), &probe, 2 * sizeof(uint64_t));
}

// The address travels through the half's first data bytes: the publish that follows orders it
// for the readers, who take it after seeing `ready`.
void PeerWindows::writeSourceAddress(uint64_t sequence, uint64_t address) const {
  std::memcpy(data(rank_, sequence), &address, sizeof(address));
}

uint64_t PeerWindows::sourceAddress(int owner, uint64_t sequence) const {
  uint64_t address;
  std::memcpy(&address, data(owner, sequence), sizeof(address));
  return address;
}

PeerWindows::PeerWindows(int rank, std::vector<std::byte*> regions, size_t halfBytes, std::shared_ptr<void> keepAlive,
                         std::vector<DoorbellWord*> doorbells)
    : rank_(rank), regions_(std::move(regions)), halfBytes_(halfBytes), keepAlive_(std::move(keepAlive)),
      doorbells_(std::move(doorbells)) {}

void PeerWindows::raise(std::atomic<uint64_t> WindowFlags::*flag, uint64_t sequence) const {
  (flags(rank_).*flag).store(sequence, std::memory_order_seq_cst);
  for (size_t r = 0; r < doorbells_.size(); ++r) {
    if (static_cast<int>(r) != rank_) ringDoorbell(*doorbells_[r]);
  }
}

std::byte* PeerWindows::data(int owner, uint64_t sequence) const {
  return regions_[owner] + sizeof(WindowFlags) + (sequence % 2) * halfBytes_;
}

namespace {
// The publisher's stores and a stalled reader's loads may overlap; atomic word accesses keep
// that defined, and the `ready` checks decide whether the bytes are usable. Release stores and
// acquire loads (plain moves on x86; no fences, which TSan cannot follow): a reader that sees a
// word of operation s+2 also sees the `ready` = s+1 stored before it, so readLatestTag, holding
// `ready` = s, discards its copy.
static_assert(std::atomic_ref<uint64_t>::is_always_lock_free, "tag words are shared between processes");

void storeTagWords(uint64_t* words, const std::byte (&tag)[kWindowTagBytes]) {
  for (size_t i = 0; i < kWindowTagBytes / 8; ++i) {
    uint64_t word;
    std::memcpy(&word, tag + 8 * i, 8);
    std::atomic_ref<uint64_t>(words[i]).store(word, std::memory_order_release);
  }
}

void loadTagWords(uint64_t* words, std::byte (&tag)[kWindowTagBytes]) {
  for (size_t i = 0; i < kWindowTagBytes / 8; ++i) {
    uint64_t word = std::atomic_ref<uint64_t>(words[i]).load(std::memory_order_acquire);
    std::memcpy(tag + 8 * i, &word, 8);
  }
}
}  // namespace

void PeerWindows::publish(uint64_t sequence, const std::byte (&tag)[kWindowTagBytes], const std::byte* first,
                          size_t bytes) const {
  WindowHalfHeader& header = flags(rank_).halves[sequence % 2];
  storeTagWords(header.callTagWords, tag);
  std::byte inlineBytes[kWindowInlineBytes] = {};
  if (bytes > 0) std::memcpy(inlineBytes, first, std::min(bytes, kWindowInlineBytes));
  for (size_t i = 0; i < kWindowInlineBytes / 8; ++i) {
    uint64_t word;
    std::memcpy(&word, inlineBytes + 8 * i, 8);
    std::atomic_ref<uint64_t>(header.inlineWords[i]).store(word, std::memory_order_relaxed);
  }
  std::atomic_ref<uint64_t>(header.doneAtPublish)
      .store(flags(rank_).done.load(std::memory_order_relaxed), std::memory_order_relaxed);
  header.published.store(sequence, std::memory_order_release);
  raise(&WindowFlags::ready, sequence);
}

const std::byte* PeerWindows::inlineData(int owner, uint64_t sequence) const {
  return reinterpret_cast<const std::byte*>(flags(owner).halves[sequence % 2].inlineWords);
}

void PeerWindows::readTag(int owner, uint64_t sequence, std::byte (&tag)[kWindowTagBytes]) const {
  loadTagWords(flags(owner).halves[sequence % 2].callTagWords, tag);
}

bool PeerWindows::readLatestTag(int owner, std::byte (&tag)[kWindowTagBytes]) const {
  // The owner writes operation s+1's tag only after raising `ready` to s, and into the other
  // half than s's: if `ready` reads s before and after the copy, the copy is s's whole tag.
  WindowFlags& f = flags(owner);
  uint64_t before = f.ready.load(std::memory_order_acquire);
  if (before == 0) return false;
  loadTagWords(f.halves[before % 2].callTagWords, tag);
  return f.ready.load(std::memory_order_relaxed) == before;
}

bool PeerWindows::allReady(uint64_t sequence) const {
  // The half's header says the same as `ready` (an owner cannot publish sequence + 2 into this
  // half before we are done with `sequence`), from the line the reader needs next anyway.
  for (int r = 0; r < nranks(); ++r) {
    if (flags(r).halves[sequence % 2].published.load(std::memory_order_acquire) < sequence) return false;
  }
  return true;
}

bool PeerWindows::allDone(uint64_t sequence) const {
  for (int r = 0; r < nranks(); ++r) {
    // A rank that published sequence + 1 after it was done with `sequence` (one-shot, MoE
    // chunks: each operation is read before the next is published) said so in that header,
    // which the caller has usually just read; its `done` line is the fallback (two-shot
    // publishes a chunk before it reads the previous one).
    WindowHalfHeader& next = flags(r).halves[(sequence + 1) % 2];
    if (next.published.load(std::memory_order_acquire) >= sequence + 1 &&
        std::atomic_ref<uint64_t>(next.doneAtPublish).load(std::memory_order_relaxed) >= sequence) {
      continue;
    }
    if (flags(r).done.load(std::memory_order_acquire) < sequence) return false;
  }
  return true;
}

std::vector<std::shared_ptr<PeerWindows>> makeMemoryWindows(int nranks, size_t halfBytes,
                                                            const std::vector<DoorbellWord*>& doorbells) {
  size_t each = (PeerWindows::regionBytes(halfBytes) + 63) / 64 * 64;
  std::shared_ptr<std::byte> memory(static_cast<std::byte*>(std::aligned_alloc(64, each * static_cast<size_t>(nranks))),
                                    [](std::byte* p) { std::free(p); });
  std::vector<std::byte*> regions;
  for (int r = 0; r < nranks; ++r) {
    regions.push_back(memory.get() + each * static_cast<size_t>(r));
    PeerWindows::format(regions.back());
  }
  std::vector<std::shared_ptr<PeerWindows>> views;
  for (int r = 0; r < nranks; ++r) views.push_back(std::make_shared<PeerWindows>(r, regions, halfBytes, memory, doorbells));
  return views;
}

}  // namespace strata
