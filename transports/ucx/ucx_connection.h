// The ucx transport's Connection: a UCP endpoint to one peer, carrying each message as two tagged
// UCX messages, its frame and its payload. Tags say which rank sent them and which of the two
// they are, so a receive matches its peer's next frame or payload in order (UCX keeps the order
// of messages with the same tag from one sender).
//
// The next frame from the peer is always pre-posted into a slot of the connection, so a waiter
// can look at it (peekFrame) without taking it. A payload is received only after its frame was
// accepted, straight into the caller's buffer: for large messages UCX's rendezvous moves it
// zero-copy on RDMA. Until then UCX holds it (eager) or only its announcement (rendezvous).
//
// Progress is the executor's: each call runs the worker's progress engine; UCX may run threads
// of its own. A dead peer fails the endpoint (UCX's peer error mode): its sends fail, and
// checkPeer() reports it to waiters that stopped moving. A rank that gives up a call (an error,
// strataCommAbort) sends each peer a one-byte notice before closing; the peer's pre-posted
// notice receive makes its checkPeer() fail at once instead of at the deadline.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>

#include "transports/transport.h"
#include "transports/ucx/ucx_worker.h"

namespace strata {

class UcxConnection : public Connection {
 public:
  // Takes `ep` over only once attach() was called; before, the caller still owns it.
  UcxConnection(std::shared_ptr<UcxWorker> worker, int rank, int peer);
  ~UcxConnection() override;
  UcxConnection(const UcxConnection&) = delete;
  UcxConnection& operator=(const UcxConnection&) = delete;

  // The endpoint to the peer, made with onPeerError and this connection as its argument.
  void attach(ucp_ep_h ep);
  static void onPeerError(void* self, ucp_ep_h ep, ucs_status_t status);

  Status progressSend(TransferRequest& request) override;
  Status progressRecv(TransferRequest& request) override;
  Status progressFrame(TransferRequest& request) override;
  bool peekFrame(std::byte* out) override;
  bool movedUnseen() const override { return movedUnseen_; }
  int wakeFd() const override { return worker_->eventFd(); }
  bool readyToSleep() override;
  Status checkPeer() override;
  void close() override;
  const char* kind() const override { return "ucx"; }

 private:
  // One UCX operation in flight (a request handle, or none).
  struct Operation {
    void* handle = nullptr;  // UCX's request while in flight
    bool receive = false;
    bool posted = false;
    bool finished = false;
    ucp_tag_recv_info_t info{};  // a receive's length, once finished
    RegistrationCache::Lease lease;  // the payload buffer's cached registration, while in flight
    bool intoCaller = false;         // a payload receive into a caller's buffer (not staging)
    bool inFlight() const { return posted && !finished; }
  };

  // Records what a ucp_*_nbx call returned: done at once (NULL), an error, or a request.
  Status start(Operation& op, ucs_status_ptr_t result, bool receive, const char* what);
  // Checks whether `op` finished: ok while in flight or done, an error when UCX failed it.
  Status poll(Operation& op, const char* what);
  Status failure(const char* what, ucs_status_t status) const;
  Status closedError() const;
  Status postFrameReceive();
  // Hands UCX the cached registration of the payload buffer, when there is one (to be kept in the
  // operation's lease until it finishes).
  RegistrationCache::Lease withRegistration(ucp_request_param_t& param, const TransferRequest& request);
  // Returns an operation's registration to the cache.
  void releaseLease(Operation& op);
  void progress() { movedUnseen_ = worker_->progress(); }
  Status takeFrame(TransferRequest& request);
  Status postPayloadReceive(TransferRequest& request);
  Status postEarly(TransferRequest& request);
  // Ends the endpoint (flushing it first unless `force`) and cancels the posted receives.
  void shutDown(bool force);
  // Freezes the worker when a payload receive into a caller's buffer cannot be stopped.
  void stopCallerWrites();
  // Tells the peer this rank gave up (waits a moment for the notice to leave).
  void sendNotice();
  // Runs progress until the sends and the close are over (bounded), and frees every operation
  // (a cancelled receive that had matched a message from a dead peer never ends: UCX frees it).
  void drain();

  std::shared_ptr<UcxWorker> worker_;
  int rank_;
  int peer_;
  ucp_ep_h ep_ = nullptr;
  std::mutex mutex_;  // close() may come from another thread (strataCommAbort)
  bool closed_ = false;
  std::atomic<int> peerStatus_{UCS_OK};  // set by onPeerError inside progress
  bool movedUnseen_ = false;             // the last progress call did work in UCX

  // Send side: the message in flight and its two operations.
  const TransferRequest* sending_ = nullptr;
  Operation sendFrame_, sendPayload_;
  // Receive side: the pre-posted next frame, and the payload of the message being received.
  std::byte frameSlot_[kFrameHeaderBytes] = {};
  Operation frame_;
  const TransferRequest* receiving_ = nullptr;
  Operation payload_;
  // The peer's notice that it gave up, and ours to it.
  std::byte noticeSlot_[1] = {};
  Operation notice_, noticeSent_;
  Operation closing_;  // the endpoint's close
};

}  // namespace strata
