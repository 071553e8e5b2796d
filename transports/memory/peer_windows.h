// Peer memory inside one host: every rank owns a window that every other rank has mapped, plus
// three flag words, each holding the sequence number of the last window operation that reached
// that point, and a header line per half (what was published there: sequence, tag, first bytes). A rank publishes data by copying it into its window and raising `ready`; readers
// wait for every rank's `ready` and read the windows directly. Two-shot reductions then copy
// their reduced slice back into their own window and raise `shared`, and the others read it
// from there. A rank raises `done` when it has finished reading everyone's windows. Each window
// has two halves used alternately, so operation s may write its half as soon as every rank is
// done with operation s-2.
//
// This is the executor's peer memory whatever maps the regions: a transport whose table entry
// offers peer memory (core/transport_table.h; shm today, from its segments) builds one, and tests
// build one over process memory.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "transports/memory/doorbell.h"

namespace strata {

inline constexpr size_t kWindowTagBytes = 40;    // a call tag (core/call_tag.h's frame)
inline constexpr size_t kWindowInlineBytes = 8;  // a publish's first bytes, beside its tag

// One cache line per half, all a reader of a small publish needs: the operation last published
// into the half, its call tag, and its first bytes (a small allreduce's whole input), so the
// reader takes one line from the owner's core instead of a flag's, a tag's and the data's. It
// also carries the owner's `done` as it stood at the publish: the next publisher into the other
// half learns from the line it has just read that the owner finished reading its previous
// operation, without taking the owner's `done` line.
struct alignas(64) WindowHalfHeader {
  std::atomic<uint64_t> published;  // the sequence of the operation in this half (release store)
  // Written before `published`; only touched word by word through atomic_ref: a stalled reader
  // may look while they change.
  uint64_t callTagWords[kWindowTagBytes / 8];
  uint64_t inlineWords[kWindowInlineBytes / 8];
  uint64_t doneAtPublish;
};
static_assert(sizeof(WindowHalfHeader) == 64, "a half's header is one cache line");

// Written once by the window's owner when it formats the region: where the region lies in the
// owner's address space and a value to find there. A peer that reads the same two words from
// the owner with a single-copy read (memory/single_copy.h) knows those reads work.
struct alignas(64) WindowProbe {
  uint64_t ownerAddress;
  uint64_t nonce;
  char pad[48];
};

struct alignas(64) WindowFlags {
  std::atomic<uint64_t> ready;
  char padReady[56];
  std::atomic<uint64_t> shared;
  char padShared[56];
  std::atomic<uint64_t> done;
  char padDone[56];
  WindowHalfHeader halves[2];
  WindowProbe probe;
};
static_assert(sizeof(WindowFlags) == 384, "window flags layout is shared between processes");

class PeerWindows {
 public:
  // Bytes of one window (flags and both halves) for halves of `halfBytes`.
  static size_t regionBytes(size_t halfBytes) { return sizeof(WindowFlags) + 2 * halfBytes; }
  // The half size for `ranks` ranks on a host of `cores` hardware threads (0: unknown) when the
  // user chose none. Every window operation is a hand-off among all the host's ranks; when they
  // outnumber the cores, each hand-off waits for ranks that are off their core, so fewer, larger
  // operations win: 4 ranks on 2 cores ran 1-64 MiB allreduces 1.2-1.6x faster with 2 MiB halves
  // than with 512 KiB. With a core per rank the smaller halves pipeline better (2 MiB halves lost
  // 5-15 % at 0.5-2 MiB on 2 ranks).
  static size_t defaultHalfBytes(size_t ranks, int cores) {
    const bool outnumbered = cores > 0 && ranks > static_cast<size_t>(cores);
    return outnumbered ? size_t{2} << 20 : size_t{512} << 10;
  }
  // Zeroes the flags of a window region and writes its probe.
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

  // Publishes operation `sequence`, whose data is in our half already: its tag and first bytes
  // (`first`, up to kWindowInlineBytes of them) into the half's header, then the header's
  // `published` and `ready` raised (ringing the other ranks' doorbells).
  void publish(uint64_t sequence, const std::byte (&tag)[kWindowTagBytes], const std::byte* first, size_t bytes) const;
  // `owner`'s first published bytes of `sequence` (kWindowInlineBytes), once allReady(sequence).
  const std::byte* inlineData(int owner, uint64_t sequence) const;
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

  // Single-copy reads (memory/single_copy.h). Whether this rank can read `owner`'s memory, whose
  // process is `pid` here: the owner's probe read back through the kernel.
  bool canReadDirectly(int owner, pid_t pid) const;
  // From now on exchanges may read straight from the ranks' buffers (every rank of the host
  // found every other's readable); pids[r] is rank r's process as this process sees it.
  void enableSingleCopy(std::vector<pid_t> pids) { pids_ = std::move(pids); }
  bool singleCopy() const { return !pids_.empty(); }
  pid_t pid(int owner) const { return pids_[static_cast<size_t>(owner)]; }
  // A single-copy publish puts the address of the publisher's buffer where its data would go.
  void writeSourceAddress(uint64_t sequence, uint64_t address) const;
  uint64_t sourceAddress(int owner, uint64_t sequence) const;

  // True when every rank has published operation `sequence` (read from the half's header: the
  // line its tag and first bytes are in) or a later one.
  bool allReady(uint64_t sequence) const;
  // True when every rank has finished reading operation `sequence`: its `done`, or, read first,
  // the `done` its publish of sequence + 1 carried.
  bool allDone(uint64_t sequence) const;

 private:
  int rank_;
  std::vector<std::byte*> regions_;
  size_t halfBytes_;
  std::shared_ptr<void> keepAlive_;
  std::vector<DoorbellWord*> doorbells_;
  std::vector<pid_t> pids_;  // set when single-copy reads are on
};

// Windows in process memory for N thread ranks (tests): result[r] is rank r's view; `doorbells`
// as for the constructor.
std::vector<std::shared_ptr<PeerWindows>> makeMemoryWindows(int nranks, size_t halfBytes,
                                                            const std::vector<DoorbellWord*>& doorbells = {});

}  // namespace strata
