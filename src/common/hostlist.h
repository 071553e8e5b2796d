// Slurm hostlist expressions: "node[01-16,20],login1,rack[1-2]-gpu[1-4]". Brackets hold comma
// lists of numbers and ranges; a range keeps the zero padding of its lower bound (01-16 gives
// node01 ... node16); several bracket groups in one name expand as a cartesian product, left to
// right; commas outside brackets separate names. Used by Slurm launch (first node of the step)
// and by the topology.conf parser.
#pragma once

#include <string>
#include <vector>

#include "common/status.h"

namespace strata {

// Largest number of names one expression may expand to (a typo like node[1-99999999] is an error,
// not an out-of-memory).
constexpr size_t kMaxHostlistNames = 1 << 20;

// The names, in order. A malformed expression is strataInvalidArgument saying what and where.
Result<std::vector<std::string>> expandHostlist(const std::string& expression);

}  // namespace strata
