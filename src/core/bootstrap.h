// Bootstrap: how ranks that know only the unique id find each other. The root (a thread in the
// process that called strataGetUniqueId, or in strata-run) accepts one authenticated connection
// per rank, takes the address where that rank listens for its ring predecessor, answers each
// with its successor's, and is done: O(n) work, however many rounds init takes. The ranks then
// join a ring (each dials its successor, accepts its predecessor) and run their allgather rounds
// round it: n - 1 steps, each rank passing one rank's blob on, so no process handles the O(n²)
// bytes a central allgather would. A rank that fails or dies closes its ring sockets; its
// neighbours' next step fails and they close theirs, so the failure travels round the ring (a
// rank that dies after passing on its last blob can let the others finish that round: the
// connection checks that follow init then see it).
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

// When this process serves the root of `secret`, waits until the root has answered every rank of
// its job or given up (or the deadline passes); returns at once otherwise. Init calls it after its
// last round (by then every rank had its answer, or init failed), so a process that hosts a root
// never leaves while its thread still serves.
void waitForHostedRoot(const Secret& secret, const Deadline& deadline);

class BootstrapClient {
 public:
  static Result<BootstrapClient> connect(const UniqueIdContents& id, int rank, int nranks, const Deadline& deadline);

  // Contributes `bytes` (same length on every rank) and returns everyone's, rank-major.
  Result<std::vector<std::byte>> allgather(const void* data, size_t bytes, const Deadline& deadline);

  void close() {
    next_.reset();
    previous_.reset();
  }

 private:
  BootstrapClient(Socket next, Socket previous, int rank, int nranks)
      : next_(std::move(next)), previous_(std::move(previous)), rank_(rank), nranks_(nranks) {}
  Socket next_;      // to rank + 1 (mod n)
  Socket previous_;  // from rank - 1 (mod n)
  int rank_ = 0;
  int nranks_ = 1;
};

}  // namespace strata
