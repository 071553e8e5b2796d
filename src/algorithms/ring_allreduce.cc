// Ring allreduce: reduce-scatter round the ring, then allgather round the ring.
// Cost: 2(n-1) steps; each rank sends 2(n-1)/n of the buffer: 2(n-1)·alpha + 2(n-1)/n·S·beta.
// Bandwidth-optimal, so the default above the small-message threshold. Buffers larger than
// n × kCacheSliceBytes run as consecutive slices, keeping each step's chunk cache-sized.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {
namespace {

void appendRingSlice(Plan& plan, const CollectiveShape& shape, ElementRange slice, int rank, int nranks) {
  const size_t es = shape.elementSize;
  const int right = modRank(rank + 1, nranks);
  const int left = modRank(rank - 1, nranks);
  auto chunk = [&](int index) { return partOf(slice.size, static_cast<size_t>(nranks), static_cast<size_t>(index)); };
  auto at = [&](uint16_t buffer, int index) {
    return BufferSlice{buffer, (slice.begin + chunk(index).begin) * es};
  };
  // Reduce-scatter: after step s, chunk (rank - s - 1) holds s + 2 contributions.
  for (int s = 0; s < nranks - 1; ++s) {
    Stage& stage = plan.newStage();
    int sendChunk = modRank(rank - s, nranks);
    int recvChunk = modRank(rank - s - 1, nranks);
    Plan::send(stage, right, at(s == 0 ? kSendBuffer : kRecvBuffer, sendChunk), chunk(sendChunk).size * es);
    Plan::recvReduce(stage, left, at(kRecvBuffer, recvChunk), at(kSendBuffer, recvChunk), chunk(recvChunk).size * es);
  }
  // Allgather: rank owns chunk (rank + 1) fully reduced; pass finished chunks on.
  for (int s = 0; s < nranks - 1; ++s) {
    Stage& stage = plan.newStage();
    int sendChunk = modRank(rank + 1 - s, nranks);
    int recvChunk = modRank(rank - s, nranks);
    Plan::send(stage, right, at(kRecvBuffer, sendChunk), chunk(sendChunk).size * es);
    Plan::recv(stage, left, at(kRecvBuffer, recvChunk), chunk(recvChunk).size * es);
  }
}

}  // namespace

Plan planRingAllReduce(const CollectiveShape& shape, const PlanTopology& topo) {
  // Every allreduce buffer is laid out alike on all ranks, so the plan is made for ring
  // positions and its peers renamed to ranks at the end (neighbours in the topology ring).
  const int rank = topo.position();
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "ring allreduce";
  if (nranks == 1) {
    Plan::copy(plan.newStage(), {kRecvBuffer, 0}, {kSendBuffer, 0}, shape.bytes());
  } else {
    size_t sliceElements = std::max<size_t>(1, kCacheSliceBytes / shape.elementSize) * static_cast<size_t>(nranks);
    for (size_t begin = 0; begin < shape.count; begin += sliceElements) {
      appendRingSlice(plan, shape, {begin, std::min(sliceElements, shape.count - begin)}, rank, nranks);
    }
  }
  plan.compact();
  return onRingPositions(std::move(plan), topo);
}

double costRingAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const double n = cost.nranks(), bytes = static_cast<double>(shape.bytes());
  if (cost.nranks() == 1) return cost.copySeconds(bytes);
  return 2 * (n - 1) * cost.ringStepSeconds(bytes / n) + (n - 1) * cost.reduceSeconds(bytes / n);
}

// The same ring in rank order, whatever the topology: what a topology-blind library runs. Kept
// for comparisons (STRATA_ALGO=flat_ring); the tuner never prefers it to the topology ring.
Plan planFlatRingAllReduce(const CollectiveShape& shape, const PlanTopology& topo) {
  Plan plan = planRingAllReduce(shape, PlanTopology::identity(topo.rank, topo.nranks));
  plan.algorithm = "flat ring allreduce (rank order)";
  return plan;
}

namespace {

// A cost or work function of the topology ring, evaluated on the ring in rank order instead.
double onRankOrderRing(const CollectiveShape& shape, const CostContext& cost, CostFunction measure) {
  PlanTopology rankOrder = PlanTopology::identity(0, cost.nranks());
  CostContext flat = cost;
  flat.topology = &rankOrder;
  return measure(shape, flat);
}

}  // namespace

double costFlatRingAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  return onRankOrderRing(shape, cost, costRingAllReduce);
}

// Work: each slice is a ring reduce-scatter and allgather on the topology ring.
double workRingAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const int n = cost.nranks();
  if (n == 1) return 0;
  const size_t sliceElements = std::max<size_t>(1, kCacheSliceBytes / shape.elementSize) * static_cast<size_t>(n);
  double work = 0;
  forEachSliceSize(shape.count, sliceElements, [&](size_t elements, size_t times) {
    work += static_cast<double>(times) * ringReduceScatterAllGatherWork(cost, *cost.topology, elements);
  });
  return work;
}

double workFlatRingAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  return onRankOrderRing(shape, cost, workRingAllReduce);
}

}  // namespace strata
