#include "plugins/nccl_net/connection_setup.h"

#include <sys/random.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "plugins/nccl_net/plugin_log.h"
#include "src/common/errno_text.h"
#include "transports/tcp/tcp_connection.h"

namespace strata::nccl_net {
namespace {

uint64_t randomWord() {
  uint64_t word = 0;
  while (getrandom(&word, sizeof(word), 0) != static_cast<ssize_t>(sizeof(word))) {
  }
  return word;
}

std::string peerName(int fd) {
  SocketAddress address;
  address.length = sizeof(address.storage);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&address.storage), &address.length) != 0) return "a peer";
  return address.toString();
}

// A tcp connection's sockets: the data streams, and the last one, which carries the receiver's
// announcements back on its own.
std::pair<std::unique_ptr<Connection>, std::unique_ptr<Connection>> splitOffAnnouncements(std::vector<Socket> sockets,
                                                                                          size_t splitBytes) {
  std::vector<Socket> control;
  control.push_back(std::move(sockets.back()));
  sockets.pop_back();
  return {std::make_unique<TcpConnection>(std::move(sockets), splitBytes),
          std::make_unique<TcpConnection>(std::move(control), splitBytes)};
}

}  // namespace

Result<std::unique_ptr<Connector>> Connector::start(const ListenHandle& handle, int64_t timeoutMs,
                                                    PluginUcxWorker worker) {
  if (handle.magic != kHandleMagic) {
    return internalError("connect() was given a handle that listen() of this plugin did not make");
  }
  if (handle.streams < 1 || handle.streams > kMaxStreamsPerPeer + 1 || handle.splitBytes == 0 ||
      (handle.transport == HandleTransport::Tcp && handle.streams < 2)) {
    return internalError("connect() was given a handle with " + std::to_string(handle.streams) +
                         " streams and split size " + std::to_string(handle.splitBytes));
  }
  const bool ucx = handle.transport == HandleTransport::Ucx;
  if (handle.transport != HandleTransport::Tcp && !ucx) return internalError("connect() was given a handle of an unknown transport");
  if (ucx && worker == nullptr) {
    return invalidUsage("the peer listens over ucx, but this process uses tcp (set STRATA_NET alike on every rank; "
                        "a plugin built without libucx-dev has tcp only)");
  }
  auto address = SocketAddress::unpack(handle.address);
  if (!address.ok()) return address.status().withContext("connect() handle: ");
  std::unique_ptr<Connector> connector(
      new Connector(address.value(), handle.splitBytes, timeoutMs, ucx ? std::move(worker) : PluginUcxWorker()));
  const uint64_t connection = randomWord();
  for (int s = 0; s < handle.streams; ++s) {
    auto socket = startConnect(address.value());
    if (!socket.ok()) return socket.status();
    Stream stream;
    stream.socket = std::move(socket.value());
    stream.hello = StreamHello{kHelloMagic, static_cast<uint16_t>(s), handle.streams, handle.secret, connection};
    connector->streams_.push_back(std::move(stream));
  }
  return connector;
}

Result<std::unique_ptr<SendComm>> Connector::poll() {
  bool allIntroduced = true;
  for (auto& stream : streams_) {
    if (!stream.connected) {
      auto finished = connectFinished(stream.socket.fd(), address_);
      if (!finished.ok()) return finished.status();
      stream.connected = finished.value();
    }
    if (stream.connected && stream.helloSent < sizeof(StreamHello)) {
      const auto* bytes = reinterpret_cast<const uint8_t*>(&stream.hello);
      ssize_t n = ::send(stream.socket.fd(), bytes + stream.helloSent, sizeof(StreamHello) - stream.helloSent,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) stream.helloSent += static_cast<size_t>(n);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return remoteError("sending the hello to " + address_.toString() + " failed: " + errnoText(errno));
      }
    }
    allIntroduced = allIntroduced && stream.helloSent == sizeof(StreamHello);
  }
  if (!allIntroduced) {
    if (deadline_.expired()) {
      return timeoutError("connecting to " + address_.toString() + " did not finish within " +
                          std::to_string(deadline_.timeoutMs()) + " ms (STRATA_TIMEOUT_MS)");
    }
    return std::unique_ptr<SendComm>();
  }
#if STRATA_HAVE_UCX
  if (worker_ != nullptr) {
    // UCX sets up its own wires while its workers progress, on both sides: every poll does it.
    worker_->progress();
    if (handshake_ == nullptr) handshake_ = std::make_unique<UcxHandshake>(std::move(streams_[0].socket), worker_, true);
    auto connection = handshake_->poll();
    if (!connection.ok()) return connection.status().withContext("connecting to " + address_.toString() + ": ");
    if (connection.value() == nullptr) {
      if (deadline_.expired()) return timeoutError("connecting to " + address_.toString() + " over ucx did not finish in time");
      return std::unique_ptr<SendComm>();
    }
    return std::make_unique<SendComm>(std::move(connection.value()), address_.toString() + " (ucx)");
  }
#endif
  std::vector<Socket> sockets;
  for (auto& stream : streams_) sockets.push_back(std::move(stream.socket));
  NET_PLUGIN_INFO(ncclabi::NCCL_NET, "connected to %s over tcp, %zu stream(s), messages from %zu bytes split over them",
                  address_.toString().c_str(), sockets.size() - 1, splitBytes_);
  auto [data, announcements] = splitOffAnnouncements(std::move(sockets), splitBytes_);
  return std::make_unique<SendComm>(std::move(data), address_.toString(), std::move(announcements));
}

Result<std::unique_ptr<ListenComm>> ListenComm::open(const SocketAddress& address, int streams, size_t splitBytes,
                                                     PluginUcxWorker worker, ListenHandle* handle, int64_t timeoutMs) {
  // ucx: one stream, which only carries the UCX addresses; tcp: the data streams and one more for
  // the receiver's announcements.
  streams = worker != nullptr ? 1 : streams + 1;
  SocketAddress bound;
  auto listener = listenOn(address, &bound);
  if (!listener.ok()) return listener.status();
  const uint64_t secret = randomWord();
  std::memset(handle, 0, sizeof(*handle));
  handle->magic = kHandleMagic;
  handle->streams = static_cast<uint16_t>(streams);
  handle->transport = worker != nullptr ? HandleTransport::Ucx : HandleTransport::Tcp;
  handle->secret = secret;
  handle->splitBytes = splitBytes;
  bound.pack(handle->address);
  return std::unique_ptr<ListenComm>(
      new ListenComm(std::move(listener.value()), secret, streams, splitBytes, std::move(worker), timeoutMs));
}

void ListenComm::acceptArrivals() {
  while (arrivals_.size() < kMaxUnidentifiedStreams) {
    auto accepted = acceptPending(listener_.fd());
    if (!accepted.ok()) {
      NET_PLUGIN_WARN("%s", accepted.status().message().c_str());
      return;
    }
    if (!accepted.value().valid()) return;
    if (!setNonBlocking(accepted.value().fd()).isOk()) continue;
    Arrival arrival;
    arrival.socket = std::move(accepted.value());
    arrival.since = std::chrono::steady_clock::now();
    arrivals_.push_back(std::move(arrival));
  }
}

void ListenComm::readHellos() {
  const auto now = std::chrono::steady_clock::now();
  for (size_t i = 0; i < arrivals_.size();) {
    Arrival& arrival = arrivals_[i];
    auto* bytes = reinterpret_cast<uint8_t*>(&arrival.hello);
    ssize_t n = ::recv(arrival.socket.fd(), bytes + arrival.helloReceived, sizeof(StreamHello) - arrival.helloReceived,
                       MSG_DONTWAIT);
    if (n > 0) arrival.helloReceived += static_cast<size_t>(n);
    std::string drop;
    const StreamHello& hello = arrival.hello;
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      drop = "closed before its hello";
    } else if (arrival.helloReceived == sizeof(StreamHello) &&
               (hello.magic != kHelloMagic || hello.secret != secret_ || hello.streams != streams_ ||
                hello.stream >= streams_)) {
      drop = "sent a hello that does not match this listen handle";
    } else if (arrival.helloReceived < sizeof(StreamHello) &&
               now - arrival.since > std::chrono::milliseconds(kHelloPatienceMs)) {
      drop = "sent no hello within " + std::to_string(kHelloPatienceMs) + " ms";
    }
    if (!drop.empty()) {
      NET_PLUGIN_WARN("dropped a connection from %s: it %s", peerName(arrival.socket.fd()).c_str(), drop.c_str());
      arrivals_.erase(arrivals_.begin() + static_cast<std::ptrdiff_t>(i));
      continue;
    }
    if (arrival.helloReceived < sizeof(StreamHello)) {
      ++i;
      continue;
    }
    std::vector<Socket>& streams = partial_[hello.connection];
    streams.resize(static_cast<size_t>(streams_));
    if (streams[hello.stream].valid()) {
      NET_PLUGIN_WARN("dropped a connection from %s: stream %d of its connection arrived twice",
                      peerName(arrival.socket.fd()).c_str(), hello.stream);
    } else {
      streams[hello.stream] = std::move(arrival.socket);
      bool whole = true;
      for (const auto& s : streams) whole = whole && s.valid();
      if (whole) {
        complete_.push_back(std::move(streams));
        partial_.erase(hello.connection);
      }
    }
    arrivals_.erase(arrivals_.begin() + static_cast<std::ptrdiff_t>(i));
  }
}

Result<std::unique_ptr<RecvComm>> ListenComm::poll() {
  acceptArrivals();
  readHellos();
  return nextConnection();
}

Result<std::unique_ptr<RecvComm>> ListenComm::nextConnection() {
#if STRATA_HAVE_UCX
  if (worker_ != nullptr) {
    // UCX sets up its own wires while its workers progress, on both sides (a connection accepted
    // earlier may still be wiring up while NCCL polls for the next): every poll does it.
    worker_->progress();
    while (!complete_.empty()) {
      std::string peer = peerName(complete_.front()[0].fd());
      handshakes_.push_back({std::make_unique<UcxHandshake>(std::move(complete_.front()[0]), worker_, false), peer,
                             std::chrono::steady_clock::now()});
      complete_.pop_front();
    }
    for (auto it = handshakes_.begin(); it != handshakes_.end(); ++it) {
      // The peer passed the secret: it is one NCCL waits for, so its failure is accept's.
      auto connection = it->handshake->poll();
      if (!connection.ok()) {
        Status failed = connection.status().withContext("accepting a ucx connection from " + it->peer + ": ");
        handshakes_.erase(it);
        return failed;
      }
      if (connection.value() == nullptr) {
        if (std::chrono::steady_clock::now() - it->since > std::chrono::milliseconds(timeoutMs_)) {
          Status late = timeoutError("accepting a ucx connection from " + it->peer + ": the UCX addresses did not "
                                     "cross within " + std::to_string(timeoutMs_) + " ms (STRATA_TIMEOUT_MS)");
          handshakes_.erase(it);
          return late;
        }
        continue;
      }
      std::string peer = it->peer + " (ucx)";
      handshakes_.erase(it);
      return std::make_unique<RecvComm>(std::move(connection.value()), std::move(peer));
    }
    return std::unique_ptr<RecvComm>();
  }
#endif
  if (complete_.empty()) return std::unique_ptr<RecvComm>();
  std::vector<Socket> sockets = std::move(complete_.front());
  complete_.pop_front();
  std::string peer = peerName(sockets[0].fd());
  NET_PLUGIN_INFO(ncclabi::NCCL_NET, "accepted a connection from %s over tcp, %zu stream(s)", peer.c_str(),
                  sockets.size() - 1);
  auto [data, announcements] = splitOffAnnouncements(std::move(sockets), splitBytes_);
  return std::make_unique<RecvComm>(std::move(data), std::move(peer), std::move(announcements));
}

}  // namespace strata::nccl_net
