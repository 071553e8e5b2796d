#include "src/core/tcp_rendezvous.h"

#include <sys/socket.h>

#include <cerrno>

#include "src/common/errno_text.h"
#include "src/core/wire.h"
#include "transports/tcp/tcp_connection.h"

namespace strata {

TcpRendezvous::TcpRendezvous(Socket listener, Job job)
    : listener_(std::move(listener)),
      job_(std::move(job)),
      acceptor_(listener_.fd(),
                [this](const WireHello& h) {
                  if (!helloIsValid(h, HelloKind::DataStream, job_.secret, job_.nranks, job_.streams)) {
                    return HandshakeAcceptor::refused();
                  }
                  const auto peer = static_cast<size_t>(h.rank);
                  if (h.rank <= job_.rank || !job_.overTcp[peer]) {
                    return HandshakeAcceptor::refused("rank " + std::to_string(h.rank) +
                                                      " is not one that connects to us over tcp");
                  }
                  if (handedOut_[peer] || arrivals_[peer][static_cast<size_t>(h.stream)].valid()) {
                    return HandshakeAcceptor::refused("rank " + std::to_string(h.rank) + " opened stream " +
                                                      std::to_string(h.stream) + " a second time");
                  }
                  return HandshakeAcceptor::accepted();
                }),
      dials_(static_cast<size_t>(job_.nranks)),
      arrivals_(static_cast<size_t>(job_.nranks)),
      arrived_(static_cast<size_t>(job_.nranks), 0),
      handedOut_(static_cast<size_t>(job_.nranks), false) {
  for (int peer = job_.rank + 1; peer < job_.nranks; ++peer) {
    if (job_.overTcp[static_cast<size_t>(peer)]) arrivals_[static_cast<size_t>(peer)].resize(static_cast<size_t>(job_.streams));
  }
}

Status TcpRendezvous::acceptArrivals() {
  auto callers = acceptor_.acceptAvailable("tcp connection on first use");
  if (!callers.ok()) return callers.status();
  for (AcceptedCaller& caller : callers.value()) {
    const auto peer = static_cast<size_t>(caller.hello.rank);
    const auto stream = static_cast<size_t>(caller.hello.stream);
    // The filter saw each hello alone: a second stream of the same number in this batch (or one
    // after the hand-out) is a stranger, closed as `callers` goes.
    if (handedOut_[peer] || arrivals_[peer][stream].valid()) continue;
    arrivals_[peer][stream] = std::move(caller.socket);
    ++arrived_[peer];
  }
  return Status::ok();
}

Result<bool> TcpRendezvous::dialStep(int peer) {
  Dial& dial = dials_[static_cast<size_t>(peer)];
  const SocketAddress& address = job_.addresses[static_cast<size_t>(peer)];
  auto gone = [&](const Status& why) {
    return Status(strataRemoteError, "cannot open the tcp connection to rank " + std::to_string(peer) + " at " +
                                         address.toString() + " (has it exited?): " + why.message());
  };
  while (dial.streams.size() < static_cast<size_t>(job_.streams)) {  // every stream's connect at once
    auto started = startConnect(address);
    if (!started.ok()) return gone(started.status());
    dial.streams.push_back(std::move(started.value()));
  }
  Status introduced = introduceConnected(peer);
  if (!introduced.isOk()) return gone(introduced);
  return dial.introduced == dial.streams.size();
}

Status TcpRendezvous::introduceConnected(int peer) {
  Dial& dial = dials_[static_cast<size_t>(peer)];
  while (dial.introduced < dial.streams.size()) {
    const int fd = dial.streams[dial.introduced].fd();
    auto finished = connectFinished(fd, job_.addresses[static_cast<size_t>(peer)]);
    if (!finished.ok()) return finished.status();
    if (!finished.value()) return Status::ok();
    // A 40-byte hello into a socket that has just connected: it fits the buffer, nothing waits.
    const WireHello hello = makeHello(HelloKind::DataStream, job_.secret, job_.rank, job_.nranks,
                                      static_cast<int>(dial.introduced));
    const ssize_t sent = ::send(fd, &hello, sizeof(hello), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent != static_cast<ssize_t>(sizeof(hello))) {
      return remoteError(sent < 0 ? "sending the hello failed: " + errnoText(errno) : std::string("the hello was cut short"));
    }
    ++dial.introduced;
  }
  return Status::ok();
}

Result<std::unique_ptr<Connection>> TcpRendezvous::advance(int peer) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shut_) return remoteError("the tcp connection to rank " + std::to_string(peer) + " was abandoned (abort) before it opened");
  STRATA_RETURN_IF_ERROR(acceptArrivals());
  const auto index = static_cast<size_t>(peer);
  std::vector<Socket>* streams = nullptr;
  if (peer < job_.rank) {
    auto done = dialStep(peer);
    if (!done.ok()) return done.status();
    if (done.value()) streams = &dials_[index].streams;
  } else if (arrived_[index] == static_cast<size_t>(job_.streams)) {
    streams = &arrivals_[index];
    arrived_[index] = 0;
  }
  if (streams == nullptr) return std::unique_ptr<Connection>();
  std::vector<Socket> taken = std::move(*streams);
  streams->clear();
  handedOut_[index] = true;
  return std::unique_ptr<Connection>(std::make_unique<TcpConnection>(std::move(taken), job_.splitBytes));
}

void TcpRendezvous::shutDown() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (shut_) return;
  shut_ = true;
  listener_.reset();
  // A dial under way that has connected by now gets its hellos (the peer then sees the streams
  // close, an error at once); nothing here waits for one that has not.
  for (size_t peer = 0; peer < dials_.size(); ++peer) {
    (void)introduceConnected(static_cast<int>(peer));  // best effort: the sockets close either way
    dials_[peer].streams.clear();
  }
  for (auto& a : arrivals_) {
    for (Socket& s : a) s.reset();
  }
}

size_t TcpRendezvous::heldSockets() const {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t held = 0;
  for (const Dial& d : dials_) held += d.streams.size();
  for (const auto& a : arrivals_) {
    for (const Socket& s : a) held += s.valid() ? 1 : 0;
  }
  return held;
}

}  // namespace strata
