// The sending end of one NCCL connection: messages posted by isend go out over a transport
// Connection (tcp's streams, or ucx) strictly in posting order, each behind a header with its size
// and tag. A message is accepted only into a receive group the receiver has announced
// (wire_format.h, ReceiveCredit) with a free slot of its tag; NCCL keeps at most
// NCCL_NET_MAX_REQUESTS × maxRecvs sends in flight. A post that cannot be taken is refused with a
// null request (NCCL retries). Progress happens inside isend and test, on NCCL's proxy thread.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "plugins/nccl_net/nccl_net_abi.h"
#include "plugins/nccl_net/request_pool.h"
#include "plugins/nccl_net/wire_format.h"
#include "src/common/status.h"
#include "transports/transport.h"

namespace strata::nccl_net {

constexpr int kMaxSendsInFlight = ncclabi::NCCL_NET_MAX_REQUESTS * kMaxGroupedReceives;

class SendComm;

struct SendRequest {
  SendComm* comm = nullptr;
  TransferRequest transfer;
  bool sent = false;
};

class SendComm {
 public:
  // `announcements`: where the receiver's announcements arrive, when not on `connection` (tcp
  // gives them a socket of their own: small frames against the bulk stream's direction on one
  // socket cost a third of its bandwidth at 4 MiB here).
  SendComm(std::unique_ptr<Connection> connection, std::string peer,
           std::unique_ptr<Connection> announcements = nullptr);
  ~SendComm();  // its requests are forgotten: a later test() of one is an error, not a crash
  SendComm(const SendComm&) = delete;
  SendComm& operator=(const SendComm&) = delete;

  // Queues a message; null when no announced receive group takes its tag yet, or when
  // kMaxSendsInFlight are in flight; an error when the connection has failed.
  Result<SendRequest*> post(const void* data, size_t bytes, int tag);
  // Sends queued messages, oldest first, as far as the sockets take them. Once it fails it keeps
  // failing: the connection is gone.
  Status progress();
  void release(SendRequest* request);

  const std::string& peer() const { return peer_; }

 private:
  // The receive groups the receiver has announced and this end has not filled, oldest first.
  struct AnnouncedGroup {
    ReceiveCredit credit;
    std::array<bool, kMaxGroupedReceives> taken{};
    int takenCount = 0;
  };
  // Takes in every announcement that has arrived.
  Status readAnnouncements();
  // Takes the slot of `tag` in the oldest announced group; false when it has none free.
  bool takeAnnouncedSlot(int tag);

  Connection& announcementPath() { return announcements_ ? *announcements_ : *connection_; }

  std::unique_ptr<Connection> connection_;
  std::string peer_;
  std::unique_ptr<Connection> announcements_;
  TransferRequest announcement_;  // the one arriving
  std::deque<AnnouncedGroup> announced_;
  RequestPool<SendRequest, kMaxSendsInFlight, ObjectKind::SendRequest> pool_;
  std::deque<SendRequest*> unsent_;  // in posting order
  Status failure_;
};

}  // namespace strata::nccl_net
