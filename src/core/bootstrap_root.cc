// The bootstrap root: registers every rank of one job and tells each where its ring successor
// listens (bootstrap.h).
#include <array>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "src/common/log.h"
#include "src/core/blob_io.h"
#include "src/core/bootstrap.h"
#include "src/core/handshake_acceptor.h"

namespace strata {
namespace {

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

// Serves one job: authenticates nranks callers, takes each one's ring address (sent right after
// its hello) and answers each with its successor's: O(n) work and bytes, whatever the job does
// afterwards (its allgathers run round the ring, bootstrap.h).
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
  Deadline deadline(timeoutMs);
  auto first = acceptor.acceptAll(1, deadline, "bootstrap root");
  if (!first.ok()) {
    STRATA_WARN(Init, "bootstrap root gave up: %s", first.status().message().c_str());
    return;
  }
  std::vector<AcceptedCaller> callers = std::move(first.value());
  if (nranks > 1) {
    auto rest = acceptor.acceptAll(static_cast<size_t>(nranks - 1), deadline, "bootstrap root");
    if (!rest.ok()) {
      STRATA_WARN(Init, "bootstrap root gave up: %s", rest.status().message().c_str());
      return;  // closing every socket tells the ranks that came
    }
    for (auto& c : rest.value()) callers.push_back(std::move(c));
  }
  listener.reset();  // late strangers are refused by the kernel
  std::vector<Socket> ranks(static_cast<size_t>(nranks));
  for (auto& c : callers) ranks[static_cast<size_t>(c.hello.rank)] = std::move(c.socket);
  using PackedAddress = std::array<uint8_t, SocketAddress::kPackedBytes>;
  std::vector<PackedAddress> ringAddresses(static_cast<size_t>(nranks));
  for (int r = 0; r < nranks; ++r) {
    Status got = recvBlobOf(ranks[static_cast<size_t>(r)].fd(), ringAddresses[static_cast<size_t>(r)].data(),
                            SocketAddress::kPackedBytes, deadline, "bootstrap registration");
    if (!got.isOk()) {
      STRATA_WARN(Init, "bootstrap root: rank %d failed to register: %s", r, got.message().c_str());
      return;
    }
  }
  for (int r = 0; r < nranks; ++r) {
    const PackedAddress& successor = ringAddresses[static_cast<size_t>((r + 1) % nranks)];
    Status sent = sendBlob(ranks[static_cast<size_t>(r)].fd(), successor.data(), successor.size(), deadline);
    if (!sent.isOk()) {
      STRATA_WARN(Init, "bootstrap root: rank %d is gone: %s", r, sent.message().c_str());
      return;
    }
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
