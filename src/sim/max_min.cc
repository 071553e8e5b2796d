#include "src/sim/max_min.h"

#include <algorithm>
#include <limits>

namespace strata::sim {

void MaxMinSolver::solve(const std::vector<double>& capacity, const std::vector<FlowRoute>& flows,
                         double unboundedRate, std::vector<double>& rates) {
  const size_t links = capacity.size();
  rates.assign(flows.size(), unboundedRate);
  remaining_.resize(links);
  load_.assign(links, 0.0);
  flowsOfLinkStart_.assign(links + 1, 0);
  touched_.clear();
  // The links in use, their loads, and which flows cross each (compressed rows).
  for (const FlowRoute& f : flows) {
    for (int u = 0; u < f.count; ++u) {
      const int link = f.uses[u].link;
      if (load_[static_cast<size_t>(link)] == 0 && flowsOfLinkStart_[static_cast<size_t>(link) + 1] == 0) {
        touched_.push_back(link);
      }
      load_[static_cast<size_t>(link)] += f.uses[u].load;
      ++flowsOfLinkStart_[static_cast<size_t>(link) + 1];
    }
  }
  for (size_t l = 0; l < links; ++l) flowsOfLinkStart_[l + 1] += flowsOfLinkStart_[l];
  flowsOfLink_.resize(static_cast<size_t>(flowsOfLinkStart_[links]));
  fill_.assign(flowsOfLinkStart_.begin(), flowsOfLinkStart_.end() - 1);
  for (size_t i = 0; i < flows.size(); ++i) {
    for (int u = 0; u < flows[i].count; ++u) {
      flowsOfLink_[static_cast<size_t>(fill_[static_cast<size_t>(flows[i].uses[u].link)]++)] = static_cast<int>(i);
    }
  }
  for (int link : touched_) remaining_[static_cast<size_t>(link)] = capacity[static_cast<size_t>(link)];
  frozen_.assign(flows.size(), 0);
  // Each round fills to the tightest link's level and freezes the flows crossing it.
  std::vector<int> open = touched_;
  while (!open.empty()) {
    double level = std::numeric_limits<double>::infinity();
    int tightest = -1;
    for (int link : open) {
      const double l = load_[static_cast<size_t>(link)];
      if (l <= 1e-12) continue;
      const double share = std::max(0.0, remaining_[static_cast<size_t>(link)]) / l;
      if (share < level) {
        level = share;
        tightest = link;
      }
    }
    if (tightest < 0) break;
    for (int k = flowsOfLinkStart_[static_cast<size_t>(tightest)]; k < flowsOfLinkStart_[static_cast<size_t>(tightest) + 1]; ++k) {
      const int i = flowsOfLink_[static_cast<size_t>(k)];
      if (frozen_[static_cast<size_t>(i)]) continue;
      frozen_[static_cast<size_t>(i)] = 1;
      rates[static_cast<size_t>(i)] = level;
      for (int u = 0; u < flows[static_cast<size_t>(i)].count; ++u) {
        const LinkUse& use = flows[static_cast<size_t>(i)].uses[u];
        remaining_[static_cast<size_t>(use.link)] -= use.load * level;
        load_[static_cast<size_t>(use.link)] -= use.load;
      }
    }
    load_[static_cast<size_t>(tightest)] = 0;
    open.erase(std::remove_if(open.begin(), open.end(), [&](int link) { return load_[static_cast<size_t>(link)] <= 1e-12; }),
               open.end());
  }
}

}  // namespace strata::sim
