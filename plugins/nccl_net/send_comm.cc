#include "plugins/nccl_net/send_comm.h"

#include <cstring>

#include "plugins/nccl_net/live_objects.h"
#include "plugins/nccl_net/wire_format.h"

namespace strata::nccl_net {

SendComm::SendComm(std::unique_ptr<Connection> connection, std::string peer)
    : connection_(std::move(connection)), peer_(std::move(peer)) {
  free_.reserve(pool_.size());
  for (auto it = pool_.rbegin(); it != pool_.rend(); ++it) free_.push_back(&*it);
}

SendComm::~SendComm() {
  for (auto& request : pool_) {
    if (request.comm != nullptr) forgetObject(&request);
  }
  // Closing with messages still in flight tells the peer at once (its waits fail); an idle comm
  // just goes, so nothing the peer has yet to take in is cut off (ucx flushes on destruction).
  if (!unsent_.empty()) connection_->close();
}

SendRequest* SendComm::post(const void* data, size_t bytes, int tag) {
  if (free_.empty()) return nullptr;
  SendRequest* request = free_.back();
  free_.pop_back();
  request->comm = this;
  request->sent = false;
  request->transfer = TransferRequest{};
  request->transfer.data = static_cast<std::byte*>(const_cast<void*>(data));
  request->transfer.bytes = bytes;
  request->transfer.frameBytes = kFrameHeaderBytes;
  request->transfer.frameAccepted = true;  // a sender has nothing to accept
  MessageHeader header{bytes, tag, kMessageMagic};
  std::memcpy(request->transfer.frame, &header, sizeof(header));
  unsent_.push_back(request);
  rememberObject(request, ObjectKind::SendRequest);
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

void SendComm::release(SendRequest* request) {
  forgetObject(request);
  request->comm = nullptr;
  free_.push_back(request);
}

}  // namespace strata::nccl_net
