// Wiring the tcp transport: STRATA_SOCKET_NSTREAMS sockets per peer; lower ranks are dialled,
// higher ranks dial us, each stream introduced by an authenticated hello.
#include "src/core/handshake_acceptor.h"
#include "src/core/transport_openers.h"
#include "src/core/wire.h"
#include "transports/tcp/tcp_connection.h"

namespace strata {

Status openTcpConnections(WiringInputs& in, const std::vector<bool>& useTcp, Wiring& wiring) {
  const UniqueIdContents& id = in.id;
  const int rank = in.rank, nranks = in.nranks;
  const Params& params = in.params;
  Socket& listener = in.listener;
  const Deadline& deadline = in.deadline;
  const int streams = params.socketStreams;
  std::vector<std::vector<Socket>> sockets(static_cast<size_t>(nranks));
  // Lower ranks are dialled; higher ranks dial us. connect() completes against the kernel's
  // backlog, so nobody waits for an accept before dialling.
  for (int peer = 0; peer < rank; ++peer) {
    if (!useTcp[peer]) continue;
    for (int s = 0; s < streams; ++s) {
      auto socket = connectWithRetry(wiring.peers[peer].dataAddress, deadline);
      if (!socket.ok()) return socket.status().withContext("connecting to rank " + std::to_string(peer) + ": ");
      WireHello hello = makeHello(HelloKind::DataStream, id.secret, rank, nranks, s);
      STRATA_RETURN_IF_ERROR(sendAll(socket.value().fd(), &hello, sizeof(hello), deadline));
      sockets[peer].push_back(std::move(socket.value()));
    }
  }
  size_t expected = 0;
  for (int peer = rank + 1; peer < nranks; ++peer) {
    if (useTcp[peer]) {
      expected += static_cast<size_t>(streams);
      sockets[peer].resize(static_cast<size_t>(streams));
    }
  }
  HandshakeAcceptor acceptor(listener.fd(), [&](const WireHello& h) {
    if (!helloIsValid(h, HelloKind::DataStream, id.secret, nranks, streams)) return HandshakeAcceptor::refused();
    if (h.rank <= rank || !useTcp[h.rank]) {
      return HandshakeAcceptor::refused("rank " + std::to_string(h.rank) + " is not one that connects to us over tcp");
    }
    if (sockets[h.rank][static_cast<size_t>(h.stream)].valid()) {
      return HandshakeAcceptor::refused("rank " + std::to_string(h.rank) + " opened stream " +
                                        std::to_string(h.stream) + " a second time");
    }
    return HandshakeAcceptor::accepted();
  });
  auto accepted = acceptor.acceptAll(expected, deadline, "tcp connection setup");
  if (!accepted.ok()) return accepted.status();
  for (auto& caller : accepted.value()) {
    sockets[caller.hello.rank][static_cast<size_t>(caller.hello.stream)] = std::move(caller.socket);
  }
  for (int peer = 0; peer < nranks; ++peer) {
    if (!useTcp[peer]) continue;
    for (auto& s : sockets[peer]) STRATA_RETURN_IF_ERROR(setNonBlocking(s.fd()));
    wiring.connections[peer] = std::make_unique<TcpConnection>(std::move(sockets[peer]),
                                                               static_cast<size_t>(params.socketSplitBytes));
  }
  return Status::ok();
}

}  // namespace strata
