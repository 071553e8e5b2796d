// Opening a connection without ever blocking, as NCCL's listen/connect/accept require: the
// receiver listens and publishes a handle; the sender dials every stream of the connection at
// once and sends each stream's hello; the receiver's listen comm accepts, reads hellos (checked
// against the handle's secret) and hands out a connection once all its streams are in. NCCL polls
// connect and accept until they return a comm.
//
// Strangers are bounded: at most kMaxUnidentifiedStreams accepted sockets may still owe their
// hello, and one that has not sent it within kHelloPatienceMs is dropped.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "plugins/nccl_net/recv_comm.h"
#include "plugins/nccl_net/send_comm.h"
#include "plugins/nccl_net/wire_format.h"
#include "src/common/wait.h"
#include "transports/tcp/socket.h"

namespace strata::nccl_net {

constexpr size_t kMaxUnidentifiedStreams = 64;
constexpr int64_t kHelloPatienceMs = 10000;

// The sender's side of connect().
class Connector {
 public:
  // Starts dialling every stream the handle asks for; fails at once on a handle that is not ours.
  static Result<std::unique_ptr<Connector>> start(const ListenHandle& handle, int64_t timeoutMs);
  // The connection once every stream is connected and has sent its hello; null before.
  Result<std::unique_ptr<SendComm>> poll();

 private:
  struct Stream {
    Socket socket;
    bool connected = false;
    StreamHello hello{};
    size_t helloSent = 0;
  };
  Connector(SocketAddress address, size_t splitBytes, int64_t timeoutMs)
      : address_(address), splitBytes_(splitBytes), deadline_(timeoutMs) {}

  SocketAddress address_;
  size_t splitBytes_;
  Deadline deadline_;
  std::vector<Stream> streams_;
};

// The receiver's listen comm: one listening socket, any number of connections accepted from it.
class ListenComm {
 public:
  static Result<std::unique_ptr<ListenComm>> open(const SocketAddress& address, int streams, size_t splitBytes,
                                                  ListenHandle* handle);
  // The next connection whose streams are all in, oldest first; null while none is.
  Result<std::unique_ptr<RecvComm>> poll();

 private:
  struct Arrival {
    Socket socket;
    StreamHello hello{};
    size_t helloReceived = 0;
    std::chrono::steady_clock::time_point since;
  };
  ListenComm(Socket listener, uint64_t secret, int streams, size_t splitBytes)
      : listener_(std::move(listener)), secret_(secret), streams_(streams), splitBytes_(splitBytes) {}
  void acceptArrivals();
  void readHellos();

  Socket listener_;
  uint64_t secret_;
  int streams_;
  size_t splitBytes_;
  std::vector<Arrival> arrivals_;                   // accepted, hello still owed
  std::map<uint64_t, std::vector<Socket>> partial_;  // by connection id: streams so far, by index
  std::deque<std::vector<Socket>> complete_;        // every stream in, waiting for accept()
};

}  // namespace strata::nccl_net
