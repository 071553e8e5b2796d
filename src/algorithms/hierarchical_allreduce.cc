// Hierarchical allreduce, one tier per level of the hierarchy: reduce-scatter among the ranks of
// a host (shm), reduce-scatter among the same-position ranks of the hosts of a rack, allreduce
// among the same-position ranks of all racks (the only traffic on the uplinks: 2(R-1)/R of
// S/(k·h) per rank), then allgather back down the tiers. With k ranks per host, h hosts per rack
// and R racks, each uplink carries 2(R-1)/(R·h·k) of what a flat ring puts on it.
// Cost: sum over tiers of (m-1) ring steps of that tier's chunk, twice (down and up), plus the top
// tier's 2(R-1) steps. Needs a uniform hierarchy (every host the same rank count, every rack the
// same host count); elsewhere it runs as the topology ring.
#include "algorithms/algorithms.h"
#include "algorithms/group_ring.h"

namespace strata {
namespace {

struct Tiers {
  RingGroup host, rack, top;
};

bool uniform(const Hierarchy& h) {
  for (const HostGroup& host : h.hosts()) {
    if (host.ranks.size() != h.hosts().front().ranks.size()) return false;
  }
  for (const RackGroup& rack : h.racks()) {
    if (rack.hosts.size() != h.racks().front().hosts.size()) return false;
  }
  return true;
}

int indexOf(const std::vector<int>& list, int value) {
  return static_cast<int>(std::find(list.begin(), list.end(), value) - list.begin());
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

// Every tier's ring edges at once (all groups of that tier run together), for the cost.
std::vector<std::pair<int, int>> tierEdges(const Hierarchy& h, int tier) {
  std::vector<std::pair<int, int>> edges;
  for (int r = 0; r < h.nranks(); ++r) {
    Tiers t = tiersOf(h, r);
    const RingGroup& g = tier == 0 ? t.host : tier == 1 ? t.rack : t.top;
    if (g.size() > 1) edges.emplace_back(r, g.members[static_cast<size_t>((g.me + 1) % g.size())]);
  }
  return edges;
}

}  // namespace

Plan planHierarchicalAllReduce(const CollectiveShape& shape, const PlanTopology& topo) {
  if (topo.hierarchy == nullptr || !uniform(*topo.hierarchy)) return planRingAllReduce(shape, topo);
  Plan plan;
  plan.algorithm = "hierarchical allreduce";
  const Tiers tiers = tiersOf(*topo.hierarchy, topo.rank);
  uint16_t input = kSendBuffer;
  ElementRange range{0, shape.count};
  std::vector<std::pair<const RingGroup*, ElementRange>> climbed;  // tier and the range it split
  for (const RingGroup* tier : {&tiers.host, &tiers.rack}) {
    if (tier->size() == 1) continue;
    appendGroupReduceScatter(plan, shape, *tier, range, input);
    climbed.emplace_back(tier, range);
    range = groupChunk(*tier, range, tier->owned());
    input = kRecvBuffer;
  }
  if (tiers.top.size() > 1) {
    appendGroupReduceScatter(plan, shape, tiers.top, range, input);
    appendGroupAllGather(plan, shape, tiers.top, range);
    input = kRecvBuffer;
  }
  if (input == kSendBuffer) Plan::copy(plan.newStage(), {kRecvBuffer, 0}, {kSendBuffer, 0}, shape.bytes());
  for (auto it = climbed.rbegin(); it != climbed.rend(); ++it) appendGroupAllGather(plan, shape, *it->first, it->second);
  plan.compact();
  return plan;
}

double costHierarchicalAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const Hierarchy& h = *cost.hierarchy;
  if (!uniform(h)) return costRingAllReduce(shape, cost);
  double bytes = static_cast<double>(shape.bytes());
  double seconds = 0;
  const double sizes[3] = {static_cast<double>(h.hosts().front().ranks.size()),
                           static_cast<double>(h.racks().front().hosts.size()), static_cast<double>(h.racks().size())};
  for (int tier = 0; tier < 3; ++tier) {
    const double m = sizes[tier];
    if (m <= 1) continue;
    auto edges = tierEdges(h, tier);
    // Down (reduce-scatter) and up (allgather): (m-1) steps of a 1/m chunk each way.
    seconds += 2 * (m - 1) * cost.stepSeconds(edges, bytes / m) + (m - 1) * cost.reduceSeconds(bytes / m);
    bytes /= m;
  }
  return seconds;
}

}  // namespace strata
