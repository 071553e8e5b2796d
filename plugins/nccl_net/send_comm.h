// The sending end of one NCCL connection: messages posted by isend go out over a transport
// Connection (tcp's, several streams) strictly in posting order, each behind a header with its
// size and tag. NCCL may keep NCCL_NET_MAX_REQUESTS × maxRecvs sends in flight; a post beyond
// that is refused (NCCL retries). Progress happens inside test(), on NCCL's proxy thread.
#pragma once

#include <array>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "plugins/nccl_net/nccl_net_abi.h"
#include "src/common/status.h"
#include "transports/transport.h"

namespace strata::nccl_net {

constexpr int kMaxGroupedReceives = 8;  // maxRecvs the plugin advertises
constexpr int kMaxSendsInFlight = ncclabi::NCCL_NET_MAX_REQUESTS * kMaxGroupedReceives;

class SendComm;

struct SendRequest {
  SendComm* comm = nullptr;
  TransferRequest transfer;
  bool sent = false;
};

class SendComm {
 public:
  SendComm(std::unique_ptr<Connection> connection, std::string peer);
  ~SendComm();  // forgets its requests: a later test() of one is an error, not a crash
  SendComm(const SendComm&) = delete;
  SendComm& operator=(const SendComm&) = delete;

  // Queues a message; null when kMaxSendsInFlight are in flight.
  SendRequest* post(const void* data, size_t bytes, int tag);
  // Sends queued messages, oldest first, as far as the sockets take them. Once it fails it keeps
  // failing: the connection is gone.
  Status progress();
  void release(SendRequest* request);

  const std::string& peer() const { return peer_; }

 private:
  std::unique_ptr<Connection> connection_;
  std::string peer_;
  std::array<SendRequest, kMaxSendsInFlight> pool_;
  std::vector<SendRequest*> free_;
  std::deque<SendRequest*> unsent_;  // in posting order
  Status failure_;
};

}  // namespace strata::nccl_net
