// What an algorithm needs to know about one collective call to produce a plan: its kind, sizes,
// root and whether it runs in place. Nothing here knows about transports or processes.
#pragma once

#include <cstddef>
#include <vector>

#include "src/algorithms/plan.h"
#include "topology/hierarchy.h"

namespace strata {

enum class CollectiveKind {
  AllReduce,
  Broadcast,
  Reduce,
  AllGather,
  ReduceScatter,
  AllToAll,
  AllToAllv,
  Gather,
  Scatter,
  Barrier,
};

const char* collectiveName(CollectiveKind kind);

struct CollectiveShape {
  CollectiveKind kind = CollectiveKind::AllReduce;
  // Elements: allreduce/broadcast/reduce: count; allgather: per-rank send count; reduce-scatter:
  // per-rank receive count; alltoall/gather/scatter: per-peer block.
  size_t count = 0;
  size_t elementSize = 1;
  int root = 0;
  bool inPlace = false;
  // Bytes of each rank's peer-memory window half (0: the ranks share no peer memory); algorithms
  // that go through the windows cut messages into pieces this big.
  size_t windowBytes = 0;
  // AllToAllv only: one entry per rank, in elements.
  std::vector<size_t> sendCounts, sendDispls, recvCounts, recvDispls;

  size_t bytes() const { return count * elementSize; }
};

// Who runs the plan and how the ranks are arranged: the ring order comes from the topology layer
// (each host's ranks contiguous, each rack's hosts contiguous), so algorithms that pass data to a
// neighbour use ring positions, not rank numbers.
struct PlanTopology {
  int rank = 0;
  int nranks = 1;
  std::vector<int> ring;        // ring[p]: the rank at ring position p
  std::vector<int> positionOf;  // positionOf[r]: rank r's ring position
  const Hierarchy* hierarchy = nullptr;  // hosts and racks (null: unknown, treat as one flat group)

  // Ring in rank order (one host, or no topology known).
  static PlanTopology identity(int rank, int nranks) {
    std::vector<int> ring(static_cast<size_t>(nranks));
    for (int r = 0; r < nranks; ++r) ring[static_cast<size_t>(r)] = r;
    return withRing(rank, std::move(ring));
  }
  static PlanTopology withRing(int rank, std::vector<int> ring) {
    PlanTopology t;
    t.rank = rank;
    t.nranks = static_cast<int>(ring.size());
    t.positionOf.assign(ring.size(), 0);
    for (size_t p = 0; p < ring.size(); ++p) t.positionOf[static_cast<size_t>(ring[p])] = static_cast<int>(p);
    t.ring = std::move(ring);
    return t;
  }
  int position() const { return positionOf[static_cast<size_t>(rank)]; }
  // The rank `steps` positions after `position` round the ring (negative: before).
  int rankAt(long long position) const {
    long long m = position % nranks;
    return ring[static_cast<size_t>(m < 0 ? m + nranks : m)];
  }
};

// A contiguous run of elements: [begin, begin + size).
struct ElementRange {
  size_t begin = 0;
  size_t size = 0;
};

// Splits `count` elements into `parts` nearly equal runs (the first `count % parts` get one more).
inline ElementRange partOf(size_t count, size_t parts, size_t index) {
  size_t base = count / parts;
  size_t extra = count % parts;
  size_t begin = index * base + (index < extra ? index : extra);
  return {begin, base + (index < extra ? 1 : 0)};
}

inline size_t ceilDiv(size_t a, size_t b) { return (a + b - 1) / b; }

// Bandwidth algorithms cut large buffers into slices of about this many bytes per rank and run
// them one after another: a step's chunk stays in cache between arriving and being reduced or
// passed on. One unsliced 16 MiB exchange over tcp ran at 0.6x the sliced ring's speed.
constexpr size_t kCacheSliceBytes = 1 << 20;

inline int modRank(long long value, int nranks) {
  long long m = value % nranks;
  return static_cast<int>(m < 0 ? m + nranks : m);
}

}  // namespace strata
