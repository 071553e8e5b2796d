#include "src/core/local_ranks.h"

#include <algorithm>

#include "src/core/peer_info.h"
#include "topology/hierarchy.h"

namespace strata {

LocalRanks ranksSharingCores(const std::vector<PeerInfo>& peers, const Hierarchy& hierarchy, int rank) {
  const PeerInfo& me = peers[static_cast<size_t>(rank)];
  // Hosts in the hierarchy's order and each host's ranks in its ring order: on a machine that is
  // one host this is the host's order, as before emulated hosts were counted.
  std::vector<int> sharing;
  for (const HostGroup& host : hierarchy.hosts()) {
    for (int r : host.ranks) {
      const PeerInfo& peer = peers[static_cast<size_t>(r)];
      const bool sameMachine = me.machineId.empty() ? peer.hostId == me.hostId : peer.machineId == me.machineId;
      if (sameMachine) sharing.push_back(r);
    }
  }
  LocalRanks local;
  local.count = static_cast<int>(sharing.size());
  local.index = static_cast<int>(std::find(sharing.begin(), sharing.end(), rank) - sharing.begin());
  for (int r : sharing) {
    const PeerInfo& peer = peers[static_cast<size_t>(r)];
    if (r != rank && peer.pid == me.pid && peer.pidNamespace == me.pidNamespace) local.separateProcesses = false;
  }
  return local;
}

}  // namespace strata
