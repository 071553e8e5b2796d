// Transports on their own: in-memory rings, shm segments, tcp with several streams; large messages
// through small buffers, both directions at once, and close/death detection.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <numeric>
#include <thread>

#include "memory/ring_connection.h"
#include "shm/process_liveness.h"
#include "shm/shm_transport.h"
#include "tcp/socket.h"
#include "tcp/tcp_connection.h"

namespace {

using strata::Connection;
using strata::TransferRequest;

std::vector<std::byte> pattern(size_t n, int seed) {
  std::vector<std::byte> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<std::byte>((i * 131 + static_cast<size_t>(seed) * 7) & 0xff);
  return v;
}

// Both endpoints exchange messages of the given sizes in both directions at once.
void exchange(Connection& a, Connection& b, const std::vector<size_t>& sizes) {
  for (size_t bytes : sizes) {
    auto outA = pattern(bytes, 1), outB = pattern(bytes, 2);
    std::vector<std::byte> inA(bytes), inB(bytes);
    TransferRequest sendA{outA.data(), bytes}, sendB{outB.data(), bytes};
    TransferRequest recvA{inA.data(), bytes}, recvB{inB.data(), bytes};
    auto start = std::chrono::steady_clock::now();
    while (!(sendA.complete() && sendB.complete() && recvA.complete() && recvB.complete())) {
      ASSERT_TRUE(a.progressSend(sendA).isOk());
      ASSERT_TRUE(b.progressSend(sendB).isOk());
      ASSERT_TRUE(a.progressRecv(recvA).isOk());
      ASSERT_TRUE(b.progressRecv(recvB).isOk());
      ASSERT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20)) << bytes;
    }
    ASSERT_EQ(recvA.contiguous, bytes);
    ASSERT_EQ(inA, outB) << bytes;
    ASSERT_EQ(inB, outA) << bytes;
  }
}

const std::vector<size_t> kSizes = {1, 7, 4096, 65537, 1 << 20, (4 << 20) + 3};

TEST(MemoryTransport, LargeMessagesThroughSmallRing) {
  auto pair = strata::makeMemoryConnectionPair(4096 + 13);
  exchange(*pair.first, *pair.second, kSizes);
}

TEST(MemoryTransport, CloseFailsThePeer) {
  auto pair = strata::makeMemoryConnectionPair(4096);
  pair.first->close();
  std::vector<std::byte> buffer(10);
  TransferRequest recv{buffer.data(), buffer.size()};
  EXPECT_EQ(pair.second->progressRecv(recv).code(), strataRemoteError);
  EXPECT_EQ(pair.second->checkPeer().code(), strataRemoteError);
}

TEST(ShmTransport, SegmentsConnectAndUnlink) {
  strata::ShmLayout layout{2, 8192};
  std::string tag = "unittest" + std::to_string(getpid());
  auto in0 = strata::createInboundSegment(tag, 0, layout);
  auto in1 = strata::createInboundSegment(tag, 1, layout);
  ASSERT_TRUE(in0.ok() && in1.ok());
  auto view1 = strata::openPeerSegment(tag, 1, layout);
  auto view0 = strata::openPeerSegment(tag, 0, layout);
  ASSERT_TRUE(view0.ok() && view1.ok());
  in0.value()->unlink();
  in1.value()->unlink();
  EXPECT_FALSE(strata::openPeerSegment(tag, 0, layout).ok()) << "name must be gone after unlink";
  auto c0 = strata::makeShmConnection(0, 1, getpid(), layout, in0.value(), view1.value());
  auto c1 = strata::makeShmConnection(1, 0, getpid(), layout, in1.value(), view0.value());
  ASSERT_TRUE(c0 && c1);
  exchange(*c0, *c1, kSizes);
}

TEST(ShmTransport, DeadPeerIsNoticed) {
  pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  // Until it is reaped the child is a zombie: already dead for our purposes.
  for (int i = 0; i < 200 && strata::processIsAlive(child); ++i) usleep(5000);
  EXPECT_FALSE(strata::processIsAlive(child));
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(strata::processIsAlive(child));
  EXPECT_TRUE(strata::processIsAlive(getpid()));
}

std::pair<std::unique_ptr<Connection>, std::unique_ptr<Connection>> tcpPair(int streams, size_t split) {
  auto lo = strata::resolveAddress("127.0.0.1", 0);
  strata::SocketAddress bound;
  auto listener = strata::listenOn(lo.value(), &bound);
  EXPECT_TRUE(listener.ok());
  std::vector<strata::Socket> client, server;
  strata::Deadline deadline(10000);
  for (int i = 0; i < streams; ++i) {
    auto s = strata::connectWithRetry(bound, deadline);
    EXPECT_TRUE(s.ok());
    // Accept in the same order so stream i pairs with stream i.
    strata::Result<strata::Socket> accepted = strata::Socket();
    while (true) {
      accepted = strata::acceptPending(listener.value().fd());
      if (!accepted.ok() || accepted.value().valid()) break;
      usleep(1000);
    }
    EXPECT_TRUE(accepted.ok());
    client.push_back(std::move(s.value()));
    server.push_back(std::move(accepted.value()));
  }
  return {std::make_unique<strata::TcpConnection>(std::move(client), split),
          std::make_unique<strata::TcpConnection>(std::move(server), split)};
}

TEST(TcpTransport, SeveralStreamsCarryLargeMessages) {
  auto [a, b] = tcpPair(3, 4096);
  exchange(*a, *b, kSizes);
}

TEST(TcpTransport, ClosedPeerIsAnError) {
  auto [a, b] = tcpPair(1, 1 << 20);
  a.reset();  // closes the sockets
  std::vector<std::byte> buffer(10);
  TransferRequest recv{buffer.data(), buffer.size()};
  strata::Status st;
  for (int i = 0; i < 1000 && st.isOk(); ++i) {
    st = b->progressRecv(recv);
    usleep(1000);
  }
  EXPECT_EQ(st.code(), strataRemoteError);
}

TEST(Sockets, InterfaceNamesFollowNcclSyntax) {
  EXPECT_TRUE(strata::interfaceNameMatches("eth", "eth0"));
  EXPECT_FALSE(strata::interfaceNameMatches("=eth", "eth0"));
  EXPECT_TRUE(strata::interfaceNameMatches("=eth0", "eth0"));
  EXPECT_FALSE(strata::interfaceNameMatches("^eth,lo", "eth1"));
  EXPECT_TRUE(strata::interfaceNameMatches("^eth,lo", "ib0"));
  EXPECT_TRUE(strata::interfaceNameMatches("^=eth", "eth0"));
  EXPECT_TRUE(strata::interfaceNameMatches("ib,eth", "eth3"));
  auto lo = strata::chooseInterface("lo");
  ASSERT_TRUE(lo.ok());
  EXPECT_EQ(lo.value().name, "lo");
  EXPECT_FALSE(strata::chooseInterface("=nosuchif0").ok());
}

}  // namespace
