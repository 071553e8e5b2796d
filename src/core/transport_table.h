// Every transport a peer can be wired with, in one table: its name, whether this build has it,
// which peers it reaches, whether it offers peer memory, and how its connections are opened.
// STRATA_TRANSPORT's check, the per-peer choice and wiring (connect.cc) read the table instead of
// naming transports by hand.
//
// The choice for a pair of ranks depends only on facts every rank holds (both ranks' hosts, the
// shared settings, every rank's RDMA flag), so every rank knows which transports the job uses
// anywhere, and takes exactly the bootstrap rounds of those.
#pragma once

#include <string>
#include <vector>

#include "src/common/params.h"
#include "src/common/status.h"
#include "src/core/bootstrap.h"
#include "src/core/peer_info.h"

namespace strata {

class DescriptorExchange;
struct Wiring;

// What an opener may use while wiring one communicator.
struct WiringInputs {
  BootstrapClient& bootstrap;
  const UniqueIdContents& id;
  int rank;
  int nranks;
  const Params& params;
  Socket& listener;               // tcp: where peers dial us (its address is in PeerInfo)
  DescriptorExchange* handover;   // shm: where peers hand us their segments (null: shm unused)
  const Deadline& deadline;
  // This transport reaches every peer of a communicator of several ranks and offers peer memory:
  // it builds the windows (Wiring::windows). The same on every rank.
  bool peerMemory = false;
};

struct TransportEntry {
  const char* name;
  bool built;          // compiled into this library
  const char* missing;  // why not, when it is not
  bool sameHostOnly;    // reaches peers on this host only
  bool peerMemory;      // offers peer-memory windows (when the whole communicator is on one host)
  // Opens this transport's connections to the peers marked in `peers` (this rank's), taking every
  // bootstrap round of the transport: every rank calls it when the job uses it anywhere.
  Status (*open)(WiringInputs& in, const std::vector<bool>& peers, Wiring& wiring);
};

const std::vector<TransportEntry>& transportTable();
// The table's entry named `name`, or null.
const TransportEntry* findTransport(const std::string& name);

// Which transport carries the traffic to each peer, and which the job uses anywhere.
struct TransportChoice {
  std::vector<const TransportEntry*> byPeer;  // null for this rank itself
  std::vector<const TransportEntry*> usedInJob;  // table order
};

// STRATA_TRANSPORT (not auto) forces one transport for every peer; under auto a peer on this
// host gets shm, one elsewhere STRATA_NET's choice (auto: ucx when this build has it and every
// rank has an RDMA device, else tcp). Errors name the setting and the peer it cannot reach.
Result<TransportChoice> chooseTransports(const Params& params, const std::vector<PeerInfo>& peers, int rank);

// Whether this host has an RDMA device ucx could drive (false in a build without ucx).
bool localRdmaDevice();

// The table's names, "auto, shm, tcp, ucx", for messages.
std::string transportChoices();

}  // namespace strata
