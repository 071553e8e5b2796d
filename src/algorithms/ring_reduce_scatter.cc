// Ring reduce-scatter: in step s each rank passes its partial sum of block (rank - s - 1) right and
// folds the left neighbour's partial of block (rank - s - 2) into its own data; after n-1 steps it
// holds block `rank` fully reduced (the ring runs in topology order: positions, not ranks). Cost: (n-1)·alpha + (n-1)/n·S·beta (+ reduction).
// Partials rotate through two slice-sized scratch slots; large blocks run as slices.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {

Plan planRingReduceScatter(const CollectiveShape& shape, const PlanTopology& topo) {
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "ring reduce-scatter";
  const size_t es = shape.elementSize;
  const size_t blockBytes = shape.bytes();
  if (nranks == 1) {
    Plan::copy(plan.newStage(), {kRecvBuffer, 0}, {kSendBuffer, 0}, blockBytes);
    plan.compact();
    return plan;
  }
  // Ring positions (topology order); blocks stay indexed by rank.
  const int p = topo.position();
  const int right = topo.rankAt(p + 1);
  const int left = topo.rankAt(p - 1);
  const size_t sliceElements = std::max<size_t>(1, kCacheSliceBytes / es);
  const size_t slotBytes = std::min(sliceElements, shape.count) * es;
  plan.scratchBytes = 2 * slotBytes;
  auto slot = [&](int s) { return BufferSlice{kScratchBuffer, static_cast<size_t>(s % 2) * slotBytes}; };
  for (size_t begin = 0; begin < shape.count; begin += sliceElements) {
    size_t bytes = std::min(sliceElements, shape.count - begin) * es;
    auto sendBlock = [&](int block) {
      return BufferSlice{kSendBuffer, static_cast<size_t>(block) * blockBytes + begin * es};
    };
    for (int s = 0; s < nranks - 1; ++s) {
      Stage& stage = plan.newStage();
      int outBlock = topo.rankAt(p - s - 1);
      int inBlock = topo.rankAt(p - s - 2);
      Plan::send(stage, right, s == 0 ? sendBlock(outBlock) : slot(s - 1), bytes);
      bool last = s == nranks - 2;
      BufferSlice dst = last ? BufferSlice{kRecvBuffer, begin * es} : slot(s);
      Plan::recvReduce(stage, left, dst, sendBlock(inBlock), bytes);
    }
  }
  plan.compact();
  return plan;
}

double costRingReduceScatter(const CollectiveShape& shape, const CostContext& cost) {
  const double block = static_cast<double>(shape.bytes());
  return (cost.nranks() - 1) * (cost.ringStepSeconds(block) + cost.reduceSeconds(block));
}

// Work: every rank sends n-1 messages per slice to its ring successor.
double workRingReduceScatter(const CollectiveShape& shape, const CostContext& cost) {
  if (cost.nranks() == 1) return 0;
  const size_t slices = ceilDiv(shape.count, std::max<size_t>(1, kCacheSliceBytes / shape.elementSize));
  return static_cast<double>(slices) * (cost.nranks() - 1) * ringAlphaSum(cost, *cost.topology);
}

}  // namespace strata
