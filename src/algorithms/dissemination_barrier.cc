// Dissemination barrier: in round k every rank signals rank + 2^k and waits for rank - 2^k; after
// ceil(log2 n) rounds everyone has heard, transitively, from everyone. Cost: ceil(log2 n)·alpha.
// One byte per signal, because a zero-byte message would carry no synchronisation.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {

Plan planDisseminationBarrier(const CollectiveShape& /*shape*/, const PlanTopology& topo) {
  const int rank = topo.rank;
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "dissemination barrier";
  plan.scratchBytes = 2;
  for (int distance = 1; distance < nranks; distance *= 2) {
    Stage& stage = plan.newStage();
    Plan::send(stage, modRank(rank + distance, nranks), {kScratchBuffer, 0}, 1);
    Plan::recv(stage, modRank(rank - distance, nranks), {kScratchBuffer, 1}, 1);
  }
  return plan;
}

double costDisseminationBarrier(const CollectiveShape& /*shape*/, const CostContext& cost) {
  const int n = cost.nranks();
  double seconds = 0;
  for (int distance = 1; distance < n; distance *= 2) {
    std::vector<std::pair<int, int>> pairs;
    for (int r = 0; r < n; ++r) pairs.emplace_back(r, (r + distance) % n);
    seconds += cost.stepSeconds(pairs, 1);
  }
  return seconds;
}

// Work: each round, every rank signals the rank `distance` after it (in rank order).
double workDisseminationBarrier(const CollectiveShape& /*shape*/, const CostContext& cost) {
  const int n = cost.nranks();
  double work = 0;
  for (int distance = 1; distance < n; distance *= 2) {
    for (int r = 0; r < n; ++r) work += cost.linkAlphaSeconds(r, (r + distance) % n);
  }
  return work;
}

}  // namespace strata
