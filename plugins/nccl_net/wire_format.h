// What the plugin puts on the wire besides payload: the listen handle NCCL carries from the
// receiver to the sender, the hello that opens each TCP stream, and the header in front of each
// message.
#pragma once

#include <cstddef>
#include <cstdint>

#include "plugins/nccl_net/nccl_net_abi.h"
#include "transports/tcp/socket.h"
#include "transports/transport.h"

namespace strata::nccl_net {

constexpr uint32_t kHandleMagic = 0x53544e48;  // "STNH"
constexpr uint32_t kHelloMagic = 0x53544e4f;   // "STNO"
constexpr uint32_t kMessageMagic = 0x53544e4d;  // "STNM"
constexpr uint32_t kCreditMagic = 0x53544e43;   // "STNC"
constexpr int kMaxGroupedReceives = 8;          // maxRecvs the plugin advertises

// The receiver's listen handle. The receiver decides the transport, the stream count and the split
// size, so both ends cut a message the same way (transports/tcp/tcp_connection.h).
enum class HandleTransport : uint16_t { Tcp = 0, Ucx = 1 };

struct ListenHandle {
  uint32_t magic;
  uint16_t streams;  // sockets per connection: tcp, the data streams and the announcements' socket last
  HandleTransport transport;  // the receiver's choice; ucx: one stream, to exchange UCX addresses
  uint64_t secret;      // every stream's hello must carry it
  uint64_t splitBytes;  // smallest message split over the streams
  uint8_t address[SocketAddress::kPackedBytes];
  uint8_t padding[4];
  // The sender's connect-in-progress, written by connect() between NCCL's polls of it (NCCL keeps
  // the handle until connect returns a comm, as its own socket plugin relies on); 0 at first.
  uint64_t connector;
};
static_assert(sizeof(ListenHandle) <= static_cast<size_t>(ncclabi::NCCL_NET_HANDLE_MAXSIZE));

// First bytes on every stream of a connection.
struct StreamHello {
  uint32_t magic;
  uint16_t stream;
  uint16_t streams;
  uint64_t secret;
  uint64_t connection;  // random per connection: groups a connection's streams at the listener
};

// In the frame in front of each message (the transport's opaque frame bytes).
struct MessageHeader {
  uint64_t bytes;
  int32_t tag;
  uint32_t magic;
};
static_assert(sizeof(MessageHeader) <= kFrameHeaderBytes);

// A frame on its own, from the receiver back to the sender, for each receive group posted, in
// posting order: the tags it waits for. The sender sends a message only into the oldest group
// with a free slot of the message's tag (isend returns a null request otherwise, and NCCL
// retries), as NCCL's IB plugin does: the ranks that share one connection (NCCL's shared comms)
// then cannot run ahead of each other into a group they do not belong in.
struct ReceiveCredit {
  uint32_t magic;
  uint32_t count;
  int32_t tags[kMaxGroupedReceives];
};
static_assert(sizeof(ReceiveCredit) <= kFrameHeaderBytes);

}  // namespace strata::nccl_net
