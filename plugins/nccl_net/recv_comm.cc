#include "plugins/nccl_net/recv_comm.h"

#include <algorithm>
#include <cstring>

#include "plugins/nccl_net/wire_format.h"

namespace strata::nccl_net {
namespace {

TransferRequest awaitingHeader() {
  TransferRequest incoming;
  incoming.frameBytes = kFrameHeaderBytes;
  return incoming;
}

}  // namespace

RecvComm::RecvComm(std::unique_ptr<Connection> connection, std::string peer, std::unique_ptr<Connection> announcements)
    : connection_(std::move(connection)),
      peer_(std::move(peer)),
      announcementConnection_(std::move(announcements)),
      incoming_(awaitingHeader()) {}

RecvComm::~RecvComm() {
  // Closing with messages still in flight tells the peer at once (its waits fail); an idle comm
  // just goes, so nothing the peer has yet to take in is cut off (ucx flushes on destruction).
  if (!unfinished_.empty()) connection_->close();
}

RecvRequest* RecvComm::post(int count, void* const* data, const size_t* sizes, const int* tags) {
  RecvRequest* request = pool_.take();
  if (request == nullptr) return nullptr;
  request->comm = this;
  request->count = count;
  ReceiveCredit credit{kCreditMagic, static_cast<uint32_t>(count), {}};
  for (int i = 0; i < count; ++i) {
    request->slots[i] = ReceiveSlot{static_cast<std::byte*>(data[i]), sizes[i], tags[i], 0, false};
    credit.tags[i] = tags[i];
  }
  request->announcement.frameBytes = kFrameHeaderBytes;
  request->announcement.frameAccepted = true;
  std::memcpy(request->announcement.frame, &credit, sizeof(credit));
  unfinished_.push_back(request);
  ++unannounced_;
  return request;
}

Status RecvComm::sendAnnouncements() {
  while (unannounced_ > 0) {
    TransferRequest& announcement = unfinished_[unfinished_.size() - unannounced_]->announcement;
    STRATA_RETURN_IF_ERROR(announcementPath().progressSend(announcement));
    if (!announcement.complete()) return Status::ok();
    --unannounced_;
  }
  return Status::ok();
}

Result<bool> RecvComm::placeIncoming() {
  if (unfinished_.empty()) return false;
  MessageHeader header;
  std::memcpy(&header, incoming_.frame, sizeof(header));
  if (header.magic != kMessageMagic) {
    return internalError("a message from " + peer_ + " does not start with the plugin's header (a stranger, or a "
                         "stream out of step)");
  }
  RecvRequest* group = unfinished_.front();
  for (int i = 0; i < group->count; ++i) {
    ReceiveSlot& slot = group->slots[i];
    if (slot.filled || slot.tag != header.tag) continue;
    if (header.bytes > slot.capacity) {
      return internalError("a message of " + std::to_string(header.bytes) + " bytes with tag " +
                           std::to_string(header.tag) + " arrived from " + peer_ + " for a receive of " +
                           std::to_string(slot.capacity) + " bytes (a receive may be larger than the send, never smaller)");
    }
    incomingSlot_ = &slot;
    incoming_.data = slot.data;
    incoming_.bytes = header.bytes;
    incoming_.frameAccepted = true;
    return true;
  }
  std::string expected;
  for (int i = 0; i < group->count; ++i) {
    if (!group->slots[i].filled) expected += (expected.empty() ? "" : ", ") + std::to_string(group->slots[i].tag);
  }
  return internalError("a message with tag " + std::to_string(header.tag) + " arrived from " + peer_ +
                       " while the oldest posted receive waits for tag(s) " + expected +
                       " (messages match receives in posting order)");
}

Status RecvComm::progress() {
  if (!failure_.isOk()) return failure_;
  auto fail = [&](const Status& status) {
    failure_ = status.withContext("receiving from " + peer_ + ": ");
    return failure_;
  };
  // No reading ahead: once every posted receive is filled the socket is left alone, so a sender
  // that closes after its last message is not mistaken for one that died.
  Status announced = sendAnnouncements();
  if (!announced.isOk()) return fail(announced);
  // Transports that learn of a dead peer only when asked (ucx) are asked while a receive waits.
  auto waiting = [&] {
    Status peer = connection_->checkPeer();
    return peer.isOk() ? Status::ok() : fail(peer);
  };
  while (!unfinished_.empty()) {
    if (incomingSlot_ == nullptr) {
      Status moved = connection_->progressFrame(incoming_);
      if (!moved.isOk()) return fail(moved);
      if (!incoming_.frameComplete()) return waiting();
      auto placed = placeIncoming();
      if (!placed.ok()) return fail(placed.status());
      if (!placed.value()) return Status::ok();
    }
    Status moved = connection_->progressRecv(incoming_);
    if (!moved.isOk()) return fail(moved);
    if (!incoming_.complete()) return waiting();
    incomingSlot_->received = incoming_.bytes;
    incomingSlot_->filled = true;
    RecvRequest* group = unfinished_.front();
    if (++group->filled == group->count) {
      unfinished_.pop_front();
      unannounced_ = std::min(unannounced_, unfinished_.size());  // only a stranger fills one unannounced
    }
    incomingSlot_ = nullptr;
    incoming_ = awaitingHeader();
  }
  return Status::ok();
}

void RecvComm::release(RecvRequest* request) { pool_.give(request); }

}  // namespace strata::nccl_net
