// Wiring the tcp transport: a DeferredConnection per tcp peer, all meeting at one TcpRendezvous
// that keeps this rank's listener. Under STRATA_RUNTIME_CONNECT=1 (the default) a connection
// opens when a call first moves bytes to or from its peer, so a rank holds sockets only for the
// peers its plans use; with 0 every one is opened here, before init returns, as NCCL's
// NCCL_RUNTIME_CONNECT=0 does. Takes no bootstrap round either way.
#include <thread>

#include "src/core/deferred_connection.h"
#include "src/core/tcp_rendezvous.h"
#include "src/core/transport_openers.h"

namespace strata {
namespace {

// Opens every deferred connection now: each pass takes one step on each (diallers connect,
// acceptors take what has arrived), until all are open or the deadline passes.
Status openAllNow(std::vector<DeferredConnection*>& pending, const Deadline& deadline) {
  while (!pending.empty()) {
    for (DeferredConnection* c : pending) STRATA_RETURN_IF_ERROR(c->advance());
    std::erase_if(pending, [](DeferredConnection* c) { return c->isOpen(); });
    if (pending.empty()) break;
    if (deadline.expired()) {
      return timeoutError("tcp connection setup (STRATA_RUNTIME_CONNECT=0): " + std::to_string(pending.size()) +
                          " connections were not open within " + std::to_string(deadline.timeoutMs()) +
                          " ms (are those ranks alive, and is every rank's listener reachable?)");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return Status::ok();
}

}  // namespace

Status openTcpConnections(WiringInputs& in, const std::vector<bool>& useTcp, Wiring& wiring) {
  TcpRendezvous::Job job;
  job.secret = in.id.secret;
  job.rank = in.rank;
  job.nranks = in.nranks;
  job.streams = in.params.socketStreams;
  job.splitBytes = static_cast<size_t>(in.params.socketSplitBytes);
  job.overTcp = useTcp;
  for (const PeerInfo& peer : wiring.peers) job.addresses.push_back(peer.dataAddress);
  auto rendezvous = std::make_shared<TcpRendezvous>(std::move(in.listener), std::move(job));
  std::vector<DeferredConnection*> pending;
  for (int peer = 0; peer < in.nranks; ++peer) {
    if (!useTcp[static_cast<size_t>(peer)]) continue;
    auto connection = std::make_unique<DeferredConnection>(
        "tcp", [rendezvous, peer] { return rendezvous->advance(peer); }, [rendezvous] { rendezvous->shutDown(); });
    pending.push_back(connection.get());
    wiring.connections[static_cast<size_t>(peer)] = std::move(connection);
  }
  if (in.params.runtimeConnect) return Status::ok();
  return openAllNow(pending, in.deadline);
}

}  // namespace strata
