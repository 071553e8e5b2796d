#include "hierarchy.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace strata {
namespace {

// Lexicographic key of a rank's place: switches from the top, then the host. Groups sharing a
// prefix are contiguous once sorted by (prefix, lowest rank in the group) at every level.
struct Node {
  std::map<std::string, Node> children;
  int lowestRank = 1 << 30;
  std::vector<int> ranks;  // leaves: the ranks of one host
};

void insert(Node& root, const std::vector<std::string>& path, int rank) {
  Node* node = &root;
  node->lowestRank = std::min(node->lowestRank, rank);
  for (const std::string& step : path) {
    node = &node->children[step];
    node->lowestRank = std::min(node->lowestRank, rank);
  }
  node->ranks.push_back(rank);
}

template <typename Visit>
void walk(const Node& node, std::vector<std::string>& path, const Visit& visit) {
  if (!node.ranks.empty()) visit(path, node.ranks);
  std::vector<std::pair<int, const std::string*>> order;
  for (const auto& [name, child] : node.children) order.emplace_back(child.lowestRank, &name);
  std::sort(order.begin(), order.end());
  for (const auto& [lowest, name] : order) {
    path.push_back(*name);
    walk(node.children.at(*name), path, visit);
    path.pop_back();
  }
}

}  // namespace

Hierarchy::Hierarchy(const std::vector<RankPlacement>& placements) {
  const int n = static_cast<int>(placements.size());
  hostOfRank_.assign(static_cast<size_t>(n), 0);
  indexInHost_.assign(static_cast<size_t>(n), 0);
  Node root;
  for (int r = 0; r < n; ++r) {
    const RankPlacement& p = placements[static_cast<size_t>(r)];
    std::vector<std::string> path = p.switches;
    path.push_back("\x01host:" + p.hostKey);  // marks the host level; cannot collide with a switch name
    insert(root, path, r);
    switchDepth_ = std::max(switchDepth_, static_cast<int>(p.switches.size()));
  }
  std::map<std::vector<std::string>, int> rackIndex;
  std::vector<std::string> path;
  walk(root, path, [&](const std::vector<std::string>& where, const std::vector<int>& members) {
    std::vector<std::string> switches(where.begin(), where.end() - 1);
    auto [it, isNew] = rackIndex.emplace(switches, static_cast<int>(racks_.size()));
    if (isNew) racks_.push_back({switches.empty() ? "" : switches.back(), switches, {}});
    HostGroup host;
    host.hostname = placements[static_cast<size_t>(members.front())].hostname;
    host.ranks = members;
    std::stable_sort(host.ranks.begin(), host.ranks.end(), [&](int a, int b) {
      return placements[static_cast<size_t>(a)].localOrder < placements[static_cast<size_t>(b)].localOrder;
    });
    host.rack = it->second;
    std::vector<int>& rackHosts = racks_[static_cast<size_t>(host.rack)].hosts;
    indexInRack_.push_back(static_cast<int>(rackHosts.size()));
    rackHosts.push_back(static_cast<int>(hosts_.size()));
    largestHost_ = std::max(largestHost_, static_cast<int>(host.ranks.size()));
    for (size_t i = 0; i < host.ranks.size(); ++i) {
      const int r = host.ranks[i];
      hostOfRank_[static_cast<size_t>(r)] = static_cast<int>(hosts_.size());
      indexInHost_[static_cast<size_t>(r)] = static_cast<int>(i);
      ring_.push_back(r);
    }
    hosts_.push_back(std::move(host));
  });
  std::map<std::vector<std::string>, int> podIndex;
  for (const RackGroup& rack : racks_) {
    std::vector<std::string> above(rack.switches.begin(), rack.switches.end() - (rack.switches.empty() ? 0 : 1));
    auto [it, isNew] = podIndex.emplace(above, podCount_);
    if (isNew) {
      ++podCount_;
      racksInPod_.push_back(0);
    }
    podOfRack_.push_back(it->second);
    ++racksInPod_[static_cast<size_t>(it->second)];
  }
}

std::string Hierarchy::summary() const {
  std::string text;
  if (switchDepth_ > 0) {
    text += std::to_string(racks_.size()) + (racks_.size() == 1 ? " rack (" : " racks (");
    for (size_t i = 0; i < racks_.size(); ++i) {
      if (i > 0) text += ", ";
      std::string path;
      for (const std::string& s : racks_[i].switches) path += (path.empty() ? "" : "/") + s;
      text += path + ": " + std::to_string(racks_[i].hosts.size()) + (racks_[i].hosts.size() == 1 ? " host" : " hosts");
    }
    text += "), ";
  }
  text += std::to_string(hosts_.size()) + (hosts_.size() == 1 ? " host, " : " hosts, ");
  text += std::to_string(nranks()) + (nranks() == 1 ? " rank" : " ranks");
  return text;
}

std::string Hierarchy::describeRing() const {
  std::string text;
  for (size_t i = 0; i < ring_.size(); ++i) {
    if (i > 0) {
      int before = hostOf(ring_[i - 1]), now = hostOf(ring_[i]);
      if (hosts_[static_cast<size_t>(before)].rack != hosts_[static_cast<size_t>(now)].rack) {
        text += " ||";
      } else if (before != now) {
        text += " |";
      }
      text += " ";
    }
    text += std::to_string(ring_[i]);
  }
  return text;
}

Hierarchy flatHierarchy(int nranks) {
  std::vector<RankPlacement> placements(static_cast<size_t>(nranks));
  for (int r = 0; r < nranks; ++r) placements[static_cast<size_t>(r)] = {"local", "localhost", {}, r};
  return Hierarchy(placements);
}

}  // namespace strata
