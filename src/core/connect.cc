#include "src/core/connect.h"

#include <optional>

#include "src/core/transport_table.h"
#include "transports/memory/ring_connection.h"
#include "transports/shm/descriptor_exchange.h"

namespace strata {

Result<Wiring> wireCommunicator(BootstrapClient& bootstrap, const UniqueIdContents& id, int rank, int nranks,
                                const Params& params, uint64_t tunerDigest, const std::string& deviceKey,
                                const Deadline& deadline) {
  auto interface = chooseInterface(params.socketIfname);
  if (!interface.ok()) return interface.status();
  LocalFacts facts;
  facts.tunerDigest = tunerDigest;
  facts.rdmaDevice = localRdmaDevice();
  facts.deviceKey = deviceKey;
  auto listener = listenOn(interface.value().address, &facts.dataAddress);
  if (!listener.ok()) return listener.status();
  // The shared-memory handover socket exists before peers learn its name.
  std::optional<DescriptorExchange> handover;
  if (params.transport == "auto" || params.transport == "shm") {
    auto opened = DescriptorExchange::open(id.secret.data());
    if (!opened.ok()) return opened.status();
    facts.shmNonce = opened.value().nonce();
    handover.emplace(std::move(opened.value()));
  }

  Wiring wiring;
  auto host = analyseHost(params);
  auto peers = exchangePeerInfo(bootstrap, facts, rank, nranks, params, host, deadline);
  if (!peers.ok()) return peers.status();
  wiring.host = host.value();
  wiring.peers = std::move(peers.value());
  wiring.connections.resize(static_cast<size_t>(nranks));
  wiring.connections[rank] = makeSelfConnection(1 << 20);

  auto choice = chooseTransports(params, wiring.peers, rank);
  STRATA_RETURN_IF_ERROR(agreeOnSuccess(bootstrap, choice.status(), "choosing transports", deadline));
  WiringInputs inputs{bootstrap, id, rank, nranks, params, listener.value(), handover ? &*handover : nullptr, deadline};
  for (const TransportEntry* transport : choice.value().usedInJob) {
    std::vector<bool> reached(static_cast<size_t>(nranks), false);
    bool everyPeer = nranks > 1;
    for (int peer = 0; peer < nranks; ++peer) {
      reached[peer] = choice.value().byPeer[peer] == transport;
      everyPeer = everyPeer && (peer == rank || reached[peer]);
    }
    // Every rank reaches all others through it exactly when all ranks do: the same choice everywhere.
    inputs.peerMemory = everyPeer && transport->peerMemory;
    STRATA_RETURN_IF_ERROR(transport->open(inputs, reached, wiring));
  }
  // A last round proves every rank finished wiring before anyone sends data.
  STRATA_RETURN_IF_ERROR(agreeOnSuccess(bootstrap, Status::ok(), "connecting", deadline));
  return wiring;
}

}  // namespace strata
