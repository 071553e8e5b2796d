#include "src/api/peer_memory_plan.h"

#include "src/api/device_submit.h"

namespace strata::api {
namespace {

using Kernel = PeerMemoryPlan::Kernel;

// A copy of every rank's block: from `offsetOf(k)` of rank k's sendbuff to block k of recvbuff,
// leaving out this rank's own block when the call is in place (it is already there).
void copyFromEveryRank(PeerMemoryPlan& plan, int nranks, size_t block, bool skipOwn, int rank,
                       size_t (*offsetOf)(int rank, size_t block)) {
  plan.kernel = Kernel::Copy;
  plan.bytesEach = block;
  for (int k = 0; k < nranks; ++k) {
    if (skipOwn && k == rank) continue;
    plan.sources.push_back({k, offsetOf(rank, block), static_cast<size_t>(k) * block});
  }
}

size_t atZero(int, size_t) { return 0; }
size_t atOwnBlock(int rank, size_t block) { return static_cast<size_t>(rank) * block; }

bool overlaps(const char* a, size_t aBytes, const char* b, size_t bBytes) {
  return aBytes > 0 && bBytes > 0 && a < b + bBytes && b < a + aBytes;
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
  PeerMemoryPlan plan;
  const CollectiveShape& shape = call.shape;
  const size_t block = shape.bytes();
  const bool root = rank == shape.root;
  const char* send = static_cast<const char*>(call.send);
  const char* recv = static_cast<const char*>(call.recv);
  auto reduceFromEveryRank = [&](size_t offset) {
    plan.kernel = Kernel::Reduce;
    plan.count = shape.count;
    plan.average = call.op == strataAvg;
    for (int k = 0; k < nranks; ++k) plan.sources.push_back({k, offset, 0});
  };
  switch (shape.kind) {
    case CollectiveKind::AllReduce:
      plan.sendRead = true;
      reduceFromEveryRank(0);
      break;
    case CollectiveKind::ReduceScatter:
      plan.sendRead = true;
      reduceFromEveryRank(static_cast<size_t>(rank) * block);
      break;
    case CollectiveKind::Reduce:
      plan.sendRead = true;
      if (root) reduceFromEveryRank(0);
      break;
    case CollectiveKind::Broadcast:
      plan.sendRead = root;
      if (!root || send != recv) {
        plan.kernel = Kernel::Copy;
        plan.bytesEach = block;
        plan.sources.push_back({shape.root, 0, 0});
      }
      break;
    case CollectiveKind::AllGather:  // in place: sendbuff is block `rank` of recvbuff
      plan.sendRead = true;
      copyFromEveryRank(plan, nranks, block, send == recv + static_cast<size_t>(rank) * block, rank, atZero);
      break;
    case CollectiveKind::AllToAll:
      plan.sendRead = true;
      copyFromEveryRank(plan, nranks, block, false, rank, atOwnBlock);
      break;
    case CollectiveKind::Gather:  // in place at the root: its sendbuff is its block of recvbuff
      plan.sendRead = true;
      if (root) copyFromEveryRank(plan, nranks, block, send == recv + static_cast<size_t>(rank) * block, rank, atZero);
      break;
    case CollectiveKind::Scatter:  // in place at the root: its recvbuff is its block of sendbuff
      plan.sendRead = root;
      if (!root || recv != send + static_cast<size_t>(rank) * block) {
        plan.kernel = Kernel::Copy;
        plan.bytesEach = block;
        plan.sources.push_back({shape.root, static_cast<size_t>(rank) * block, 0});
      }
      break;
    default:
      break;
  }
  if (plan.kernel == Kernel::Reduce) plan.written.push_back({0, block});
  if (plan.kernel == Kernel::Copy) {
    for (const PeerMemoryPlan::Source& s : plan.sources) plan.written.push_back({s.dstOffset, plan.bytesEach});
  }
  // Writes onto this rank's sendbuff would change what a reader (a peer, or this kernel) takes.
  const size_t sendBytes = extentsOf(shape, rank, nranks).sendBytes;
  for (const auto& [offset, bytes] : plan.written) {
    if (send != nullptr && overlaps(recv + offset, bytes, send, sendBytes)) plan.scratch = true;
  }
  return plan;
}

}  // namespace strata::api
