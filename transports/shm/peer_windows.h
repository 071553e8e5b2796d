// Peer memory inside one host: every rank owns a window that every other rank has mapped, plus
// two flag words. A rank publishes data by copying it into its window and raising `ready` to the
// operation's sequence number; readers wait for every rank's `ready`, read all windows directly,
// then raise their `done`. Each window has two halves used alternately, so operation s may write
// its half as soon as every rank is done with operation s-2. Used by one-shot reductions.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace strata {

struct alignas(64) WindowFlags {
  std::atomic<uint64_t> ready;
  char padReady[56];
  std::atomic<uint64_t> done;
  char padDone[56];
};

class PeerWindows {
 public:
  // Bytes of one window (flags and both halves) for halves of `halfBytes`.
  static size_t regionBytes(size_t halfBytes) { return sizeof(WindowFlags) + 2 * halfBytes; }
  // Zeroes the flags of a window region.
  static void format(std::byte* region);

  // `regions[r]` is rank r's window as mapped here; `keepAlive` owns the mappings.
  PeerWindows(int rank, std::vector<std::byte*> regions, size_t halfBytes, std::shared_ptr<void> keepAlive);

  int rank() const { return rank_; }
  int nranks() const { return static_cast<int>(regions_.size()); }
  size_t halfBytes() const { return halfBytes_; }
  std::byte* data(int owner, uint64_t sequence) const;
  WindowFlags& flags(int owner) const { return *reinterpret_cast<WindowFlags*>(regions_[owner]); }

  // True when every rank's flag has reached `sequence`.
  bool allReady(uint64_t sequence) const;
  bool allDone(uint64_t sequence) const;

 private:
  int rank_;
  std::vector<std::byte*> regions_;
  size_t halfBytes_;
  std::shared_ptr<void> keepAlive_;
};

// Windows in process memory for N thread ranks (tests): result[r] is rank r's view.
std::vector<std::shared_ptr<PeerWindows>> makeMemoryWindows(int nranks, size_t halfBytes);

}  // namespace strata
