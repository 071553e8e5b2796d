// Peer memory inside one host: every rank owns a window that every other rank has mapped, plus
// three flag words, each holding the sequence number of the last window operation that reached
// that point. A rank publishes data by copying it into its window and raising `ready`; readers
// wait for every rank's `ready` and read the windows directly. Two-shot reductions then copy
// their reduced slice back into their own window and raise `shared`, and the others read it
// from there. A rank raises `done` when it has finished reading everyone's windows. Each window
// has two halves used alternately, so operation s may write its half as soon as every rank is
// done with operation s-2.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "memory/doorbell.h"

namespace strata {

inline constexpr size_t kWindowTagBytes = 64;

struct alignas(64) WindowFlags {
  std::atomic<uint64_t> ready;
  char padReady[56];
  std::atomic<uint64_t> shared;
  char padShared[56];
  std::atomic<uint64_t> done;
  char padDone[56];
  // Per half, the call the owner last published into it, written before `ready` is raised, so
  // readers can check that every rank is in the same call (bytes defined by core/call_tag.h).
  // Only touched word by word through atomic_ref: a stalled reader may look while it changes.
  uint64_t callTagWords[2][kWindowTagBytes / 8];
};
static_assert(sizeof(WindowFlags) == 320, "window flags layout is shared between processes");

class PeerWindows {
 public:
  // Bytes of one window (flags and both halves) for halves of `halfBytes`.
  static size_t regionBytes(size_t halfBytes) { return sizeof(WindowFlags) + 2 * halfBytes; }
  // Zeroes the flags of a window region.
  static void format(std::byte* region);

  // `regions[r]` is rank r's window as mapped here; `keepAlive` owns the mappings. With
  // `doorbells` (rank r's at [r]), raising a flag rings every other rank's doorbell.
  PeerWindows(int rank, std::vector<std::byte*> regions, size_t halfBytes, std::shared_ptr<void> keepAlive,
              std::vector<DoorbellWord*> doorbells = {});

  int rank() const { return rank_; }
  int nranks() const { return static_cast<int>(regions_.size()); }
  size_t halfBytes() const { return halfBytes_; }
  std::byte* data(int owner, uint64_t sequence) const;
  WindowFlags& flags(int owner) const { return *reinterpret_cast<WindowFlags*>(regions_[owner]); }

  // Our call tag for operation `sequence`, stored before `ready` is raised for it.
  void publishTag(uint64_t sequence, const std::byte (&tag)[kWindowTagBytes]) const;
  // `owner`'s tag for `sequence`, once its `ready` (acquired) has reached `sequence`.
  void readTag(int owner, uint64_t sequence, std::byte (&tag)[kWindowTagBytes]) const;
  // `owner`'s most recently published tag at any moment (stall probes): the tag of the
  // operation its `ready` names, read between two loads of `ready` that agree, so the bytes
  // cannot be half of the next publish. False when nothing is published or it moved meanwhile.
  bool readLatestTag(int owner, std::byte (&tag)[kWindowTagBytes]) const;

  // Raises one of our flags to `sequence` (seq_cst) and rings the other ranks' doorbells.
  void raise(std::atomic<uint64_t> WindowFlags::*flag, uint64_t sequence) const;
  // True when a rank waiting on window flags may sleep on its doorbell (every raise rings it).
  bool wakesWaiters() const { return !doorbells_.empty(); }

  // True when every rank's flag has reached `sequence`.
  bool allReady(uint64_t sequence) const;
  bool allDone(uint64_t sequence) const;

 private:
  int rank_;
  std::vector<std::byte*> regions_;
  size_t halfBytes_;
  std::shared_ptr<void> keepAlive_;
  std::vector<DoorbellWord*> doorbells_;
};

// Windows in process memory for N thread ranks (tests): result[r] is rank r's view; `doorbells`
// as for the constructor.
std::vector<std::shared_ptr<PeerWindows>> makeMemoryWindows(int nranks, size_t halfBytes,
                                                            const std::vector<DoorbellWord*>& doorbells = {});

}  // namespace strata
