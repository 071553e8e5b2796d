// Every algorithm is a plan generator: (shape, rank, nranks) -> Plan for that rank. The registry
// names them (STRATA_ALGO) and says which collective each serves; selection lives in selection.h.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "src/algorithms/collective.h"
#include "src/algorithms/cost.h"
#include "src/algorithms/plan.h"

namespace strata {

using PlanGenerator = Plan (*)(const CollectiveShape&, const PlanTopology&);
// Predicted seconds of one call, from the alpha-beta model (each algorithm file has its formula).
using CostFunction = double (*)(const CollectiveShape&, const CostContext&);
// Seconds of per-message work of one call over all ranks (message_work.h), counted analytically.
using WorkFunction = double (*)(const CollectiveShape&, const CostContext&);

Plan planRingAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planFlatRingAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planHierarchicalAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planRabenseifnerAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planTreeAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planRecursiveDoublingAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planOneShotAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planTwoShotAllReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planChainBroadcast(const CollectiveShape& shape, const PlanTopology& topo);
Plan planHierarchicalBroadcast(const CollectiveShape& shape, const PlanTopology& topo);
Plan planChainReduce(const CollectiveShape& shape, const PlanTopology& topo);
Plan planRingAllGather(const CollectiveShape& shape, const PlanTopology& topo);
Plan planRecursiveDoublingAllGather(const CollectiveShape& shape, const PlanTopology& topo);
Plan planRingReduceScatter(const CollectiveShape& shape, const PlanTopology& topo);
Plan planHierarchicalAllGather(const CollectiveShape& shape, const PlanTopology& topo);
Plan planHierarchicalReduceScatter(const CollectiveShape& shape, const PlanTopology& topo);
Plan planPairwiseAllToAll(const CollectiveShape& shape, const PlanTopology& topo);
Plan planDirectGather(const CollectiveShape& shape, const PlanTopology& topo);
Plan planDirectScatter(const CollectiveShape& shape, const PlanTopology& topo);
Plan planDisseminationBarrier(const CollectiveShape& shape, const PlanTopology& topo);

double costRingAllReduce(const CollectiveShape& shape, const CostContext& cost);
double costFlatRingAllReduce(const CollectiveShape& shape, const CostContext& cost);
double costHierarchicalAllReduce(const CollectiveShape& shape, const CostContext& cost);
double costRabenseifnerAllReduce(const CollectiveShape& shape, const CostContext& cost);
double costTreeAllReduce(const CollectiveShape& shape, const CostContext& cost);
double costRecursiveDoublingAllReduce(const CollectiveShape& shape, const CostContext& cost);
double costOneShotAllReduce(const CollectiveShape& shape, const CostContext& cost);
double costTwoShotAllReduce(const CollectiveShape& shape, const CostContext& cost);
double costChainBroadcast(const CollectiveShape& shape, const CostContext& cost);
double costHierarchicalBroadcast(const CollectiveShape& shape, const CostContext& cost);
double costChainReduce(const CollectiveShape& shape, const CostContext& cost);
double costRingAllGather(const CollectiveShape& shape, const CostContext& cost);
double costRecursiveDoublingAllGather(const CollectiveShape& shape, const CostContext& cost);
double costRingReduceScatter(const CollectiveShape& shape, const CostContext& cost);
double costHierarchicalAllGather(const CollectiveShape& shape, const CostContext& cost);
double costHierarchicalReduceScatter(const CollectiveShape& shape, const CostContext& cost);
double costPairwiseAllToAll(const CollectiveShape& shape, const CostContext& cost);
double costDirectGather(const CollectiveShape& shape, const CostContext& cost);
double costDirectScatter(const CollectiveShape& shape, const CostContext& cost);
double costDisseminationBarrier(const CollectiveShape& shape, const CostContext& cost);

double workRingAllReduce(const CollectiveShape& shape, const CostContext& cost);
double workFlatRingAllReduce(const CollectiveShape& shape, const CostContext& cost);
double workHierarchicalAllReduce(const CollectiveShape& shape, const CostContext& cost);
double workRabenseifnerAllReduce(const CollectiveShape& shape, const CostContext& cost);
double workTreeAllReduce(const CollectiveShape& shape, const CostContext& cost);
double workRecursiveDoublingAllReduce(const CollectiveShape& shape, const CostContext& cost);
double workOneShotAllReduce(const CollectiveShape& shape, const CostContext& cost);
double workTwoShotAllReduce(const CollectiveShape& shape, const CostContext& cost);
double workChainBroadcast(const CollectiveShape& shape, const CostContext& cost);
double workHierarchicalBroadcast(const CollectiveShape& shape, const CostContext& cost);
double workChainReduce(const CollectiveShape& shape, const CostContext& cost);
double workRingAllGather(const CollectiveShape& shape, const CostContext& cost);
double workRecursiveDoublingAllGather(const CollectiveShape& shape, const CostContext& cost);
double workRingReduceScatter(const CollectiveShape& shape, const CostContext& cost);
double workHierarchicalAllGather(const CollectiveShape& shape, const CostContext& cost);
double workHierarchicalReduceScatter(const CollectiveShape& shape, const CostContext& cost);
double workPairwiseAllToAll(const CollectiveShape& shape, const CostContext& cost);
double workDirectGather(const CollectiveShape& shape, const CostContext& cost);
double workDirectScatter(const CollectiveShape& shape, const CostContext& cost);
double workDisseminationBarrier(const CollectiveShape& shape, const CostContext& cost);

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
  CostFunction predict;
  WorkFunction work;
  PeerMemoryUse peerMemory = PeerMemoryUse::None;
};

const std::vector<AlgorithmEntry>& algorithmRegistry();

// "ring, recursive_doubling, ..." (each name once).
std::string algorithmNames();

}  // namespace strata
