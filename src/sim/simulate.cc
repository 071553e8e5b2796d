#include "src/sim/simulate.h"

#include <cstring>

#include "src/algorithms/selection.h"
#include "src/sim/aggregated.h"
#include "src/sim/replay.h"

namespace strata::sim {

std::vector<Candidate> allReduceCandidates(const Hierarchy& hierarchy, const std::vector<int>& hostsOnlyRing) {
  std::vector<Candidate> out;
  std::vector<int> rankOrder(static_cast<size_t>(hierarchy.nranks()));
  for (int r = 0; r < hierarchy.nranks(); ++r) rankOrder[static_cast<size_t>(r)] = r;
  for (const AlgorithmEntry& e : algorithmRegistry()) {
    if (e.kind != CollectiveKind::AllReduce || e.peerMemory != PeerMemoryUse::None) continue;
    const bool blind = std::strcmp(e.name, "flat_ring") == 0;
    out.push_back({e.name, &e, blind ? rankOrder : hierarchy.ring(), std::strcmp(e.name, "tree") == 0});
    if (std::strcmp(e.name, "ring") == 0) out.push_back({"nccl_like_ring", &e, hostsOnlyRing, false});
  }
  return out;
}

Result<Outcome> simulate(const Network& network, const Candidate& candidate, const CollectiveShape& shape, Mode mode) {
  const Hierarchy& h = network.hierarchy();
  const int n = h.nranks();
  // One topology for every rank (its ring and positions are O(n) to build): only `rank` changes.
  PlanTopology topo = PlanTopology::withRing(0, candidate.ring);
  topo.hierarchy = &h;
  auto planOf = [&](int rank) {
    topo.rank = rank;
    return candidate.entry->generate(shape, topo);
  };
  if (mode == Mode::Exact || (mode == Mode::Auto && n <= kExactRanksLimit)) {
    std::vector<Plan> plans;
    plans.reserve(static_cast<size_t>(n));
    for (int r = 0; r < n; ++r) plans.push_back(planOf(r));
    return replayExactly(network, plans);
  }
  return replayAggregated(network, classifyRanks(network, candidate.ring, candidate.byIndexInRack), planOf);
}

std::string tunerChoice(const Network& network, const CostModel& model, const CollectiveShape& shape) {
  PlanTopology ring = PlanTopology::withRing(0, network.hierarchy().ring());
  ring.hierarchy = &network.hierarchy();
  CostContext cost;
  cost.hierarchy = &network.hierarchy();
  cost.model = &model;
  cost.topology = &ring;
  const AlgorithmEntry* chosen = AlgorithmSelector::cheapest(shape, cost, 0).first;
  return chosen != nullptr ? chosen->name : "";
}

}  // namespace strata::sim
