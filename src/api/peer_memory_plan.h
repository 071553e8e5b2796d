// What one rank's kernel does in a collective whose ranks read each other's device memory
// (device_peer_collectives.h): which ranks' sendbuffs it reads and at which offsets, whether it
// reduces them or copies them into place, and whether its writes must go to scratch first because
// they would land on bytes that it or a peer still reads (in-place calls).
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "src/core/communicator.h"

namespace strata::api {

struct PeerMemoryPlan {
  enum class Kernel { None, Reduce, Copy };
  struct Source {
    int rank = 0;
    size_t offset = 0;     // into that rank's sendbuff, bytes
    size_t dstOffset = 0;  // Copy: where its bytes land in recvbuff
  };
  Kernel kernel = Kernel::None;
  std::vector<Source> sources;  // Reduce: combined in this order
  size_t count = 0;             // Reduce: elements
  size_t bytesEach = 0;         // Copy: bytes of each source
  bool average = false;         // Reduce with strataAvg: divide by the number of sources
  bool sendRead = false;        // some rank reads this rank's sendbuff: it must be reachable (exported)
  // The kernel writes to scratch (same offsets), copied over recvbuff once every rank is done
  // reading: its writes overlap this rank's sendbuff, which it or a peer reads.
  bool scratch = false;
  std::vector<std::pair<size_t, size_t>> written;  // (offset, bytes) of recvbuff the kernel writes
};

// Whether the peer-memory path takes this kind of collective.
bool peerMemoryTakes(CollectiveKind kind);

// The plan of `rank` of `nranks` for `call` (a kind peerMemoryTakes, count > 0).
PeerMemoryPlan planPeerMemory(const CollectiveCall& call, int rank, int nranks);

}  // namespace strata::api
