// Accepts connections on a listening socket until the expected callers have all presented a valid
// hello. Strangers (no hello, a wrong secret, garbage, a duplicate) are closed without a byte in
// reply and without delaying anyone: hellos are read without blocking, many at a time.
//
// Strangers are also bounded, so a flood of idle connections cannot exhaust descriptors or
// starve the job's own ranks: a connection must finish its hello within kHelloTimeoutMs, at most
// kMaxPending wait at once (the oldest is dropped for a newcomer), a hello that is already there
// when a connection is accepted is read at once (the job's ranks send theirs right after
// connecting), and running out of descriptors (EMFILE) drops the oldest stranger, or a reserved
// descriptor is spent to accept-and-close, instead of ending the accept loop.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "src/core/wire.h"
#include "transports/tcp/socket.h"

namespace strata {

struct AcceptedCaller {
  WireHello hello;
  Socket socket;
};

class HandshakeAcceptor {
 public:
  static constexpr int64_t kHelloTimeoutMs = 2000;
  static constexpr size_t kMaxPending = 128;

  // What to do with a well-formed hello: take it, refuse it (a stranger, a duplicate), or fail the
  // whole handshake (a caller with the job's secret that disagrees with the job, e.g. on nranks:
  // waiting would only end in a timeout).
  struct Verdict {
    enum Kind { Accept, Refuse, Fail } kind = Refuse;
    std::string reason;  // Refuse: why (logged); Fail: what disagrees (the error)
  };
  using Filter = std::function<Verdict(const WireHello&)>;
  static Verdict accepted() { return {Verdict::Accept, ""}; }
  static Verdict refused(std::string why = "it did not present this job's credentials") {
    return {Verdict::Refuse, std::move(why)};
  }

  HandshakeAcceptor(int listenFd, Filter accept);

  // Returns once `expected` callers were accepted; a timeout names how many arrived.
  Result<std::vector<AcceptedCaller>> acceptAll(size_t expected, const Deadline& deadline, const char* what);
  // Never waits: accepts what the listener holds, reads what has arrived of every pending hello,
  // and returns the callers whose hello is complete and accepted (often none). For a listener
  // that stays open while a communicator lives (connections opened on first use).
  Result<std::vector<AcceptedCaller>> acceptAvailable(const char* what);

  // Strangers refused or dropped so far (tests and logs).
  size_t refusedCount() const { return refused_; }

 private:
  struct Pending {
    Socket socket;
    WireHello hello{};
    size_t received = 0;
    Clock::time_point acceptedAt;
  };
  // Reads what has arrived of p's hello. Returns true when p is finished with (accepted into
  // `accepted`, refused, or closed by its peer) and must leave the pending list; a hello that
  // fails the handshake sets failure_.
  bool readHello(Pending& p, std::vector<AcceptedCaller>& accepted, const char* what);
  // readHello on every pending caller, until `accepted` holds `expected`.
  void readPendingHellos(std::vector<AcceptedCaller>& accepted, size_t expected, const char* what);
  // Accepts what the listener holds (a bounded batch), reading each newcomer's hello at once.
  Status acceptNewcomers(std::vector<AcceptedCaller>& accepted, size_t expected, const char* what);
  void dropOldest();
  void dropExpired();

  int listenFd_;
  Filter accept_;
  Socket reserve_;                // spent on accept-and-close when descriptors run out
  std::vector<Pending> pending_;  // half-read hellos survive between acceptAll calls
  size_t refused_ = 0;
  Status failure_;
  Clock::time_point lastStarvedWarning_{};  // rate-limits the out-of-descriptors warning
};

}  // namespace strata
