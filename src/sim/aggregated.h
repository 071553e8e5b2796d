// Aggregated replay, for clusters where every message cannot be simulated (a 1 GiB ring over
// 32768 ranks sends ~2·10⁹ of them). Ranks in the same role (place in host, rack and pod, how far
// their ring neighbours are) run plans alike: one representative's plan, made by the real
// generator, stands for its class, and the replay follows the representatives only:
// - Rates: the flows of stage s of every class, grouped by the levels they cross and their size
//   (w flows of a group spread evenly over a class of N links: ceil(w / N) on each link in use),
//   share the links max-min fairly as in the exact replay; stages with identical groups are
//   solved once.
// - Time: each class's stages run one after another as the executor runs them. A message from a
//   rank of class q was sent when q's representative reached the stage in which it sends to that
//   class (the k-th such stage for the k-th message), leaves after its alpha, follows the
//   messages before it on its stream, and takes its group's transfer time. Sends are done once
//   what is left fits the send buffer. So classes drift apart and overlap as the exact replay's
//   ranks do, instead of waiting for each other at every stage.
// Exact on symmetric plans over a uniform fat tree up to the rates' stage grouping; checked
// against the exact replay up to 256 ranks (tests, strata-sim --compare-exact).
#pragma once

#include <functional>
#include <vector>

#include "src/algorithms/plan.h"
#include "src/common/status.h"
#include "src/sim/network.h"
#include "src/sim/outcome.h"

namespace strata::sim {

struct RankClasses {
  std::vector<int> representative;  // lowest rank of each class
  std::vector<double> members;      // ranks in each class
  std::vector<int> classOf;         // by rank
};

// Classes of ranks that behave alike. `ring` is the ring order the plans use (positions);
// `byIndexInRack` also tells apart hosts by their index in the rack and racks by theirs in the
// pod (trees, whose shape depends on both): a class per host and local rank on one pod, so trees
// over thousands of hosts are slow to aggregate (README, "Scale simulator").
RankClasses classifyRanks(const Network& network, const std::vector<int>& ring, bool byIndexInRack);

using PlanOfRank = std::function<Plan(int rank)>;

Result<Outcome> replayAggregated(const Network& network, const RankClasses& classes, const PlanOfRank& planOf);

}  // namespace strata::sim
