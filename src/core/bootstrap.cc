#include "src/core/bootstrap.h"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "src/common/errno_text.h"
#include "src/common/log.h"
#include "src/core/handshake_acceptor.h"
#include "src/core/wire.h"

namespace strata {
namespace {

Status sendBlob(int fd, const void* data, uint64_t bytes, const Deadline& deadline) {
  WireBlobHeader header{kWireMagic, kWireVersion, 0, bytes};
  STRATA_RETURN_IF_ERROR(sendAll(fd, &header, sizeof(header), deadline));
  return sendAll(fd, data, bytes, deadline);
}

Result<uint64_t> recvBlobHeader(int fd, uint64_t maxBytes, const Deadline& deadline) {
  WireBlobHeader header{};
  STRATA_RETURN_IF_ERROR(recvAll(fd, &header, sizeof(header), deadline));
  return checkBlobHeader(header, maxBytes);
}

// The roots this process serves, by secret, until their job has finished with them: a rank in
// this process waits for its root before init returns, so the process cannot exit (or move on)
// while other ranks still need the root (a split leader that exits at once, for example).
struct HostedRoot {
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
};

std::mutex& hostedMutex() {
  static auto* m = new std::mutex();  // outlives detached roots, as the map does
  return *m;
}

std::map<Secret, std::shared_ptr<HostedRoot>>& hostedRoots() {
  static auto* roots = new std::map<Secret, std::shared_ptr<HostedRoot>>();  // outlives detached roots
  return *roots;
}

// Marks the root finished (whatever the reason) when serveJob returns.
class FinishOnExit {
 public:
  FinishOnExit(Secret secret, std::shared_ptr<HostedRoot> root) : secret_(secret), root_(std::move(root)) {}
  ~FinishOnExit() {
    {
      std::lock_guard<std::mutex> lock(hostedMutex());
      auto it = hostedRoots().find(secret_);
      if (it != hostedRoots().end() && it->second == root_) hostedRoots().erase(it);
    }
    std::lock_guard<std::mutex> lock(root_->mutex);
    root_->done = true;
    root_->finished.notify_all();
  }

 private:
  Secret secret_;
  std::shared_ptr<HostedRoot> root_;
};

// Waits until the socket has something to read; true when that is the end of the stream.
Result<bool> hasHungUp(int fd, const Deadline& deadline) {
  while (true) {
    char byte;
    ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    if (n > 0) return false;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return remoteError("recv failed: " + errnoText(errno));
    if (deadline.expired()) return timeoutError("no message within " + std::to_string(deadline.timeoutMs()) + " ms");
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(std::min<int64_t>(deadline.remainingMs(), 100)));
  }
}

// One allgather round, or the end of the job: Done when every rank hung up at the round's start
// (each has read the last answer), Failed when only some did or anything else went wrong.
enum class RoundResult { Served, Done, Failed };

RoundResult serveRound(std::vector<Socket>& ranks, int round, int64_t timeoutMs, std::vector<std::byte>& all) {
  const int nranks = static_cast<int>(ranks.size());
  Deadline deadline(timeoutMs);
  uint64_t length = 0;
  int hungUp = 0;
  for (int r = 0; r < nranks; ++r) {
    // A rank that finished closes its socket instead of starting another round.
    auto hungUpHere = hasHungUp(ranks[r].fd(), deadline);
    if (hungUpHere.ok() && hungUpHere.value() && round > 0) {
      ++hungUp;
      continue;
    }
    auto header = hungUpHere.ok() ? recvBlobHeader(ranks[r].fd(), kMaxBootstrapBlob, deadline)
                                  : Result<uint64_t>(hungUpHere.status());
    if (!header.ok()) {
      STRATA_WARN(Init, "bootstrap root: rank %d failed in round %d: %s", r, round, header.status().message().c_str());
      return RoundResult::Failed;
    }
    if (hungUp > 0 || (r > 0 && header.value() != length)) {
      STRATA_WARN(Init, "bootstrap root: ranks disagree in round %d (rank %d sent %llu bytes%s)", round, r,
                  static_cast<unsigned long long>(header.value()), hungUp > 0 ? " after others hung up" : "");
      return RoundResult::Failed;
    }
    if (r == 0) {
      length = header.value();
      all.resize(length * static_cast<uint64_t>(nranks));
    }
    if (!recvAll(ranks[r].fd(), all.data() + length * static_cast<uint64_t>(r), length, deadline).isOk()) {
      return RoundResult::Failed;
    }
  }
  if (hungUp == nranks) return RoundResult::Done;
  if (hungUp > 0) {
    STRATA_WARN(Init, "bootstrap root: %d of %d ranks hung up in round %d while the others went on", hungUp, nranks, round);
    return RoundResult::Failed;
  }
  for (int r = 0; r < nranks; ++r) {
    if (!sendBlob(ranks[r].fd(), all.data(), all.size(), deadline).isOk()) return RoundResult::Failed;
  }
  return RoundResult::Served;
}

// Serves one job: authenticate nranks callers, then allgather rounds until every rank hung up.
void serveJob(Socket listener, Secret secret, int64_t timeoutMs, std::shared_ptr<HostedRoot> hosted) {
  FinishOnExit finish(secret, std::move(hosted));
  int nranks = 0;
  std::vector<bool> seen;
  HandshakeAcceptor acceptor(listener.fd(), [&](const WireHello& h) {
    if (!helloIsValid(h, HelloKind::Bootstrap, secret, 0, 1)) return HandshakeAcceptor::refused();
    // The job's secret with another job size: a rank launched wrongly. The job cannot form, so
    // it fails now (every rank hears the root close) instead of at the timeout.
    if (nranks != 0 && h.nranks != nranks) {
      return HandshakeAcceptor::Verdict{HandshakeAcceptor::Verdict::Fail,
                                        "rank " + std::to_string(h.rank) + " says the job has " + std::to_string(h.nranks) +
                                            " ranks, an earlier rank said " + std::to_string(nranks)};
    }
    if (nranks == 0) {
      nranks = h.nranks;
      seen.assign(static_cast<size_t>(nranks), false);
    }
    if (seen[static_cast<size_t>(h.rank)]) {
      return HandshakeAcceptor::refused("rank " + std::to_string(h.rank) + " joined a second time");
    }
    seen[static_cast<size_t>(h.rank)] = true;
    return HandshakeAcceptor::accepted();
  });
  Deadline joinDeadline(timeoutMs);
  auto first = acceptor.acceptAll(1, joinDeadline, "bootstrap root");
  if (!first.ok()) {
    STRATA_WARN(Init, "bootstrap root gave up: %s", first.status().message().c_str());
    return;
  }
  std::vector<AcceptedCaller> callers = std::move(first.value());
  if (nranks > 1) {
    auto rest = acceptor.acceptAll(static_cast<size_t>(nranks - 1), joinDeadline, "bootstrap root");
    if (!rest.ok()) {
      STRATA_WARN(Init, "bootstrap root gave up: %s", rest.status().message().c_str());
      return;  // closing every socket tells the ranks that came
    }
    for (auto& c : rest.value()) callers.push_back(std::move(c));
  }
  listener.reset();  // late strangers are refused by the kernel
  std::vector<Socket> ranks(static_cast<size_t>(nranks));
  for (auto& c : callers) ranks[static_cast<size_t>(c.hello.rank)] = std::move(c.socket);
  std::vector<std::byte> all;
  for (int round = 0; serveRound(ranks, round, timeoutMs, all) == RoundResult::Served; ++round) {
  }
}

}  // namespace

Result<strataUniqueId> startBootstrapRoot(const SocketAddress& address, const Secret& secret, int64_t timeoutMs) {
  SocketAddress bound;
  auto listener = listenOn(address, &bound);
  if (!listener.ok()) return listener.status();
  auto hosted = std::make_shared<HostedRoot>();
  {
    std::lock_guard<std::mutex> lock(hostedMutex());
    hostedRoots()[secret] = hosted;
  }
  std::thread(serveJob, std::move(listener.value()), secret, timeoutMs, hosted).detach();
  return encodeUniqueId({bound, secret});
}

Result<strataUniqueId> createUniqueId(const std::string& socketIfname, int64_t timeoutMs) {
  auto interface = chooseInterface(socketIfname);
  if (!interface.ok()) return interface.status();
  auto secret = randomSecret();
  if (!secret.ok()) return secret.status();
  auto id = startBootstrapRoot(interface.value().address, secret.value(), timeoutMs);
  if (id.ok()) {
    STRATA_INFO(Init, "bootstrap root listening on %s (%s)", decodeUniqueId(id.value()).value().root.toString().c_str(),
                interface.value().name.c_str());
  }
  return id;
}

Result<BootstrapClient> BootstrapClient::connect(const UniqueIdContents& id, int rank, int nranks,
                                                 const Deadline& deadline) {
  auto socket = connectWithRetry(id.root, deadline);
  if (!socket.ok()) {
    return Status(socket.status().code(), "cannot reach the bootstrap root at " + id.root.toString() + ": " +
                                              socket.status().message() + " (is rank 0's process running?)");
  }
  WireHello hello = makeHello(HelloKind::Bootstrap, id.secret, rank, nranks, 0);
  STRATA_RETURN_IF_ERROR(sendAll(socket.value().fd(), &hello, sizeof(hello), deadline));
  return BootstrapClient(std::move(socket.value()));
}

Result<std::vector<std::byte>> BootstrapClient::allgather(const void* data, size_t bytes, const Deadline& deadline) {
  Status sent = sendBlob(socket_.fd(), data, bytes, deadline);
  if (!sent.isOk()) return sent.withContext("bootstrap allgather: ");
  auto length = recvBlobHeader(socket_.fd(), kMaxBootstrapBlob * 65536, deadline);
  if (!length.ok()) {
    return length.status().withContext("bootstrap allgather (the root closed: another rank failed, "
                                       "presented a different nranks, or timed out): ");
  }
  std::vector<std::byte> all(length.value());
  Status received = recvAll(socket_.fd(), all.data(), all.size(), deadline);
  if (!received.isOk()) return received.withContext("bootstrap allgather: ");
  return all;
}

}  // namespace strata

namespace strata {

void waitForHostedRoot(const Secret& secret, const Deadline& deadline) {
  std::shared_ptr<HostedRoot> root;
  {
    std::lock_guard<std::mutex> lock(hostedMutex());
    auto it = hostedRoots().find(secret);
    if (it == hostedRoots().end()) return;
    root = it->second;
  }
  std::unique_lock<std::mutex> lock(root->mutex);
  root->finished.wait_for(lock, std::chrono::milliseconds(deadline.remainingMs()), [&] { return root->done; });
}

}  // namespace strata
