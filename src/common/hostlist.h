// Slurm hostlist expressions: "node[01-16,20],login1,rack[1-2]-gpu[1-4]". Brackets hold comma
// lists of numbers and ranges; a range keeps the zero padding of its lower bound (01-16 gives
// node01 ... node16); several bracket groups in one name expand as a cartesian product, left to
// right; commas outside brackets separate names. Used by Slurm launch (first node of the step)
// and by the topology.conf parser.
#pragma once

#include <string>
#include <vector>

#include "src/common/status.h"

namespace strata {

// How much one expansion may produce, checked before anything is built, so memory stays bounded
// whatever the input: a typo like node[1-99999999] is an error, not an out-of-memory. The
// defaults follow Slurm's own limit of 64 Ki hosts for one hostlist.
struct HostlistLimits {
  size_t names = size_t{1} << 16;
  size_t bytes = size_t{4} << 20;  // characters of all names together
};

// The names, in order. A malformed expression, or one beyond the limits, is strataInvalidArgument
// saying what and where.
Result<std::vector<std::string>> expandHostlist(const std::string& expression, const HostlistLimits& limits = {});

}  // namespace strata
