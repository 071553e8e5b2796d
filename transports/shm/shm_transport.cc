#include "transports/shm/shm_transport.h"

#include <algorithm>
#include <new>

#include "transports/memory/ring_connection.h"
#include "transports/shm/process_liveness.h"

namespace strata {
namespace {

constexpr size_t kPrefaultedRingBytes = 64 << 10;

}  // namespace

size_t ShmLayout::slotBytes() const {
  size_t bytes = SpscByteRing::regionBytes(ringBytes);
  return (bytes + 4095) / 4096 * 4096;
}

size_t ShmLayout::totalBytes() const {
  size_t window = windowHalfBytes == 0 ? 0 : PeerWindows::regionBytes(windowHalfBytes);
  return windowOffset() + (window + 4095) / 4096 * 4096;
}

DoorbellWord* segmentDoorbell(const ShmSegment& inbound) { return reinterpret_cast<DoorbellWord*>(inbound.data()); }

Result<std::shared_ptr<ShmSegment>> createInboundSegment(int rank, const ShmLayout& layout) {
  auto segment = ShmSegment::create("strata-inbound-" + std::to_string(rank), layout.totalBytes());
  if (!segment.ok()) return segment.status();
  segment.value()->populate(0, ShmLayout::kDoorbellBytes);
  new (segment.value()->data()) DoorbellWord{};
  for (int slot = 0; slot < layout.slots; ++slot) {
    // The ring's head and its first pages: the rest faults in (minor faults, the pages exist) as
    // messages first go round it.
    segment.value()->populate(layout.slotOffset(slot), std::min(layout.slotBytes(), kPrefaultedRingBytes));
    SpscByteRing::create(segment.value()->data() + layout.slotOffset(slot), layout.ringBytes);
  }
  if (layout.windowHalfBytes > 0) PeerWindows::format(segment.value()->data() + layout.windowOffset());
  return segment;
}

Result<std::shared_ptr<ShmSegment>> adoptPeerSegment(int fd, const ShmLayout& layout) {
  return ShmSegment::adopt(fd, layout.totalBytes());
}

namespace {

// Keeps both mappings alive as long as the connection exists.
struct SegmentPair {
  std::shared_ptr<ShmSegment> inbound;
  std::shared_ptr<ShmSegment> peerInbound;
};

}  // namespace

std::unique_ptr<Connection> makeShmConnection(int mySlot, const ShmPeer& peer, const ShmLayout& layout,
                                              std::shared_ptr<ShmSegment> inbound,
                                              std::shared_ptr<ShmSegment> peerInbound) {
  // The peer's doorbell and the ring we write in its segment; the rest of it is not ours to touch.
  peerInbound->populate(0, ShmLayout::kDoorbellBytes);
  peerInbound->populate(layout.slotOffset(mySlot), std::min(layout.slotBytes(), kPrefaultedRingBytes));
  size_t ringRegion = SpscByteRing::regionBytes(layout.ringBytes);
  SpscByteRing sendRing = SpscByteRing::attach(peerInbound->data() + layout.slotOffset(mySlot), ringRegion);
  SpscByteRing recvRing = SpscByteRing::attach(inbound->data() + layout.slotOffset(peer.slot), ringRegion);
  if (!sendRing.valid() || !recvRing.valid()) return nullptr;
  const ShmSegment* theirs = peerInbound.get();
  PeerLiveness liveness = [theirs, peer]() -> Status {
    bool alive = theirs->creatorAlive() && (!peer.samePidNamespace || processIsAlive(peer.pid));
    if (alive) return Status::ok();
    return remoteError("rank " + std::to_string(peer.rank) + " (pid " + std::to_string(peer.pid) + ") has exited");
  };
  DoorbellWord* peerBell = segmentDoorbell(*peerInbound);
  auto keep = std::make_shared<SegmentPair>(SegmentPair{std::move(inbound), std::move(peerInbound)});
  auto connection = std::make_unique<RingConnection>(sendRing, recvRing, "shm", std::move(liveness), keep);
  connection->setPeerDoorbell(peerBell);
  return connection;
}

std::shared_ptr<PeerWindows> makeShmWindows(int rank, const ShmLayout& layout,
                                            const std::vector<std::shared_ptr<ShmSegment>>& segments) {
  std::vector<std::byte*> regions;
  std::vector<DoorbellWord*> doorbells;
  for (const auto& segment : segments) {
    segment->populate(layout.windowOffset(), segment->size() - layout.windowOffset());  // every rank reads every window
    regions.push_back(segment->data() + layout.windowOffset());
    doorbells.push_back(segmentDoorbell(*segment));
  }
  auto keep = std::make_shared<std::vector<std::shared_ptr<ShmSegment>>>(segments);
  return std::make_shared<PeerWindows>(rank, std::move(regions), layout.windowHalfBytes, keep, std::move(doorbells));
}

}  // namespace strata
