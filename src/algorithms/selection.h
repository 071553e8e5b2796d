// Which algorithm runs a given call. STRATA_ALGO forces choices, NCCL-style: a comma list of names
// ("ring"), optionally per collective ("allreduce:ring;broadcast:chain"). A forced name that does
// not serve a collective leaves that collective on the default rule. Default rule (until the
// cost-model tuner arrives): allreduce up to 64 KiB uses recursive doubling, above it the ring.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "algorithms/algorithms.h"
#include "common/status.h"

namespace strata {

class AlgorithmSelector {
 public:
  // Fails with strataInvalidArgument naming the unknown word and the algorithms that exist.
  static Result<AlgorithmSelector> parse(const std::string& spec);

  const AlgorithmEntry& choose(const CollectiveShape& shape, int nranks) const;

 private:
  // Per collective, the forced names in order of preference (empty: default rule).
  std::map<CollectiveKind, std::vector<std::string>> forced_;
  std::vector<std::string> forcedForAll_;
};

}  // namespace strata
