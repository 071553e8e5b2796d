// Recursive-doubling allreduce: in step k every rank swaps its whole partial result with rank
// (rank XOR 2^k) and reduces. Cost: log2(n) steps of the whole buffer: log2(n)·(alpha + S·beta).
// Latency-optimal, so the tuner picks it for small messages. Non-powers of two: the first 2·rem
// ranks pair up (even sends to odd) so a power of two remains, and get the result back at the end.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"
#include "src/algorithms/power_of_two_fold.h"

namespace strata {

Plan planRecursiveDoublingAllReduce(const CollectiveShape& shape, const PlanTopology& topo) {
  // Every allreduce buffer is laid out alike on all ranks, so the plan is made for ring
  // positions and its peers renamed to ranks at the end (neighbours in the topology ring).
  const int rank = topo.position();
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "recursive-doubling allreduce";
  const size_t bytes = shape.bytes();
  plan.scratchBytes = bytes;
  const PowerOfTwoFold fold(nranks);
  // In place, Send is Recv: every exchange must send a snapshot (see below).
  bool resultInRecv = shape.inPlace;

  // Fold the extra ranks in: even r < 2·rem hands its data to r + 1 and waits for the answer.
  if (rank < 2 * fold.rem) {
    Stage& stage = plan.newStage();
    if (fold.foldsAway(rank)) {
      Plan::send(stage, rank + 1, {kSendBuffer, 0}, bytes);
      Plan::recv(plan.newStage(), rank + 1, {kRecvBuffer, 0}, bytes);
      plan.compact();
      return onRingPositions(std::move(plan), topo);
    }
    Plan::recvReduce(stage, rank - 1, {kRecvBuffer, 0}, {kSendBuffer, 0}, bytes);
    resultInRecv = true;
  }
  const int virtualRank = fold.virtualOf(rank);
  for (int distance = 1; distance < fold.pow2; distance *= 2) {
    int partner = fold.positionOf(virtualRank ^ distance);
    Stage& stage = plan.newStage();
    if (!resultInRecv) {
      Plan::send(stage, partner, {kSendBuffer, 0}, bytes);
      Plan::recvReduce(stage, partner, {kRecvBuffer, 0}, {kSendBuffer, 0}, bytes);
      resultInRecv = true;
    } else {
      // Send a snapshot: the receive-and-reduce rewrites Recv while the send is in flight.
      Plan::copy(stage, {kScratchBuffer, 0}, {kRecvBuffer, 0}, bytes);
      Plan::send(stage, partner, {kScratchBuffer, 0}, bytes);
      Plan::recvReduce(stage, partner, {kRecvBuffer, 0}, {kRecvBuffer, 0}, bytes);
    }
  }
  if (!resultInRecv) Plan::copy(plan.newStage(), {kRecvBuffer, 0}, {kSendBuffer, 0}, bytes);
  if (rank < 2 * fold.rem) Plan::send(plan.newStage(), rank - 1, {kRecvBuffer, 0}, bytes);
  plan.compact();
  return onRingPositions(std::move(plan), topo);
}

double costRecursiveDoublingAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const PowerOfTwoFold fold(cost.nranks());
  const double bytes = static_cast<double>(shape.bytes());
  double seconds = 0;
  if (fold.rem > 0) {  // fold-in and result-back steps between ring neighbours
    seconds += 2 * cost.stepSeconds(fold.foldPairs(*cost.topology), bytes) + cost.reduceSeconds(bytes);
  }
  for (int distance = 1; distance < fold.pow2; distance *= 2) {
    seconds += cost.stepSeconds(fold.exchangePairs(*cost.topology, distance), bytes) + cost.reduceSeconds(bytes);
  }
  return seconds;
}

// Work: every exchange sends the whole buffer once to the partner; the fold adds one message
// each way between each folded pair.
double workRecursiveDoublingAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const PlanTopology& ring = *cost.topology;
  if (shape.count == 0) return 0;
  const PowerOfTwoFold fold(ring.nranks);
  auto alpha = [&](int from, int to) { return cost.linkAlphaSeconds(ring.rankAt(from), ring.rankAt(to)); };
  double work = 0;
  for (int p = 0; p < 2 * fold.rem; p += 2) work += alpha(p, p + 1) + alpha(p + 1, p);
  for (int distance = 1; distance < fold.pow2; distance *= 2) {
    for (int v = 0; v < fold.pow2; ++v) work += alpha(fold.positionOf(v), fold.positionOf(v ^ distance));
    if (cost.tally != nullptr) cost.tally->messageTerms += static_cast<uint64_t>(fold.pow2);
  }
  return work;
}

}  // namespace strata
