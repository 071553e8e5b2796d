// Transports on their own: in-memory rings, shm segments, tcp with several streams; large messages
// through small buffers, both directions at once, and close/death detection.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <numeric>
#include <thread>

#include "transports/memory/ring_connection.h"
#include "transports/shm/descriptor_exchange.h"
#include "transports/shm/process_liveness.h"
#include "transports/shm/shm_segment.h"
#include "transports/shm/shm_transport.h"
#include "transports/tcp/socket.h"
#include "transports/tcp/tcp_connection.h"

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

// Segments are anonymous: handed over as descriptors through the handover sockets, never named.
TEST(ShmTransport, SegmentsHandedOverAsDescriptors) {
  strata::ShmLayout layout{2, 8192};
  uint8_t secret[16] = {1, 2, 3};
  auto in0 = strata::createInboundSegment(0, layout);
  auto in1 = strata::createInboundSegment(1, layout);
  auto x0 = strata::DescriptorExchange::open(secret);
  auto x1 = strata::DescriptorExchange::open(secret);
  ASSERT_TRUE(in0.ok() && in1.ok() && x0.ok() && x1.ok());
  auto fd0 = in0.value()->shareableDescriptor();
  auto fd1 = in1.value()->shareableDescriptor();
  ASSERT_TRUE(fd0.ok() && fd1.ok());
  strata::Result<std::vector<int>> got1 = std::vector<int>();
  std::thread other([&] { got1 = x1.value().exchange(1, fd1.value(), {{0, x0.value().nonce()}}, strata::Deadline(5000)); });
  auto got0 = x0.value().exchange(0, fd0.value(), {{1, x1.value().nonce()}}, strata::Deadline(5000));
  other.join();
  ASSERT_TRUE(got0.ok() && got1.ok()) << got0.status().message() << got1.status().message();
  close(fd0.value());
  close(fd1.value());
  auto view1 = strata::adoptPeerSegment(got0.value()[0], layout);
  auto view0 = strata::adoptPeerSegment(got1.value()[0], layout);
  ASSERT_TRUE(view0.ok() && view1.ok());
  EXPECT_TRUE(view0.value()->creatorAlive());
  auto c0 = strata::makeShmConnection(0, {1, 1, getpid(), true}, layout, in0.value(), view1.value());
  auto c1 = strata::makeShmConnection(1, {0, 0, getpid(), true}, layout, in1.value(), view0.value());
  ASSERT_TRUE(c0 && c1);
  exchange(*c0, *c1, kSizes);
}

// A datagram without the job's secret, or from a rank not expected, is dropped: its descriptor is
// never adopted, and the exchange times out naming the rank it still waits for.
TEST(ShmTransport, HandoverRefusesStrangers) {
  uint8_t secret[16] = {7}, wrong[16] = {8};
  auto mine = strata::DescriptorExchange::open(secret);
  auto stranger = strata::DescriptorExchange::open(wrong);
  ASSERT_TRUE(mine.ok() && stranger.ok());
  auto segment = strata::ShmSegment::create("test", 4096);
  ASSERT_TRUE(segment.ok());
  auto fd = segment.value()->shareableDescriptor();
  ASSERT_TRUE(fd.ok());
  // The stranger hands its descriptor to us, pretending to be rank 1; it waits for nobody.
  std::thread other([&] { (void)stranger.value().exchange(1, fd.value(), {}, strata::Deadline(1000)); });
  auto result = mine.value().exchange(0, fd.value(), {{1, stranger.value().nonce()}}, strata::Deadline(600));
  other.join();
  close(fd.value());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), strataTimeout);
  EXPECT_NE(result.status().message().find("rank(s) 1"), std::string::npos) << result.status().message();
}

// A segment's creator holds a lock that dies with it: a creator in another process that exits
// is noticed through the lock alone (no pid involved).
TEST(ShmTransport, CreatorDeathReleasesTheLock) {
  uint8_t secret[16] = {9};
  int toParent[2], toChild[2];
  ASSERT_EQ(pipe(toParent), 0);
  ASSERT_EQ(pipe(toChild), 0);
  pid_t child = fork();
  if (child == 0) {
    // Creates a segment, hands it to the parent (rank 0) as rank 1, and exits when told.
    auto own = strata::DescriptorExchange::open(secret);
    auto segment = strata::ShmSegment::create("child", 4096);
    if (!own.ok() || !segment.ok()) _exit(1);
    auto fd = segment.value()->shareableDescriptor();
    uint64_t nonce = own.value().nonce(), parentNonce = 0;
    if (!fd.ok() || write(toParent[1], &nonce, sizeof(nonce)) != sizeof(nonce)) _exit(1);
    if (read(toChild[0], &parentNonce, sizeof(parentNonce)) != sizeof(parentNonce)) _exit(1);
    auto sent = own.value().exchange(1, fd.value(), {{0, parentNonce}}, strata::Deadline(5000));
    char go;
    if (!sent.ok() || read(toChild[0], &go, 1) != 1) _exit(1);
    _exit(0);
  }
  auto mine = strata::DescriptorExchange::open(secret);
  auto own = strata::ShmSegment::create("parent", 4096);
  ASSERT_TRUE(mine.ok() && own.ok());
  auto fd = own.value()->shareableDescriptor();
  ASSERT_TRUE(fd.ok());
  uint64_t childNonce = 0, parentNonce = mine.value().nonce();
  ASSERT_EQ(read(toParent[0], &childNonce, sizeof(childNonce)), static_cast<ssize_t>(sizeof(childNonce)));
  ASSERT_EQ(write(toChild[1], &parentNonce, sizeof(parentNonce)), static_cast<ssize_t>(sizeof(parentNonce)));
  auto got = mine.value().exchange(0, fd.value(), {{1, childNonce}}, strata::Deadline(5000));
  close(fd.value());
  ASSERT_TRUE(got.ok()) << got.status().message();
  auto theirs = strata::ShmSegment::adopt(got.value()[0], 4096);
  ASSERT_TRUE(theirs.ok());
  EXPECT_TRUE(theirs.value()->creatorAlive());
  ASSERT_EQ(write(toChild[1], "x", 1), 1);
  int status = 0;
  waitpid(child, &status, 0);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(theirs.value()->creatorAlive()) << "the lock must go with its creator";
  for (int p : {toParent[0], toParent[1], toChild[0], toChild[1]}) close(p);
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

// A peer that never answers the SYN (a full accept queue drops it): the connect gives up at the
// deadline, not after the kernel's minutes of retries, and an abort flag stops it at once.
TEST(Sockets, ConnectStopsAtTheDeadlineAndOnAbort) {
  auto lo = strata::resolveAddress("127.0.0.1", 0);
  strata::SocketAddress bound;
  auto listener = strata::listenOn(lo.value(), &bound);
  ASSERT_TRUE(listener.ok());
  ASSERT_EQ(listen(listener.value().fd(), 0), 0);  // room for one queued connection at most
  std::vector<strata::Socket> fillers;
  for (int i = 0; i < 4; ++i) {
    strata::Socket s(socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0));
    connect(s.fd(), reinterpret_cast<const sockaddr*>(&bound.storage), bound.length);
    fillers.push_back(std::move(s));
  }
  usleep(100000);
  auto start = std::chrono::steady_clock::now();
  auto blocked = strata::connectWithRetry(bound, strata::Deadline(500));
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (blocked.ok()) GTEST_SKIP() << "this kernel accepted past a full queue (SYN cookies); nothing to time";
  EXPECT_EQ(blocked.status().code(), strataTimeout) << blocked.status().message();
  EXPECT_LT(took, 2.0);
  std::atomic<bool> abort{true};
  start = std::chrono::steady_clock::now();
  auto aborted = strata::connectWithRetry(bound, strata::Deadline(60000), &abort);
  EXPECT_FALSE(aborted.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
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
