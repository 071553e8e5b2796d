// Wiring a communicator: exchange who-is-where through the bootstrap, pick a transport per peer
// (same host: shm, unless STRATA_TRANSPORT=tcp; else tcp), and open the connections. Every rank
// runs the same bootstrap rounds whatever its peers, so rounds always match.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/params.h"
#include "core/bootstrap.h"
#include "core/host_analysis.h"
#include "shm/peer_windows.h"
#include "transport.h"

namespace strata {

struct PeerInfo {
  std::string hostId;     // hostname + boot id, or STRATA_HOSTID
  std::string hostname;
  pid_t pid = 0;
  SocketAddress dataAddress;
  std::vector<std::string> switches;  // where its host sits: top switch first, leaf (rack) last
  std::string placementSource;        // which input decided `switches`
  int localOrder = 0;                 // order among the ranks of its host
  std::string hostSummary;            // its host's topology summary ("2 packages, ..., 8 GPUs, 4 NICs")
  int cores = 0;                      // hardware threads of its host (0 unknown)
};

struct Wiring {
  std::vector<PeerInfo> peers;                       // by rank
  std::vector<std::unique_ptr<Connection>> connections;  // by rank; [rank] is self
  std::shared_ptr<PeerWindows> windows;              // when every rank is on this host over shm
  HostAnalysis host;                                 // this rank's host topology and device
};

// This host's identity as used for transport choice.
std::string localHostId(const Params& params);

Result<Wiring> wireCommunicator(BootstrapClient& bootstrap, const UniqueIdContents& id, int rank, int nranks,
                                const Params& params, const Deadline& deadline);

}  // namespace strata
