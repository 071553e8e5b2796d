// A Connection made of two byte rings: one we write, one we read. The rings may sit in process
// memory (threads as ranks in tests, a rank talking to itself) or in POSIX shared memory (shm
// transport); `PeerLiveness` lets the shm transport notice a peer that died without closing.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "transports/memory/spsc_byte_ring.h"
#include "transports/transport.h"

namespace strata {

using PeerLiveness = std::function<Status()>;

class RingConnection : public Connection {
 public:
  RingConnection(SpscByteRing sendRing, SpscByteRing recvRing, const char* kind,
                 PeerLiveness liveness = {}, std::shared_ptr<void> keepAlive = {});

  Status progressSend(TransferRequest& request) override;
  Status progressRecv(TransferRequest& request) override;
  Status progressFrame(TransferRequest& request) override;
  bool peekFrame(std::byte* out) override;
  bool canPeek() const override { return true; }
  size_t peekReceived(TransferRequest& request, const std::byte** data, size_t max) override;
  void consumeReceived(TransferRequest& request, size_t bytes) override;
  Status checkPeer() override;
  bool wakesOwnerDoorbell() const override { return wakesOwner_; }
  void close() override;
  // `peer`: the doorbell of the rank at the other end, rung when we write or free ring space
  // (its rings ring ours likewise). A connection to ourselves needs none: it never waits for anyone.
  void setPeerDoorbell(DoorbellWord* peer);
  const char* kind() const override { return kind_; }

 private:
  SpscByteRing sendRing_;
  SpscByteRing recvRing_;
  const char* kind_;
  PeerLiveness liveness_;
  std::shared_ptr<void> keepAlive_;  // owns the memory the rings live in
  bool wakesOwner_ = false;
  // Every message (frame and payload) occupies a multiple of 8 bytes of ring: the padding after
  // a finished message is skipped before the next one starts, identically on both sides.
  size_t sendPadding_ = 0;
  size_t recvPadding_ = 0;
  bool receiving_ = false;  // a message has been started on the receive side and is not finished
  // Skips the padding a finished message left; false while some of it has not arrived.
  bool skipReceivePadding();
  void finishReceive(const TransferRequest& request);
};

// Two connected endpoints over heap rings: for N ranks as threads in one process.
struct MemoryConnectionPair {
  std::unique_ptr<Connection> first;
  std::unique_ptr<Connection> second;
};
MemoryConnectionPair makeMemoryConnectionPair(size_t ringBytes);

// A rank's connection to itself (a send to self is read back by the matching receive).
std::unique_ptr<Connection> makeSelfConnection(size_t ringBytes);

// A full mesh for `nranks` threads: result[rank][peer].
// With `doorbells` (one per rank, or empty), each rank's peers ring its doorbell.
std::vector<std::vector<std::unique_ptr<Connection>>> makeMemoryMesh(int nranks, size_t ringBytes,
                                                                     const std::vector<DoorbellWord*>& doorbells = {});

}  // namespace strata
