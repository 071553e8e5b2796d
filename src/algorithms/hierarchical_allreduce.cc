// Hierarchical allreduce, one tier per level of the hierarchy: reduce-scatter among the ranks of
// a host (shm), reduce-scatter among the same-position ranks of the hosts of a rack, allreduce
// among the same-position ranks of all racks (the only traffic on the uplinks: 2(R-1)/R of
// S/(k·h) per rank), then allgather back down the tiers. With k ranks per host, h hosts per rack
// and R racks, each uplink carries 2(R-1)/(R·h·k) of what a flat ring puts on it.
// Cost: per tier, (m-1) ring steps of that tier's chunk down and as many up; large messages run
// as slices pipelined through the tiers, so the slowest tier (the uplinks) sets the pace. Needs a
// uniform hierarchy (every host the same rank count, every rack the
// same host count); elsewhere it runs as the topology ring.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"
#include "src/algorithms/group_ring.h"
#include "src/algorithms/tiers.h"

namespace strata {
namespace {

// Slices of at least kCacheSliceBytes, at most this many, are pipelined through the tiers.
// Stages run in lock step, so the first and last slices leave the uplinks idle, and a long stage
// idles them while its slowest flow finishes: on the emulated cluster (2 racks x 2 hosts) 64 MiB
// took 2.56-2.72 s in 8 slices, 2.29-2.40 s in 32, 2.25 s in 64 (the model's bound: 2.16 s);
// 256 MiB 10.0 s in 64 slices, 9.1 s in 256.
constexpr size_t kMaxSlices = 256;

// The tiers for the elements of `slice`, as a sequence of stages.
std::vector<Stage> sliceStages(const CollectiveShape& shape, const Tiers& tiers, ElementRange slice) {
  Plan plan;
  uint16_t input = kSendBuffer;
  ElementRange range = slice;
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
  if (input == kSendBuffer) {
    BufferSlice from{kSendBuffer, slice.begin * shape.elementSize}, to{kRecvBuffer, slice.begin * shape.elementSize};
    Plan::copy(plan.newStage(), to, from, slice.size * shape.elementSize);
  }
  for (auto it = climbed.rbegin(); it != climbed.rend(); ++it) appendGroupAllGather(plan, shape, *it->first, it->second);
  return std::move(plan.stages);
}

}  // namespace

// Large messages run as slices, slice k one stage behind slice k-1, so while one slice crosses
// the uplinks the next is being reduced inside the racks and hosts: the tiers overlap. Every rank
// has the same number of stages per slice (the hierarchy is uniform), so merged stages still pair
// each send with its receive, and steps to one peer keep their order on both sides.
Plan planHierarchicalAllReduce(const CollectiveShape& shape, const PlanTopology& topo) {
  if (topo.hierarchy == nullptr || !isUniform(*topo.hierarchy)) return planRingAllReduce(shape, topo);
  Plan plan;
  plan.algorithm = "hierarchical allreduce";
  const Tiers tiers = tiersOf(*topo.hierarchy, topo.rank);
  const size_t slices = std::clamp<size_t>(shape.bytes() / kCacheSliceBytes, 1, kMaxSlices);
  for (size_t k = 0; k < slices; ++k) {
    std::vector<Stage> stages = sliceStages(shape, tiers, partOf(shape.count, slices, k));
    for (size_t s = 0; s < stages.size(); ++s) {
      if (plan.stages.size() <= k + s) plan.stages.resize(k + s + 1);
      auto& steps = plan.stages[k + s].steps;
      steps.insert(steps.end(), stages[s].steps.begin(), stages[s].steps.end());
    }
  }
  plan.compact();
  return plan;
}

double costHierarchicalAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const Hierarchy& h = *cost.hierarchy;
  if (!isUniform(h)) return costRingAllReduce(shape, cost);
  double bytes = static_cast<double>(shape.bytes());
  double seconds = 0, slowest = 0;
  const double sizes[3] = {static_cast<double>(h.hosts().front().ranks.size()),
                           static_cast<double>(h.racks().front().hosts.size()), static_cast<double>(h.racks().size())};
  for (int tier = 0; tier < 3; ++tier) {
    const double m = sizes[tier];
    if (m <= 1) continue;
    auto edges = tierEdges(h, tier);
    // Down (reduce-scatter) and up (allgather): (m-1) steps of a 1/m chunk each way.
    double tierSeconds = 2 * (m - 1) * cost.stepSeconds(edges, bytes / m) + (m - 1) * cost.reduceSeconds(bytes / m);
    seconds += tierSeconds;
    slowest = std::max(slowest, tierSeconds);
    bytes /= m;
  }
  // Slices overlap the tiers: the slowest tier is paid in full, the others once per slice.
  const double slices = static_cast<double>(std::clamp<size_t>(shape.bytes() / kCacheSliceBytes, 1, kMaxSlices));
  return slowest + (seconds - slowest) / slices;
}

// Work: per slice, each tier's groups run a ring reduce-scatter and allgather over the chunk the
// tier below left them; a group of m members over e elements sends 2(m-1)·min(e, m) messages,
// all over the tier's one link class. The chunk a rank carries up depends only on its position
// in its host (rack tier) and in its rack (top tier), so the sums run over positions, not ranks.
double workHierarchicalAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const Hierarchy& h = *cost.hierarchy;
  if (!isUniform(h)) return workRingAllReduce(shape, cost);
  const size_t m0 = h.hosts().front().ranks.size(), m1 = h.racks().front().hosts.size(), m2 = h.racks().size();
  const double hostsCount = static_cast<double>(h.hosts().size());
  const double alpha[3] = {cost.model->shm.alphaUs * 1e-6, cost.model->net.alphaUs * 1e-6,
                           cost.model->interRack.alphaUs * 1e-6};
  auto groupSends = [](size_t elements, size_t m) {
    return m < 2 ? 0.0 : 2.0 * static_cast<double>(m - 1) * static_cast<double>(nonEmptyParts(elements, m));
  };
  // The chunk of `range` a member at `index` owns after its group's reduce-scatter.
  auto owned = [](size_t range, size_t m, size_t index) { return m < 2 ? range : partOf(range, m, (index + 1) % m).size; };
  const size_t slices = std::clamp<size_t>(shape.bytes() / kCacheSliceBytes, 1, kMaxSlices);
  double work = 0;
  for (size_t bigger : {size_t{0}, size_t{1}}) {
    // partOf gives count % slices slices one element more than the others.
    const size_t times = bigger ? shape.count % slices : slices - shape.count % slices;
    const size_t elements = shape.count / slices + bigger;
    if (times == 0 || elements == 0) continue;
    double slice = groupSends(elements, m0) * hostsCount * alpha[0];
    for (size_t l = 0; l < m0; ++l) {
      const size_t rackRange = owned(elements, m0, l);
      slice += groupSends(rackRange, m1) * static_cast<double>(m2) * alpha[1];
      for (size_t j = 0; j < m1 && m2 > 1; ++j) slice += groupSends(owned(rackRange, m1, j), m2) * alpha[2];
    }
    if (cost.tally != nullptr) cost.tally->messageTerms += m0 * m1;
    work += static_cast<double>(times) * slice;
  }
  return work;
}

}  // namespace strata
