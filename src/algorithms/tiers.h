// The tiers of a uniform hierarchy as ring groups, for hierarchical algorithms: the ranks of this
// rank's host; the same-position ranks of the hosts of its rack; the same-position ranks (same
// host position in the rack, same local position) of every rack.
#pragma once

#include <utility>
#include <vector>

#include "src/algorithms/group_ring.h"
#include "topology/hierarchy.h"

namespace strata {

struct Tiers {
  RingGroup host, rack, top;
  const RingGroup& operator[](int tier) const { return tier == 0 ? host : tier == 1 ? rack : top; }
};

// Every host has the same number of ranks and every rack the same number of hosts.
bool isUniform(const Hierarchy& h);

Tiers tiersOf(const Hierarchy& h, int rank);

// The ring edges of one tier (0 host, 1 rack, 2 top) for all its groups at once, for costs.
// Needs a uniform hierarchy.
std::vector<std::pair<int, int>> tierEdges(const Hierarchy& h, int tier);

}  // namespace strata
