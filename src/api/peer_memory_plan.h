// What one rank's kernels do in a collective whose ranks read each other's device memory
// (device_peer_collectives.h): which ranks' buffers they read and at which offsets, whether they
// reduce them or copy them into place, and whether their writes must go to scratch first because
// they would land on bytes that this rank or a peer still reads (in-place calls).
//
// Most collectives are one stage: one kernel per rank reads everything it needs (one-shot). A
// large allreduce among 3 or more ranks is two (two-shot): each rank reduces its slice of every
// input into its own recvbuff, the ranks meet, then each copies the other slices from the ranks
// that reduced them. Each rank then reads about twice the buffer instead of every rank's whole
// input.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "src/core/communicator.h"

namespace strata::api {

struct PeerMemoryPlan {
  enum class Kernel { None, Reduce, Copy };
  struct Source {
    int rank = 0;
    bool fromRecv = false;  // reads that rank's recvbuff (two-shot's second stage), else its sendbuff
    size_t offset = 0;      // into that buffer, bytes
    size_t dstOffset = 0;   // Copy: where its bytes land in recvbuff
    size_t bytes = 0;       // Copy: how many
  };
  struct Stage {
    Kernel kernel = Kernel::None;
    std::vector<Source> sources;                     // Reduce: combined in this order
    size_t count = 0;                                // Reduce: elements (each source at its offset)
    size_t dstOffset = 0;                            // Reduce: where the result lands in recvbuff, bytes
    bool average = false;                            // Reduce with strataAvg: divide by the number of sources
    std::vector<std::pair<size_t, size_t>> written;  // (offset, bytes) of recvbuff this stage writes
  };
  std::vector<Stage> stages;  // the ranks meet after each
  bool sendRead = false;      // some rank reads this rank's sendbuff: it must be reachable (exported)
  bool recvRead = false;      // ... its recvbuff
  // The kernels write to scratch (same offsets), copied over recvbuff once every rank is done
  // reading: their writes overlap this rank's sendbuff, which it or a peer reads.
  bool scratch = false;
};

// Allreduces of at least this many bytes among 3 or more ranks go in two stages.
constexpr size_t kTwoShotBytes = 256 << 10;

// Whether the peer-memory path takes this kind of collective.
bool peerMemoryTakes(CollectiveKind kind);

// The plan of `rank` of `nranks` for `call` (a kind peerMemoryTakes, count > 0).
PeerMemoryPlan planPeerMemory(const CollectiveCall& call, int rank, int nranks);

}  // namespace strata::api
