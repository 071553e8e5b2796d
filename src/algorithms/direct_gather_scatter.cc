// Direct gather and scatter: the root exchanges one block with every other rank, all at once.
// Cost at the root: (n-1) overlapping latencies + (n-1)/n·S·beta through its one link, which is
// optimal for a single root link. The only gather/scatter algorithm for now.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {

Plan planDirectGather(const CollectiveShape& shape, const PlanTopology& topo) {
  const int rank = topo.rank;
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "direct gather";
  const size_t blockBytes = shape.bytes();
  Stage& stage = plan.newStage();
  if (rank == shape.root) {
    Plan::copy(stage, {kRecvBuffer, static_cast<size_t>(rank) * blockBytes}, {kSendBuffer, 0}, blockBytes);
    for (int peer = 0; peer < nranks; ++peer) {
      if (peer != rank) Plan::recv(stage, peer, {kRecvBuffer, static_cast<size_t>(peer) * blockBytes}, blockBytes);
    }
  } else {
    Plan::send(stage, shape.root, {kSendBuffer, 0}, blockBytes);
  }
  plan.compact();
  return plan;
}

Plan planDirectScatter(const CollectiveShape& shape, const PlanTopology& topo) {
  const int rank = topo.rank;
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "direct scatter";
  const size_t blockBytes = shape.bytes();
  Stage& stage = plan.newStage();
  if (rank == shape.root) {
    Plan::copy(stage, {kRecvBuffer, 0}, {kSendBuffer, static_cast<size_t>(rank) * blockBytes}, blockBytes);
    for (int peer = 0; peer < nranks; ++peer) {
      if (peer != rank) Plan::send(stage, peer, {kSendBuffer, static_cast<size_t>(peer) * blockBytes}, blockBytes);
    }
  } else {
    Plan::recv(stage, shape.root, {kRecvBuffer, 0}, blockBytes);
  }
  plan.compact();
  return plan;
}

// The root's link carries every block: the blocks queue behind each other there.
double costDirectGather(const CollectiveShape& shape, const CostContext& cost) {
  const double block = static_cast<double>(shape.bytes());
  double seconds = cost.copySeconds(block);
  for (int r = 0; r < cost.nranks(); ++r) {
    if (r != shape.root) seconds += cost.stepSeconds({{r, shape.root}}, block);
  }
  return seconds;
}

double costDirectScatter(const CollectiveShape& shape, const CostContext& cost) {
  const double block = static_cast<double>(shape.bytes());
  double seconds = cost.copySeconds(block);
  for (int r = 0; r < cost.nranks(); ++r) {
    if (r != shape.root) seconds += cost.stepSeconds({{shape.root, r}}, block);
  }
  return seconds;
}

// Work: every rank but the root sends its block to the root.
double workDirectGather(const CollectiveShape& shape, const CostContext& cost) {
  if (shape.count == 0) return 0;
  double work = 0;
  for (int r = 0; r < cost.nranks(); ++r) {
    if (r != shape.root) work += cost.linkAlphaSeconds(r, shape.root);
  }
  return work;
}

// Work: the root sends a block to every other rank.
double workDirectScatter(const CollectiveShape& shape, const CostContext& cost) {
  if (shape.count == 0) return 0;
  double work = 0;
  for (int r = 0; r < cost.nranks(); ++r) {
    if (r != shape.root) work += cost.linkAlphaSeconds(shape.root, r);
  }
  return work;
}

}  // namespace strata
