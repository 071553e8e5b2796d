#include "src/core/handshake_acceptor.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <limits>
#include <thread>

#include "src/common/errno_text.h"
#include "src/common/log.h"

namespace strata {
namespace {

// Newcomers taken per pass: between passes every pending hello is read, so a burst of strangers
// never pushes a real caller out before its hello was looked at.
constexpr int kAcceptBatch = 64;
// Pause when out of descriptors with none to free (see acceptNewcomers).
constexpr int kStarvedPauseMs = 10;

}  // namespace

HandshakeAcceptor::HandshakeAcceptor(int listenFd, Filter accept)
    : listenFd_(listenFd), accept_(std::move(accept)), reserve_(::open("/dev/null", O_RDONLY | O_CLOEXEC)) {}

bool HandshakeAcceptor::readHello(Pending& p, std::vector<AcceptedCaller>& accepted, const char* what) {
  auto* bytes = reinterpret_cast<uint8_t*>(&p.hello);
  ssize_t n = ::recv(p.socket.fd(), bytes + p.received, sizeof(WireHello) - p.received, MSG_DONTWAIT);
  if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
    ++refused_;
    return true;  // gone before finishing its hello
  }
  if (n > 0) p.received += static_cast<size_t>(n);
  if (p.received < sizeof(WireHello)) return false;
  Verdict verdict = accept_(p.hello);
  if (verdict.kind == Verdict::Accept) {
    accepted.push_back({p.hello, std::move(p.socket)});
  } else {
    ++refused_;
    if (verdict.kind == Verdict::Fail) {
      if (failure_.isOk()) failure_ = invalidUsage(std::string(what) + ": " + verdict.reason);
      STRATA_WARN(Init, "%s: failing: %s", what, verdict.reason.c_str());
    } else {
      STRATA_INFO(Init, "%s: refused a connection: %s", what, verdict.reason.c_str());
    }
  }
  return true;
}

void HandshakeAcceptor::readPendingHellos(std::vector<AcceptedCaller>& accepted, size_t expected, const char* what) {
  for (size_t i = 0; i < pending_.size() && accepted.size() < expected;) {
    if (readHello(pending_[i], accepted, what)) {
      pending_.erase(pending_.begin() + static_cast<long>(i));
    } else {
      ++i;
    }
  }
}

void HandshakeAcceptor::dropOldest() {
  if (pending_.empty()) return;
  pending_.erase(pending_.begin());  // kept in arrival order
  ++refused_;
}

void HandshakeAcceptor::dropExpired() {
  const auto limit = Clock::now() - std::chrono::milliseconds(kHelloTimeoutMs);
  size_t expired = 0;
  while (expired < pending_.size() && pending_[expired].acceptedAt < limit) ++expired;
  if (expired == 0) return;
  pending_.erase(pending_.begin(), pending_.begin() + static_cast<long>(expired));
  refused_ += expired;
}

Status HandshakeAcceptor::acceptNewcomers(std::vector<AcceptedCaller>& accepted, size_t expected, const char* what) {
  for (int i = 0; i < kAcceptBatch && accepted.size() < expected; ++i) {
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return Status::ok();
      if (err == EINTR || err == ECONNABORTED || err == EPROTO || err == ENETDOWN || err == ENOPROTOOPT ||
          err == EHOSTDOWN || err == ENONET || err == EHOSTUNREACH || err == EOPNOTSUPP || err == ENETUNREACH) {
        continue;  // that caller is gone; the listener is fine
      }
      if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
        // Out of descriptors: free one by dropping the oldest stranger, or spend the reserve to
        // take the newcomer off the queue and close it, so the loop keeps serving.
        if (!pending_.empty()) {
          dropOldest();
          continue;
        }
        if (reserve_.valid()) {
          reserve_.reset();
          int victim = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
          if (victim >= 0) ::close(victim);
          ++refused_;
          reserve_ = Socket(::open("/dev/null", O_RDONLY | O_CLOEXEC));
          continue;
        }
        // Nothing left to free: the listener stays readable, so pause instead of spinning, and
        // warn once a second rather than on every pass.
        const auto now = Clock::now();
        if (now - lastStarvedWarning_ >= std::chrono::seconds(1)) {
          STRATA_WARN(Init, "%s: accept() failed: %s; retrying", what, errnoText(err).c_str());
          lastStarvedWarning_ = now;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(kStarvedPauseMs));
        return Status::ok();  // poll again later; never give up on the job's own ranks
      }
      return systemError(std::string(what) + ": accept() failed: " + errnoText(err));
    }
    setNoDelay(fd);
    Pending newcomer{Socket(fd), {}, 0, Clock::now()};
    if (readHello(newcomer, accepted, what)) {
      if (!failure_.isOk()) return Status::ok();  // acceptAll reports it
      continue;
    }
    if (pending_.size() >= kMaxPending) dropOldest();
    pending_.push_back(std::move(newcomer));
  }
  return Status::ok();
}

Result<std::vector<AcceptedCaller>> HandshakeAcceptor::acceptAll(size_t expected, const Deadline& deadline,
                                                                  const char* what) {
  std::vector<AcceptedCaller> accepted;
  std::vector<pollfd> fds;
  while (accepted.size() < expected) {
    if (deadline.expired()) {
      return timeoutError(std::string(what) + ": only " + std::to_string(accepted.size()) + " of " +
                          std::to_string(expected) + " expected connections arrived within " +
                          std::to_string(deadline.timeoutMs()) + " ms");
    }
    dropExpired();
    fds.clear();
    fds.push_back({listenFd_, POLLIN, 0});
    for (auto& p : pending_) fds.push_back({p.socket.fd(), POLLIN, 0});
    int rc = ::poll(fds.data(), fds.size(), 50);
    if (rc < 0 && errno != EINTR) return systemError(std::string(what) + ": poll() failed: " + errnoText(errno));
    // Stop at `expected`: callers beyond it stay pending for the next acceptAll.
    readPendingHellos(accepted, expected, what);
    if (fds[0].revents & POLLIN) STRATA_RETURN_IF_ERROR(acceptNewcomers(accepted, expected, what));
    if (!failure_.isOk()) return failure_;
  }
  return accepted;
}

Result<std::vector<AcceptedCaller>> HandshakeAcceptor::acceptAvailable(const char* what) {
  std::vector<AcceptedCaller> accepted;
  // Hellos first, then expiry: this is called only when a call needs a connection, so a hello
  // may have waited in its socket since long before; it must not be dropped unread.
  readPendingHellos(accepted, std::numeric_limits<size_t>::max(), what);
  dropExpired();
  STRATA_RETURN_IF_ERROR(acceptNewcomers(accepted, std::numeric_limits<size_t>::max(), what));
  if (!failure_.isOk()) return failure_;
  return accepted;
}

}  // namespace strata
