// Ring allgather: each rank passes the block it received last step to its right neighbour.
// Cost: (n-1) steps; each rank sends (n-1)/n of the output: (n-1)·alpha + (n-1)/n·S·beta.
// Large blocks run as consecutive slices so every step moves a cache-sized piece.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {

Plan planRingAllGather(const CollectiveShape& shape, const PlanTopology& topo) {
  const int rank = topo.rank;
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "ring allgather";
  const size_t es = shape.elementSize;
  const size_t blockBytes = shape.bytes();
  // Ring positions (topology order); blocks stay indexed by rank.
  const int p = topo.position();
  const int right = topo.rankAt(p + 1);
  const int left = topo.rankAt(p - 1);
  Plan::copy(plan.newStage(), {kRecvBuffer, static_cast<size_t>(rank) * blockBytes}, {kSendBuffer, 0}, blockBytes);
  const size_t sliceElements = std::max<size_t>(1, kCacheSliceBytes / es);
  for (size_t begin = 0; begin < shape.count; begin += sliceElements) {
    size_t bytes = std::min(sliceElements, shape.count - begin) * es;
    for (int s = 0; s < nranks - 1; ++s) {
      Stage& stage = plan.newStage();
      int sendBlock = topo.rankAt(p - s);
      int recvBlock = topo.rankAt(p - s - 1);
      BufferSlice source = s == 0 ? BufferSlice{kSendBuffer, begin * es}
                                  : BufferSlice{kRecvBuffer, static_cast<size_t>(sendBlock) * blockBytes + begin * es};
      Plan::send(stage, right, source, bytes);
      Plan::recv(stage, left, {kRecvBuffer, static_cast<size_t>(recvBlock) * blockBytes + begin * es}, bytes);
    }
  }
  plan.compact();
  return plan;
}

double costRingAllGather(const CollectiveShape& shape, const CostContext& cost) {
  const double block = static_cast<double>(shape.bytes());
  return cost.copySeconds(block) + (cost.nranks() - 1) * cost.ringStepSeconds(block);
}

// Work: every rank sends n-1 messages per slice to its ring successor.
double workRingAllGather(const CollectiveShape& shape, const CostContext& cost) {
  const size_t slices = ceilDiv(shape.count, std::max<size_t>(1, kCacheSliceBytes / shape.elementSize));
  return static_cast<double>(slices) * (cost.nranks() - 1) * ringAlphaSum(cost, *cost.topology);
}

}  // namespace strata
