// The receiving end of one NCCL connection. irecv posts a group of up to kMaxGroupedReceives
// buffers, each with a tag, and announces the group's tags to the sender (wire_format.h,
// ReceiveCredit), which sends only into announced groups. Incoming messages fill the oldest
// unfinished group, the tag picking the slot (NCCL's rule: no matching across groups), and a
// buffer may be larger than what arrives (test reports the size). A message whose tag has no free
// slot in that group, or that is larger than its buffer, is a protocol error: nothing of it is
// written anywhere.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "plugins/nccl_net/request_pool.h"
#include "plugins/nccl_net/send_comm.h"
#include "src/common/status.h"
#include "transports/transport.h"

namespace strata::nccl_net {

class RecvComm;

struct ReceiveSlot {
  std::byte* data = nullptr;
  size_t capacity = 0;
  int tag = 0;
  size_t received = 0;
  bool filled = false;
};

struct RecvRequest {
  RecvComm* comm = nullptr;
  int count = 0;
  int filled = 0;
  std::array<ReceiveSlot, kMaxGroupedReceives> slots;
  TransferRequest announcement;  // this group's tags, to the sender
  bool done() const { return filled == count; }
};

class RecvComm {
 public:
  // `announcements`: where announcements go, when not on `connection` (see SendComm).
  RecvComm(std::unique_ptr<Connection> connection, std::string peer,
           std::unique_ptr<Connection> announcements = nullptr);
  ~RecvComm();
  RecvComm(const RecvComm&) = delete;
  RecvComm& operator=(const RecvComm&) = delete;

  // Posts a group of `count` (1..kMaxGroupedReceives) buffers; null when
  // NCCL_NET_MAX_REQUESTS groups are pending.
  RecvRequest* post(int count, void* const* data, const size_t* sizes, const int* tags);
  Status progress();
  void release(RecvRequest* request);

  const std::string& peer() const { return peer_; }

 private:
  // Fits the message whose header has arrived into the oldest unfinished group: false while no
  // group is posted.
  Result<bool> placeIncoming();

  // Sends the announcements not yet sent, oldest first: those of the newest `unannounced_` groups.
  Status sendAnnouncements();

  Connection& announcementPath() { return announcementConnection_ ? *announcementConnection_ : *connection_; }

  std::unique_ptr<Connection> connection_;
  std::string peer_;
  std::unique_ptr<Connection> announcementConnection_;
  RequestPool<RecvRequest, ncclabi::NCCL_NET_MAX_REQUESTS, ObjectKind::RecvRequest> pool_;
  std::deque<RecvRequest*> unfinished_;  // in posting order
  // Groups at the end of unfinished_ whose announcement has not wholly gone (a group is filled
  // only after the sender read its announcement, so they are always the newest).
  size_t unannounced_ = 0;
  TransferRequest incoming_;             // the message being received
  ReceiveSlot* incomingSlot_ = nullptr;  // where it goes, once placed
  Status failure_;
};

}  // namespace strata::nccl_net
