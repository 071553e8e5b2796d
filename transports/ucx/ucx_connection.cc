#include "transports/ucx/ucx_connection.h"

#include <chrono>
#include <cstring>
#include <string>
#include <utility>

namespace strata {
namespace {

// Tag = which of a message's two parts, or a notice | the sending rank. Every tag is matched exactly.
constexpr ucp_tag_t kPayloadBit = ucp_tag_t{1} << 63;
constexpr ucp_tag_t kNoticeBit = ucp_tag_t{1} << 62;
constexpr ucp_tag_t kExactTag = ~ucp_tag_t{0};
ucp_tag_t frameTag(int sender) { return static_cast<uint32_t>(sender); }
ucp_tag_t payloadTag(int sender) { return kPayloadBit | static_cast<uint32_t>(sender); }
ucp_tag_t noticeTag(int sender) { return kNoticeBit | static_cast<uint32_t>(sender); }

// Receives always return a request, whose test reports the length that arrived (UCX 1.13 leaves
// the receive-info of an immediately completed receive unset).
ucp_request_param_t receiveParam() {
  ucp_request_param_t param{};
  param.op_attr_mask = UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
  return param;
}

// How long destruction waits for an endpoint's flush and for cancelled operations to end, and
// how long a closing rank waits for its notice to leave.
constexpr auto kDrainLimit = std::chrono::seconds(1);
constexpr auto kNoticeLimit = std::chrono::milliseconds(50);

}  // namespace

UcxConnection::UcxConnection(std::shared_ptr<UcxWorker> worker, int rank, int peer)
    : worker_(std::move(worker)), rank_(rank), peer_(peer) {}

UcxConnection::~UcxConnection() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!closed_) shutDown(peerStatus_.load() != UCS_OK);
  drain();
}

void UcxConnection::attach(ucp_ep_h ep) {
  std::lock_guard<std::mutex> lock(mutex_);
  ep_ = ep;
  // A failure here shows on the first frame the executor waits for.
  (void)postFrameReceive();
  const ucp_request_param_t param = receiveParam();
  (void)start(notice_, ucp_tag_recv_nbx(worker_->handle(), noticeSlot_, sizeof(noticeSlot_), noticeTag(peer_), kExactTag, &param),
              true, "notice receive");
}

void UcxConnection::onPeerError(void* self, ucp_ep_h /*ep*/, ucs_status_t status) {
  static_cast<UcxConnection*>(self)->peerStatus_.store(status);
}

Status UcxConnection::failure(const char* what, ucs_status_t status) const {
  std::string text = std::string("ucx ") + what + " with rank " + std::to_string(peer_) + " failed: " + ucs_status_string(status);
  if (peerStatus_.load() != UCS_OK) text += " (the peer is unreachable: its process died or its network failed)";
  return remoteError(text);
}

Status UcxConnection::closedError() const {
  return remoteError("the ucx connection to rank " + std::to_string(peer_) + " was closed (this communicator failed or was aborted)");
}

Status UcxConnection::start(Operation& op, ucs_status_ptr_t result, bool receive, const char* what) {
  op = Operation{};
  op.receive = receive;
  op.posted = true;
  if (UCS_PTR_IS_ERR(result)) {
    op.finished = true;
    return failure(what, UCS_PTR_STATUS(result));
  }
  op.handle = result;
  op.finished = result == nullptr;
  return Status::ok();
}

Status UcxConnection::poll(Operation& op, const char* what) {
  if (!op.inFlight()) return Status::ok();
  ucs_status_t status = op.receive ? ucp_tag_recv_request_test(op.handle, &op.info) : ucp_request_check_status(op.handle);
  if (status == UCS_INPROGRESS) return Status::ok();
  ucp_request_free(op.handle);
  op.handle = nullptr;
  op.finished = true;
  releaseLease(op);
  return status == UCS_OK ? Status::ok() : failure(what, status);
}

Status UcxConnection::postFrameReceive() {
  const ucp_request_param_t param = receiveParam();
  return start(frame_, ucp_tag_recv_nbx(worker_->handle(), frameSlot_, sizeof(frameSlot_), frameTag(peer_), kExactTag, &param),
               true, "frame receive");
}

RegistrationCache::Lease UcxConnection::withRegistration(ucp_request_param_t& param, const TransferRequest& request) {
  RegistrationCache::Lease lease = worker_->registration(request.data, request.bytes);
  if (lease) {
    param.op_attr_mask |= UCP_OP_ATTR_FIELD_MEMH;
    param.memh = static_cast<ucp_mem_h>(lease.handle);
  }
  return lease;
}

void UcxConnection::releaseLease(Operation& op) {
  worker_->release(op.lease);
  op.lease = {};
}

Status UcxConnection::progressSend(TransferRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return closedError();
  if (request.frameBytes != kFrameHeaderBytes) return internalError("the ucx transport carries framed messages only");
  if (sending_ != &request) {
    sending_ = &request;
    ucp_request_param_t param{};
    STRATA_RETURN_IF_ERROR(start(sendFrame_, ucp_tag_send_nbx(ep_, request.frame, request.frameBytes, frameTag(rank_), &param),
                                 false, "frame send"));
    sendPayload_ = Operation{};
    if (request.bytes > 0) {
      const RegistrationCache::Lease lease = withRegistration(param, request);
      Status posted = start(sendPayload_, ucp_tag_send_nbx(ep_, request.data, request.bytes, payloadTag(rank_), &param), false, "send");
      sendPayload_.lease = lease;
      if (!sendPayload_.inFlight()) releaseLease(sendPayload_);
      STRATA_RETURN_IF_ERROR(posted);
    }
  }
  progress();
  STRATA_RETURN_IF_ERROR(poll(sendFrame_, "frame send"));
  STRATA_RETURN_IF_ERROR(poll(sendPayload_, "send"));
  // UCX reports a send only as done or not: nothing in between is visible.
  if (sendFrame_.finished) request.frameDone = request.frameBytes;
  if (request.bytes == 0 || sendPayload_.finished) request.done = request.bytes;
  if (request.complete()) sending_ = nullptr;
  return Status::ok();
}

Status UcxConnection::takeFrame(TransferRequest& request) {
  if (request.frameBytes != kFrameHeaderBytes) return internalError("the ucx transport carries framed messages only");
  if (!frame_.posted) STRATA_RETURN_IF_ERROR(postFrameReceive());
  progress();
  STRATA_RETURN_IF_ERROR(poll(frame_, "frame receive"));
  if (!frame_.finished) return Status::ok();
  if (frame_.info.length != sizeof(frameSlot_)) {
    return remoteError("rank " + std::to_string(peer_) + " sent a " + std::to_string(frame_.info.length) +
                       "-byte frame over ucx where " + std::to_string(sizeof(frameSlot_)) + " bytes were expected");
  }
  std::memcpy(request.frame, frameSlot_, sizeof(frameSlot_));
  request.frameDone = request.frameBytes;
  if (receiving_ != &request) {  // else its payload receive was posted early (staging)
    receiving_ = request.bytes > 0 ? &request : nullptr;
    payload_ = Operation{};
  }
  return postFrameReceive();  // the next message's frame
}

Status UcxConnection::progressFrame(TransferRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return closedError();
  if (request.frameComplete()) return Status::ok();
  STRATA_RETURN_IF_ERROR(postEarly(request));
  return takeFrame(request);
}

Status UcxConnection::postEarly(TransferRequest& request) {
  // Into staging the payload receive is posted before the frame arrives, so UCX delivers the
  // payload straight into it (no unexpected-message copy); a caller's buffer waits for the
  // frame's acceptance, so a mismatched message never touches it.
  if (!request.intoStaging || request.bytes == 0 || receiving_ != nullptr) return Status::ok();
  receiving_ = &request;
  payload_ = Operation{};
  return postPayloadReceive(request);
}

Status UcxConnection::progressRecv(TransferRequest& request) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return closedError();
  if (!request.frameComplete()) {
    STRATA_RETURN_IF_ERROR(postEarly(request));
    return takeFrame(request);
  }
  if (!request.frameAccepted || request.done == request.bytes) return Status::ok();
  if (!payload_.posted) STRATA_RETURN_IF_ERROR(postPayloadReceive(request));
  progress();
  STRATA_RETURN_IF_ERROR(poll(payload_, "receive"));
  if (!payload_.finished) return Status::ok();
  if (payload_.info.length != request.bytes) {
    return remoteError("rank " + std::to_string(peer_) + " sent " + std::to_string(payload_.info.length) +
                       " bytes over ucx where " + std::to_string(request.bytes) + " were expected");
  }
  request.done = request.contiguous = request.bytes;
  payload_ = Operation{};
  receiving_ = nullptr;
  return Status::ok();
}

Status UcxConnection::postPayloadReceive(TransferRequest& request) {
  ucp_request_param_t param = receiveParam();
  const RegistrationCache::Lease lease = withRegistration(param, request);
  Status posted = start(
      payload_, ucp_tag_recv_nbx(worker_->handle(), request.data, request.bytes, payloadTag(peer_), kExactTag, &param),
      true, "receive");
  payload_.lease = lease;
  payload_.intoCaller = !request.intoStaging;
  if (!payload_.inFlight()) releaseLease(payload_);
  return posted;
}

bool UcxConnection::peekFrame(std::byte* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Not while a message's payload is under way (its frame taken): the next frame is not its.
  if (closed_ || (receiving_ != nullptr && receiving_->frameComplete()) || !frame_.posted) return false;
  progress();
  if (!poll(frame_, "frame receive").isOk() || !frame_.finished || frame_.info.length != sizeof(frameSlot_)) return false;
  std::memcpy(out, frameSlot_, sizeof(frameSlot_));
  return true;
}

bool UcxConnection::readyToSleep() {
  std::lock_guard<std::mutex> lock(mutex_);
  return !closed_ && worker_->arm();
}

Status UcxConnection::checkPeer() {
  if (worker_->frozen()) {
    // Another connection of this worker could not stop a receive: nothing moves on it any more.
    return remoteError("the ucx worker was stopped after a failed connection; nothing more moves with rank " +
                       std::to_string(peer_));
  }
  const ucs_status_t status = static_cast<ucs_status_t>(peerStatus_.load());
  if (status != UCS_OK) {
    return remoteError("rank " + std::to_string(peer_) + " is unreachable over ucx (" + ucs_status_string(status) +
                       "): its process died or its network failed");
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return closedError();
  progress();
  if (poll(notice_, "notice receive").isOk() && notice_.finished) {
    return remoteError("rank " + std::to_string(peer_) + " gave up the call (an error on its side, or strataCommAbort)");
  }
  return Status::ok();
}

void UcxConnection::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  if (ep_ != nullptr && peerStatus_.load() == UCS_OK) sendNotice();
  shutDown(true);
  worker_->signal();  // a wait asleep on the worker looks again now
}

void UcxConnection::stopCallerWrites() {
  // A receive that matched a message cannot be cancelled: the rest of the message would still be
  // written where it points whenever the worker progresses. Into a caller's buffer that must not
  // happen once the failed call has returned, so the worker never progresses again (the
  // communicator is failed; only its destruction remains, which needs no progress).
  if (payload_.inFlight() && payload_.intoCaller) worker_->freeze();
}

void UcxConnection::sendNotice() {
  // Static: UCX may read it after this returns, from whichever thread progresses the worker.
  static const std::byte notice[1] = {std::byte{1}};
  ucp_request_param_t param{};
  if (!start(noticeSent_, ucp_tag_send_nbx(ep_, notice, sizeof(notice), noticeTag(rank_), &param), false, "notice").isOk()) {
    return;
  }
  // A forced close drops what UCX has not handed to the wire yet.
  const auto limit = std::chrono::steady_clock::now() + kNoticeLimit;
  while (noticeSent_.inFlight() && std::chrono::steady_clock::now() < limit) {
    worker_->progress();
    (void)poll(noticeSent_, "notice");
  }
}

void UcxConnection::shutDown(bool force) {
  closed_ = true;
  for (Operation* op : {&frame_, &payload_, &notice_}) {
    if (op->inFlight()) ucp_request_cancel(worker_->handle(), op->handle);
  }
  stopCallerWrites();
  if (ep_ == nullptr) return;
  ucp_request_param_t param{};
  if (force) {
    param.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    param.flags = UCP_EP_CLOSE_FLAG_FORCE;
  }
  (void)start(closing_, ucp_ep_close_nbx(ep_, &param), false, "close");
  ep_ = nullptr;
}

void UcxConnection::drain() {
  Operation* ops[] = {&frame_, &payload_, &notice_, &sendFrame_, &sendPayload_, &noticeSent_, &closing_};
  const auto limit = std::chrono::steady_clock::now() + kDrainLimit;
  auto busy = [&] {
    bool waiting = false;
    for (Operation* op : ops) {
      (void)poll(*op, "close");
      waiting = waiting || (op->inFlight() && !op->receive);
    }
    return waiting;
  };
  while (!worker_->frozen() && busy() && std::chrono::steady_clock::now() < limit) worker_->progress();
  // Whatever is still in flight: UCX frees a request once it completes (or the worker goes), and
  // its registration stays leased until then (the worker is destroyed before the cache).
  for (Operation* op : ops) {
    if (op->inFlight()) {
      ucp_request_free(op->handle);
    } else {
      releaseLease(*op);
    }
  }
}

}  // namespace strata
