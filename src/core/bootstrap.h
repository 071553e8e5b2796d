// Bootstrap: how ranks that know only the unique id find each other. The root (a thread in the
// process that called strataGetUniqueId, or in strata-run) accepts one authenticated connection
// per rank and then serves allgather rounds: every rank sends a blob, every rank gets all blobs in
// rank order. Communicator init uses a few rounds (addresses, shm readiness) and disconnects; the
// root ends when every rank has disconnected.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "src/core/unique_id.h"
#include "transports/tcp/socket.h"

namespace strata {

// Starts a root listening on `address` (port 0: any) in a detached thread that serves exactly one
// job and exits. The returned id names the bound address.
Result<strataUniqueId> startBootstrapRoot(const SocketAddress& address, const Secret& secret, int64_t timeoutMs);

// strataGetUniqueId's work: a fresh secret and a root on the interface STRATA_SOCKET_IFNAME picks.
Result<strataUniqueId> createUniqueId(const std::string& socketIfname, int64_t timeoutMs);

// When this process serves the root of `secret`, waits until every rank of its job has hung up
// (or the deadline passes); returns at once otherwise. Init calls it after its last round, so a
// process that hosts a root never leaves before the other ranks got their last answer.
void waitForHostedRoot(const Secret& secret, const Deadline& deadline);

class BootstrapClient {
 public:
  static Result<BootstrapClient> connect(const UniqueIdContents& id, int rank, int nranks, const Deadline& deadline);

  // Contributes `bytes` (same length on every rank) and returns everyone's, rank-major.
  Result<std::vector<std::byte>> allgather(const void* data, size_t bytes, const Deadline& deadline);

  void close() { socket_.reset(); }

 private:
  explicit BootstrapClient(Socket socket) : socket_(std::move(socket)) {}
  Socket socket_;
};

}  // namespace strata
