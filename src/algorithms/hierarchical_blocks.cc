// Hierarchical allgather and reduce-scatter. Their buffers hold one block per rank, so a tier's
// chunks are sets of blocks: after the top tier a rank holds the blocks of its top group (the
// same-position ranks of every rack), after the rack tier those of its rack group's top groups,
// after the host tier all. Allgather climbs top -> rack -> host (each uplink carries a block of
// every rank of the other racks exactly once); reduce-scatter runs host -> rack -> top on partial
// sums kept in scratch, so each tier sends only the sums the next tier needs.
// Cost: per tier, (m-1) ring steps of that tier's set size in blocks. Needs a uniform hierarchy;
// elsewhere the ring algorithms run.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/tiers.h"

namespace strata {
namespace {

using BlockSet = std::vector<int>;  // ranks whose blocks

// The set member `rank` of a tier contributes: tier 2 (top) its own block; tier 1 (rack) the
// blocks of its top group; tier 0 (host) the union over its rack group of their top groups (the
// ranks at its position in its host, in every host at the same position in any rack).
BlockSet contribution(const Hierarchy& h, int rank, int tier) {
  if (tier == 2) return {rank};
  const Tiers t = tiersOf(h, rank);
  if (tier == 1) return t.top.members;
  const auto local = static_cast<size_t>(h.indexInHost(rank));
  BlockSet set;
  set.reserve(t.rack.members.size() * h.racks().size());
  for (int peer : t.rack.members) {
    const auto inRack = static_cast<size_t>(h.indexInRack(h.hostOf(peer)));
    for (const RackGroup& rack : h.racks()) set.push_back(h.hosts()[static_cast<size_t>(rack.hosts[inRack])].ranks[local]);
  }
  return set;
}

BufferSlice blockAt(uint16_t buffer, int rank, size_t blockBytes) {
  return {buffer, static_cast<size_t>(rank) * blockBytes};
}

}  // namespace

Plan planHierarchicalAllGather(const CollectiveShape& shape, const PlanTopology& topo) {
  if (topo.hierarchy == nullptr || !isUniform(*topo.hierarchy)) return planRingAllGather(shape, topo);
  const Hierarchy& h = *topo.hierarchy;
  Plan plan;
  plan.algorithm = "hierarchical allgather";
  const size_t blockBytes = shape.bytes();
  Plan::copy(plan.newStage(), blockAt(kRecvBuffer, topo.rank, blockBytes), {kSendBuffer, 0}, blockBytes);
  const Tiers tiers = tiersOf(h, topo.rank);
  for (int tier : {2, 1, 0}) {
    const RingGroup& g = tiers[tier];
    const int m = g.size();
    const int right = g.members[static_cast<size_t>((g.me + 1) % m)];
    const int left = g.members[static_cast<size_t>((g.me + m - 1) % m)];
    for (int s = 0; s < m - 1; ++s) {
      Stage& stage = plan.newStage();
      for (int b : contribution(h, g.members[static_cast<size_t>(modRank(g.me - s, m))], tier)) {
        Plan::send(stage, right, blockAt(kRecvBuffer, b, blockBytes), blockBytes);
      }
      for (int b : contribution(h, g.members[static_cast<size_t>(modRank(g.me - s - 1, m))], tier)) {
        Plan::recv(stage, left, blockAt(kRecvBuffer, b, blockBytes), blockBytes);
      }
    }
  }
  plan.compact();
  return plan;
}

Plan planHierarchicalReduceScatter(const CollectiveShape& shape, const PlanTopology& topo) {
  if (topo.hierarchy == nullptr || !isUniform(*topo.hierarchy)) return planRingReduceScatter(shape, topo);
  const Hierarchy& h = *topo.hierarchy;
  Plan plan;
  plan.algorithm = "hierarchical reduce-scatter";
  const size_t blockBytes = shape.bytes();
  plan.scratchBytes = blockBytes * static_cast<size_t>(topo.nranks);  // partial sums, one slot per block
  const Tiers tiers = tiersOf(h, topo.rank);
  uint16_t input = kSendBuffer;
  for (int tier : {0, 1, 2}) {
    const RingGroup& g = tiers[tier];
    const int m = g.size();
    if (m == 1) continue;
    const int right = g.members[static_cast<size_t>((g.me + 1) % m)];
    const int left = g.members[static_cast<size_t>((g.me + m - 1) % m)];
    // Step s passes on the partial of member (me-s-1)'s set and folds member (me-s-2)'s: after
    // m-1 steps this rank holds the tier's sum for its own set.
    for (int s = 0; s < m - 1; ++s) {
      Stage& stage = plan.newStage();
      for (int b : contribution(h, g.members[static_cast<size_t>(modRank(g.me - s - 1, m))], tier)) {
        Plan::send(stage, right, blockAt(s == 0 ? input : uint16_t{kScratchBuffer}, b, blockBytes), blockBytes);
      }
      for (int b : contribution(h, g.members[static_cast<size_t>(modRank(g.me - s - 2, m))], tier)) {
        Plan::recvReduce(stage, left, blockAt(kScratchBuffer, b, blockBytes), blockAt(input, b, blockBytes), blockBytes);
      }
    }
    input = kScratchBuffer;
  }
  Plan::copy(plan.newStage(), {kRecvBuffer, 0}, blockAt(input, topo.rank, blockBytes), blockBytes);
  plan.compact();
  return plan;
}

namespace {

double tieredBlocksCost(const CollectiveShape& shape, const CostContext& cost, bool reduces) {
  const Hierarchy& h = *cost.hierarchy;
  const double block = static_cast<double>(shape.bytes());
  double seconds = 0;
  for (int tier = 0; tier < 3; ++tier) {
    const int m = tiersOf(h, 0)[tier].size();
    if (m == 1) continue;
    const double setBytes = block * static_cast<double>(contribution(h, 0, tier).size());
    seconds += (m - 1) * (cost.stepSeconds(tierEdges(h, tier), setBytes) + (reduces ? cost.reduceSeconds(setBytes) : 0));
  }
  return seconds + cost.copySeconds(block);
}

}  // namespace

double costHierarchicalAllGather(const CollectiveShape& shape, const CostContext& cost) {
  if (!isUniform(*cost.hierarchy)) return costRingAllGather(shape, cost);
  return tieredBlocksCost(shape, cost, false);
}

double costHierarchicalReduceScatter(const CollectiveShape& shape, const CostContext& cost) {
  if (!isUniform(*cost.hierarchy)) return costRingReduceScatter(shape, cost);
  return tieredBlocksCost(shape, cost, true);
}

namespace {

// Per rank: each tier's m - 1 steps send one message per block of a member's contribution.
double tieredBlocksWork(const CollectiveShape& shape, const CostContext& cost) {
  const Hierarchy& h = *cost.hierarchy;
  if (shape.count == 0) return 0;
  const double m0 = static_cast<double>(h.hosts().front().ranks.size());
  const double m1 = static_cast<double>(h.racks().front().hosts.size()), m2 = static_cast<double>(h.racks().size());
  const CostModel& model = *cost.model;
  const double perRank = ((m2 - 1) * model.interRack.alphaUs + (m1 - 1) * m2 * model.net.alphaUs +
                          (m0 - 1) * m1 * m2 * model.shm.alphaUs) * 1e-6;
  return h.nranks() * perRank;
}

}  // namespace

double workHierarchicalAllGather(const CollectiveShape& shape, const CostContext& cost) {
  if (!isUniform(*cost.hierarchy)) return workRingAllGather(shape, cost);
  return tieredBlocksWork(shape, cost);
}

double workHierarchicalReduceScatter(const CollectiveShape& shape, const CostContext& cost) {
  if (!isUniform(*cost.hierarchy)) return workRingReduceScatter(shape, cost);
  return tieredBlocksWork(shape, cost);
}

}  // namespace strata
