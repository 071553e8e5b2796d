#include "transports/memory/ring_connection.h"

#include <algorithm>
#include <cstdlib>
#include <string_view>

namespace strata {

RingConnection::RingConnection(SpscByteRing sendRing, SpscByteRing recvRing, const char* kind,
                               PeerLiveness liveness, std::shared_ptr<void> keepAlive)
    : sendRing_(sendRing), recvRing_(recvRing), kind_(kind), liveness_(std::move(liveness)),
      keepAlive_(std::move(keepAlive)), wakesOwner_(std::string_view(kind) == "self") {}

void RingConnection::setPeerDoorbell(DoorbellWord* peer) {
  sendRing_.setPeerDoorbell(peer);
  recvRing_.setPeerDoorbell(peer);
  wakesOwner_ = wakesOwner_ || peer != nullptr;
}

namespace {

size_t paddingAfter(const TransferRequest& request) { return (8 - (request.frameBytes + request.bytes) % 8) % 8; }

}  // namespace

Status RingConnection::progressSend(TransferRequest& request) {
  if (sendRing_.isClosed()) return remoteError("peer closed the connection");
  if (sendPadding_ > 0) sendPadding_ -= sendRing_.skipWrite(sendPadding_);
  if (sendPadding_ > 0) return Status::ok();
  if (!request.frameComplete()) {
    request.frameDone += sendRing_.write(request.frame + request.frameDone, request.frameBytes - request.frameDone);
    if (!request.frameComplete()) return Status::ok();
  }
  request.done += sendRing_.write(request.data + request.done, request.bytes - request.done);
  if (request.complete()) sendPadding_ = paddingAfter(request);
  return Status::ok();
}

bool RingConnection::skipReceivePadding() {
  if (recvPadding_ > 0) recvPadding_ -= recvRing_.skipRead(recvPadding_);
  return recvPadding_ == 0;
}

void RingConnection::finishReceive(const TransferRequest& request) {
  recvPadding_ = paddingAfter(request);
  receiving_ = false;
}

Status RingConnection::progressFrame(TransferRequest& request) {
  if (!skipReceivePadding()) return Status::ok();
  if (!request.frameComplete()) {
    size_t n = recvRing_.read(request.frame + request.frameDone, request.frameBytes - request.frameDone);
    request.frameDone += n;
    if (n > 0) receiving_ = true;
    if (n == 0 && recvRing_.isClosed()) return remoteError("peer closed the connection");
  }
  // A header-only message is whole once its frame is in.
  if (request.frameComplete() && request.bytes == 0 && receiving_) finishReceive(request);
  return Status::ok();
}

size_t RingConnection::peekReceived(TransferRequest& request, const std::byte** data, size_t max) {
  if (!request.frameComplete() || (request.frameBytes > 0 && !request.frameAccepted)) return 0;
  if (!skipReceivePadding()) return 0;
  return recvRing_.peek(data, std::min(max, request.bytes - request.done));
}

void RingConnection::consumeReceived(TransferRequest& request, size_t bytes) {
  recvRing_.consume(bytes);
  request.done += bytes;
  request.contiguous = request.done;
  if (bytes > 0) receiving_ = true;
  if (request.complete()) finishReceive(request);
}

Status RingConnection::progressRecv(TransferRequest& request) {
  if (!request.frameComplete()) return progressFrame(request);
  if (request.frameBytes > 0 && !request.frameAccepted) return Status::ok();
  if (request.bytes == 0) return Status::ok();
  if (!skipReceivePadding()) return Status::ok();
  size_t n = recvRing_.read(request.data + request.done, request.bytes - request.done);
  request.done += n;
  request.contiguous = request.done;
  if (n > 0) receiving_ = true;
  if (n > 0 && request.complete()) finishReceive(request);
  // Data written before the peer closed is still delivered; only an empty closed ring is an error.
  if (n == 0 && !request.complete() && recvRing_.isClosed()) {
    return remoteError("peer closed the connection");
  }
  return Status::ok();
}

bool RingConnection::peekFrame(std::byte* out) {
  if (receiving_ || !skipReceivePadding()) return false;
  return recvRing_.peekCopy(out, kFrameHeaderBytes);
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

std::vector<std::vector<std::unique_ptr<Connection>>> makeMemoryMesh(int nranks, size_t ringBytes,
                                                                     const std::vector<DoorbellWord*>& doorbells) {
  std::vector<std::vector<std::unique_ptr<Connection>>> mesh(nranks);
  for (auto& row : mesh) row.resize(nranks);
  for (int a = 0; a < nranks; ++a) {
    mesh[a][a] = makeSelfConnection(ringBytes);
    for (int b = a + 1; b < nranks; ++b) {
      MemoryConnectionPair pair = makeMemoryConnectionPair(ringBytes);
      mesh[a][b] = std::move(pair.first);
      mesh[b][a] = std::move(pair.second);
      if (!doorbells.empty()) {
        static_cast<RingConnection&>(*mesh[a][b]).setPeerDoorbell(doorbells[static_cast<size_t>(b)]);
        static_cast<RingConnection&>(*mesh[b][a]).setPeerDoorbell(doorbells[static_cast<size_t>(a)]);
      }
    }
  }
  return mesh;
}

}  // namespace strata
