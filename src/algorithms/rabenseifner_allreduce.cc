// Rabenseifner allreduce: recursive-halving reduce-scatter, then recursive-doubling allgather.
// Each of the log2(p) halving steps swaps half of what is left with the partner at distance d and
// reduces the half it keeps; the doubling steps give the halves back. Cost: 2·log2(p)·alpha +
// 2(p-1)/p·S·beta (+ (p-1)/p·S·gamma): the ring's bandwidth in log2(p) instead of 2(p-1) steps,
// so it wins at medium sizes. Non-powers of two: the first 2·rem ring positions pair up (the even
// one hands its data to the odd one, then waits for the result), leaving a power of two.
// Runs on ring positions (topology order), so the small distances stay inside hosts. Large
// buffers run as slices of pow2 x kCacheSliceBytes, one after another.
#include <algorithm>
#include <cmath>

#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"
#include "src/algorithms/power_of_two_fold.h"

namespace strata {
namespace {

ElementRange half(ElementRange r, bool upper) {
  ElementRange part = partOf(r.size, 2, upper ? 1 : 0);
  return {r.begin + part.begin, part.size};
}

// The whole algorithm on the elements of `slice`: fold, halving, doubling, unfold.
void appendSlice(Plan& plan, const CollectiveShape& shape, ElementRange slice, int rank, const PowerOfTwoFold& layout) {
  const size_t es = shape.elementSize;
  auto at = [&](uint16_t buffer, ElementRange r) { return BufferSlice{buffer, r.begin * es}; };
  if (layout.foldsAway(rank)) {
    Plan::send(plan.newStage(), rank + 1, at(kSendBuffer, slice), slice.size * es);
    Plan::recv(plan.newStage(), rank + 1, at(kRecvBuffer, slice), slice.size * es);
    return;
  }
  uint16_t input = kSendBuffer;
  if (rank < 2 * layout.rem) {
    Plan::recvReduce(plan.newStage(), rank - 1, at(kRecvBuffer, slice), at(kSendBuffer, slice), slice.size * es);
    input = kRecvBuffer;
  }
  const int v = layout.virtualOf(rank);
  struct Split {
    int partner;
    ElementRange kept, given;
  };
  std::vector<Split> splits;
  ElementRange range = slice;
  for (int distance = layout.pow2 / 2; distance >= 1; distance /= 2) {
    const bool upper = (v & distance) != 0;
    Split s{layout.positionOf(v ^ distance), half(range, upper), half(range, !upper)};
    Stage& stage = plan.newStage();
    Plan::send(stage, s.partner, at(input, s.given), s.given.size * es);
    Plan::recvReduce(stage, s.partner, at(kRecvBuffer, s.kept), at(input, s.kept), s.kept.size * es);
    splits.push_back(s);
    range = s.kept;
    input = kRecvBuffer;
  }
  for (auto it = splits.rbegin(); it != splits.rend(); ++it) {
    Stage& stage = plan.newStage();
    Plan::send(stage, it->partner, at(kRecvBuffer, it->kept), it->kept.size * es);
    Plan::recv(stage, it->partner, at(kRecvBuffer, it->given), it->given.size * es);
  }
  if (rank < 2 * layout.rem) Plan::send(plan.newStage(), rank - 1, at(kRecvBuffer, slice), slice.size * es);
}

}  // namespace

Plan planRabenseifnerAllReduce(const CollectiveShape& shape, const PlanTopology& topo) {
  const int rank = topo.position();  // positions stand in for ranks; renamed at the end
  Plan plan;
  plan.algorithm = "rabenseifner allreduce";
  const PowerOfTwoFold layout(topo.nranks);
  if (topo.nranks == 1) {
    Plan::copy(plan.newStage(), {kRecvBuffer, 0}, {kSendBuffer, 0}, shape.bytes());
  } else {
    // Large buffers run as consecutive slices, as the ring's do, so that the last halving step
    // swaps about kCacheSliceBytes.
    const size_t sliceElements = std::max<size_t>(1, kCacheSliceBytes / shape.elementSize) * static_cast<size_t>(layout.pow2);
    for (size_t begin = 0; begin < shape.count; begin += sliceElements) {
      appendSlice(plan, shape, {begin, std::min(sliceElements, shape.count - begin)}, rank, layout);
    }
  }
  plan.compact();
  return onRingPositions(std::move(plan), topo);
}

double costRabenseifnerAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const PowerOfTwoFold layout(cost.nranks());
  double bytes = static_cast<double>(shape.bytes());
  double seconds = 0;
  if (layout.rem > 0) seconds += 2 * cost.stepSeconds(layout.foldPairs(*cost.topology), bytes) + cost.reduceSeconds(bytes);
  for (int distance = layout.pow2 / 2; distance >= 1; distance /= 2) {
    bytes /= 2;
    seconds += 2 * cost.stepSeconds(layout.exchangePairs(*cost.topology, distance), bytes) + cost.reduceSeconds(bytes);  // halving and doubling
  }
  return seconds;
}

// Work: each position's messages of one slice of `elements`, walked as appendSlice walks them
// (log2 p halvings per position, so O(n log n) for the whole communicator).
double workRabenseifnerAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const PlanTopology& ring = *cost.topology;
  const int n = ring.nranks;
  if (n == 1) return 0;
  const PowerOfTwoFold layout(n);
  auto alpha = [&](int from, int to) { return cost.linkAlphaSeconds(ring.rankAt(from), ring.rankAt(to)); };
  auto sliceWork = [&](size_t elements) {
    double work = 0;
    for (int p = 0; p < n; ++p) {
      if (layout.foldsAway(p)) {
        work += alpha(p, p + 1);
        continue;
      }
      if (p < 2 * layout.rem) work += alpha(p, p - 1);  // the result back to the folded rank
      const int v = layout.virtualOf(p);
      size_t range = elements;
      for (int distance = layout.pow2 / 2; distance >= 1; distance /= 2) {
        const bool upper = (v & distance) != 0;
        const size_t kept = partOf(range, 2, upper ? 1 : 0).size, given = range - kept;
        const double hop = alpha(p, layout.positionOf(v ^ distance));
        work += (given > 0 ? hop : 0) + (kept > 0 ? hop : 0);  // halving, then doubling back
        range = kept;
      }
      if (cost.tally != nullptr) cost.tally->messageTerms += 1 + static_cast<uint64_t>(std::log2(layout.pow2));
    }
    return work;
  };
  const size_t sliceElements = std::max<size_t>(1, kCacheSliceBytes / shape.elementSize) * static_cast<size_t>(layout.pow2);
  double work = 0;
  forEachSliceSize(shape.count, sliceElements,
                   [&](size_t elements, size_t times) { work += static_cast<double>(times) * sliceWork(elements); });
  return work;
}

}  // namespace strata
