// Pipelined chain reduce: the rank farthest from the root starts; each rank receives chunk k from
// upstream, folds in its own data, and passes chunk k-1 downstream, so the root ends with the sum.
// Cost: (n - 1 + chunks - 1) chunk steps: ~(n-1)·alpha + S·beta (+ S·gamma per rank) for large S.
// Intermediate results rotate through two chunk-sized scratch slots.
#include <cmath>

#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {

Plan planChainReduce(const CollectiveShape& shape, const PlanTopology& topo) {
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "chain reduce";
  const size_t es = shape.elementSize;
  if (nranks == 1) {
    Plan::copy(plan.newStage(), {kRecvBuffer, 0}, {kSendBuffer, 0}, shape.bytes());
    plan.compact();
    return plan;
  }
  // Position 0 is the root; data flows from position n-1 down to 0.
  // The chain follows the ring order from the root, so it crosses each host and rack boundary once.
  const int position = modRank(topo.position() - topo.positionOf[static_cast<size_t>(shape.root)], nranks);
  const int upstream = topo.rankAt(topo.position() + 1);
  const int downstream = topo.rankAt(topo.position() - 1);
  const size_t chunkElements = pipelineChunkElements(shape);
  const size_t chunks = ceilDiv(shape.count, chunkElements);
  const size_t slotBytes = std::min(chunkElements, shape.count) * es;
  plan.scratchBytes = 2 * slotBytes;
  auto chunkBytes = [&](size_t k) { return std::min(chunkElements, shape.count - k * chunkElements) * es; };
  auto at = [&](uint16_t buffer, size_t k) { return BufferSlice{buffer, k * chunkElements * es}; };
  auto slot = [&](size_t k) { return BufferSlice{kScratchBuffer, (k % 2) * slotBytes}; };

  if (position == nranks - 1) {
    for (size_t k = 0; k < chunks; ++k) Plan::send(plan.newStage(), downstream, at(kSendBuffer, k), chunkBytes(k));
  } else if (position == 0) {
    for (size_t k = 0; k < chunks; ++k) {
      Plan::recvReduce(plan.newStage(), upstream, at(kRecvBuffer, k), at(kSendBuffer, k), chunkBytes(k));
    }
  } else {
    for (size_t k = 0; k <= chunks; ++k) {
      Stage& stage = plan.newStage();
      if (k < chunks) Plan::recvReduce(stage, upstream, slot(k), at(kSendBuffer, k), chunkBytes(k));
      if (k > 0) Plan::send(stage, downstream, slot(k - 1), chunkBytes(k - 1));
    }
  }
  plan.compact();
  return plan;
}

double costChainReduce(const CollectiveShape& shape, const CostContext& cost) {
  const double bytes = static_cast<double>(shape.bytes());
  const double chunk = std::min(bytes, static_cast<double>(pipelineChunkElements(shape) * shape.elementSize));
  const double chunks = chunk > 0 ? std::ceil(bytes / chunk) : 0;
  return (cost.nranks() - 1 + std::max(0.0, chunks - 1)) * (cost.ringStepSeconds(chunk) + cost.reduceSeconds(chunk));
}

// Work: every chunk crosses every ring hop backwards but the one out of the root.
double workChainReduce(const CollectiveShape& shape, const CostContext& cost) {
  const PlanTopology& ring = *cost.topology;
  if (ring.nranks == 1) return 0;
  const double chunks = static_cast<double>(ceilDiv(shape.count, pipelineChunkElements(shape)));
  const int rootPosition = ring.positionOf[static_cast<size_t>(shape.root)];
  return chunks * (ringAlphaSum(cost, ring, -1) - ringHopAlpha(cost, ring, rootPosition, -1));
}

}  // namespace strata
