#include "src/sim/stage_rates.h"

#include <cmath>
#include <limits>

namespace strata::sim {

std::vector<double> StageTimer::groupEnds(const std::vector<Group>& groups) {
  const size_t g = groups.size();
  std::vector<double> ends(g, 0.0);
  std::vector<double> remaining(g), start(g);
  std::vector<char> done(g, 0);
  for (size_t i = 0; i < g; ++i) {
    remaining[i] = groups[i].bytes;
    start[i] = net_.rates().alphaSeconds[static_cast<size_t>(groups[i].reach)];
  }
  double now = 0;
  size_t left = g;
  while (left > 0) {
    std::vector<size_t> active;
    for (size_t i = 0; i < g; ++i) {
      if (!done[i] && start[i] <= now) active.push_back(i);
    }
    std::vector<double> rates = ratesOf(groups, active);
    double next = std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < g; ++i) {
      if (!done[i] && start[i] > now) next = std::min(next, start[i]);
    }
    for (size_t a = 0; a < active.size(); ++a) next = std::min(next, now + remaining[active[a]] / rates[a]);
    for (size_t a = 0; a < active.size(); ++a) {
      const size_t i = active[a];
      remaining[i] -= rates[a] * (next - now);
      if (remaining[i] <= 1e-9 * groups[i].bytes + 1e-6) {
        done[i] = 1;
        --left;
        ends[i] = next;
      }
    }
    now = next;
  }
  return ends;
}

std::vector<double> StageTimer::ratesOf(const std::vector<Group>& groups, const std::vector<size_t>& active) {
  // Flows of each class in use, spread evenly: ceil(w / N) per link on the links in use.
  std::array<double, kLinkClasses> flows{};
  for (size_t i : active) {
    for (LinkClass c : Network::classesOf(groups[i].reach)) flows[static_cast<size_t>(c)] += groups[i].flows;
  }
  std::array<double, kLinkClasses> linksInUse{};
  for (int c = 0; c < kLinkClasses; ++c) {
    const double w = flows[static_cast<size_t>(c)];
    if (w <= 0) continue;
    const double perLink = std::ceil(w / net_.linksOf(static_cast<LinkClass>(c)) - 1e-9);
    linksInUse[static_cast<size_t>(c)] = w / perLink;
  }
  uses_.clear();
  routes_.clear();
  for (size_t i : active) {
    for (LinkClass c : Network::classesOf(groups[i].reach)) {
      uses_.push_back({static_cast<int>(c), groups[i].flows / linksInUse[static_cast<size_t>(c)]});
    }
  }
  size_t at = 0;
  for (size_t i : active) {
    const int count = static_cast<int>(Network::classesOf(groups[i].reach).size());
    routes_.push_back({uses_.data() + at, count});
    at += static_cast<size_t>(count);
  }
  // One link of each class stands for the class: a group's load on it is its flows per link
  // in use, so the solved rate is each of its flows' rate.
  std::vector<double> rates;
  solver_.solve(capacity_, routes_, std::numeric_limits<double>::max(), rates);
  return rates;
}

}  // namespace strata::sim
