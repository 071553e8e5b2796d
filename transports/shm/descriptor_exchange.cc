#include "transports/shm/descriptor_exchange.h"

#include <poll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "src/common/errno_text.h"

namespace strata {
namespace {

constexpr uint32_t kMagic = 0x44465453;  // "STFD"

struct Message {
  uint32_t magic;
  int32_t rank;
  uint8_t secret[16];
};

bool sameSecret(const uint8_t* a, const uint8_t* b) {
  uint8_t diff = 0;
  for (size_t i = 0; i < 16; ++i) diff = static_cast<uint8_t>(diff | (a[i] ^ b[i]));
  return diff == 0;
}

// "\0strata/<nonce, hex>": abstract, so no file is ever created. The name holds nothing of the
// job's secret (anyone on the host can list abstract names); 64 random bits keep it unique.
sockaddr_un addressOf(uint64_t nonce, socklen_t* length) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  char name[64];
  int n = std::snprintf(name, sizeof(name), "strata/%016llx", static_cast<unsigned long long>(nonce));
  std::memcpy(address.sun_path + 1, name, static_cast<size_t>(n));
  *length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + static_cast<size_t>(n));
  return address;
}

bool sendDescriptor(int socket, const sockaddr_un& to, socklen_t length, const Message& message, int fd, int* error) {
  iovec payload{const_cast<Message*>(&message), sizeof(message)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr header{};
  header.msg_name = const_cast<sockaddr_un*>(&to);
  header.msg_namelen = length;
  header.msg_iov = &payload;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof(control);
  cmsghdr* c = CMSG_FIRSTHDR(&header);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  if (::sendmsg(socket, &header, MSG_DONTWAIT | MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof(message))) return true;
  *error = errno;
  return false;
}

// One datagram: its message and the descriptor it carried (-1 if none). False when none waits.
bool receiveDescriptor(int socket, Message* message, int* fd) {
  iovec payload{message, sizeof(*message)};
  alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))] = {};
  msghdr header{};
  header.msg_iov = &payload;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof(control);
  ssize_t n = ::recvmsg(socket, &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  if (n < 0) return false;
  *fd = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr; c = CMSG_NXTHDR(&header, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int received;
      std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (*fd < 0) {
        *fd = received;
      } else {
        ::close(received);  // one descriptor per message: extras are a stranger's
      }
    }
  }
  if (n != static_cast<ssize_t>(sizeof(*message)) || (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) {
    message->magic = 0;  // not ours
  }
  return true;
}

}  // namespace

DescriptorExchange::DescriptorExchange(Socket socket, uint64_t nonce, const uint8_t* secret)
    : socket_(std::move(socket)), nonce_(nonce) {
  std::memcpy(secret_, secret, 16);
}

Result<DescriptorExchange> DescriptorExchange::open(const uint8_t* secret) {
  Socket s(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!s.valid()) return systemError("socket(AF_UNIX) failed: " + errnoText(errno));
  for (int attempt = 0; attempt < 8; ++attempt) {
    uint64_t nonce = 0;
    if (getrandom(&nonce, sizeof(nonce), 0) != static_cast<ssize_t>(sizeof(nonce))) {
      return systemError("getrandom() failed: " + errnoText(errno));
    }
    socklen_t length = 0;
    sockaddr_un address = addressOf(nonce, &length);
    if (::bind(s.fd(), reinterpret_cast<const sockaddr*>(&address), length) == 0) {
      return DescriptorExchange(std::move(s), nonce, secret);
    }
    if (errno != EADDRINUSE) return systemError("bind of the shared-memory handover socket failed: " + errnoText(errno));
  }
  return systemError("cannot bind a shared-memory handover socket: every name tried was in use");
}

int DescriptorExchange::senderOf(const void* datagram, size_t bytes, const uint8_t* secret, const std::vector<Peer>& peers) {
  Message message;
  if (bytes != sizeof(message)) return -1;
  std::memcpy(&message, datagram, sizeof(message));
  if (message.magic != kMagic || !sameSecret(message.secret, secret)) return -1;
  for (size_t i = 0; i < peers.size(); ++i) {
    if (peers[i].rank == message.rank) return static_cast<int>(i);
  }
  return -1;
}

Result<std::vector<int>> DescriptorExchange::exchange(int rank, int fd, const std::vector<Peer>& peers,
                                                      const Deadline& deadline) {
  Message mine{kMagic, rank, {}};
  std::memcpy(mine.secret, secret_, 16);
  std::vector<int> received(peers.size(), -1);
  std::vector<bool> sent(peers.size(), false);
  size_t sentCount = 0, receivedCount = 0;
  auto closeReceived = [&] {
    for (int& r : received) {
      if (r >= 0) ::close(r);
      r = -1;
    }
  };
  while (sentCount < peers.size() || receivedCount < peers.size()) {
    for (size_t i = 0; i < peers.size(); ++i) {
      if (sent[i]) continue;
      socklen_t length = 0;
      sockaddr_un to = addressOf(peers[i].nonce, &length);
      int error = 0;
      if (sendDescriptor(socket_.fd(), to, length, mine, fd, &error)) {
        sent[i] = true;
        ++sentCount;
      } else if (error != EAGAIN && error != EWOULDBLOCK && error != ECONNREFUSED && error != ENOENT && error != EINTR) {
        closeReceived();
        return systemError("handing shared memory to rank " + std::to_string(peers[i].rank) + " failed: " + errnoText(error));
      }
    }
    Message message{};
    int incoming = -1;
    while (receiveDescriptor(socket_.fd(), &message, &incoming)) {
      int sender = senderOf(&message, sizeof(message), secret_, peers);
      size_t from = sender >= 0 && received[static_cast<size_t>(sender)] < 0 ? static_cast<size_t>(sender) : peers.size();
      if (from == peers.size() || incoming < 0) {
        if (incoming >= 0) ::close(incoming);  // a stranger's, a duplicate, or no descriptor
        continue;
      }
      received[from] = incoming;
      ++receivedCount;
    }
    if (sentCount == peers.size() && receivedCount == peers.size()) break;
    if (deadline.expired()) {
      std::string missing;
      for (size_t i = 0; i < peers.size(); ++i) {
        if (received[i] < 0 || !sent[i]) missing += (missing.empty() ? "" : ", ") + std::to_string(peers[i].rank);
      }
      closeReceived();
      return timeoutError("shared memory handover with rank(s) " + missing + " did not complete within " +
                          std::to_string(deadline.timeoutMs()) +
                          " ms (ranks with the same host identity in different network namespaces? set STRATA_HOSTID "
                          "apart or STRATA_TRANSPORT=tcp)");
    }
    pollfd p{socket_.fd(), POLLIN, 0};
    ::poll(&p, 1, sentCount < peers.size() ? 1 : 20);
  }
  return received;
}

}  // namespace strata
