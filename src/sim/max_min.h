// Max-min fair rates (progressive filling): every flow's rate grows at the same pace until a
// link it crosses is full; the flows of that link keep the rate they had, the rest grow on.
// No flow can gain without taking from one whose rate is no higher: each link's capacity is
// split equally among the flows it bottlenecks, and what they cannot use goes to the others.
#pragma once

#include <vector>

namespace strata::sim {

// One flow's use of a link. `load` is how many units of the link's capacity the flow's rate
// counts for: 1 for a single message; a group standing for w identical flows spread over N
// links of a class loads each of them w / N times.
struct LinkUse {
  int link = 0;
  double load = 1;
};

struct FlowRoute {
  const LinkUse* uses = nullptr;
  int count = 0;
};

class MaxMinSolver {
 public:
  // Rates (capacity units per second) of `flows` over links of `capacity`; a flow that crosses
  // no link gets `unboundedRate`. Scratch space is kept between calls.
  void solve(const std::vector<double>& capacity, const std::vector<FlowRoute>& flows, double unboundedRate,
             std::vector<double>& rates);

 private:
  std::vector<double> remaining_, load_;
  std::vector<int> touched_, flowsOfLinkStart_, flowsOfLink_, fill_;
  std::vector<char> frozen_;
};

}  // namespace strata::sim
