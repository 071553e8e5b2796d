// Pairwise all-to-all(v): in step s rank r sends its block for (r + s) and receives the block from
// (r - s), so every rank talks to one peer at a time and no receiver is flooded. All-to-all-v
// blocks travel even when empty, so every pair checks the sizes it agreed on.
// Cost: (n-1)·alpha + (n-1)/n·S·beta. Small exchanges post every transfer in one stage instead
// (n-1 latencies overlap). In place, the input is first copied to scratch.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {
namespace {

constexpr size_t kOneStageBytes = 64 * 1024;

// Element offsets and counts per peer, for alltoall and alltoallv alike.
struct BlockTable {
  std::vector<size_t> sendOffset, sendCount, recvOffset, recvCount;
};

BlockTable blocksOf(const CollectiveShape& shape, int nranks) {
  BlockTable t;
  if (shape.kind == CollectiveKind::AllToAllv) {
    t.sendOffset = shape.sendDispls;
    t.sendCount = shape.sendCounts;
    t.recvOffset = shape.recvDispls;
    t.recvCount = shape.recvCounts;
    return t;
  }
  for (int i = 0; i < nranks; ++i) {
    size_t offset = static_cast<size_t>(i) * shape.count;
    t.sendOffset.push_back(offset);
    t.recvOffset.push_back(offset);
    t.sendCount.push_back(shape.count);
    t.recvCount.push_back(shape.count);
  }
  return t;
}

}  // namespace

Plan planPairwiseAllToAll(const CollectiveShape& shape, const PlanTopology& topo) {
  const int rank = topo.rank;
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "pairwise all-to-all";
  const size_t es = shape.elementSize;
  BlockTable t = blocksOf(shape, nranks);
  uint16_t source = kSendBuffer;
  size_t totalSendBytes = 0;
  size_t sendExtent = 0;
  for (int i = 0; i < nranks; ++i) {
    totalSendBytes += t.sendCount[i] * es;
    sendExtent = std::max(sendExtent, (t.sendOffset[i] + t.sendCount[i]) * es);
  }
  Stage& first = plan.newStage();
  if (shape.inPlace) {
    plan.scratchBytes = sendExtent;
    Plan::copy(first, {kScratchBuffer, 0}, {kSendBuffer, 0}, sendExtent);
    source = kScratchBuffer;
  }
  // Our own block moves locally (a second stage when in place: copies in one stage are unordered).
  Stage& self = shape.inPlace ? plan.newStage() : first;
  Plan::copy(self, {kRecvBuffer, t.recvOffset[rank] * es}, {source, t.sendOffset[rank] * es}, t.recvCount[rank] * es);
  const bool oneStage = totalSendBytes <= kOneStageBytes;
  Stage* shared = oneStage ? &plan.newStage() : nullptr;
  for (int s = 1; s < nranks; ++s) {
    Stage& stage = oneStage ? *shared : plan.newStage();
    int to = modRank(rank + s, nranks);
    int from = modRank(rank - s, nranks);
    if (shape.kind == CollectiveKind::AllToAllv) {
      Plan::sendBlock(stage, to, {source, t.sendOffset[to] * es}, t.sendCount[to] * es);
      Plan::recvBlock(stage, from, {kRecvBuffer, t.recvOffset[from] * es}, t.recvCount[from] * es);
    } else {
      Plan::send(stage, to, {source, t.sendOffset[to] * es}, t.sendCount[to] * es);
      Plan::recv(stage, from, {kRecvBuffer, t.recvOffset[from] * es}, t.recvCount[from] * es);
    }
  }
  plan.compact();
  return plan;
}

// Pricing every one of the n - 1 steps of n transfers is O(n²). Up to 2^20 transfers (1024 ranks)
// every step is priced; beyond, an evenly spaced sample of the steps (at least 32) stands for
// all of them, so the price costs O(n) (on a uniform cluster steps differ only in which hosts a
// shift pairs, and the sample spans the shifts).
constexpr long long kPricedTransfers = 1 << 20;
constexpr int kFewestPricedSteps = 32;

double costPairwiseAllToAll(const CollectiveShape& shape, const CostContext& cost) {
  const int n = cost.nranks();
  double block = static_cast<double>(shape.bytes());
  if (shape.kind == CollectiveKind::AllToAllv && !shape.sendCounts.empty()) {
    double total = 0;
    for (size_t c : shape.sendCounts) total += static_cast<double>(c * shape.elementSize);
    block = total / n;
  }
  const int steps = n - 1;
  const auto priced = static_cast<int>(
      std::min<long long>(steps, std::max<long long>(kFewestPricedSteps, kPricedTransfers / std::max(n, 1))));
  const double weight = priced < steps ? static_cast<double>(steps) / priced : 1.0;
  double seconds = cost.copySeconds(block);
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < priced; ++i) {
    const int s = 1 + static_cast<int>(static_cast<long long>(i) * steps / priced);
    pairs.clear();
    for (int r = 0; r < n; ++r) pairs.emplace_back(r, (r + s) % n);
    seconds += weight * cost.stepSeconds(pairs, block);
  }
  return seconds;
}

// Work: every rank sends to every other (all-to-all-v even empty blocks), counted by link class:
// pairs inside a host, inside a rack across hosts, and across racks.
double workPairwiseAllToAll(const CollectiveShape& shape, const CostContext& cost) {
  if (shape.kind == CollectiveKind::AllToAll && shape.count == 0) return 0;
  const Hierarchy& h = *cost.hierarchy;
  const CostModel& model = *cost.model;
  double sameHost = 0, sameRack = 0, rackSquares = 0;
  for (const RackGroup& rack : h.racks()) {
    double rackRanks = 0, hostSquares = 0;
    for (int host : rack.hosts) {
      const double k = static_cast<double>(h.hosts()[static_cast<size_t>(host)].ranks.size());
      rackRanks += k;
      hostSquares += k * k;
      sameHost += k * (k - 1);
    }
    sameRack += rackRanks * rackRanks - hostSquares;
    rackSquares += rackRanks * rackRanks;
  }
  const double n = cost.nranks(), acrossRacks = n * n - rackSquares;
  return (sameHost * model.shm.alphaUs + sameRack * model.net.alphaUs + acrossRacks * model.interRack.alphaUs) * 1e-6;
}

}  // namespace strata
