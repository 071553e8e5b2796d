#include "src/api/peer_memory_plan.h"

#include "src/api/device_submit.h"

namespace strata::api {
namespace {

using Kernel = PeerMemoryPlan::Kernel;
using Stage = PeerMemoryPlan::Stage;

// A copy of every rank's block: from `offsetOf(rank, block)` of rank k's sendbuff to block k of
// recvbuff, leaving out this rank's own block when the call is in place (it is already there).
Stage copyFromEveryRank(int nranks, size_t block, bool skipOwn, int rank, size_t (*offsetOf)(int rank, size_t block)) {
  Stage stage;
  stage.kernel = Kernel::Copy;
  for (int k = 0; k < nranks; ++k) {
    if (skipOwn && k == rank) continue;
    stage.sources.push_back({k, false, offsetOf(rank, block), static_cast<size_t>(k) * block, block});
  }
  return stage;
}

Stage copyOne(int from, size_t offset, size_t bytes) {
  Stage stage;
  stage.kernel = Kernel::Copy;
  stage.sources.push_back({from, false, offset, 0, bytes});
  return stage;
}

Stage reduceFromEveryRank(const CollectiveCall& call, int nranks, size_t offset, size_t count) {
  Stage stage;
  stage.kernel = Kernel::Reduce;
  stage.count = count;
  stage.average = call.op == strataAvg;
  for (int k = 0; k < nranks; ++k) stage.sources.push_back({k, false, offset, 0, 0});
  return stage;
}

size_t atZero(int, size_t) { return 0; }
size_t atOwnBlock(int rank, size_t block) { return static_cast<size_t>(rank) * block; }

bool overlaps(const char* a, size_t aBytes, const char* b, size_t bBytes) {
  return aBytes > 0 && bBytes > 0 && a < b + bBytes && b < a + aBytes;
}

// Rank k's slice of `count` elements of `element` bytes cut into `nranks`: (first element,
// elements). Slices are cut on 16-byte boundaries, so the kernels take 16 bytes per thread in
// every slice (an element that does not divide 16 is cut anywhere); the last slice takes what
// does not fill a 16-byte unit.
std::pair<size_t, size_t> sliceOf(size_t count, size_t element, int nranks, int k) {
  const size_t unit = element > 0 && element <= 16 && 16 % element == 0 ? 16 / element : 1;
  const size_t units = count / unit;
  const size_t base = units / static_cast<size_t>(nranks);
  const size_t extra = units % static_cast<size_t>(nranks);
  const size_t index = static_cast<size_t>(k);
  const size_t first = (index * base + std::min(index, extra)) * unit;
  size_t elements = (base + (index < extra ? 1 : 0)) * unit;
  if (k == nranks - 1) elements += count % unit;
  return {first, elements};
}

// The two-shot allreduce: stage 1 reduces this rank's slice of every sendbuff into its recvbuff,
// stage 2 copies every other slice from the recvbuff of the rank that reduced it. In place it
// needs no scratch: in stage 1 a rank writes only its own slice, which no peer reads then (each
// reads its own slice), and its kernel reads each element before writing it; in stage 2 it writes
// the other slices, which no rank reads then (each reads the slice its owner reduced).
PeerMemoryPlan twoShot(const CollectiveCall& call, int rank, int nranks) {
  PeerMemoryPlan plan;
  plan.sendRead = true;
  plan.recvRead = true;
  const size_t element = call.shape.elementSize;
  const auto [first, count] = sliceOf(call.shape.count, element, nranks, rank);
  Stage reduce = reduceFromEveryRank(call, nranks, first * element, count);
  reduce.dstOffset = first * element;
  reduce.written.push_back({first * element, count * element});
  Stage gather;
  gather.kernel = Kernel::Copy;
  for (int k = 0; k < nranks; ++k) {
    if (k == rank) continue;
    const auto [at, elements] = sliceOf(call.shape.count, element, nranks, k);
    gather.sources.push_back({k, true, at * element, at * element, elements * element});
    gather.written.push_back({at * element, elements * element});
  }
  plan.stages = {reduce, gather};
  return plan;
}

}  // namespace

bool peerMemoryTakes(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::AllReduce:
    case CollectiveKind::Reduce:
    case CollectiveKind::ReduceScatter:
    case CollectiveKind::Broadcast:
    case CollectiveKind::AllGather:
    case CollectiveKind::AllToAll:
    case CollectiveKind::Gather:
    case CollectiveKind::Scatter:
      return true;
    default:
      return false;
  }
}

PeerMemoryPlan planPeerMemory(const CollectiveCall& call, int rank, int nranks) {
  const CollectiveShape& shape = call.shape;
  const size_t block = shape.bytes();
  const bool root = rank == shape.root;
  const char* send = static_cast<const char*>(call.send);
  const char* recv = static_cast<const char*>(call.recv);
  const size_t sendBytes = extentsOf(shape, rank, nranks).sendBytes;
  if (shape.kind == CollectiveKind::AllReduce && nranks >= 3 && block >= kTwoShotBytes &&
      (send == recv || send == nullptr || !overlaps(recv, block, send, sendBytes))) {
    return twoShot(call, rank, nranks);
  }
  PeerMemoryPlan plan;
  std::optional<Stage> stage;
  switch (shape.kind) {
    case CollectiveKind::AllReduce:
      plan.sendRead = true;
      stage = reduceFromEveryRank(call, nranks, 0, shape.count);
      break;
    case CollectiveKind::ReduceScatter:
      plan.sendRead = true;
      stage = reduceFromEveryRank(call, nranks, static_cast<size_t>(rank) * block, shape.count);
      break;
    case CollectiveKind::Reduce:
      plan.sendRead = true;
      if (root) stage = reduceFromEveryRank(call, nranks, 0, shape.count);
      break;
    case CollectiveKind::Broadcast:
      plan.sendRead = root;
      if (!root || send != recv) stage = copyOne(shape.root, 0, block);
      break;
    case CollectiveKind::AllGather:  // in place: sendbuff is block `rank` of recvbuff
      plan.sendRead = true;
      stage = copyFromEveryRank(nranks, block, send == recv + static_cast<size_t>(rank) * block, rank, atZero);
      break;
    case CollectiveKind::AllToAll:
      plan.sendRead = true;
      stage = copyFromEveryRank(nranks, block, false, rank, atOwnBlock);
      break;
    case CollectiveKind::Gather:  // in place at the root: its sendbuff is its block of recvbuff
      plan.sendRead = true;
      if (root)
        stage = copyFromEveryRank(nranks, block, send == recv + static_cast<size_t>(rank) * block, rank, atZero);
      break;
    case CollectiveKind::Scatter:  // in place at the root: its recvbuff is its block of sendbuff
      plan.sendRead = root;
      if (!root || recv != send + static_cast<size_t>(rank) * block) {
        stage = copyOne(shape.root, static_cast<size_t>(rank) * block, block);
      }
      break;
    default:
      break;
  }
  if (!stage) stage = Stage{};  // nothing to write here; the rank still waits for its readers
  if (stage->kernel == Kernel::Reduce) stage->written.push_back({0, block});
  if (stage->kernel == Kernel::Copy) {
    for (const PeerMemoryPlan::Source& s : stage->sources) stage->written.push_back({s.dstOffset, s.bytes});
  }
  // Writes onto this rank's sendbuff would change what a reader (a peer, or this kernel) takes.
  for (const auto& [offset, bytes] : stage->written) {
    if (send != nullptr && overlaps(recv + offset, bytes, send, sendBytes)) plan.scratch = true;
  }
  plan.stages = {*stage};
  return plan;
}

}  // namespace strata::api
