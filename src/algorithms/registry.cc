#include <set>

#include "src/algorithms/algorithms.h"

namespace strata {

const char* collectiveName(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::AllReduce: return "allreduce";
    case CollectiveKind::Broadcast: return "broadcast";
    case CollectiveKind::Reduce: return "reduce";
    case CollectiveKind::AllGather: return "allgather";
    case CollectiveKind::ReduceScatter: return "reducescatter";
    case CollectiveKind::AllToAll: return "alltoall";
    case CollectiveKind::AllToAllv: return "alltoallv";
    case CollectiveKind::Gather: return "gather";
    case CollectiveKind::Scatter: return "scatter";
    case CollectiveKind::Barrier: return "barrier";
  }
  return "?";
}

const std::vector<AlgorithmEntry>& algorithmRegistry() {
  static const std::vector<AlgorithmEntry> registry = {
      {"ring", CollectiveKind::AllReduce, planRingAllReduce, costRingAllReduce, workRingAllReduce},
      {"hierarchical", CollectiveKind::AllReduce, planHierarchicalAllReduce, costHierarchicalAllReduce, workHierarchicalAllReduce},
      {"flat_ring", CollectiveKind::AllReduce, planFlatRingAllReduce, costFlatRingAllReduce, workFlatRingAllReduce},
      {"rabenseifner", CollectiveKind::AllReduce, planRabenseifnerAllReduce, costRabenseifnerAllReduce, workRabenseifnerAllReduce},
      {"tree", CollectiveKind::AllReduce, planTreeAllReduce, costTreeAllReduce, workTreeAllReduce},
      {"recursive_doubling", CollectiveKind::AllReduce, planRecursiveDoublingAllReduce, costRecursiveDoublingAllReduce, workRecursiveDoublingAllReduce},
      {"one_shot", CollectiveKind::AllReduce, planOneShotAllReduce, costOneShotAllReduce, workOneShotAllReduce, PeerMemoryUse::WholeMessage},
      {"two_shot", CollectiveKind::AllReduce, planTwoShotAllReduce, costTwoShotAllReduce, workTwoShotAllReduce, PeerMemoryUse::Chunked},
      {"chain", CollectiveKind::Broadcast, planChainBroadcast, costChainBroadcast, workChainBroadcast},
      {"hierarchical", CollectiveKind::Broadcast, planHierarchicalBroadcast, costHierarchicalBroadcast, workHierarchicalBroadcast},
      {"chain", CollectiveKind::Reduce, planChainReduce, costChainReduce, workChainReduce},
      {"ring", CollectiveKind::AllGather, planRingAllGather, costRingAllGather, workRingAllGather},
      {"recursive_doubling", CollectiveKind::AllGather, planRecursiveDoublingAllGather, costRecursiveDoublingAllGather, workRecursiveDoublingAllGather},
      {"hierarchical", CollectiveKind::AllGather, planHierarchicalAllGather, costHierarchicalAllGather, workHierarchicalAllGather},
      {"ring", CollectiveKind::ReduceScatter, planRingReduceScatter, costRingReduceScatter, workRingReduceScatter},
      {"hierarchical", CollectiveKind::ReduceScatter, planHierarchicalReduceScatter, costHierarchicalReduceScatter, workHierarchicalReduceScatter},
      {"pairwise", CollectiveKind::AllToAll, planPairwiseAllToAll, costPairwiseAllToAll, workPairwiseAllToAll},
      {"pairwise", CollectiveKind::AllToAllv, planPairwiseAllToAll, costPairwiseAllToAll, workPairwiseAllToAll},
      {"direct", CollectiveKind::Gather, planDirectGather, costDirectGather, workDirectGather},
      {"direct", CollectiveKind::Scatter, planDirectScatter, costDirectScatter, workDirectScatter},
      {"dissemination", CollectiveKind::Barrier, planDisseminationBarrier, costDisseminationBarrier, workDisseminationBarrier},
  };
  return registry;
}

std::string algorithmNames() {
  std::set<std::string> seen;
  std::string names;
  for (const AlgorithmEntry& e : algorithmRegistry()) {
    if (!seen.insert(e.name).second) continue;
    if (!names.empty()) names += ", ";
    names += e.name;
  }
  return names;
}

}  // namespace strata
