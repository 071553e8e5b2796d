#include "shm/peer_windows.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace strata {

void PeerWindows::format(std::byte* region) {
  auto* flags = new (region) WindowFlags{};
  flags->ready.store(0, std::memory_order_relaxed);
  flags->shared.store(0, std::memory_order_relaxed);
  flags->done.store(0, std::memory_order_relaxed);
}

PeerWindows::PeerWindows(int rank, std::vector<std::byte*> regions, size_t halfBytes, std::shared_ptr<void> keepAlive)
    : rank_(rank), regions_(std::move(regions)), halfBytes_(halfBytes), keepAlive_(std::move(keepAlive)) {}

std::byte* PeerWindows::data(int owner, uint64_t sequence) const {
  return regions_[owner] + sizeof(WindowFlags) + (sequence % 2) * halfBytes_;
}

bool PeerWindows::allReady(uint64_t sequence) const {
  for (int r = 0; r < nranks(); ++r) {
    if (flags(r).ready.load(std::memory_order_acquire) < sequence) return false;
  }
  return true;
}

bool PeerWindows::allDone(uint64_t sequence) const {
  for (int r = 0; r < nranks(); ++r) {
    if (flags(r).done.load(std::memory_order_acquire) < sequence) return false;
  }
  return true;
}

std::vector<std::shared_ptr<PeerWindows>> makeMemoryWindows(int nranks, size_t halfBytes) {
  size_t each = (PeerWindows::regionBytes(halfBytes) + 63) / 64 * 64;
  std::shared_ptr<std::byte> memory(static_cast<std::byte*>(std::aligned_alloc(64, each * static_cast<size_t>(nranks))),
                                    [](std::byte* p) { std::free(p); });
  std::vector<std::byte*> regions;
  for (int r = 0; r < nranks; ++r) {
    regions.push_back(memory.get() + each * static_cast<size_t>(r));
    PeerWindows::format(regions.back());
  }
  std::vector<std::shared_ptr<PeerWindows>> views;
  for (int r = 0; r < nranks; ++r) views.push_back(std::make_shared<PeerWindows>(r, regions, halfBytes, memory));
  return views;
}

}  // namespace strata
