// Plain socket helpers shared by the bootstrap and the tcp transport: addresses, listening,
// connecting with retry, whole-buffer send/receive with a deadline, and NCCL-style interface
// selection (STRATA_SOCKET_IFNAME).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "src/common/status.h"
#include "src/common/wait.h"

namespace strata {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  int family() const { return storage.ss_family; }
  uint16_t port() const;
  void setPort(uint16_t port);
  std::string toString() const;  // "198.18.0.2:41234" or "[fe80::1]:41234"

  // A fixed 20-byte form (family, port, 16 address bytes) for ids and wire messages.
  static constexpr size_t kPackedBytes = 20;
  void pack(uint8_t out[kPackedBytes]) const;
  static Result<SocketAddress> unpack(const uint8_t in[kPackedBytes]);
};

// Resolves "host" or "host:port" (IPv4 literal, IPv6 literal or name).
Result<SocketAddress> resolveAddress(const std::string& host, uint16_t port);

// An owned file descriptor.
class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() { reset(); }
  Socket(Socket&& other) noexcept : fd_(other.release()) {}
  Socket& operator=(Socket&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;

  int fd() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset();

 private:
  int fd_ = -1;
};

// Binds and listens (port 0 picks a free port); the bound address is returned in `bound`.
Result<Socket> listenOn(const SocketAddress& address, SocketAddress* bound);
// Connects, retrying refused/unreachable attempts until the deadline (the peer may not listen yet).
// Never waits past the deadline, and gives up at once when `abortFlag` is raised. The socket is
// non-blocking.
Result<Socket> connectWithRetry(const SocketAddress& address, const Deadline& deadline,
                                const std::atomic<bool>* abortFlag = nullptr);
// A connect that is polled instead of waited for (the NCCL plugin's connect must never block):
// startConnect issues it on a non-blocking socket; connectFinished says whether it has completed
// (true) or is still under way (false), or why it failed.
Result<Socket> startConnect(const SocketAddress& address);
Result<bool> connectFinished(int fd, const SocketAddress& address);
// Accepts one pending connection, or an invalid Socket when none is pending (non-blocking).
Result<Socket> acceptPending(int listenFd);

Status setNonBlocking(int fd);
void setNoDelay(int fd);
void setBufferSizes(int fd, int bytes);

// Move the whole buffer, waiting with poll() until the deadline.
Status sendAll(int fd, const void* data, size_t bytes, const Deadline& deadline);
Status recvAll(int fd, void* data, size_t bytes, const Deadline& deadline);

// Interface selection as NCCL_SOCKET_IFNAME: comma list of prefixes; '^' excludes them; '='
// matches names exactly. Empty spec: every interface but lo, docker* and virbr*, else lo.
bool interfaceNameMatches(const std::string& spec, const std::string& name);
struct InterfaceAddress {
  std::string name;
  SocketAddress address;
};
Result<InterfaceAddress> chooseInterface(const std::string& spec);
// Every interface that is up and matches `spec` (empty: the default above, else loopback), one
// address each, IPv4 before IPv6; empty when none matches.
Result<std::vector<InterfaceAddress>> matchingInterfaces(const std::string& spec);

}  // namespace strata
