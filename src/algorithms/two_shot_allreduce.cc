// Two-shot allreduce over peer memory: a reduce-scatter and an allgather done by direct loads
// from the other ranks' shared windows instead of messages round a ring. For each window-sized
// chunk every rank (1) publishes its input, (2) reduces its own 1/n slice of the chunk out of all
// windows and shares the result in its window, (3) copies the other n-1 reduced slices out of
// their owners' windows. Three synchronisations per chunk against the ring's 2(n-1) dependent
// steps, and no byte passes through a FIFO, which is what wins when ranks outnumber cores.
// Consecutive chunks overlap: chunk k+1 is published before the slices of chunk k are collected
// (the windows' two halves make that safe).
#include <cmath>

#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {
namespace {

// Window operation `chunk`: bytes [begin, begin + size) of the message.
struct Chunk {
  uint32_t op;
  size_t begin;
  size_t elements;
};

void collectSlices(Stage& stage, const Chunk& chunk, const CollectiveShape& shape, int rank, int nranks) {
  for (int owner = 0; owner < nranks; ++owner) {
    if (owner == rank) continue;
    ElementRange slice = partOf(chunk.elements, static_cast<size_t>(nranks), static_cast<size_t>(owner));
    size_t offset = slice.begin * shape.elementSize;
    Plan::windowRead(stage, chunk.op, owner, {kRecvBuffer, chunk.begin + offset}, offset, slice.size * shape.elementSize);
  }
  Plan::windowRelease(stage, chunk.op);
}

}  // namespace

Plan planTwoShotAllReduce(const CollectiveShape& shape, const PlanTopology& topo) {
  // Every allreduce buffer is laid out alike on all ranks, so the plan is made for ring
  // positions and its peers renamed to ranks at the end (neighbours in the topology ring).
  const int rank = topo.position();
  const int nranks = topo.nranks;
  Plan plan;
  plan.algorithm = "two-shot allreduce";
  if (shape.count == 0) return plan;
  // Without a window size (plan tests, one rank) any chunk size is correct; 1 MiB is typical.
  size_t windowBytes = shape.windowBytes > 0 ? shape.windowBytes : size_t{1} << 20;
  size_t chunkElements = std::max<size_t>(1, windowBytes / shape.elementSize);
  Stage& stage = plan.newStage();  // window steps run in the order listed
  Chunk previous{};
  bool havePrevious = false;
  for (size_t first = 0; first < shape.count; first += chunkElements) {
    Chunk chunk{static_cast<uint32_t>(first / chunkElements), first * shape.elementSize,
                std::min(chunkElements, shape.count - first)};
    Plan::windowPublish(stage, chunk.op, {kSendBuffer, chunk.begin}, chunk.elements * shape.elementSize);
    if (havePrevious) collectSlices(stage, previous, shape, rank, nranks);
    ElementRange mine = partOf(chunk.elements, static_cast<size_t>(nranks), static_cast<size_t>(rank));
    size_t offset = mine.begin * shape.elementSize;
    size_t bytes = mine.size * shape.elementSize;
    Plan::windowReduce(stage, chunk.op, {kRecvBuffer, chunk.begin + offset}, offset, bytes);
    Plan::windowShare(stage, chunk.op, offset, {kRecvBuffer, chunk.begin + offset}, bytes);
    previous = chunk;
    havePrevious = true;
  }
  collectSlices(stage, previous, shape, rank, nranks);
  return onRingPositions(std::move(plan), topo);
}

double costTwoShotAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const double n = cost.nranks(), bytes = static_cast<double>(shape.bytes());
  const double window = cost.windowBytes > 0 ? static_cast<double>(cost.windowBytes) : double(1 << 20);
  const double chunks = std::max(1.0, std::ceil(bytes / window));
  // publish S, reduce my S/n out of n windows, share S/n, collect (n-1)/n·S
  return 3 * chunks * cost.windowSyncSeconds() + cost.copySeconds(bytes) + (n - 1) * cost.reduceSeconds(bytes / n) +
         cost.copySeconds(bytes / n) + cost.copySeconds(bytes * (n - 1) / n);
}

// Work: a publish and a share per rank and window-sized chunk (as planTwoShotAllReduce cuts them).
double workTwoShotAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  if (shape.count == 0) return 0;
  const size_t windowBytes = shape.windowBytes > 0 ? shape.windowBytes : size_t{1} << 20;
  const size_t chunks = ceilDiv(shape.count, std::max<size_t>(1, windowBytes / shape.elementSize));
  return 2.0 * static_cast<double>(chunks) * cost.nranks() * cost.model->windowSyncUs * 1e-6;
}

}  // namespace strata
