// Wiring the ucx transport: one UCX worker per communicator. The ranks exchange worker addresses
// in two bootstrap rounds (every length, then every address padded to the longest, since a round
// carries the same number of bytes from each rank); the endpoint to each ucx peer is made when a
// call first needs it (STRATA_RUNTIME_CONNECT=1, the default), or here with 0.
#include <algorithm>
#include <cstring>

#include "src/common/log.h"
#include "src/core/deferred_connection.h"
#include "src/core/transport_openers.h"
#include "transports/ucx/ucx_connection.h"

namespace strata {
namespace {

// A worker address is a few hundred bytes (more with many RDMA devices); anything beyond this
// is not an address.
constexpr uint64_t kMaxAddressBytes = 1 << 16;

}  // namespace

Status openUcxConnections(WiringInputs& in, const std::vector<bool>& useUcx, Wiring& wiring) {
  const bool any = std::find(useUcx.begin(), useUcx.end(), true) != useUcx.end();
  std::shared_ptr<UcxWorker> worker;
  Status created;
  if (any) {
    auto made = UcxWorker::create();
    if (made.ok()) {
      worker = made.value();
      STRATA_INFO(Net, "ucx: %s worker started", ucxVersionText().c_str());
    }
    created = made.status();
  }
  STRATA_RETURN_IF_ERROR(agreeOnSuccess(in.bootstrap, created, "starting ucx", in.deadline));

  const uint64_t length = worker ? worker->address().size() : 0;
  auto lengths = in.bootstrap.allgather(&length, sizeof(length), in.deadline);
  if (!lengths.ok()) return lengths.status();
  if (lengths.value().size() != sizeof(uint64_t) * static_cast<size_t>(in.nranks)) {
    return remoteError("bootstrap returned ucx address lengths of the wrong size");
  }
  std::vector<uint64_t> lengthOf(static_cast<size_t>(in.nranks));
  std::memcpy(lengthOf.data(), lengths.value().data(), lengths.value().size());
  const uint64_t longest = *std::max_element(lengthOf.begin(), lengthOf.end());
  if (longest > kMaxAddressBytes) return remoteError("a rank sent a ucx address of " + std::to_string(longest) + " bytes");
  std::vector<std::byte> mine(longest);
  if (worker) std::copy(worker->address().begin(), worker->address().end(), mine.begin());
  auto addresses = in.bootstrap.allgather(mine.data(), mine.size(), in.deadline);
  if (!addresses.ok()) return addresses.status();
  if (addresses.value().size() != longest * static_cast<size_t>(in.nranks)) {
    return remoteError("bootstrap returned ucx addresses of the wrong size");
  }

  Status connected;
  for (int peer = 0; peer < in.nranks && connected.isOk(); ++peer) {
    if (!useUcx[peer]) continue;
    if (lengthOf[peer] == 0) {
      connected = remoteError("rank " + std::to_string(peer) + " has no ucx worker, but this rank reaches it over ucx");
      break;
    }
    const std::byte* first = addresses.value().data() + longest * static_cast<size_t>(peer);
    DeferredConnection::Establish open = [worker, rank = in.rank, peer,
                                          address = std::vector<std::byte>(first, first + lengthOf[peer])]()
        -> Result<std::unique_ptr<Connection>> {
      auto connection = std::make_unique<UcxConnection>(worker, rank, peer);
      auto ep = worker->connect(address, &UcxConnection::onPeerError, connection.get());
      if (!ep.ok()) return ep.status().withContext("rank " + std::to_string(peer) + ": ");
      connection->attach(ep.value());
      STRATA_INFO(Net, "ucx: peer %d through %s", peer, UcxWorker::describe(ep.value()).c_str());
      return std::unique_ptr<Connection>(std::move(connection));
    };
    if (in.params.runtimeConnect) {
      // The endpoint (and on RDMA its queue pairs) is made when a call first needs the peer.
      wiring.connections[peer] = std::make_unique<DeferredConnection>("ucx", std::move(open));
      continue;
    }
    auto opened = open();
    if (!opened.ok()) {
      connected = opened.status();
      break;
    }
    wiring.connections[peer] = std::move(opened.value());
  }
  return agreeOnSuccess(in.bootstrap, connected, "connecting over ucx", in.deadline);
}

}  // namespace strata
