// Where a communicator's tcp connections meet when they are opened on first use: this rank's
// listener (open for the communicator's life, its address in every rank's PeerInfo), the dials it
// has started to lower ranks, and the streams higher ranks have dialled in. As at init, a pair's
// higher rank dials the lower one, STRATA_SOCKET_NSTREAMS streams each introduced by an
// authenticated hello; connect() completes against the listener's backlog, so a dialler never
// waits for its peer to reach the call, and the streams that arrive for peers not asked about yet
// are accepted and kept until they are. Strangers on the port are refused as at init
// (handshake_acceptor.h).
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "src/core/handshake_acceptor.h"
#include "src/core/unique_id.h"
#include "transports/tcp/socket.h"
#include "transports/transport.h"

namespace strata {

class TcpRendezvous {
 public:
  struct Job {
    Secret secret;
    int rank = 0;
    int nranks = 0;
    int streams = 1;
    size_t splitBytes = 0;
    std::vector<SocketAddress> addresses;  // every rank's listener
    std::vector<bool> overTcp;             // the peers this rank reaches over tcp
  };

  TcpRendezvous(Socket listener, Job job);
  TcpRendezvous(const TcpRendezvous&) = delete;  // the acceptor's filter points at this object
  TcpRendezvous& operator=(const TcpRendezvous&) = delete;

  // One non-blocking step towards the connection to `peer` (and a look at the listener for any
  // peer's streams): the connection once every stream is up, null while it is not, an error when
  // it cannot be (the peer's listener refuses: the peer is gone).
  Result<std::unique_ptr<Connection>> advance(int peer);

  // Descriptors held for connections not handed out yet (tests).
  size_t heldSockets() const;

  // This rank gave up (abort, or a failed call) before some connection opened: closes the
  // listener and every socket not handed out, so a peer that dialled, or dials now, fails at once
  // instead of at its deadline. Any thread; advance() fails from then on.
  void shutDown();

 private:
  Status acceptArrivals();
  Result<bool> dialStep(int peer);  // true when every stream is connected and introduced
  // Sends the hello on each of the peer's dialled streams whose connect has completed, in order,
  // stopping at the first still under way. Never waits.
  Status introduceConnected(int peer);

  struct Dial {
    std::vector<Socket> streams;  // started connects, in stream order
    size_t introduced = 0;        // streams connected and hello sent
  };

  mutable std::mutex mutex_;  // advance() runs on the calls' thread, shutDown() on any
  bool shut_ = false;
  Socket listener_;
  Job job_;
  HandshakeAcceptor acceptor_;
  std::vector<Dial> dials_;                      // by peer (lower ranks)
  std::vector<std::vector<Socket>> arrivals_;    // by peer (higher ranks), by stream
  std::vector<size_t> arrived_;                  // streams arrived per peer
  std::vector<bool> handedOut_;                  // by peer: its connection exists; further streams are strangers
};

}  // namespace strata
