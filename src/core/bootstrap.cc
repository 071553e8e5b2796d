#include "src/core/bootstrap.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "src/common/errno_text.h"
#include "src/core/blob_io.h"
#include "src/core/handshake_acceptor.h"

namespace strata {
namespace {

// The address of this end of `fd` (the interface that reaches the root), port 0.
Result<SocketAddress> localEnd(int fd) {
  SocketAddress local;
  local.length = sizeof(local.storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local.storage), &local.length) != 0) {
    return systemError("getsockname() failed: " + errnoText(errno));
  }
  local.setPort(0);
  return local;
}

// One ring step: sends a blob of `bytes` from `out` to the successor while receiving one of the
// same length into `in` from the predecessor, both at once, so no rank's send waits for a
// successor that is itself waiting to send.
Status exchangeOnRing(int nextFd, const std::byte* out, int previousFd, std::byte* in, uint64_t bytes,
                      const Deadline& deadline, int next, int previous) {
  if (bytes > kMaxBootstrapBlob) return invalidUsage("bootstrap blob of " + std::to_string(bytes) + " bytes is over the limit");
  const WireBlobHeader header{kWireMagic, kWireVersion, 0, bytes};
  std::vector<std::byte> outgoing(sizeof(header) + bytes);
  std::memcpy(outgoing.data(), &header, sizeof(header));
  std::copy(out, out + bytes, outgoing.begin() + sizeof(header));
  WireBlobHeader incoming{};
  size_t sent = 0, received = 0;
  const size_t total = outgoing.size();
  while (sent < total || received < total) {
    pollfd fds[2] = {{nextFd, static_cast<short>(sent < total ? POLLOUT : 0), 0},
                     {previousFd, static_cast<short>(received < total ? POLLIN : 0), 0}};
    if (::poll(fds, 2, static_cast<int>(std::min<int64_t>(deadline.remainingMs(), 100))) < 0 && errno != EINTR) {
      return systemError("poll() failed: " + errnoText(errno));
    }
    if (sent < total && fds[0].revents != 0) {
      const ssize_t n = ::send(nextFd, outgoing.data() + sent, total - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return remoteError("rank " + std::to_string(next) + " left the bootstrap ring (" + errnoText(errno) +
                           "): it failed or exited");
      }
      if (n > 0) sent += static_cast<size_t>(n);
    }
    if (received < total && fds[1].revents != 0) {
      // The header first (never reading past it), then the payload straight into place.
      const bool inHeader = received < sizeof(header);
      std::byte* to = inHeader ? reinterpret_cast<std::byte*>(&incoming) + received : in + (received - sizeof(header));
      const ssize_t n = ::recv(previousFd, to, inHeader ? sizeof(header) - received : total - received, MSG_DONTWAIT);
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        return remoteError("rank " + std::to_string(previous) + " left the bootstrap ring: it failed or exited");
      }
      if (n > 0) received += static_cast<size_t>(n);
      if (inHeader && received == sizeof(header)) {
        auto length = checkBlobHeader(incoming, kMaxBootstrapBlob);
        if (!length.ok()) return length.status();
        if (length.value() != bytes) {
          return invalidUsage("ranks disagree in a bootstrap round: rank " + std::to_string(previous) + " passed on " +
                              std::to_string(length.value()) + " bytes per rank where this rank has " +
                              std::to_string(bytes) + " (different Strata versions or settings?)");
        }
      }
    }
    if ((sent < total || received < total) && deadline.expired()) {
      const std::string stuck = received < total ? "no blob from rank " + std::to_string(previous)
                                                  : "rank " + std::to_string(next) + " took no blob";
      return timeoutError("bootstrap ring step not finished within " + std::to_string(deadline.timeoutMs()) + " ms: " +
                          stuck + " (is it alive and in this job?)");
    }
  }
  return Status::ok();
}

}  // namespace

Result<BootstrapClient> BootstrapClient::connect(const UniqueIdContents& id, int rank, int nranks,
                                                 const Deadline& deadline) {
  auto root = connectWithRetry(id.root, deadline);
  if (!root.ok()) {
    return Status(root.status().code(), "cannot reach the bootstrap root at " + id.root.toString() + ": " +
                                            root.status().message() + " (is rank 0's process running?)");
  }
  // Where our predecessor will dial us: the interface that reaches the root.
  auto local = localEnd(root.value().fd());
  if (!local.ok()) return local.status();
  SocketAddress listening;
  auto listener = listenOn(local.value(), &listening);
  if (!listener.ok()) return listener.status().withContext("bootstrap ring listener: ");
  const WireHello hello = makeHello(HelloKind::Bootstrap, id.secret, rank, nranks, 0);
  STRATA_RETURN_IF_ERROR(sendAll(root.value().fd(), &hello, sizeof(hello), deadline));
  std::array<uint8_t, SocketAddress::kPackedBytes> packed{};
  listening.pack(packed.data());
  STRATA_RETURN_IF_ERROR(sendBlob(root.value().fd(), packed.data(), packed.size(), deadline));
  Status answered = recvBlobOf(root.value().fd(), packed.data(), packed.size(), deadline, "bootstrap registration");
  if (!answered.isOk()) {
    return answered.withContext("bootstrap (the root closed: another rank failed, presented a different nranks, "
                                "or timed out): ");
  }
  root.value().reset();
  if (nranks == 1) return BootstrapClient(Socket(), Socket(), rank, nranks);
  auto successor = SocketAddress::unpack(packed.data());
  if (!successor.ok()) return successor.status().withContext("bootstrap: the root's answer: ");
  const int next = (rank + 1) % nranks, previous = (rank + nranks - 1) % nranks;
  // Dial first: connect() completes against the successor's backlog, so nobody waits in a cycle.
  auto toNext = connectWithRetry(successor.value(), deadline);
  if (!toNext.ok()) return toNext.status().withContext("bootstrap: joining rank " + std::to_string(next) + ": ");
  const WireHello ringHello = makeHello(HelloKind::BootstrapRing, id.secret, rank, nranks, 0);
  STRATA_RETURN_IF_ERROR(sendAll(toNext.value().fd(), &ringHello, sizeof(ringHello), deadline));
  HandshakeAcceptor acceptor(listener.value().fd(), [&](const WireHello& h) {
    if (!helloIsValid(h, HelloKind::BootstrapRing, id.secret, nranks, 1)) return HandshakeAcceptor::refused();
    if (h.rank != previous) {
      return HandshakeAcceptor::refused("rank " + std::to_string(h.rank) + " is not this rank's ring predecessor");
    }
    return HandshakeAcceptor::accepted();
  });
  auto fromPrevious = acceptor.acceptAll(1, deadline, "bootstrap ring");
  if (!fromPrevious.ok()) {
    return fromPrevious.status().withContext("bootstrap: waiting for rank " + std::to_string(previous) + " to join the ring: ");
  }
  return BootstrapClient(std::move(toNext.value()), std::move(fromPrevious.value().front().socket), rank, nranks);
}

Result<std::vector<std::byte>> BootstrapClient::allgather(const void* data, size_t bytes, const Deadline& deadline) {
  std::vector<std::byte> all(bytes * static_cast<size_t>(nranks_));
  if (bytes > 0) std::memcpy(all.data() + bytes * static_cast<size_t>(rank_), data, bytes);
  if (nranks_ > 1 && !next_.valid()) return invalidUsage("bootstrap allgather after the ring was closed");
  const int next = (rank_ + 1) % nranks_, previous = (rank_ + nranks_ - 1) % nranks_;
  // Step s passes on the blob of rank (rank - s) and takes that of rank (rank - s - 1).
  for (int s = 0; s + 1 < nranks_; ++s) {
    const auto sendIndex = static_cast<size_t>((rank_ - s + nranks_) % nranks_);
    const auto recvIndex = static_cast<size_t>((rank_ - s - 1 + 2 * nranks_) % nranks_);
    Status step = exchangeOnRing(next_.fd(), all.data() + sendIndex * bytes, previous_.fd(), all.data() + recvIndex * bytes,
                                 bytes, deadline, next, previous);
    if (!step.isOk()) {
      close();  // our neighbours' next step fails too: the failure travels round the ring
      return step.withContext("bootstrap allgather: ");
    }
  }
  return all;
}

}  // namespace strata
