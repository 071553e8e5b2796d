#include "src/algorithms/tiers.h"

namespace strata {

bool isUniform(const Hierarchy& h) {
  for (const HostGroup& host : h.hosts()) {
    if (host.ranks.size() != h.hosts().front().ranks.size()) return false;
  }
  for (const RackGroup& rack : h.racks()) {
    if (rack.hosts.size() != h.racks().front().hosts.size()) return false;
  }
  return true;
}

// O(ranks per host + hosts per rack + racks): the hierarchy knows every index already.
Tiers tiersOf(const Hierarchy& h, int rank) {
  Tiers t;
  const int hostIndex = h.hostOf(rank);
  const HostGroup& host = h.hosts()[static_cast<size_t>(hostIndex)];
  const RackGroup& rack = h.racks()[static_cast<size_t>(host.rack)];
  const auto local = static_cast<size_t>(h.indexInHost(rank));
  const int hostInRack = h.indexInRack(hostIndex);
  t.host = {host.ranks, static_cast<int>(local)};
  t.rack.members.reserve(rack.hosts.size());
  for (int other : rack.hosts) t.rack.members.push_back(h.hosts()[static_cast<size_t>(other)].ranks[local]);
  t.rack.me = hostInRack;
  t.top.members.reserve(h.racks().size());
  for (const RackGroup& other : h.racks()) {
    t.top.members.push_back(h.hosts()[static_cast<size_t>(other.hosts[static_cast<size_t>(hostInRack)])].ranks[local]);
  }
  t.top.me = host.rack;
  return t;
}

// Each rank's successor in its group of the tier, found from the indices directly (O(ranks)):
// host tier, the next rank of the host; rack tier, the same-position rank of the rack's next host;
// top tier, the same-position rank of the next rack's same-position host.
std::vector<std::pair<int, int>> tierEdges(const Hierarchy& h, int tier) {
  std::vector<std::pair<int, int>> edges;
  const auto& hosts = h.hosts();
  const auto& racks = h.racks();
  const size_t racksCount = racks.size();
  for (size_t rackIndex = 0; rackIndex < racksCount; ++rackIndex) {
    const std::vector<int>& rackHosts = racks[rackIndex].hosts;
    for (size_t j = 0; j < rackHosts.size(); ++j) {
      const std::vector<int>& ranks = hosts[static_cast<size_t>(rackHosts[j])].ranks;
      for (size_t l = 0; l < ranks.size(); ++l) {
        int next;
        if (tier == 0) {
          if (ranks.size() < 2) continue;
          next = ranks[(l + 1) % ranks.size()];
        } else if (tier == 1) {
          if (rackHosts.size() < 2) continue;
          next = hosts[static_cast<size_t>(rackHosts[(j + 1) % rackHosts.size()])].ranks[l];
        } else {
          if (racksCount < 2) continue;
          const RackGroup& nextRack = racks[(rackIndex + 1) % racksCount];
          next = hosts[static_cast<size_t>(nextRack.hosts[j])].ranks[l];
        }
        edges.emplace_back(ranks[l], next);
      }
    }
  }
  return edges;
}

}  // namespace strata
