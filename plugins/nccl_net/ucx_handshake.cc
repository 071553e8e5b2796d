#include "plugins/nccl_net/ucx_handshake.h"

#if STRATA_HAVE_UCX

#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "plugins/nccl_net/plugin_log.h"
#include "src/common/errno_text.h"
#include "transports/ucx/ucx_connection.h"

namespace strata::nccl_net {
namespace {

constexpr uint32_t kIntroductionMagic = 0x5354554e;  // "STUN"
constexpr uint32_t kMaxAddressBytes = 1 << 16;

}  // namespace

uint32_t newUcxConnectionId() {
  static std::atomic<uint32_t> next{1};
  return next.fetch_add(1) & 0x7fffffffu;  // UcxConnection takes ids as int
}

UcxHandshake::UcxHandshake(Socket control, std::shared_ptr<UcxWorker> worker, bool sender)
    : control_(std::move(control)), worker_(std::move(worker)), sender_(sender), id_(newUcxConnectionId()) {
  if (sender_) queueIntroduction();  // the receiver answers once it has the sender's
}

void UcxHandshake::queueIntroduction() {
  const std::vector<std::byte>& address = worker_->address();
  Introduction mine{kIntroductionMagic, id_, static_cast<uint32_t>(address.size())};
  outgoing_.resize(sizeof(mine) + address.size());
  std::memcpy(outgoing_.data(), &mine, sizeof(mine));
  std::memcpy(outgoing_.data() + sizeof(mine), address.data(), address.size());
  introduced_ = true;
}

Status UcxHandshake::pump() {
  while (sent_ < outgoing_.size()) {
    ssize_t n = ::send(control_.fd(), outgoing_.data() + sent_, outgoing_.size() - sent_, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      sent_ += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
    return remoteError("sending the ucx address failed: " + errnoText(errno));
  }
  std::byte buffer[4096];
  while (true) {
    ssize_t n = ::recv(control_.fd(), buffer, sizeof(buffer), MSG_DONTWAIT);
    if (n > 0) {
      incoming_.insert(incoming_.end(), buffer, buffer + n);
      continue;
    }
    if (n == 0) {
      // Closed: fine once we have everything we need from the peer and sent all of ours.
      Introduction peer;
      std::vector<std::byte> address;
      if (peerIntroduced(&peer, &address) && sent_ == outgoing_.size()) return Status::ok();
      return remoteError("the peer closed the connection before the ucx addresses were exchanged");
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Status::ok();
    return remoteError("receiving the ucx address failed: " + errnoText(errno));
  }
}

bool UcxHandshake::peerIntroduced(Introduction* introduction, std::vector<std::byte>* address) {
  if (incoming_.size() < sizeof(Introduction)) return false;
  std::memcpy(introduction, incoming_.data(), sizeof(Introduction));
  if (incoming_.size() < sizeof(Introduction) + introduction->addressBytes) return false;
  address->assign(incoming_.begin() + sizeof(Introduction),
                  incoming_.begin() + static_cast<std::ptrdiff_t>(sizeof(Introduction) + introduction->addressBytes));
  return true;
}

Result<std::unique_ptr<Connection>> UcxHandshake::poll() {
  STRATA_RETURN_IF_ERROR(pump());
  if (incoming_.size() >= sizeof(Introduction)) {
    Introduction peek;
    std::memcpy(&peek, incoming_.data(), sizeof(peek));
    if (peek.magic != kIntroductionMagic || peek.addressBytes == 0 || peek.addressBytes > kMaxAddressBytes) {
      return internalError("the peer's ucx introduction is malformed (a stranger, or a tcp-only peer)");
    }
  }
  Introduction peer;
  std::vector<std::byte> address;
  if (!peerIntroduced(&peer, &address)) return std::unique_ptr<Connection>();
  if (!introduced_) {
    queueIntroduction();
    STRATA_RETURN_IF_ERROR(pump());
  }
  if (sent_ < outgoing_.size()) return std::unique_ptr<Connection>();
  // Frames and payloads are tagged with the receiver's id, notices with the sender's.
  const uint32_t receiverId = sender_ ? peer.id : id_;
  const uint32_t senderId = sender_ ? id_ : peer.id;
  auto connection = sender_ ? std::make_unique<UcxConnection>(worker_, static_cast<int>(receiverId), static_cast<int>(senderId))
                            : std::make_unique<UcxConnection>(worker_, static_cast<int>(senderId), static_cast<int>(receiverId));
  auto ep = worker_->connect(address, &UcxConnection::onPeerError, connection.get());
  if (!ep.ok()) return ep.status();
  connection->attach(ep.value());
  NET_PLUGIN_INFO(ncclabi::NCCL_NET, "ucx connection %u -> %u through %s", senderId, receiverId,
                  UcxWorker::describe(ep.value()).c_str());
  return std::unique_ptr<Connection>(std::move(connection));
}

}  // namespace strata::nccl_net

#endif
