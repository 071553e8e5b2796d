// Setting up a ucx connection for the plugin. NCCL's 128-byte handle cannot hold a UCX worker
// address (hundreds of bytes, more with several RDMA devices), so a ucx connection opens like a
// tcp one - the sender dials the listen handle's address, one stream - and that stream then
// carries the two workers' addresses and connection ids, one message each way, after which both
// ends make endpoints and the stream is closed; every byte of payload goes over UCX.
//
// Tags: UcxConnection tags what it sends with its `rank` and matches what it receives by `peer`,
// so each end names the connection by an id unique in its own worker: the receiver's id tags the
// frames and payloads, the sender's the give-up notices going back.
#pragma once

#if STRATA_HAVE_UCX

#include <memory>
#include <vector>

#include "src/common/status.h"
#include "transports/tcp/socket.h"
#include "transports/transport.h"
#include "transports/ucx/ucx_worker.h"

namespace strata::nccl_net {

class UcxHandshake {
 public:
  // `sender`: this end dialled (it speaks first).
  UcxHandshake(Socket control, std::shared_ptr<UcxWorker> worker, bool sender);
  // The connection once both addresses have crossed; null before.
  Result<std::unique_ptr<Connection>> poll();

 private:
  struct Introduction {
    uint32_t magic;
    uint32_t id;
    uint32_t addressBytes;
  };
  void queueIntroduction();
  Status pump();
  // The peer's introduction and address, once whole.
  bool peerIntroduced(Introduction* introduction, std::vector<std::byte>* address);

  Socket control_;
  std::shared_ptr<UcxWorker> worker_;
  bool sender_;
  uint32_t id_;
  std::vector<std::byte> outgoing_;
  size_t sent_ = 0;
  std::vector<std::byte> incoming_;
  bool introduced_ = false;  // ours is queued
};

// A connection id not used before in this process.
uint32_t newUcxConnectionId();

}  // namespace strata::nccl_net

#endif
