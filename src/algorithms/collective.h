// What an algorithm needs to know about one collective call to produce a plan: its kind, sizes,
// root and whether it runs in place. Nothing here knows about transports or processes.
#pragma once

#include <cstddef>
#include <vector>

#include "core/plan.h"

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

inline int modRank(long long value, int nranks) {
  long long m = value % nranks;
  return static_cast<int>(m < 0 ? m + nranks : m);
}

}  // namespace strata
