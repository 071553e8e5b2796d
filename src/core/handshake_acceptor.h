// Accepts connections on a listening socket until the expected callers have all presented a valid
// hello. Strangers (no hello, a wrong secret, garbage, a duplicate) are closed without a byte in
// reply and without delaying anyone: hellos are read without blocking, many at a time.
#pragma once

#include <functional>
#include <vector>

#include "core/wire.h"
#include "tcp/socket.h"

namespace strata {

struct AcceptedCaller {
  WireHello hello;
  Socket socket;
};

class HandshakeAcceptor {
 public:
  // `accept` decides whether a well-formed hello is one we are waiting for (and not a duplicate).
  using Filter = std::function<bool(const WireHello&)>;

  HandshakeAcceptor(int listenFd, Filter accept) : listenFd_(listenFd), accept_(std::move(accept)) {}

  // Returns once `expected` callers were accepted; a timeout names how many arrived.
  Result<std::vector<AcceptedCaller>> acceptAll(size_t expected, const Deadline& deadline, const char* what);

 private:
  struct Pending {
    Socket socket;
    WireHello hello{};
    size_t received = 0;
  };
  int listenFd_;
  Filter accept_;
  std::vector<Pending> pending_;  // half-read hellos survive between acceptAll calls
};

}  // namespace strata
