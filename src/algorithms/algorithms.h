// Every algorithm is a plan generator: (shape, rank, nranks) -> Plan for that rank. The registry
// names them (STRATA_ALGO) and says which collective each serves; selection lives in selection.h.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "algorithms/collective.h"
#include "core/plan.h"

namespace strata {

using PlanGenerator = Plan (*)(const CollectiveShape&, const PlanTopology&);

Plan planRingAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planRecursiveDoublingAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planOneShotAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planTwoShotAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planChainBroadcast(const CollectiveShape& shape, const PlanTopology& topo);
Plan planChainReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planRingAllGather(const CollectiveShape& shape, const PlanTopology& topo);
Plan planRingReduceScatter(const CollectiveShape& shape, const PlanTopology& topo);
Plan planPairwiseAllToAll(const CollectiveShape& shape, const PlanTopology& topo);
Plan planDirectGather(const CollectiveShape& shape, const PlanTopology& topo);
Plan planDirectScatter(const CollectiveShape& shape, const PlanTopology& topo);
Plan planDisseminationBarrier(const CollectiveShape& shape, const PlanTopology& topo);

// A plan made with ring positions as ranks, its peers renamed to the ranks at those positions.
inline Plan onRingPositions(Plan plan, const PlanTopology& topo) {
  for (Stage& stage : plan.stages) {
    for (Step& step : stage.steps) {
      if (step.peer >= 0) step.peer = topo.ring[static_cast<size_t>(step.peer)];
    }
  }
  return plan;
}

// Chunk size of the pipelined chain algorithms, in elements.
size_t pipelineChunkElements(const CollectiveShape& shape);

// Whether an algorithm goes through the peer-memory windows, which exist only where every rank
// of the communicator shares a host.
enum class PeerMemoryUse {
  None,
  WholeMessage,  // the whole message must fit one window (up to STRATA_ONESHOT_BYTES)
  Chunked,       // any size, cut into window-sized chunks
};

struct AlgorithmEntry {
  const char* name;  // as written in STRATA_ALGO
  CollectiveKind kind;
  PlanGenerator generate;
  PeerMemoryUse peerMemory = PeerMemoryUse::None;
};

const std::vector<AlgorithmEntry>& algorithmRegistry();

// "ring, recursive_doubling, ..." (each name once).
std::string algorithmNames();

}  // namespace strata
