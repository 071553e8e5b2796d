#include "src/core/peer_info.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <initializer_list>

#include "src/common/log.h"
#include "topology/placement.h"

namespace strata {
namespace {

// The settings every rank must share (plans and segment layouts are computed from them).
struct WireSettings {
  int64_t ringBytes;
  int64_t windowBytes;
  int64_t oneShotBytes;
  int64_t moePipelineBytes;
  int64_t deviceChunkBytes;  // STRATA_DEVICE_CHUNK_BYTES: where device calls are cut into pieces
  int64_t splitBytes;
  int32_t streams;
  int32_t transport;  // 0 auto, 1 shm, 2 tcp, 3 ucx
  int32_t net;        // 0 auto, 1 tcp, 2 ucx
  int32_t runtimeConnect;  // STRATA_RUNTIME_CONNECT: an eager rank would wait at init for lazy peers
  int32_t cudaIpc;         // STRATA_CUDA_IPC: ranks would pair a peer-memory allreduce with a staged one
  uint64_t algoDigest;
  uint64_t tunerDigest;
};

// Fixed-size form of PeerInfo for the bootstrap allgather.
struct WirePeerInfo {
  char hostId[160];
  char hostname[64];
  char machineId[40];  // boot id (36 characters)
  char deviceKey[48];  // the GPU it is bound to (its UUID), empty when it takes host memory only
  int32_t pid;
  int32_t placed;      // 0: this rank could not read its rack metadata (it reports why)
  int32_t localOrder;
  int32_t cores;       // hardware threads of its host (0 unknown)
  int32_t rdmaDevice;  // 1: its host has an RDMA device
  uint64_t pidNamespace;
  uint64_t shmNonce;
  uint8_t dataAddress[SocketAddress::kPackedBytes];
  char switches[256];  // joinSwitchPath(), top switch first
  char placementSource[128];
  char hostSummary[128];
  WireSettings settings;
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

uint64_t digestOf(const std::string& text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

WireSettings settingsOf(const Params& params, uint64_t tunerDigest) {
  auto indexOf = [](const std::string& value, std::initializer_list<const char*> names) {
    int32_t i = 0;
    for (const char* name : names) {
      if (value == name) return i;
      ++i;
    }
    return int32_t{-1};
  };
  // An unset STRATA_WINDOW_BYTES or STRATA_BUFFSIZE travels as -1 ("sized for the host"): a rank
  // that sets the default explicitly would size its windows otherwise where ranks outnumber
  // cores, and its rings otherwise on a host of more than 16 ranks.
  return {params.shmRingBytesSet ? params.shmRingBytes : -1,
          params.windowBytesSet ? params.windowBytes : -1,
          params.oneShotBytes,
          params.moePipelineBytes,
          params.deviceChunkBytes,
          params.socketSplitBytes,
          params.socketStreams,
          indexOf(params.transport, {"auto", "shm", "tcp", "ucx"}),
          indexOf(params.net, {"auto", "tcp", "ucx"}),
          params.runtimeConnect ? 1 : 0,
          indexOf(params.cudaIpc, {"auto", "0", "1"}),
          digestOf(params.algo),
          tunerDigest};
}

// The first setting in which `theirs` differs from `ours`, as an error naming it.
Status compareSettings(const WireSettings& ours, const WireSettings& theirs, int rank, int peer) {
  // -1: the variable is unset and Strata sizes it (STRATA_WINDOW_BYTES, STRATA_BUFFSIZE).
  auto value = [](long long v) { return v == -1 ? std::string("it unset") : std::to_string(v); };
  auto differs = [&](const char* name, long long mine, long long other) {
    return invalidUsage(std::string(name) + " differs between ranks: rank " + std::to_string(rank) + " has " +
                        value(mine) + ", rank " + std::to_string(peer) + " has " + value(other) +
                        "; every rank of a communicator must use the same value");
  };
  if (ours.ringBytes != theirs.ringBytes) return differs("STRATA_BUFFSIZE", ours.ringBytes, theirs.ringBytes);
  if (ours.windowBytes != theirs.windowBytes) return differs("STRATA_WINDOW_BYTES", ours.windowBytes, theirs.windowBytes);
  if (ours.oneShotBytes != theirs.oneShotBytes) return differs("STRATA_ONESHOT_BYTES", ours.oneShotBytes, theirs.oneShotBytes);
  if (ours.moePipelineBytes != theirs.moePipelineBytes) {
    return differs("STRATA_MOE_PIPELINE_BYTES", ours.moePipelineBytes, theirs.moePipelineBytes);
  }
  if (ours.deviceChunkBytes != theirs.deviceChunkBytes) {
    return differs("STRATA_DEVICE_CHUNK_BYTES", ours.deviceChunkBytes, theirs.deviceChunkBytes);
  }
  if (ours.splitBytes != theirs.splitBytes) return differs("STRATA_SOCKET_SPLIT_BYTES", ours.splitBytes, theirs.splitBytes);
  if (ours.streams != theirs.streams) return differs("STRATA_SOCKET_NSTREAMS", ours.streams, theirs.streams);
  if (ours.transport != theirs.transport) {
    return invalidUsage("STRATA_TRANSPORT differs between ranks: rank " + std::to_string(rank) + " and rank " +
                        std::to_string(peer) + "; every rank of a communicator must use the same value");
  }
  if (ours.net != theirs.net) {
    return invalidUsage("STRATA_NET differs between ranks: rank " + std::to_string(rank) + " and rank " +
                        std::to_string(peer) + "; every rank of a communicator must use the same value");
  }
  if (ours.cudaIpc != theirs.cudaIpc) {
    return invalidUsage("STRATA_CUDA_IPC differs between ranks: rank " + std::to_string(rank) + " and rank " +
                        std::to_string(peer) + "; every rank of a communicator must use the same value");
  }
  if (ours.runtimeConnect != theirs.runtimeConnect) {
    return differs("STRATA_RUNTIME_CONNECT", ours.runtimeConnect, theirs.runtimeConnect);
  }
  if (ours.algoDigest != theirs.algoDigest) {
    return invalidUsage("STRATA_ALGO differs between ranks: rank " + std::to_string(rank) + " and rank " +
                        std::to_string(peer) + "; every rank must force the same algorithms, or they would run different plans");
  }
  if (ours.tunerDigest != theirs.tunerDigest) {
    return invalidUsage("STRATA_COST_FILE differs between ranks: the cost model of rank " + std::to_string(rank) +
                        " and rank " + std::to_string(peer) + "; the tuner must see the same costs everywhere to pick the same plans");
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

}  // namespace

std::string localMachineId() {
  std::string bootId;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> bootId;
  return bootId;
}

std::string localHostId(const Params& params) {
  if (!params.hostId.empty()) return params.hostId;
  return currentHostname() + "/" + localMachineId();
}

uint64_t pidNamespaceId() {
  struct stat st {};
  if (stat("/proc/self/ns/pid", &st) != 0) return 0;
  return (static_cast<uint64_t>(st.st_dev) << 32) ^ static_cast<uint64_t>(st.st_ino);
}

Status agreeOnSuccess(BootstrapClient& bootstrap, const Status& mine, const char* step, const Deadline& deadline) {
  // Each rank sends its verdict and the step's name: every rank must take the same rounds in the
  // same order, and one that pairs a round with another step's is a bug to name, not to ignore.
  struct WireVerdict {
    uint8_t ok;
    char step[31];
  };
  WireVerdict verdict{};
  verdict.ok = mine.isOk() ? 1 : 0;
  std::strncpy(verdict.step, step, sizeof(verdict.step) - 1);
  auto all = bootstrap.allgather(&verdict, sizeof(verdict), deadline);
  if (!all.ok()) return all.status();
  if (!mine.isOk()) return mine;
  const size_t nranks = all.value().size() / sizeof(WireVerdict);
  for (size_t r = 0; r < nranks; ++r) {
    WireVerdict theirs;
    std::memcpy(&theirs, all.value().data() + r * sizeof(WireVerdict), sizeof(theirs));
    theirs.step[sizeof(theirs.step) - 1] = '\0';
    if (std::strncmp(theirs.step, verdict.step, sizeof(verdict.step)) != 0) {
      return internalError("init went out of step: rank " + std::to_string(r) + " was at '" + theirs.step +
                           "' while this rank was at '" + verdict.step + "'");
    }
    if (theirs.ok == 0) return remoteError(std::string(step) + " failed on rank " + std::to_string(r));
  }
  return Status::ok();
}

Result<std::vector<PeerInfo>> exchangePeerInfo(BootstrapClient& bootstrap, const LocalFacts& facts, int rank, int nranks,
                                               const Params& params, const Result<HostAnalysis>& host,
                                               const Deadline& deadline) {
  WirePeerInfo mine{};
  std::string hostId = localHostId(params);
  std::string hostname = currentHostname();
  std::strncpy(mine.hostId, hostId.c_str(), sizeof(mine.hostId) - 1);
  std::strncpy(mine.hostname, hostname.c_str(), sizeof(mine.hostname) - 1);
  (void)putField(mine.machineId, localMachineId());  // one too long stays unknown
  mine.pid = static_cast<int32_t>(getpid());
  mine.pidNamespace = pidNamespaceId();
  mine.shmNonce = facts.shmNonce;
  mine.rdmaDevice = facts.rdmaDevice ? 1 : 0;
  (void)putField(mine.deviceKey, facts.deviceKey);  // one too long stays unknown: no peer-memory path
  facts.dataAddress.pack(mine.dataAddress);
  mine.settings = settingsOf(params, facts.tunerDigest);
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
  // Our own problem first: every rank with bad metadata names what is wrong with it.
  if (!localProblem.isOk()) return localProblem;
  return decodePeerInfos(all.value().data(), all.value().size(), nranks, rank);
}

int fewestCores(const std::vector<PeerInfo>& peers) {
  int cores = 0;
  for (const PeerInfo& peer : peers) {
    if (peer.cores > 0 && (cores == 0 || peer.cores < cores)) cores = peer.cores;
  }
  return cores;
}

size_t peerInfoWireBytes() { return sizeof(WirePeerInfo); }

Result<std::vector<PeerInfo>> decodePeerInfos(const std::byte* data, size_t bytes, int nranks, int rank) {
  if (nranks <= 0 || rank < 0 || rank >= nranks || bytes != sizeof(WirePeerInfo) * static_cast<size_t>(nranks)) {
    return remoteError("bootstrap returned peer information of the wrong size");
  }
  auto entry = [&](int r) {
    WirePeerInfo w;
    std::memcpy(&w, data + sizeof(WirePeerInfo) * static_cast<size_t>(r), sizeof(w));
    return w;
  };
  const WireSettings mine = entry(rank).settings;
  std::vector<PeerInfo> peers(static_cast<size_t>(nranks));
  for (int r = 0; r < nranks; ++r) {
    WirePeerInfo w = entry(r);
    auto address = SocketAddress::unpack(w.dataAddress);
    if (!address.ok()) return remoteError("rank " + std::to_string(r) + " sent an unusable data address");
    if (w.placed == 0) {
      return remoteError("rank " + std::to_string(r) + " (host " + getField(w.hostname) +
                         ") could not read its topology or rack metadata; its log says why");
    }
    STRATA_RETURN_IF_ERROR(compareSettings(mine, w.settings, rank, r));
    peers[static_cast<size_t>(r)] = {getField(w.hostId), getField(w.hostname), static_cast<pid_t>(w.pid),
                                     w.pidNamespace, address.value(), w.shmNonce,
                                     splitSwitchPath(getField(w.switches)), getField(w.placementSource), w.localOrder,
                                     getField(w.hostSummary), w.cores, w.rdmaDevice != 0, getField(w.machineId),
                                     getField(w.deviceKey)};
  }
  return peers;
}

}  // namespace strata
