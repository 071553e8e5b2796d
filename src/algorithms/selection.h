// Which algorithm runs a given call: the tuner predicts every algorithm that can run here for the
// call's collective and size on this communicator's hierarchy (cost.h) and takes the cheapest;
// predictions within 1 % of each other are a tie, which the least per-message work breaks
// (message_work.h).
// STRATA_ALGO forces choices, NCCL-style: a comma list of names ("ring"), optionally per collective
// ("allreduce:ring;broadcast:chain"). A forced name that does not serve a collective (or cannot
// run here) leaves that collective to the tuner.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "src/algorithms/algorithms.h"
#include "src/common/status.h"

namespace strata {

class AlgorithmSelector {
 public:
  // Fails with strataInvalidArgument naming the unknown word and the algorithms that exist.
  static Result<AlgorithmSelector> parse(const std::string& spec);

  // `oneShotBytes`: the largest message a whole-message peer-memory algorithm may take (0: none);
  // chunked peer-memory algorithms run when `shape.windowBytes` > 0. Null when no algorithm
  // serves the shape (a collective kind the registry does not know): never a silent substitute.
  const AlgorithmEntry* choose(const CollectiveShape& shape, const CostContext& cost, size_t oneShotBytes = 0) const;

  // The tuner alone (no forcing): the cheapest runnable algorithm (ties broken as above) and its
  // predicted seconds (0 when only one can run: nothing is predicted then).
  static std::pair<const AlgorithmEntry*, double> cheapest(const CollectiveShape& shape, const CostContext& cost,
                                                           size_t oneShotBytes);
  static bool runsHere(const AlgorithmEntry& e, const CollectiveShape& shape, size_t oneShotBytes);

 private:
  // Per collective, the forced names in order of preference (empty: default rule).
  std::map<CollectiveKind, std::vector<std::string>> forced_;
  std::vector<std::string> forcedForAll_;
};

}  // namespace strata
