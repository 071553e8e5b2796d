#include "src/core/transport_table.h"

#include <map>

#include "src/core/transport_openers.h"
#ifdef STRATA_HAVE_UCX
#include "transports/ucx/ucx_worker.h"
#endif

namespace strata {

const std::vector<TransportEntry>& transportTable() {
  static const std::vector<TransportEntry> table = {
      {"shm", true, "", true, true, openShmConnections},
      {"tcp", true, "", false, false, openTcpConnections},
#ifdef STRATA_HAVE_UCX
      {"ucx", true, "", false, false, openUcxConnections},
#else
      {"ucx", false, "libucx-dev was not found when this Strata was built", false, false, nullptr},
#endif
  };
  return table;
}

const TransportEntry* findTransport(const std::string& name) {
  for (const TransportEntry& t : transportTable()) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

bool localRdmaDevice() {
#ifdef STRATA_HAVE_UCX
  return hostHasRdmaDevice();
#else
  return false;
#endif
}

std::string transportChoices() {
  std::string names = "auto";
  for (const TransportEntry& t : transportTable()) names += std::string(", ") + t.name;
  return names;
}

namespace {

Result<const TransportEntry*> named(const char* variable, const std::string& name) {
  const TransportEntry* t = findTransport(name);
  if (t == nullptr) return invalidArgument(std::string(variable) + "='" + name + "' is not one of " + transportChoices());
  if (!t->built) {
    return invalidArgument(std::string(variable) + "=" + name + ", but this build has no " + name + " transport (" +
                           t->missing + ")");
  }
  return t;
}

// The transport between two ranks on different hosts under STRATA_TRANSPORT=auto.
Result<const TransportEntry*> networkTransport(const Params& params, const std::vector<PeerInfo>& peers) {
  if (params.net != "auto") return named("STRATA_NET", params.net);
  const TransportEntry* ucx = findTransport("ucx");
  bool everyRankHasRdma = ucx != nullptr && ucx->built;
  for (const PeerInfo& p : peers) everyRankHasRdma = everyRankHasRdma && p.rdmaDevice;
  return everyRankHasRdma ? ucx : findTransport("tcp");
}

}  // namespace

Result<TransportChoice> chooseTransports(const Params& params, const std::vector<PeerInfo>& peers, int rank) {
  std::map<std::string, size_t> ranksPerHost;
  for (const PeerInfo& p : peers) ++ranksPerHost[p.hostId];
  const TransportEntry* sameHost = findTransport("shm");
  const TransportEntry* otherHost = findTransport("tcp");
  if (params.transport != "auto") {
    auto forced = named("STRATA_TRANSPORT", params.transport);
    if (!forced.ok()) return forced.status();
    sameHost = otherHost = forced.value();
  } else if (ranksPerHost.size() > 1) {
    // Only a job across hosts needs a network transport (and STRATA_NET's to be built).
    auto net = networkTransport(params, peers);
    if (!net.ok()) return net.status();
    otherHost = net.value();
  }
  TransportChoice choice;
  choice.byPeer.assign(peers.size(), nullptr);
  for (size_t peer = 0; peer < peers.size(); ++peer) {
    if (static_cast<int>(peer) == rank) continue;
    const bool local = peers[peer].hostId == peers[static_cast<size_t>(rank)].hostId;
    if (!local && otherHost->sameHostOnly) {
      return invalidArgument("STRATA_TRANSPORT=" + std::string(otherHost->name) + ", but rank " + std::to_string(peer) +
                             " is on host " + peers[peer].hostname + ", not this host");
    }
    choice.byPeer[peer] = local ? sameHost : otherHost;
  }
  // Used in the job: between two ranks of one host, or of two hosts (the same on every rank).
  bool sharedHost = false;
  for (const auto& entry : ranksPerHost) sharedHost = sharedHost || entry.second > 1;
  for (const TransportEntry& t : transportTable()) {
    if ((sharedHost && &t == sameHost) || (ranksPerHost.size() > 1 && &t == otherHost)) choice.usedInJob.push_back(&t);
  }
  return choice;
}

}  // namespace strata
