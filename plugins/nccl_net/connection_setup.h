// Opening a connection without ever blocking, as NCCL's listen/connect/accept require: the
// receiver listens and publishes a handle; the sender dials every stream of the connection at
// once and sends each stream's hello; the receiver's listen comm accepts, reads hellos (checked
// against the handle's secret) and hands out a connection once all its streams are in. NCCL polls
// connect and accept until they return a comm.
//
// Strangers are bounded: at most kMaxUnidentifiedStreams accepted sockets may still owe their
// hello, and one that has not sent it within kHelloPatienceMs is dropped. A peer that did send
// the right hello is one NCCL waits for: if its ucx set-up fails or does not finish within the
// timeout, accept() fails instead of waiting for it forever.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "plugins/nccl_net/recv_comm.h"
#include "plugins/nccl_net/ucx_handshake.h"
#include "plugins/nccl_net/send_comm.h"
#include "plugins/nccl_net/wire_format.h"
#include "src/common/wait.h"
#include "transports/tcp/socket.h"

namespace strata::nccl_net {

constexpr size_t kMaxUnidentifiedStreams = 64;
constexpr int64_t kHelloPatienceMs = 10000;

// The UCX worker of a plugin context (null: this build or this job does not use ucx).
#if STRATA_HAVE_UCX
using PluginUcxWorker = std::shared_ptr<UcxWorker>;
#else
using PluginUcxWorker = std::shared_ptr<void>;
#endif

// The sender's side of connect().
class Connector {
 public:
  // Starts dialling every stream the handle asks for; fails at once on a handle that is not ours,
  // or one that asks for ucx where this context has no UCX worker.
  static Result<std::unique_ptr<Connector>> start(const ListenHandle& handle, int64_t timeoutMs, PluginUcxWorker worker);
  // The connection once every stream is connected and has sent its hello; null before.
  Result<std::unique_ptr<SendComm>> poll();

 private:
  struct Stream {
    Socket socket;
    bool connected = false;
    StreamHello hello{};
    size_t helloSent = 0;
  };
  Connector(SocketAddress address, size_t splitBytes, int64_t timeoutMs, PluginUcxWorker worker)
      : address_(address), splitBytes_(splitBytes), deadline_(timeoutMs), worker_(std::move(worker)) {}

  SocketAddress address_;
  size_t splitBytes_;
  Deadline deadline_;
  PluginUcxWorker worker_;  // set when the connection goes over ucx
  std::vector<Stream> streams_;
#if STRATA_HAVE_UCX
  std::unique_ptr<UcxHandshake> handshake_;
#endif
};

// The receiver's listen comm: one listening socket, any number of connections accepted from it.
class ListenComm {
 public:
  // `worker` set: connections go over ucx (one stream each, to exchange UCX addresses).
  static Result<std::unique_ptr<ListenComm>> open(const SocketAddress& address, int streams, size_t splitBytes,
                                                  PluginUcxWorker worker, ListenHandle* handle,
                                                  int64_t timeoutMs = 300000);
  // The next connection whose streams are all in, oldest first; null while none is.
  Result<std::unique_ptr<RecvComm>> poll();

 private:
  struct Arrival {
    Socket socket;
    StreamHello hello{};
    size_t helloReceived = 0;
    std::chrono::steady_clock::time_point since;
  };
  ListenComm(Socket listener, uint64_t secret, int streams, size_t splitBytes, PluginUcxWorker worker,
             int64_t timeoutMs)
      : listener_(std::move(listener)), secret_(secret), streams_(streams), splitBytes_(splitBytes),
        worker_(std::move(worker)), timeoutMs_(timeoutMs) {}
  void acceptArrivals();
  void readHellos();
  // The next connection made of a complete group of streams (over ucx: once its addresses crossed).
  Result<std::unique_ptr<RecvComm>> nextConnection();

  Socket listener_;
  uint64_t secret_;
  int streams_;
  size_t splitBytes_;
  std::vector<Arrival> arrivals_;                   // accepted, hello still owed
  std::map<uint64_t, std::vector<Socket>> partial_;  // by connection id: streams so far, by index
  std::deque<std::vector<Socket>> complete_;        // every stream in, waiting for accept()
  PluginUcxWorker worker_;
  int64_t timeoutMs_;
#if STRATA_HAVE_UCX
  struct PendingUcx {
    std::unique_ptr<UcxHandshake> handshake;
    std::string peer;
    std::chrono::steady_clock::time_point since;
  };
  std::deque<PendingUcx> handshakes_;  // ucx connections still exchanging addresses, oldest first
#endif
};

}  // namespace strata::nccl_net
