#include "plugins/nccl_net/send_comm.h"

#include <cstring>

#include "plugins/nccl_net/wire_format.h"

namespace strata::nccl_net {

namespace {

TransferRequest awaitingAnnouncement() {
  TransferRequest announcement;
  announcement.frameBytes = kFrameHeaderBytes;
  return announcement;
}

}  // namespace

SendComm::SendComm(std::unique_ptr<Connection> connection, std::string peer, std::unique_ptr<Connection> announcements)
    : connection_(std::move(connection)),
      peer_(std::move(peer)),
      announcements_(std::move(announcements)),
      announcement_(awaitingAnnouncement()) {}

SendComm::~SendComm() {
  // Closing with messages still in flight tells the peer at once (its waits fail); an idle comm
  // just goes, so nothing the peer has yet to take in is cut off (ucx flushes on destruction).
  if (!unsent_.empty()) connection_->close();
}

Status SendComm::readAnnouncements() {
  while (true) {
    STRATA_RETURN_IF_ERROR(announcementPath().progressFrame(announcement_));
    if (!announcement_.frameComplete()) return Status::ok();
    AnnouncedGroup group;
    std::memcpy(&group.credit, announcement_.frame, sizeof(group.credit));
    if (group.credit.magic != kCreditMagic || group.credit.count < 1 ||
        group.credit.count > static_cast<uint32_t>(kMaxGroupedReceives)) {
      return internalError("the receiver sent something that is not a receive announcement (a stranger, or a "
                           "stream out of step)");
    }
    announcement_.frameAccepted = true;  // a frame alone: nothing follows it
    STRATA_RETURN_IF_ERROR(announcementPath().progressRecv(announcement_));
    announced_.push_back(group);
    announcement_ = awaitingAnnouncement();
  }
}

bool SendComm::takeAnnouncedSlot(int tag) {
  if (announced_.empty()) return false;
  // NCCL's rule: only the oldest group the receiver announced, and only a slot of this tag.
  AnnouncedGroup& group = announced_.front();
  const int count = static_cast<int>(group.credit.count);
  int slot = 0;
  while (slot < count && (group.taken[slot] || group.credit.tags[slot] != tag)) ++slot;
  if (slot == count) return false;
  group.taken[slot] = true;
  if (++group.takenCount == count) announced_.pop_front();
  return true;
}

Result<SendRequest*> SendComm::post(const void* data, size_t bytes, int tag) {
  if (!failure_.isOk()) return failure_;
  if (pool_.empty()) return static_cast<SendRequest*>(nullptr);
  // The announcement socket is read only when no group is known: most sends need no syscall.
  if (announced_.empty()) {
    Status read = readAnnouncements();
    if (!read.isOk()) {
      failure_ = read.withContext("sending to " + peer_ + ": ");
      return failure_;
    }
  }
  if (!takeAnnouncedSlot(tag)) return static_cast<SendRequest*>(nullptr);
  SendRequest* request = pool_.take();
  request->comm = this;
  request->transfer.data = static_cast<std::byte*>(const_cast<void*>(data));
  request->transfer.bytes = bytes;
  request->transfer.frameBytes = kFrameHeaderBytes;
  request->transfer.frameAccepted = true;  // a sender has nothing to accept
  MessageHeader header{bytes, tag, kMessageMagic};
  std::memcpy(request->transfer.frame, &header, sizeof(header));
  unsent_.push_back(request);
  return request;
}

Status SendComm::progress() {
  if (!failure_.isOk()) return failure_;
  while (!unsent_.empty()) {
    SendRequest* head = unsent_.front();
    Status moved = connection_->progressSend(head->transfer);
    if (!moved.isOk()) {
      failure_ = moved.withContext("sending to " + peer_ + ": ");
      return failure_;
    }
    if (!head->transfer.complete()) break;
    head->sent = true;
    unsent_.pop_front();
  }
  if (!unsent_.empty()) {
    // Transports that learn of a dead peer only when asked (ucx) are asked while a send waits.
    Status peer = connection_->checkPeer();
    if (!peer.isOk()) failure_ = peer.withContext("sending to " + peer_ + ": ");
    return failure_;
  }
  return Status::ok();
}

void SendComm::release(SendRequest* request) { pool_.give(request); }

}  // namespace strata::nccl_net
