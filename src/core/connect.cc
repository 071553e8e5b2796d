#include "core/connect.h"

#include <unistd.h>

#include <cstring>
#include <fstream>

#include "common/log.h"
#include "core/handshake_acceptor.h"
#include "core/wire.h"
#include "memory/ring_connection.h"
#include "shm/shm_transport.h"
#include "tcp/tcp_connection.h"
#include "topology/placement.h"

namespace strata {
namespace {

// Fixed-size form of PeerInfo for the bootstrap allgather.
struct WirePeerInfo {
  char hostId[160];
  char hostname[64];
  int32_t pid;
  int32_t placed;      // 0: this rank could not read its rack metadata (it reports why)
  int32_t localOrder;
  int32_t cores;       // hardware threads of its host (0 unknown)
  uint8_t dataAddress[SocketAddress::kPackedBytes];
  char switches[256];  // joinSwitchPath(), top switch first
  char placementSource[128];
  char hostSummary[128];
};

// Copies a string into a fixed wire field; false when it does not fit.
template <size_t N>
bool putField(char (&field)[N], const std::string& value) {
  if (value.size() >= N) return false;
  std::memcpy(field, value.c_str(), value.size() + 1);
  return true;
}

template <size_t N>
std::string getField(const char (&field)[N]) {
  return std::string(field, strnlen(field, N));
}

std::string currentHostname() {
  char name[256] = {};
  gethostname(name, sizeof(name) - 1);
  return name;
}

// One status byte per rank, gathered: any failure fails everyone with the first failing rank named.
Status agreeOnSuccess(BootstrapClient& bootstrap, const Status& mine, const char* step, const Deadline& deadline) {
  uint8_t ok = mine.isOk() ? 1 : 0;
  auto all = bootstrap.allgather(&ok, 1, deadline);
  if (!all.ok()) return all.status();
  if (!mine.isOk()) return mine;
  for (size_t r = 0; r < all.value().size(); ++r) {
    if (all.value()[r] == std::byte{0}) return remoteError(std::string(step) + " failed on rank " + std::to_string(r));
  }
  return Status::ok();
}

// Where this host sits (rack metadata), or why that could not be found out.
Result<SwitchPlacement> placeThisProcess(const Params& params, const std::string& hostname) {
  auto placement = placeThisHost({hostname, params.topoFile, params.slurmTopologyAddr, params.slurmTopologyPattern, params.rack});
  if (!placement.ok()) return placement;
  if (!placement.value().warning.empty()) STRATA_WARN(Init, "%s", placement.value().warning.c_str());
  WirePeerInfo probe{};
  if (!putField(probe.switches, joinSwitchPath(placement.value().switches))) {
    return invalidArgument("switch path '" + joinSwitchPath(placement.value().switches) + "' is longer than " +
                           std::to_string(sizeof(probe.switches) - 1) + " characters");
  }
  return placement;
}

Result<std::vector<PeerInfo>> exchangePeerInfo(BootstrapClient& bootstrap, const SocketAddress& dataAddress,
                                               int nranks, const Params& params,
                                               const Result<HostAnalysis>& host, const Deadline& deadline) {
  WirePeerInfo mine{};
  std::string hostId = localHostId(params);
  std::string hostname = currentHostname();
  std::strncpy(mine.hostId, hostId.c_str(), sizeof(mine.hostId) - 1);
  std::strncpy(mine.hostname, hostname.c_str(), sizeof(mine.hostname) - 1);
  mine.pid = static_cast<int32_t>(getpid());
  dataAddress.pack(mine.dataAddress);
  // Every rank joins the allgather even when its metadata is bad, so the others fail at once
  // with its rank named instead of waiting for it until the timeout.
  // Emulated hosts (STRATA_HOSTID) are looked up in rack metadata under that name.
  auto placement = placeThisProcess(params, params.hostId.empty() ? hostname : params.hostId);
  Status localProblem = !host.ok() ? host.status().withContext("host topology: ")
                                   : placement.status().withContext("rack metadata: ");
  mine.placed = localProblem.isOk() ? 1 : 0;
  if (host.ok()) {
    mine.localOrder = host.value().device.localOrder;
    mine.cores = host.value().topology ? host.value().topology->pus : 0;
    (void)putField(mine.hostSummary, host.value().summary.substr(0, sizeof(mine.hostSummary) - 1));
  }
  if (placement.ok()) {
    (void)putField(mine.switches, joinSwitchPath(placement.value().switches));
    std::string source = placement.value().source.substr(0, sizeof(mine.placementSource) - 1);
    (void)putField(mine.placementSource, source);
  }
  auto all = bootstrap.allgather(&mine, sizeof(mine), deadline);
  if (!all.ok()) return all.status();
  if (all.value().size() != sizeof(WirePeerInfo) * static_cast<size_t>(nranks)) {
    return remoteError("bootstrap returned peer information of the wrong size");
  }
  // Our own problem first: every rank with bad metadata names what is wrong with it.
  if (!localProblem.isOk()) return localProblem;
  std::vector<PeerInfo> peers(static_cast<size_t>(nranks));
  for (int r = 0; r < nranks; ++r) {
    WirePeerInfo w;
    std::memcpy(&w, all.value().data() + sizeof(WirePeerInfo) * static_cast<size_t>(r), sizeof(w));
    w.hostId[sizeof(w.hostId) - 1] = '\0';
    w.hostname[sizeof(w.hostname) - 1] = '\0';
    auto address = SocketAddress::unpack(w.dataAddress);
    if (!address.ok()) return remoteError("rank " + std::to_string(r) + " sent an unusable data address");
    if (w.placed == 0) {
      return remoteError("rank " + std::to_string(r) + " (host " + getField(w.hostname) +
                         ") could not read its topology or rack metadata; its log says why");
    }
    peers[static_cast<size_t>(r)] = {w.hostId, w.hostname, static_cast<pid_t>(w.pid), address.value(),
                                     splitSwitchPath(getField(w.switches)), getField(w.placementSource), w.localOrder,
                                     getField(w.hostSummary), w.cores};
  }
  return peers;
}

Status openShmConnections(BootstrapClient& bootstrap, const UniqueIdContents& id, int rank, int nranks,
                          const Params& params, const std::vector<bool>& useShm, Wiring& wiring,
                          const Deadline& deadline) {
  bool anyShm = false;
  bool allShm = nranks > 1;
  for (int peer = 0; peer < nranks; ++peer) {
    anyShm = anyShm || useShm[peer];
    allShm = allShm && (peer == rank || useShm[peer]);
  }
  // Peer-memory windows only when the whole communicator shares this host (every rank makes
  // the same choice, so segment sizes agree).
  size_t windowHalf = allShm ? static_cast<size_t>(params.windowBytes) : 0;
  ShmLayout layout{nranks, static_cast<size_t>(params.shmRingBytes), windowHalf};
  std::vector<std::shared_ptr<ShmSegment>> segments(static_cast<size_t>(nranks));
  std::string tag = secretTag(id.secret);
  std::shared_ptr<ShmSegment> inbound;
  Status created;
  if (anyShm) {
    auto segment = createInboundSegment(tag, rank, layout);
    if (segment.ok()) inbound = segment.value();
    created = segment.status();
  }
  STRATA_RETURN_IF_ERROR(agreeOnSuccess(bootstrap, created, "creating shared memory", deadline));
  Status mapped;
  for (int peer = 0; peer < nranks && mapped.isOk(); ++peer) {
    if (!useShm[peer]) continue;
    auto peerSegment = openPeerSegment(tag, peer, layout);
    if (!peerSegment.ok()) {
      mapped = peerSegment.status();
      break;
    }
    segments[peer] = peerSegment.value();
    wiring.connections[peer] = makeShmConnection(rank, peer, wiring.peers[peer].pid, layout, inbound, peerSegment.value());
    if (!wiring.connections[peer]) mapped = internalError("shared memory of rank " + std::to_string(peer) + " is malformed");
  }
  Status agreed = agreeOnSuccess(bootstrap, mapped, "mapping shared memory", deadline);
  if (agreed.isOk() && windowHalf > 0) {
    segments[rank] = inbound;
    wiring.windows = makeShmWindows(rank, layout, segments);
  }
  // Everyone has mapped everything (or failed): the names can go, so a crash leaks nothing.
  if (inbound) inbound->unlink();
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
    if (!helloIsValid(h, HelloKind::DataStream, id.secret, nranks, streams)) return false;
    if (h.rank <= rank || !useTcp[h.rank]) return false;
    return !sockets[h.rank][static_cast<size_t>(h.stream)].valid();
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

std::string localHostId(const Params& params) {
  if (!params.hostId.empty()) return params.hostId;
  std::string bootId;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> bootId;
  return currentHostname() + "/" + bootId;
}

Result<Wiring> wireCommunicator(BootstrapClient& bootstrap, const UniqueIdContents& id, int rank, int nranks,
                                const Params& params, const Deadline& deadline) {
  auto interface = chooseInterface(params.socketIfname);
  if (!interface.ok()) return interface.status();
  SocketAddress dataAddress;
  auto listener = listenOn(interface.value().address, &dataAddress);
  if (!listener.ok()) return listener.status();

  Wiring wiring;
  auto host = analyseHost(params);
  auto peers = exchangePeerInfo(bootstrap, dataAddress, nranks, params, host, deadline);
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
  STRATA_RETURN_IF_ERROR(openShmConnections(bootstrap, id, rank, nranks, params, useShm, wiring, deadline));
  STRATA_RETURN_IF_ERROR(openTcpConnections(id, rank, nranks, params, useTcp, listener.value(), wiring, deadline));
  // A last round proves every rank finished wiring before anyone sends data.
  STRATA_RETURN_IF_ERROR(agreeOnSuccess(bootstrap, Status::ok(), "connecting", deadline));
  return wiring;
}

}  // namespace strata
