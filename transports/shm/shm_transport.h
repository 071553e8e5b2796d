// The shm transport: each rank owns one inbound segment holding one byte ring per possible sender;
// a sender maps the receiver's segment and writes into its slot. Segments are named after the
// communicator's secret, so two jobs never meet, and unlinked once every peer has mapped them.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "shm/peer_windows.h"
#include "shm/shm_segment.h"
#include "transport.h"

namespace strata {

struct ShmLayout {
  int nranks = 0;
  size_t ringBytes = 0;
  size_t windowHalfBytes = 0;  // 0: no peer-memory window
  size_t slotBytes() const;
  size_t windowOffset() const { return slotBytes() * static_cast<size_t>(nranks); }
  size_t totalBytes() const;
  size_t slotOffset(int sender) const { return slotBytes() * static_cast<size_t>(sender); }
};

// "/strata-<tag>-<rank>": tag is derived from the communicator's secret.
std::string shmSegmentName(const std::string& tag, int rank);

// Creates this rank's inbound segment with an empty ring for every sender.
Result<std::shared_ptr<ShmSegment>> createInboundSegment(const std::string& tag, int rank,
                                                         const ShmLayout& layout);
// Maps a peer's inbound segment.
Result<std::shared_ptr<ShmSegment>> openPeerSegment(const std::string& tag, int peer,
                                                    const ShmLayout& layout);

// The connection from `rank` to `peer`: writes into the peer's segment, reads from ours.
std::unique_ptr<Connection> makeShmConnection(int rank, int peer, pid_t peerPid,
                                              const ShmLayout& layout,
                                              std::shared_ptr<ShmSegment> inbound,
                                              std::shared_ptr<ShmSegment> peerInbound);

// Every rank's window, when the whole communicator is on this host: segments[r] is rank r's
// inbound segment as mapped here (ours included).
std::shared_ptr<PeerWindows> makeShmWindows(int rank, const ShmLayout& layout,
                                            const std::vector<std::shared_ptr<ShmSegment>>& segments);

}  // namespace strata
