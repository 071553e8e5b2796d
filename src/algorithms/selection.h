// Which algorithm runs a given call. STRATA_ALGO forces choices, NCCL-style: a comma list of names
// ("ring"), optionally per collective ("allreduce:ring;broadcast:chain"). A forced name that does
// not serve a collective (or cannot run here) leaves that collective on the default rule.
// Default rule (until the cost-model tuner arrives), allreduce: where every rank shares the host
// (peer-memory windows), one-shot up to STRATA_ONESHOT_BYTES (with 2 ranks only up to 1 KiB),
// recursive doubling up to 32 KiB, two-shot above; elsewhere recursive doubling up to 64 KiB,
// else the ring.
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

  // `oneShotBytes`: the largest message a whole-message peer-memory algorithm may take (0: none);
  // chunked peer-memory algorithms run when `shape.windowBytes` > 0.
  const AlgorithmEntry& choose(const CollectiveShape& shape, int nranks, size_t oneShotBytes = 0) const;

 private:
  // Per collective, the forced names in order of preference (empty: default rule).
  std::map<CollectiveKind, std::vector<std::string>> forced_;
  std::vector<std::string> forcedForAll_;
};

}  // namespace strata
