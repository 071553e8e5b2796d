// Aggregated replay, for clusters where every message cannot be simulated (a 1 GiB ring over
// 32768 ranks sends ~2·10⁹ of them). Three simplifications, each exact on a uniform fat tree with
// symmetric plans and checked against the exact replay up to 256 ranks (tests, --compare-exact):
// - Ranks in the same role (place in host, rack and pod, and how far their ring neighbours are)
//   run plans alike: one representative's plan, made by the real generator, stands for its class.
// - Stages run in lock step, as the bandwidth algorithms' stages do on a balanced network: stage
//   s of every rank starts when stage s of every rank has finished.
// - A stage's flows that cross the same levels with the same size form one group of w flows;
//   a class of N links carries them spread evenly, ceil(w / N) on each link in use, and groups
//   share the links max-min fairly. Stages with identical groups are simulated once.
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
};

// Classes of ranks that behave alike. `ring` is the ring order the plans use (positions);
// `byIndexInRack` also tells apart hosts by their index in the rack and racks by theirs in the
// pod (trees, whose shape depends on them).
RankClasses classifyRanks(const Network& network, const std::vector<int>& ring, bool byIndexInRack);

using PlanOfRank = std::function<Plan(int rank)>;

Result<Outcome> replayAggregated(const Network& network, const RankClasses& classes, const PlanOfRank& planOf);

}  // namespace strata::sim
