// The tcp transport's Connection: several sockets ("streams") to one peer. A message at least
// `splitBytes` long is cut into equal contiguous parts, part i travelling on stream i, so one large
// message uses several cores' worth of kernel TCP work; smaller messages use stream 0 alone. Both
// sides know the message length (the receive matches the send), so they cut identically. A frame
// travels on stream 0 in front of part 0 (one sendmsg for both).
#pragma once

#include <array>
#include <vector>

#include "transports/tcp/socket.h"
#include "transports/transport.h"

namespace strata {

constexpr int kMaxStreamsPerPeer = 16;

class TcpConnection : public Connection {
 public:
  TcpConnection(std::vector<Socket> streams, size_t splitBytes);

  Status progressSend(TransferRequest& request) override;
  Status progressRecv(TransferRequest& request) override;
  Status progressFrame(TransferRequest& request) override;
  bool peekFrame(std::byte* out) override;
  void close() override;
  const char* kind() const override { return "tcp"; }

 private:
  // The byte range of `request` that stream `stream` carries.
  void streamRange(const TransferRequest& request, int stream, size_t* begin, size_t* end) const;
  int streamsFor(const TransferRequest& request) const;

  // Bytes of the current message each stream has moved, per direction (one message per direction
  // is in progress at a time; a message that has moved nothing yet starts them afresh).
  using StreamProgress = std::array<size_t, kMaxStreamsPerPeer>;
  static StreamProgress& progressOf(StreamProgress& progress, const TransferRequest& request);

  std::vector<Socket> streams_;
  size_t splitBytes_;
  StreamProgress sent_{}, received_{};
  bool receiving_ = false;  // a message has been started on the receive side and is not finished
};

}  // namespace strata
