#include "core/connect.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "common/log.h"
#include "core/handshake_acceptor.h"
#include "core/wire.h"
#include "memory/ring_connection.h"
#include "shm/descriptor_exchange.h"
#include "shm/shm_transport.h"
#include "tcp/tcp_connection.h"
#include "topology/placement.h"

namespace strata {
namespace {

constexpr int64_t kHandoverWaitMs = 30000;

Status openShmConnections(BootstrapClient& bootstrap, DescriptorExchange* handover, int rank, int nranks,
                          const Params& params, const std::vector<bool>& useShm, Wiring& wiring,
                          const Deadline& deadline) {
  bool anyShm = false;
  bool allShm = nranks > 1;
  std::vector<DescriptorExchange::Peer> hostPeers;
  for (int peer = 0; peer < nranks; ++peer) {
    anyShm = anyShm || useShm[peer];
    allShm = allShm && (peer == rank || useShm[peer]);
    if (useShm[peer]) hostPeers.push_back({peer, wiring.peers[peer].shmNonce});
  }
  // Peer-memory windows only when the whole communicator shares this host (every rank makes
  // the same choice, so segment sizes agree).
  size_t windowHalf = allShm ? static_cast<size_t>(params.windowBytes) : 0;
  ShmLayout layout{nranks, static_cast<size_t>(params.shmRingBytes), windowHalf};
  std::shared_ptr<ShmSegment> inbound;
  Status created;
  if (anyShm) {
    auto segment = createInboundSegment(rank, layout);
    if (segment.ok()) inbound = segment.value();
    created = segment.status();
  }
  STRATA_RETURN_IF_ERROR(agreeOnSuccess(bootstrap, created, "creating shared memory", deadline));
  if (!anyShm) {
    // A rank alone on its host still takes every round its peers take: the rounds are job-wide
    // allgathers, and a skipped one would pair every later round with the wrong one.
    STRATA_RETURN_IF_ERROR(agreeOnSuccess(bootstrap, Status::ok(), "sharing shared memory", deadline));
    return agreeOnSuccess(bootstrap, Status::ok(), "mapping shared memory", deadline);
  }
  // Hand our segment to every rank of this host and take theirs. Every rank first agrees that
  // it has a descriptor to give, so none waits in the handover for a rank that will not come.
  auto shareable = inbound->shareableDescriptor();
  Status readyToShare = agreeOnSuccess(bootstrap, shareable.status(), "sharing shared memory", deadline);
  if (!readyToShare.isOk()) {
    if (shareable.ok()) ::close(shareable.value());
    return readyToShare;
  }
  // Everyone is at the handover now: it takes microseconds, so a rank that dies in it costs
  // the others at most kHandoverWaitMs even under a long STRATA_TIMEOUT_MS.
  Deadline handoverDeadline(std::min(deadline.remainingMs(), kHandoverWaitMs));
  Status mapped;
  std::vector<int> received;
  auto exchanged = handover->exchange(rank, shareable.value(), hostPeers, handoverDeadline);
  ::close(shareable.value());
  if (exchanged.ok()) {
    received = std::move(exchanged.value());
  } else {
    mapped = exchanged.status();
  }
  std::vector<std::shared_ptr<ShmSegment>> segments(static_cast<size_t>(nranks));
  const uint64_t myNamespace = wiring.peers[rank].pidNamespace;
  for (size_t i = 0; i < received.size(); ++i) {
    const int peer = hostPeers[i].rank;
    if (!mapped.isOk()) {
      ::close(received[i]);
      continue;
    }
    auto peerSegment = adoptPeerSegment(received[i], layout);
    if (!peerSegment.ok()) {
      mapped = peerSegment.status().withContext("shared memory of rank " + std::to_string(peer) + ": ");
      continue;
    }
    segments[peer] = peerSegment.value();
    const PeerInfo& info = wiring.peers[peer];
    ShmPeer who{peer, info.pid, myNamespace != 0 && info.pidNamespace == myNamespace};
    wiring.connections[peer] = makeShmConnection(rank, who, layout, inbound, peerSegment.value());
    if (!wiring.connections[peer]) mapped = internalError("shared memory of rank " + std::to_string(peer) + " is malformed");
  }
  Status agreed = agreeOnSuccess(bootstrap, mapped, "mapping shared memory", deadline);
  if (agreed.isOk()) {
    wiring.doorbell = segmentDoorbell(*inbound);
    wiring.doorbellMemory = inbound;
  }
  if (agreed.isOk() && windowHalf > 0) {
    segments[rank] = inbound;
    wiring.windows = makeShmWindows(rank, layout, segments);
  }
  return agreed;
}

Status openTcpConnections(const UniqueIdContents& id, int rank, int nranks, const Params& params,
                          const std::vector<bool>& useTcp, Socket& listener, Wiring& wiring,
                          const Deadline& deadline) {
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

}  // namespace

Result<Wiring> wireCommunicator(BootstrapClient& bootstrap, const UniqueIdContents& id, int rank, int nranks,
                                const Params& params, uint64_t tunerDigest, const Deadline& deadline) {
  auto interface = chooseInterface(params.socketIfname);
  if (!interface.ok()) return interface.status();
  LocalFacts facts;
  facts.tunerDigest = tunerDigest;
  auto listener = listenOn(interface.value().address, &facts.dataAddress);
  if (!listener.ok()) return listener.status();
  // The shared-memory handover socket exists before peers learn its name.
  std::optional<DescriptorExchange> handover;
  if (params.transport != "tcp") {
    auto opened = DescriptorExchange::open(id.secret.data());
    if (!opened.ok()) return opened.status();
    facts.shmNonce = opened.value().nonce();
    handover.emplace(std::move(opened.value()));
  }

  Wiring wiring;
  auto host = analyseHost(params);
  auto peers = exchangePeerInfo(bootstrap, facts, rank, nranks, params, host, deadline);
  if (!peers.ok()) return peers.status();
  wiring.host = host.value();
  wiring.peers = std::move(peers.value());
  wiring.connections.resize(static_cast<size_t>(nranks));
  wiring.connections[rank] = makeSelfConnection(1 << 20);

  std::vector<bool> useShm(static_cast<size_t>(nranks), false);
  std::vector<bool> useTcp(static_cast<size_t>(nranks), false);
  Status choice;
  for (int peer = 0; peer < nranks; ++peer) {
    if (peer == rank) continue;
    bool sameHost = wiring.peers[peer].hostId == wiring.peers[rank].hostId;
    if (params.transport == "shm" && !sameHost) {
      choice = invalidArgument("STRATA_TRANSPORT=shm, but rank " + std::to_string(peer) + " is on host " +
                               wiring.peers[peer].hostname + ", not this host");
    }
    useShm[peer] = sameHost && params.transport != "tcp";
    useTcp[peer] = !useShm[peer];
  }
  if (params.transport != "auto" && params.transport != "shm" && params.transport != "tcp") {
    choice = invalidArgument("STRATA_TRANSPORT='" + params.transport + "' is not one of auto, shm, tcp");
  }
  STRATA_RETURN_IF_ERROR(agreeOnSuccess(bootstrap, choice, "choosing transports", deadline));
  STRATA_RETURN_IF_ERROR(openShmConnections(bootstrap, handover ? &*handover : nullptr, rank, nranks, params, useShm,
                                            wiring, deadline));
  STRATA_RETURN_IF_ERROR(openTcpConnections(id, rank, nranks, params, useTcp, listener.value(), wiring, deadline));
  // A last round proves every rank finished wiring before anyone sends data.
  STRATA_RETURN_IF_ERROR(agreeOnSuccess(bootstrap, Status::ok(), "connecting", deadline));
  return wiring;
}

}  // namespace strata
