#include "core/handshake_acceptor.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/log.h"

namespace strata {

Result<std::vector<AcceptedCaller>> HandshakeAcceptor::acceptAll(size_t expected, const Deadline& deadline,
                                                                  const char* what) {
  std::vector<AcceptedCaller> accepted;
  std::vector<Pending>& pending = pending_;
  while (accepted.size() < expected) {
    if (deadline.expired()) {
      return timeoutError(std::string(what) + ": only " + std::to_string(accepted.size()) + " of " +
                          std::to_string(expected) + " expected connections arrived within " +
                          std::to_string(deadline.timeoutMs()) + " ms");
    }
    std::vector<pollfd> fds;
    fds.push_back({listenFd_, POLLIN, 0});
    for (auto& p : pending) fds.push_back({p.socket.fd(), POLLIN, 0});
    int rc = ::poll(fds.data(), fds.size(), 50);
    if (rc < 0 && errno != EINTR) return systemError("poll() failed while accepting connections");
    if (fds[0].revents & POLLIN) {
      while (true) {
        auto s = acceptPending(listenFd_);
        if (!s.ok()) return s.status();
        if (!s.value().valid()) break;
        pending.push_back({std::move(s.value())});
      }
    }
    // Stop at `expected`: callers beyond it stay pending for the next acceptAll.
    for (size_t i = 0; i < pending.size() && accepted.size() < expected;) {
      Pending& p = pending[i];
      auto* bytes = reinterpret_cast<uint8_t*>(&p.hello);
      ssize_t n = ::recv(p.socket.fd(), bytes + p.received, sizeof(WireHello) - p.received, MSG_DONTWAIT);
      bool drop = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
      if (n > 0) p.received += static_cast<size_t>(n);
      if (!drop && p.received == sizeof(WireHello)) {
        if (accept_(p.hello)) {
          accepted.push_back({p.hello, std::move(p.socket)});
        } else {
          STRATA_INFO(Init, "%s: refused a connection that did not present this job's credentials", what);
        }
        drop = true;  // handled either way
      }
      if (drop) {
        pending.erase(pending.begin() + static_cast<long>(i));
      } else {
        ++i;
      }
    }
  }
  return accepted;
}

}  // namespace strata
