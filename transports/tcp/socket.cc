#include "transports/tcp/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "src/common/errno_text.h"

namespace strata {

uint16_t SocketAddress::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

void SocketAddress::setPort(uint16_t port) {
  if (family() == AF_INET) reinterpret_cast<sockaddr_in*>(&storage)->sin_port = htons(port);
  if (family() == AF_INET6) reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port = htons(port);
}

std::string SocketAddress::toString() const {
  char text[INET6_ADDRSTRLEN] = "?";
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text, sizeof(text));
    return std::string(text) + ":" + std::to_string(port());
  }
  if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text, sizeof(text));
    std::string out = "[";
    out.append(text).append("]:").append(std::to_string(port()));
    return out;
  }
  return "<no address>";
}

void SocketAddress::pack(uint8_t out[kPackedBytes]) const {
  std::memset(out, 0, kPackedBytes);
  uint16_t fam = static_cast<uint16_t>(family());
  uint16_t p = port();
  std::memcpy(out, &fam, 2);
  std::memcpy(out + 2, &p, 2);
  if (family() == AF_INET) std::memcpy(out + 4, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, 4);
  if (family() == AF_INET6) std::memcpy(out + 4, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, 16);
}

Result<SocketAddress> SocketAddress::unpack(const uint8_t in[kPackedBytes]) {
  uint16_t fam = 0;
  uint16_t p = 0;
  std::memcpy(&fam, in, 2);
  std::memcpy(&p, in + 2, 2);
  SocketAddress a;
  if (fam == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, in + 4, 4);
    a.length = sizeof(sockaddr_in);
  } else if (fam == AF_INET6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, in + 4, 16);
    a.length = sizeof(sockaddr_in6);
  } else {
    return invalidArgument("address family " + std::to_string(fam) + " is neither IPv4 nor IPv6");
  }
  a.setPort(p);
  return a;
}

Result<SocketAddress> resolveAddress(const std::string& host, uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  if (rc != 0 || list == nullptr) {
    return systemError("cannot resolve host '" + host + "': " + gai_strerror(rc));
  }
  SocketAddress a;
  std::memcpy(&a.storage, list->ai_addr, list->ai_addrlen);
  a.length = list->ai_addrlen;
  a.setPort(port);
  freeaddrinfo(list);
  return a;
}

void Socket::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status setNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return systemError("fcntl(O_NONBLOCK) failed: " + errnoText(errno));
  }
  return Status::ok();
}

void setNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

void setBufferSizes(int fd, int bytes) {
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
}

Result<Socket> listenOn(const SocketAddress& address, SocketAddress* bound) {
  Socket s(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return systemError("socket() failed: " + errnoText(errno));
  int one = 1;
  setsockopt(s.fd(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(s.fd(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    return systemError("bind(" + address.toString() + ") failed: " + errnoText(errno));
  }
  if (::listen(s.fd(), SOMAXCONN) != 0) return systemError("listen() failed: " + errnoText(errno));
  if (bound != nullptr) {
    *bound = address;
    bound->length = sizeof(bound->storage);
    getsockname(s.fd(), reinterpret_cast<sockaddr*>(&bound->storage), &bound->length);
  }
  STRATA_RETURN_IF_ERROR(setNonBlocking(s.fd()));
  return s;
}

namespace {

// One non-blocking connect attempt, waited for in slices so neither the deadline nor an abort is
// ever overrun by the kernel's SYN retries (which take minutes against a silent address).
// Returns the connected socket, or the errno of the failure (ETIMEDOUT when the deadline passed,
// ECANCELED when aborted).
Result<Socket> attemptConnect(const SocketAddress& address, const Deadline& deadline,
                              const std::atomic<bool>* abortFlag, int* error) {
  Socket s(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return systemError("socket() failed: " + errnoText(errno));
  *error = 0;
  if (::connect(s.fd(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) == 0) return s;
  if (errno != EINPROGRESS && errno != EINTR) {
    *error = errno;
    return Socket();
  }
  while (true) {
    if (abortFlag != nullptr && abortFlag->load(std::memory_order_relaxed)) {
      *error = ECANCELED;
      return Socket();
    }
    int64_t left = deadline.remainingMs();
    if (left <= 0) {
      *error = ETIMEDOUT;
      return Socket();
    }
    pollfd p{s.fd(), POLLOUT, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 50)));
    if (rc < 0 && errno != EINTR) return systemError("poll() failed while connecting: " + errnoText(errno));
    if (rc <= 0) continue;
    int soError = 0;
    socklen_t length = sizeof(soError);
    getsockopt(s.fd(), SOL_SOCKET, SO_ERROR, &soError, &length);
    if (soError == 0) return s;
    *error = soError;
    return Socket();
  }
}

}  // namespace

Result<Socket> connectWithRetry(const SocketAddress& address, const Deadline& deadline,
                                const std::atomic<bool>* abortFlag) {
  while (true) {
    int error = 0;
    auto attempt = attemptConnect(address, deadline, abortFlag, &error);
    if (!attempt.ok()) return attempt.status();
    if (attempt.value().valid()) {
      setNoDelay(attempt.value().fd());
      return std::move(attempt.value());
    }
    if (error == ECANCELED) return remoteError("connect to " + address.toString() + " was aborted");
    bool retryable = error == ECONNREFUSED || error == ENETUNREACH || error == EHOSTUNREACH || error == ETIMEDOUT ||
                     error == EAGAIN || error == EINTR || error == ECONNRESET;
    if (!retryable) return systemError("connect to " + address.toString() + " failed: " + errnoText(error));
    if (deadline.expired()) {
      return timeoutError("connect to " + address.toString() + " timed out after " +
                          std::to_string(deadline.timeoutMs()) + " ms: " + errnoText(error));
    }
    timespec nap{0, 10 * 1000 * 1000};
    nanosleep(&nap, nullptr);
  }
}

Result<Socket> startConnect(const SocketAddress& address) {
  Socket s(::socket(address.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return systemError("socket() failed: " + errnoText(errno));
  if (::connect(s.fd(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0 &&
      errno != EINPROGRESS && errno != EINTR) {
    return systemError("connect to " + address.toString() + " failed: " + errnoText(errno));
  }
  setNoDelay(s.fd());
  return s;
}

Result<bool> connectFinished(int fd, const SocketAddress& address) {
  pollfd p{fd, POLLOUT, 0};
  int rc = ::poll(&p, 1, 0);
  if (rc < 0 && errno != EINTR) return systemError("poll() failed while connecting: " + errnoText(errno));
  if (rc <= 0) return false;
  int soError = 0;
  socklen_t length = sizeof(soError);
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length);
  if (soError != 0) return systemError("connect to " + address.toString() + " failed: " + errnoText(soError));
  return true;
}

Result<Socket> acceptPending(int listenFd) {
  int fd = ::accept4(listenFd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) {
      return Socket();
    }
    return systemError("accept() failed: " + errnoText(errno));
  }
  setNoDelay(fd);
  return Socket(fd);
}

namespace {

Status waitReady(int fd, short events, const Deadline& deadline, const char* what) {
  pollfd p{fd, events, 0};
  int64_t left = deadline.remainingMs();
  if (left <= 0) return timeoutError(std::string(what) + " timed out");
  int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, 100)));
  if (rc < 0 && errno != EINTR) return systemError(std::string("poll() failed: ") + errnoText(errno));
  return Status::ok();
}

}  // namespace

Status sendAll(int fd, const void* data, size_t bytes, const Deadline& deadline) {
  const auto* p = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = ::send(fd, p + done, bytes - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return remoteError("send failed: " + errnoText(errno));
    }
    STRATA_RETURN_IF_ERROR(waitReady(fd, POLLOUT, deadline, "send"));
  }
  return Status::ok();
}

Status recvAll(int fd, void* data, size_t bytes, const Deadline& deadline) {
  auto* p = static_cast<uint8_t*>(data);
  size_t done = 0;
  while (done < bytes) {
    ssize_t n = ::recv(fd, p + done, bytes - done, MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return remoteError("connection closed by the other side");
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return remoteError("recv failed: " + errnoText(errno));
    }
    STRATA_RETURN_IF_ERROR(waitReady(fd, POLLIN, deadline, "receive"));
  }
  return Status::ok();
}

bool interfaceNameMatches(const std::string& spec, const std::string& name) {
  std::string list = spec;
  bool exclude = false;
  bool exact = false;
  if (!list.empty() && list[0] == '^') {
    exclude = true;
    list = list.substr(1);
  }
  if (!list.empty() && list[0] == '=') {
    exact = true;
    list = list.substr(1);
  }
  bool matched = false;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string item = list.substr(start, end - start);
    if (!item.empty()) {
      matched |= exact ? name == item : name.compare(0, item.size(), item) == 0;
    }
    start = end + 1;
  }
  return exclude ? !matched : matched;
}

namespace {

// Every address of an interface that is up, in the kernel's order: IPv4 and IPv6 (link-local IPv6
// needs a scope id, so it is left out).
Result<std::vector<InterfaceAddress>> upAddresses() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return systemError("getifaddrs() failed: " + errnoText(errno));
  std::vector<InterfaceAddress> addresses;
  for (ifaddrs* it = list; it != nullptr; it = it->ifa_next) {
    if (it->ifa_addr == nullptr || !(it->ifa_flags & IFF_UP)) continue;
    int family = it->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    if (family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(it->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr)) continue;
    }
    InterfaceAddress candidate;
    candidate.name = it->ifa_name;
    candidate.address.length = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    std::memcpy(&candidate.address.storage, it->ifa_addr, candidate.address.length);
    candidate.address.setPort(0);
    addresses.push_back(std::move(candidate));
  }
  freeifaddrs(list);
  return addresses;
}

const char* const kDefaultInterfaceSpec = "^lo,docker,virbr";

}  // namespace

Result<InterfaceAddress> chooseInterface(const std::string& spec) {
  auto addresses = upAddresses();
  if (!addresses.ok()) return addresses.status();
  for (const auto& candidate : addresses.value()) {
    if (interfaceNameMatches(spec.empty() ? kDefaultInterfaceSpec : spec, candidate.name)) return candidate;
  }
  if (spec.empty()) {
    for (const auto& candidate : addresses.value()) {
      if (candidate.name == "lo" && candidate.address.family() == AF_INET) return candidate;
    }
  }
  return systemError("no network interface matches STRATA_SOCKET_IFNAME='" + spec +
                     "'; list the interfaces with 'ip addr' and set STRATA_SOCKET_IFNAME");
}

Result<std::vector<InterfaceAddress>> matchingInterfaces(const std::string& spec) {
  auto addresses = upAddresses();
  if (!addresses.ok()) return addresses.status();
  auto pick = [&](const std::string& pattern) {
    std::vector<InterfaceAddress> chosen;
    for (const auto& candidate : addresses.value()) {
      if (!interfaceNameMatches(pattern, candidate.name)) continue;
      auto same = std::find_if(chosen.begin(), chosen.end(), [&](const auto& c) { return c.name == candidate.name; });
      if (same == chosen.end()) {
        chosen.push_back(candidate);
      } else if (same->address.family() != AF_INET && candidate.address.family() == AF_INET) {
        *same = candidate;  // IPv4 first, as NCCL's socket code does
      }
    }
    return chosen;
  };
  std::vector<InterfaceAddress> chosen = pick(spec.empty() ? kDefaultInterfaceSpec : spec);
  if (chosen.empty() && spec.empty()) chosen = pick("=lo");
  return chosen;
}

}  // namespace strata
