// What strata-sim runs: an allreduce algorithm's plans on a modelled network, exactly (every
// message) or aggregated (aggregated.h), and the tuner's choice among them.
#pragma once

#include <string>
#include <vector>

#include "src/algorithms/algorithms.h"
#include "src/common/status.h"
#include "src/sim/network.h"
#include "src/sim/outcome.h"

namespace strata::sim {

enum class Mode { Auto, Exact, Aggregated };
// Auto replays exactly up to this many ranks, aggregated beyond.
constexpr int kExactRanksLimit = 256;

// A plan generator and the ring order it is given.
struct Candidate {
  std::string name;              // registry name, or "nccl_like_ring"
  const AlgorithmEntry* entry = nullptr;
  std::vector<int> ring;         // ring positions the generator works on
  bool byIndexInRack = false;    // aggregated: its roles depend on a host's index in the rack (trees)
};

// Every allreduce algorithm that runs over a network (no peer memory), on Strata's own ring, plus
// the topology-blind orders: flat_ring (rank order) and nccl_like_ring (hosts in first-rank
// order, no racks: `hostsOnlyRing`).
std::vector<Candidate> allReduceCandidates(const Hierarchy& hierarchy, const std::vector<int>& hostsOnlyRing);

Result<Outcome> simulate(const Network& network, const Candidate& candidate, const CollectiveShape& shape, Mode mode);

// The tuner's pick for `shape` on this network's hierarchy and `model` (the cost model the
// network's rates came from), by registry name.
std::string tunerChoice(const Network& network, const CostModel& model, const CollectiveShape& shape);

}  // namespace strata::sim
