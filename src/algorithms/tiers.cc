#include "src/algorithms/tiers.h"

#include <algorithm>

namespace strata {
namespace {

int indexOf(const std::vector<int>& list, int value) {
  return static_cast<int>(std::find(list.begin(), list.end(), value) - list.begin());
}

}  // namespace

bool isUniform(const Hierarchy& h) {
  for (const HostGroup& host : h.hosts()) {
    if (host.ranks.size() != h.hosts().front().ranks.size()) return false;
  }
  for (const RackGroup& rack : h.racks()) {
    if (rack.hosts.size() != h.racks().front().hosts.size()) return false;
  }
  return true;
}

Tiers tiersOf(const Hierarchy& h, int rank) {
  Tiers t;
  const int hostIndex = h.hostOf(rank);
  const HostGroup& host = h.hosts()[static_cast<size_t>(hostIndex)];
  const RackGroup& rack = h.racks()[static_cast<size_t>(host.rack)];
  const int local = indexOf(host.ranks, rank);
  const int hostInRack = indexOf(rack.hosts, hostIndex);
  t.host = {host.ranks, local};
  for (int other : rack.hosts) t.rack.members.push_back(h.hosts()[static_cast<size_t>(other)].ranks[static_cast<size_t>(local)]);
  t.rack.me = hostInRack;
  for (size_t r = 0; r < h.racks().size(); ++r) {
    int other = h.racks()[r].hosts[static_cast<size_t>(hostInRack)];
    t.top.members.push_back(h.hosts()[static_cast<size_t>(other)].ranks[static_cast<size_t>(local)]);
    if (static_cast<int>(r) == host.rack) t.top.me = static_cast<int>(r);
  }
  return t;
}

std::vector<std::pair<int, int>> tierEdges(const Hierarchy& h, int tier) {
  std::vector<std::pair<int, int>> edges;
  for (int r = 0; r < h.nranks(); ++r) {
    const Tiers tiers = tiersOf(h, r);
    const RingGroup& g = tiers[tier];
    if (g.size() > 1) edges.emplace_back(r, g.members[static_cast<size_t>((g.me + 1) % g.size())]);
  }
  return edges;
}

}  // namespace strata
