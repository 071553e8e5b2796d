// What every rank tells every other rank at init, in one bootstrap allgather: where it is (host
// identity, rack path, order inside its host), how to reach it (data address, shared-memory
// handover nonce), what its host looks like, and the settings that must be equal on every rank
// (ring and window sizes, streams, STRATA_ALGO, the cost model), so a rank launched with another
// value is an init error naming the variable instead of mismatched plans later.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "src/common/params.h"
#include "src/core/bootstrap.h"
#include "src/core/host_analysis.h"
#include "transports/tcp/socket.h"

namespace strata {

struct PeerInfo {
  std::string hostId;     // hostname + boot id, or STRATA_HOSTID
  std::string hostname;
  pid_t pid = 0;
  uint64_t pidNamespace = 0;  // identity of its PID namespace (0 unknown): its pid means something where equal
  SocketAddress dataAddress;
  uint64_t shmNonce = 0;      // where it takes shared-memory descriptors (descriptor_exchange.h)
  std::vector<std::string> switches;  // where its host sits: top switch first, leaf (rack) last
  std::string placementSource;        // which input decided `switches`
  int localOrder = 0;                 // order among the ranks of its host
  std::string hostSummary;            // its host's topology summary ("2 packages, ..., 8 GPUs, 4 NICs")
  int cores = 0;                      // hardware threads of its host (0 unknown)
  bool rdmaDevice = false;            // its host has an RDMA device for ucx (transport_table.h)
  // The kernel it runs on (its boot id, empty when unknown): emulated hosts (STRATA_HOSTID,
  // network namespaces) on one machine share it, and with it the machine's cores.
  std::string machineId;
  // The GPU its communicator is bound to (its UUID; empty: host memory only), so ranks agree on
  // whether they can read each other's device memory (api/device_peer_collectives.h).
  std::string deviceKey;
};

// This rank's contribution, beyond what Params says.
struct LocalFacts {
  SocketAddress dataAddress;
  uint64_t shmNonce = 0;
  uint64_t tunerDigest = 0;  // what the tuner's choices depend on besides the topology (cost model)
  bool rdmaDevice = false;
  std::string deviceKey;
};

// This host's identity as used for transport choice.
std::string localHostId(const Params& params);
// This machine's kernel (/proc/sys/kernel/random/boot_id), empty when unknown.
std::string localMachineId();
// This process's PID namespace (the inode of /proc/self/ns/pid), 0 when unknown.
uint64_t pidNamespaceId();

// Every rank joins, even one whose metadata is bad, so the others fail at once with its rank
// named instead of waiting for it until the timeout.
Result<std::vector<PeerInfo>> exchangePeerInfo(BootstrapClient& bootstrap, const LocalFacts& facts, int rank, int nranks,
                                               const Params& params, const Result<HostAnalysis>& host,
                                               const Deadline& deadline);

// The allgathered peer information (`bytes` from every one of `nranks` ranks), checked as it
// arrives from outside: sizes, addresses, every rank placed, and every rank's shared settings
// equal to those of `rank` (the caller).
Result<std::vector<PeerInfo>> decodePeerInfos(const std::byte* data, size_t bytes, int nranks, int rank);
// Bytes of one rank's entry in that allgather.
size_t peerInfoWireBytes();

// The fewest hardware threads any rank reports (0: none knows). Every rank computes it from the
// same allgathered facts, so choices made from it (tuner, window size) agree.
int fewestCores(const std::vector<PeerInfo>& peers);

// One status byte per rank, gathered: any failure fails everyone with the first failing rank named.
Status agreeOnSuccess(BootstrapClient& bootstrap, const Status& mine, const char* step, const Deadline& deadline);

}  // namespace strata
