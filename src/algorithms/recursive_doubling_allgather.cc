// Recursive-doubling allgather: in step k every rank swaps all the blocks it holds with the
// partner at distance 2^k, so the set doubles: log2(p) steps instead of the ring's p-1, with the
// same bytes per rank ((p-1)/p·S). Latency-optimal for small blocks. Non-powers of two: the first
// 2·rem ring positions pair up, the even one handing its block to the odd one first and getting
// every block back at the end. Runs on ring positions (topology order); blocks stay indexed by rank.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"
#include "src/algorithms/power_of_two_fold.h"

namespace strata {

Plan planRecursiveDoublingAllGather(const CollectiveShape& shape, const PlanTopology& topo) {
  Plan plan;
  plan.algorithm = "recursive-doubling allgather";
  const int n = topo.nranks;
  const int position = topo.position();
  const size_t blockBytes = shape.bytes();
  auto block = [&](int pos) { return BufferSlice{kRecvBuffer, static_cast<size_t>(topo.rankAt(pos)) * blockBytes}; };
  Plan::copy(plan.newStage(), block(position), {kSendBuffer, 0}, blockBytes);
  const PowerOfTwoFold layout(n);
  if (position < 2 * layout.rem && position % 2 == 0) {
    Plan::send(plan.newStage(), topo.rankAt(position + 1), block(position), blockBytes);
    Stage& last = plan.newStage();
    for (int p = 0; p < n; ++p) {
      if (p != position) Plan::recv(last, topo.rankAt(position + 1), block(p), blockBytes);
    }
    plan.compact();
    return plan;
  }
  if (position < 2 * layout.rem) Plan::recv(plan.newStage(), topo.rankAt(position - 1), block(position - 1), blockBytes);
  const int v = layout.virtualOf(position);
  // Virtual ranks whose blocks we hold: an aligned run [v & ~(d-1) .. + d) after each step.
  for (int distance = 1; distance < layout.pow2; distance *= 2) {
    const int partner = v ^ distance;
    const int mineFrom = v & ~(distance - 1), theirsFrom = partner & ~(distance - 1);
    Stage& stage = plan.newStage();
    for (int k = 0; k < distance; ++k) {
      for (int pos : layout.heldBy(mineFrom + k)) Plan::send(stage, topo.rankAt(layout.positionOf(partner)), block(pos), blockBytes);
      for (int pos : layout.heldBy(theirsFrom + k)) Plan::recv(stage, topo.rankAt(layout.positionOf(partner)), block(pos), blockBytes);
    }
  }
  if (position < 2 * layout.rem) {
    Stage& last = plan.newStage();
    for (int p = 0; p < n; ++p) {
      if (p != position - 1) Plan::send(last, topo.rankAt(position - 1), block(p), blockBytes);
    }
  }
  plan.compact();
  return plan;
}

double costRecursiveDoublingAllGather(const CollectiveShape& shape, const CostContext& cost) {
  const PowerOfTwoFold layout(cost.nranks());
  const double block = static_cast<double>(shape.bytes());
  double seconds = cost.copySeconds(block);
  if (layout.rem > 0) {
    auto pairs = layout.foldPairs(*cost.topology);
    seconds += cost.stepSeconds(pairs, block) + cost.stepSeconds(pairs, block * (cost.nranks() - 1));
  }
  double held = block * (static_cast<double>(cost.nranks()) / layout.pow2);
  for (int distance = 1; distance < layout.pow2; distance *= 2) {
    seconds += cost.stepSeconds(layout.exchangePairs(*cost.topology, distance), held);
    held *= 2;
  }
  return seconds;
}

// Work: one message per block. At distance d virtual rank v sends the blocks of the d virtual
// ranks of its aligned run, two for each folded pair among them; a folded rank sends its block
// in and gets the other n - 1 back one by one.
double workRecursiveDoublingAllGather(const CollectiveShape& shape, const CostContext& cost) {
  const PlanTopology& ring = *cost.topology;
  const int n = ring.nranks;
  if (shape.count == 0) return 0;
  const PowerOfTwoFold layout(n);
  auto alpha = [&](int from, int to) { return cost.linkAlphaSeconds(ring.rankAt(from), ring.rankAt(to)); };
  double work = 0;
  for (int p = 0; p < 2 * layout.rem; p += 2) work += alpha(p, p + 1) + (n - 1) * alpha(p + 1, p);
  for (int distance = 1; distance < layout.pow2; distance *= 2) {
    for (int v = 0; v < layout.pow2; ++v) {
      const int runStart = v & ~(distance - 1);
      const int folded = std::max(0, std::min(layout.rem, runStart + distance) - runStart);
      work += (distance + folded) * alpha(layout.positionOf(v), layout.positionOf(v ^ distance));
    }
    if (cost.tally != nullptr) cost.tally->messageTerms += static_cast<uint64_t>(layout.pow2);
  }
  return work;
}

}  // namespace strata
