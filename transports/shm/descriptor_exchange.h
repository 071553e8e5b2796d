// Hands shared-memory descriptors between the ranks of one host. Each rank binds an abstract
// Unix datagram socket named by a random nonce drawn per communicator and shared through the
// bootstrap (abstract names belong to the network namespace and vanish with their socket: nothing is left
// on a filesystem, and two jobs never meet). A rank sends its descriptor to each peer with
// SCM_RIGHTS, in a datagram that carries the job's secret and its rank; a datagram without them
// is dropped, so strangers on the host cannot inject memory.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "src/common/status.h"
#include "src/common/wait.h"
#include "transports/tcp/socket.h"

namespace strata {

class DescriptorExchange {
 public:
  // Binds this rank's socket. `secret` is the job's 16-byte secret.
  static Result<DescriptorExchange> open(const uint8_t* secret);

  // Where peers send to this rank (published through the bootstrap).
  uint64_t nonce() const { return nonce_; }

  struct Peer {
    int rank;
    uint64_t nonce;
  };
  // Which of `peers` sent a handover datagram of `bytes` (checked as it arrives from outside: its
  // size, magic and secret); -1 for a stranger's.
  static int senderOf(const void* datagram, size_t bytes, const uint8_t* secret, const std::vector<Peer>& peers);

  // Sends `fd` (not consumed) to every peer and receives one descriptor from each of them;
  // result[i] belongs to peers[i]. Fails at the deadline naming the peers not heard from.
  Result<std::vector<int>> exchange(int rank, int fd, const std::vector<Peer>& peers, const Deadline& deadline);

 private:
  DescriptorExchange(Socket socket, uint64_t nonce, const uint8_t* secret);
  Socket socket_;
  uint64_t nonce_ = 0;
  uint8_t secret_[16] = {};
};

}  // namespace strata
