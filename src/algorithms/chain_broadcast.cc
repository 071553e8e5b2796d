// Pipelined chain broadcast: ranks form a chain starting at the root; the buffer moves in chunks,
// each rank forwarding chunk k-1 while it receives chunk k.
// Cost: (n - 1 + chunks - 1) steps of one chunk: ~(n-1)·alpha + S·beta for large S.
// The tuner's broadcast for every size until trees arrive with the topology work.
#include <cmath>

#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {

size_t pipelineChunkElements(const CollectiveShape& shape) {
  constexpr size_t kChunkBytes = 256 * 1024;
  return std::max<size_t>(1, kChunkBytes / shape.elementSize);
}

Plan planChainBroadcast(const CollectiveShape& shape, const PlanTopology& topo) {
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "chain broadcast";
  const size_t es = shape.elementSize;
  // The chain follows the ring order from the root, so it crosses each host and rack boundary once.
  const int position = modRank(topo.position() - topo.positionOf[static_cast<size_t>(shape.root)], nranks);
  const bool isRoot = position == 0;
  const bool hasNext = position < nranks - 1;
  const int prev = topo.rankAt(topo.position() - 1);
  const int next = topo.rankAt(topo.position() + 1);
  const size_t chunkElements = pipelineChunkElements(shape);
  const size_t chunks = ceilDiv(shape.count, chunkElements);
  auto chunkBytes = [&](size_t k) { return std::min(chunkElements, shape.count - k * chunkElements) * es; };
  auto at = [&](uint16_t buffer, size_t k) { return BufferSlice{buffer, k * chunkElements * es}; };

  if (isRoot) {
    Stage& first = plan.newStage();
    Plan::copy(first, {kRecvBuffer, 0}, {kSendBuffer, 0}, shape.bytes());
    for (size_t k = 0; k < chunks && hasNext; ++k) {
      Plan::send(k == 0 ? first : plan.newStage(), next, at(kSendBuffer, k), chunkBytes(k));
    }
  } else {
    for (size_t k = 0; k <= chunks; ++k) {
      Stage& stage = plan.newStage();
      if (k < chunks) Plan::recv(stage, prev, at(kRecvBuffer, k), chunkBytes(k));
      if (k > 0 && hasNext) Plan::send(stage, next, at(kRecvBuffer, k - 1), chunkBytes(k - 1));
    }
  }
  plan.compact();
  return plan;
}

double costChainBroadcast(const CollectiveShape& shape, const CostContext& cost) {
  const double bytes = static_cast<double>(shape.bytes());
  const double chunk = std::min(bytes, static_cast<double>(pipelineChunkElements(shape) * shape.elementSize));
  const double chunks = chunk > 0 ? std::ceil(bytes / chunk) : 0;
  return cost.copySeconds(bytes) + (cost.nranks() - 1 + std::max(0.0, chunks - 1)) * cost.ringStepSeconds(chunk);
}

// Work: every chunk crosses every ring hop but the one into the root.
double workChainBroadcast(const CollectiveShape& shape, const CostContext& cost) {
  const PlanTopology& ring = *cost.topology;
  if (ring.nranks == 1) return 0;
  const double chunks = static_cast<double>(ceilDiv(shape.count, pipelineChunkElements(shape)));
  const int rootPosition = ring.positionOf[static_cast<size_t>(shape.root)];
  return chunks * (ringAlphaSum(cost, ring) - ringHopAlpha(cost, ring, rootPosition - 1));
}

}  // namespace strata
