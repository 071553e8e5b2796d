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
      {"ring", CollectiveKind::AllReduce, planRingAllReduce, costRingAllReduce},
      {"hierarchical", CollectiveKind::AllReduce, planHierarchicalAllReduce, costHierarchicalAllReduce},
      {"flat_ring", CollectiveKind::AllReduce, planFlatRingAllReduce, costFlatRingAllReduce},
      {"rabenseifner", CollectiveKind::AllReduce, planRabenseifnerAllReduce, costRabenseifnerAllReduce},
      {"tree", CollectiveKind::AllReduce, planTreeAllReduce, costTreeAllReduce},
      {"recursive_doubling", CollectiveKind::AllReduce, planRecursiveDoublingAllReduce, costRecursiveDoublingAllReduce},
      {"one_shot", CollectiveKind::AllReduce, planOneShotAllReduce, costOneShotAllReduce, PeerMemoryUse::WholeMessage},
      {"two_shot", CollectiveKind::AllReduce, planTwoShotAllReduce, costTwoShotAllReduce, PeerMemoryUse::Chunked},
      {"chain", CollectiveKind::Broadcast, planChainBroadcast, costChainBroadcast},
      {"hierarchical", CollectiveKind::Broadcast, planHierarchicalBroadcast, costHierarchicalBroadcast},
      {"chain", CollectiveKind::Reduce, planChainReduce, costChainReduce},
      {"ring", CollectiveKind::AllGather, planRingAllGather, costRingAllGather},
      {"recursive_doubling", CollectiveKind::AllGather, planRecursiveDoublingAllGather, costRecursiveDoublingAllGather},
      {"hierarchical", CollectiveKind::AllGather, planHierarchicalAllGather, costHierarchicalAllGather},
      {"ring", CollectiveKind::ReduceScatter, planRingReduceScatter, costRingReduceScatter},
      {"hierarchical", CollectiveKind::ReduceScatter, planHierarchicalReduceScatter, costHierarchicalReduceScatter},
      {"pairwise", CollectiveKind::AllToAll, planPairwiseAllToAll, costPairwiseAllToAll},
      {"pairwise", CollectiveKind::AllToAllv, planPairwiseAllToAll, costPairwiseAllToAll},
      {"direct", CollectiveKind::Gather, planDirectGather, costDirectGather},
      {"direct", CollectiveKind::Scatter, planDirectScatter, costDirectScatter},
      {"dissemination", CollectiveKind::Barrier, planDisseminationBarrier, costDisseminationBarrier},
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
