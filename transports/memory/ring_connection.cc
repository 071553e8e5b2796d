#include "memory/ring_connection.h"

#include <algorithm>
#include <cstdlib>

namespace strata {

RingConnection::RingConnection(SpscByteRing sendRing, SpscByteRing recvRing, const char* kind,
                               PeerLiveness liveness, std::shared_ptr<void> keepAlive)
    : sendRing_(sendRing), recvRing_(recvRing), kind_(kind), liveness_(std::move(liveness)),
      keepAlive_(std::move(keepAlive)) {}

namespace {

size_t paddingAfter(size_t bytes) { return (8 - bytes % 8) % 8; }

}  // namespace

Status RingConnection::progressSend(TransferRequest& request) {
  if (sendRing_.isClosed()) return remoteError("peer closed the connection");
  if (sendPadding_ > 0) sendPadding_ -= sendRing_.skipWrite(sendPadding_);
  if (sendPadding_ > 0) return Status::ok();
  request.done += sendRing_.write(request.data + request.done, request.bytes - request.done);
  if (request.complete()) sendPadding_ = paddingAfter(request.bytes);
  return Status::ok();
}

size_t RingConnection::peekReceived(TransferRequest& request, const std::byte** data, size_t max) {
  if (recvPadding_ > 0) recvPadding_ -= recvRing_.skipRead(recvPadding_);
  if (recvPadding_ > 0) return 0;
  return recvRing_.peek(data, std::min(max, request.bytes - request.done));
}

void RingConnection::consumeReceived(TransferRequest& request, size_t bytes) {
  recvRing_.consume(bytes);
  request.done += bytes;
  request.contiguous = request.done;
  if (request.complete()) recvPadding_ = paddingAfter(request.bytes);
}

Status RingConnection::progressRecv(TransferRequest& request) {
  if (recvPadding_ > 0) recvPadding_ -= recvRing_.skipRead(recvPadding_);
  size_t n = recvPadding_ > 0 ? 0 : recvRing_.read(request.data + request.done, request.bytes - request.done);
  request.done += n;
  request.contiguous = request.done;
  if (n > 0 && request.complete()) recvPadding_ = paddingAfter(request.bytes);
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
  size_t secondAt = (regionBytes + 63) / 64 * 64;  // ring headers need 64-byte alignment
  auto region = std::make_shared<HeapRegion>(secondAt + regionBytes);
  SpscByteRing aToB = SpscByteRing::create(region->memory, ringBytes);
  SpscByteRing bToA = SpscByteRing::create(region->memory + secondAt, ringBytes);
  MemoryConnectionPair pair;
  // Each endpoint gets its own view: the cached counters inside a ring view are per side.
  pair.first = std::make_unique<RingConnection>(aToB, SpscByteRing::attach(region->memory + secondAt, regionBytes), "memory", PeerLiveness{}, region);
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
