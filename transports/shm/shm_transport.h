// The shm transport: each rank owns one inbound segment holding one byte ring per possible sender;
// a sender maps the receiver's segment and writes into its slot. Segments are anonymous memory
// handed over as descriptors (shm_segment.h, descriptor_exchange.h): nothing is named, so nothing
// leaks or collides. A peer is dead once it released its segment's lock, or, when it shares our
// PID namespace, once its pid is gone (a child it forked may hold the lock a while longer).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "transports/memory/doorbell.h"
#include "transports/memory/peer_windows.h"
#include "transports/shm/shm_segment.h"
#include "transports/transport.h"

namespace strata {

// A rank's inbound segment: its doorbell (a page of its own, so the rings stay page-aligned),
// one ring slot per sender, then its window.
// A receiving rank's segment: its doorbell, a ring per sender on its host (slot i for the host's
// i-th rank in rank order), and its peer-memory window.
struct ShmLayout {
  static constexpr size_t kDoorbellBytes = 4096;
  int slots = 0;  // ranks on the host
  size_t ringBytes = 0;
  size_t windowHalfBytes = 0;  // 0: no peer-memory window
  size_t slotBytes() const;
  size_t windowOffset() const { return kDoorbellBytes + slotBytes() * static_cast<size_t>(slots); }
  size_t totalBytes() const;
  size_t slotOffset(int slot) const { return kDoorbellBytes + slotBytes() * static_cast<size_t>(slot); }
};

// The doorbell of the rank whose inbound segment this is.
DoorbellWord* segmentDoorbell(const ShmSegment& inbound);

// This rank's inbound segment with an empty ring for every sender (and its window).
Result<std::shared_ptr<ShmSegment>> createInboundSegment(int rank, const ShmLayout& layout);
// A peer's inbound segment, from the descriptor it handed over (taken over).
Result<std::shared_ptr<ShmSegment>> adoptPeerSegment(int fd, const ShmLayout& layout);

// Who is at the other end, for liveness checks and messages.
struct ShmPeer {
  int rank = 0;
  int slot = 0;  // its ring's slot in our segment (ShmLayout)
  pid_t pid = 0;
  bool samePidNamespace = false;  // its pid means something here
};

// The connection from the rank in slot `mySlot` to `peer`: writes into the peer's segment, reads
// from ours.
std::unique_ptr<Connection> makeShmConnection(int mySlot, const ShmPeer& peer, const ShmLayout& layout,
                                              std::shared_ptr<ShmSegment> inbound,
                                              std::shared_ptr<ShmSegment> peerInbound);

// Every rank's window, when the whole communicator is on this host: segments[r] is rank r's
// inbound segment as mapped here (ours included).
std::shared_ptr<PeerWindows> makeShmWindows(int rank, const ShmLayout& layout,
                                            const std::vector<std::shared_ptr<ShmSegment>>& segments);

}  // namespace strata
