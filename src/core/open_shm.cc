// Wiring the shm transport: every rank of a host creates its inbound segment, hands it to the
// other ranks of its host over the descriptor exchange, and maps theirs; with the whole
// communicator on one host, the segments' windows become its peer memory.
#include <unistd.h>

#include <algorithm>

#include "src/common/log.h"
#include "src/core/transport_openers.h"
#include "transports/memory/peer_windows.h"
#include "transports/shm/descriptor_exchange.h"
#include "transports/shm/shm_transport.h"

namespace strata {
namespace {

constexpr int64_t kHandoverWaitMs = 30000;

// A host holds a ring per ordered pair of its ranks (and a slot per rank for itself). Unless
// STRATA_BUFFSIZE says how big, the rings share about this budget (at most STRATA_BUFFSIZE's
// default each, at least kSmallestRingBytes, which 128 ranks reach): 16 ranks keep 4 MiB rings,
// 64 ranks get 260 KiB, 128 ranks 64 KiB, about 1 GiB per host in all instead of the 64 GB 128
// ranks would pin with 4 MiB each.
constexpr size_t kHostRingBudget = size_t{1} << 30;
constexpr size_t kSmallestRingBytes = 64 << 10;

size_t ringBytesForHost(const Params& params, size_t hostRanks) {
  const auto configured = static_cast<size_t>(params.shmRingBytes);
  if (params.shmRingBytesSet || hostRanks < 2) return configured;
  const size_t share = kHostRingBudget / (hostRanks * (hostRanks - 1)) / 4096 * 4096;
  return std::clamp(share, std::min(kSmallestRingBytes, configured), configured);
}

// The window half: STRATA_WINDOW_BYTES, else sized for the host. Every rank computes the same
// size from the allgathered peer facts (segment sizes must agree).
size_t windowHalfBytes(const Params& params, const std::vector<PeerInfo>& peers) {
  if (params.windowBytesSet) return static_cast<size_t>(params.windowBytes);
  return PeerWindows::defaultHalfBytes(peers.size(), fewestCores(peers));
}

// Single-copy reads (memory/single_copy.h) are used only if every rank can read every other:
// each probes its peers (same pid namespace, and the kernel lets it read them), and one
// allgather round tells everyone the verdicts. A rank with STRATA_SINGLE_COPY=0 votes no.
Status agreeOnSingleCopy(WiringInputs& in, Wiring& wiring) {
  const int rank = in.rank, nranks = in.nranks;
  const uint64_t myNamespace = wiring.peers[rank].pidNamespace;
  std::vector<pid_t> pids;
  uint8_t canRead = in.params.singleCopy ? 1 : 0;
  for (int peer = 0; peer < nranks; ++peer) {
    const PeerInfo& info = wiring.peers[peer];
    pids.push_back(static_cast<pid_t>(info.pid));
    if (peer == rank || canRead == 0) continue;
    const bool samePidNamespace = myNamespace != 0 && info.pidNamespace == myNamespace;
    if (!samePidNamespace || !wiring.windows->canReadDirectly(peer, pids.back())) canRead = 0;
  }
  auto verdicts = in.bootstrap.allgather(&canRead, sizeof(canRead), in.deadline);
  if (!verdicts.ok()) return verdicts.status();
  bool everyone = true;
  for (std::byte verdict : verdicts.value()) everyone = everyone && verdict == std::byte{1};
  if (everyone) wiring.windows->enableSingleCopy(std::move(pids));
  STRATA_INFO(Init, "single-copy reads between this host's ranks: %s",
              everyone ? "on" : "off (STRATA_SINGLE_COPY=0 on some rank, or a rank cannot read another's memory)");
  return Status::ok();
}

}  // namespace

Status openShmConnections(WiringInputs& in, const std::vector<bool>& useShm, Wiring& wiring) {
  BootstrapClient& bootstrap = in.bootstrap;
  const int rank = in.rank, nranks = in.nranks;
  const Params& params = in.params;
  const Deadline& deadline = in.deadline;
  bool anyShm = false;
  std::vector<DescriptorExchange::Peer> hostPeers;
  // Slots of our segment's rings: one per rank of this host (ours included), in rank order.
  std::vector<int> slotOf(static_cast<size_t>(nranks), -1);
  int hostRanks = 0;
  for (int peer = 0; peer < nranks; ++peer) {
    anyShm = anyShm || useShm[peer];
    if (useShm[peer]) hostPeers.push_back({peer, wiring.peers[peer].shmNonce});
    if (useShm[peer] || peer == rank) slotOf[static_cast<size_t>(peer)] = hostRanks++;
  }
  // Peer-memory windows only when the whole communicator shares this host (every rank makes
  // the same choice, so segment sizes agree).
  size_t windowHalf = in.peerMemory ? windowHalfBytes(params, wiring.peers) : 0;
  ShmLayout layout{hostRanks, ringBytesForHost(params, static_cast<size_t>(hostRanks)), windowHalf};
  if (anyShm) {
    STRATA_INFO(Init, "shm: %d ranks on this host, a %zu-byte ring per sender (%s), %zu bytes of shared memory per rank",
                hostRanks, layout.ringBytes, params.shmRingBytesSet ? "STRATA_BUFFSIZE" : "sized for the host",
                layout.totalBytes());
  }
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
  auto exchanged = in.handover->exchange(rank, shareable.value(), hostPeers, handoverDeadline);
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
    ShmPeer who{peer, slotOf[static_cast<size_t>(peer)], info.pid, myNamespace != 0 && info.pidNamespace == myNamespace};
    wiring.connections[peer] = makeShmConnection(slotOf[static_cast<size_t>(rank)], who, layout, inbound, peerSegment.value());
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
    return agreeOnSingleCopy(in, wiring);
  }
  return agreed;
}

}  // namespace strata
