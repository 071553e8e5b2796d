#include "core/bootstrap.h"

#include <thread>

#include "common/log.h"
#include "core/handshake_acceptor.h"
#include "core/wire.h"

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
  if (header.magic != kWireMagic || header.version != kWireVersion) {
    return remoteError("bootstrap message has a bad magic/version (not a Strata peer, or another version)");
  }
  if (header.length > maxBytes) {
    return remoteError("bootstrap message of " + std::to_string(header.length) + " bytes exceeds the limit of " +
                       std::to_string(maxBytes));
  }
  return header.length;
}

// Serves one job: authenticate nranks callers, then allgather rounds until the ranks hang up.
void serveJob(Socket listener, Secret secret, int64_t timeoutMs) {
  int nranks = 0;
  std::vector<bool> seen;
  HandshakeAcceptor acceptor(listener.fd(), [&](const WireHello& h) {
    if (!helloIsValid(h, HelloKind::Bootstrap, secret, nranks, 1)) return false;
    if (nranks == 0) {
      nranks = h.nranks;
      seen.assign(static_cast<size_t>(nranks), false);
    }
    if (seen[static_cast<size_t>(h.rank)]) return false;
    seen[static_cast<size_t>(h.rank)] = true;
    return true;
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
  for (int round = 0;; ++round) {
    Deadline deadline(timeoutMs);
    uint64_t length = 0;
    for (int r = 0; r < nranks; ++r) {
      auto header = recvBlobHeader(ranks[r].fd(), kMaxBootstrapBlob, deadline);
      if (!header.ok()) {
        if (r != 0 || round == 0) {
          STRATA_WARN(Init, "bootstrap root: rank %d failed in round %d: %s", r, round, header.status().message().c_str());
        }
        return;  // normal end when rank 0 hangs up after the last round
      }
      if (r == 0) {
        length = header.value();
        all.resize(length * static_cast<uint64_t>(nranks));
      } else if (header.value() != length) {
        STRATA_WARN(Init, "bootstrap root: rank %d sent %llu bytes, rank 0 sent %llu", r,
                    static_cast<unsigned long long>(header.value()), static_cast<unsigned long long>(length));
        return;
      }
      if (!recvAll(ranks[r].fd(), all.data() + length * static_cast<uint64_t>(r), length, deadline).isOk()) return;
    }
    for (int r = 0; r < nranks; ++r) {
      if (!sendBlob(ranks[r].fd(), all.data(), all.size(), deadline).isOk()) return;
    }
  }
}

}  // namespace

Result<strataUniqueId> startBootstrapRoot(const SocketAddress& address, const Secret& secret, int64_t timeoutMs) {
  SocketAddress bound;
  auto listener = listenOn(address, &bound);
  if (!listener.ok()) return listener.status();
  std::thread(serveJob, std::move(listener.value()), secret, timeoutMs).detach();
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
