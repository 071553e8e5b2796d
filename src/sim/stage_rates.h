// The flows of one stage index in the aggregated replay (aggregated.h): every class's messages of
// that stage grouped by the levels they cross and their size, and when each group is done when
// they share the links max-min fairly.
#pragma once

#include <tuple>
#include <vector>

#include "src/sim/max_min.h"
#include "src/sim/network.h"

namespace strata::sim {

// w flows of one size crossing the same levels, from every class's stage s together.
struct Group {
  Reach reach;
  double bytes;
  double flows;
  bool operator<(const Group& o) const { return std::tie(reach, bytes, flows) < std::tie(o.reach, o.bytes, o.flows); }
};

// The groups of one stage index, over every class.
struct StageGroups {
  std::vector<Group> groups;
  bool operator<(const StageGroups& o) const { return groups < o.groups; }
  void add(Reach reach, double bytes, double flows) {
    for (Group& g : groups) {
      if (g.reach == reach && g.bytes == bytes) {
        g.flows += flows;
        return;
      }
    }
    groups.push_back({reach, bytes, flows});
  }
};

// The flows of one stage index: its groups start after their alpha, share the link classes
// max-min fairly, and a group that finishes leaves its links to the others.
class StageTimer {
 public:
  explicit StageTimer(const Network& net) : net_(net) {
    for (int c = 0; c < kLinkClasses; ++c) capacity_.push_back(net.meanCapacity(static_cast<LinkClass>(c)));
  }

  // When each group's last flow arrives, from the stage's start.
  std::vector<double> groupEnds(const std::vector<Group>& groups);

 private:
  std::vector<double> ratesOf(const std::vector<Group>& groups, const std::vector<size_t>& active);

  const Network& net_;
  std::vector<double> capacity_;
  std::vector<LinkUse> uses_;
  std::vector<FlowRoute> routes_;
  MaxMinSolver solver_;
};

}  // namespace strata::sim
