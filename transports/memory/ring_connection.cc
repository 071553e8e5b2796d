#include "memory/ring_connection.h"

#include <cstdlib>

namespace strata {

RingConnection::RingConnection(SpscByteRing sendRing, SpscByteRing recvRing, const char* kind,
                               PeerLiveness liveness, std::shared_ptr<void> keepAlive)
    : sendRing_(sendRing), recvRing_(recvRing), kind_(kind), liveness_(std::move(liveness)),
      keepAlive_(std::move(keepAlive)) {}

Status RingConnection::progressSend(TransferRequest& request) {
  if (sendRing_.isClosed()) return remoteError("peer closed the connection");
  request.done += sendRing_.write(request.data + request.done, request.bytes - request.done);
  return Status::ok();
}

Status RingConnection::progressRecv(TransferRequest& request) {
  size_t n = recvRing_.read(request.data + request.done, request.bytes - request.done);
  request.done += n;
  request.contiguous = request.done;
  // Data written before the peer closed is still delivered; only an empty closed ring is an error.
  if (n == 0 && !request.complete() && recvRing_.isClosed()) {
    return remoteError("peer closed the connection");
  }
  return Status::ok();
}

Status RingConnection::checkPeer() {
  if (recvRing_.isClosed() || sendRing_.isClosed()) return remoteError("peer closed the connection");
  return liveness_ ? liveness_() : Status::ok();
}

void RingConnection::close() {
  sendRing_.markClosed();
  recvRing_.markClosed();
}

namespace {

struct HeapRegion {
  explicit HeapRegion(size_t bytes) : memory(static_cast<std::byte*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64))) {}
  ~HeapRegion() { std::free(memory); }
  HeapRegion(const HeapRegion&) = delete;
  HeapRegion& operator=(const HeapRegion&) = delete;
  std::byte* memory;
};

}  // namespace

MemoryConnectionPair makeMemoryConnectionPair(size_t ringBytes) {
  size_t regionBytes = SpscByteRing::regionBytes(ringBytes);
  auto region = std::make_shared<HeapRegion>(2 * regionBytes);
  SpscByteRing aToB = SpscByteRing::create(region->memory, ringBytes);
  SpscByteRing bToA = SpscByteRing::create(region->memory + regionBytes, ringBytes);
  MemoryConnectionPair pair;
  // Each endpoint gets its own view: the cached counters inside a ring view are per side.
  pair.first = std::make_unique<RingConnection>(aToB, SpscByteRing::attach(region->memory + regionBytes, regionBytes), "memory", PeerLiveness{}, region);
  pair.second = std::make_unique<RingConnection>(bToA, SpscByteRing::attach(region->memory, regionBytes), "memory", PeerLiveness{}, region);
  return pair;
}

std::unique_ptr<Connection> makeSelfConnection(size_t ringBytes) {
  auto region = std::make_shared<HeapRegion>(SpscByteRing::regionBytes(ringBytes));
  SpscByteRing ring = SpscByteRing::create(region->memory, ringBytes);
  return std::make_unique<RingConnection>(ring, ring, "self", PeerLiveness{}, region);
}

std::vector<std::vector<std::unique_ptr<Connection>>> makeMemoryMesh(int nranks, size_t ringBytes) {
  std::vector<std::vector<std::unique_ptr<Connection>>> mesh(nranks);
  for (auto& row : mesh) row.resize(nranks);
  for (int a = 0; a < nranks; ++a) {
    mesh[a][a] = makeSelfConnection(ringBytes);
    for (int b = a + 1; b < nranks; ++b) {
      MemoryConnectionPair pair = makeMemoryConnectionPair(ringBytes);
      mesh[a][b] = std::move(pair.first);
      mesh[b][a] = std::move(pair.second);
    }
  }
  return mesh;
}

}  // namespace strata
