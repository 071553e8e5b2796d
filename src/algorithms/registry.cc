#include <set>

#include "algorithms/algorithms.h"

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
      {"ring", CollectiveKind::AllReduce, planRingAllReduce},
      {"recursive_doubling", CollectiveKind::AllReduce, planRecursiveDoublingAllReduce},
      {"one_shot", CollectiveKind::AllReduce, planOneShotAllReduce, PeerMemoryUse::WholeMessage},
      {"two_shot", CollectiveKind::AllReduce, planTwoShotAllReduce, PeerMemoryUse::Chunked},
      {"chain", CollectiveKind::Broadcast, planChainBroadcast},
      {"chain", CollectiveKind::Reduce, planChainReduce},
      {"ring", CollectiveKind::AllGather, planRingAllGather},
      {"ring", CollectiveKind::ReduceScatter, planRingReduceScatter},
      {"pairwise", CollectiveKind::AllToAll, planPairwiseAllToAll},
      {"pairwise", CollectiveKind::AllToAllv, planPairwiseAllToAll},
      {"direct", CollectiveKind::Gather, planDirectGather},
      {"direct", CollectiveKind::Scatter, planDirectScatter},
      {"dissemination", CollectiveKind::Barrier, planDisseminationBarrier},
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
