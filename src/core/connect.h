// Wiring a communicator: exchange who-is-where through the bootstrap (peer_info.h), pick a
// transport per peer (same host: shm, unless STRATA_TRANSPORT=tcp; else tcp), and open the
// connections. Every rank runs the same bootstrap rounds whatever its peers, so rounds always match.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "src/common/params.h"
#include "src/core/bootstrap.h"
#include "src/core/host_analysis.h"
#include "src/core/peer_info.h"
#include "transports/memory/doorbell.h"
#include "transports/memory/peer_windows.h"
#include "transports/transport.h"

namespace strata {

struct Wiring {
  std::vector<PeerInfo> peers;                       // by rank
  std::vector<std::unique_ptr<Connection>> connections;  // by rank; [rank] is self
  std::shared_ptr<PeerWindows> windows;              // peer memory, when a transport offers it to the whole communicator
  HostAnalysis host;                                 // this rank's host topology and device
  DoorbellWord* doorbell = nullptr;                  // ours, rung by the peers on this host (shm)
  std::shared_ptr<void> doorbellMemory;              // keeps it mapped
};

// `tunerDigest`: the cost model's fingerprint, which every rank must share (peer_info.h);
// `deviceKey`: the GPU this rank is bound to (empty: none).
Result<Wiring> wireCommunicator(BootstrapClient& bootstrap, const UniqueIdContents& id, int rank, int nranks,
                                const Params& params, uint64_t tunerDigest, const std::string& deviceKey,
                                const Deadline& deadline);

}  // namespace strata
