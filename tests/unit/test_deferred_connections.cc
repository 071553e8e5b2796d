// tcp connections opened on first use (src/core/tcp_rendezvous.h, deferred_connection.h): two
// ranks in one process, each with its listener and rendezvous. The connection opens when bytes
// first move and then carries messages as an eager one does; strangers at the port are refused;
// a close from another thread, before the connection exists, fails the waiter; a peer whose
// listener is gone is an error that says so.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "src/core/deferred_connection.h"
#include "src/core/tcp_rendezvous.h"
#include "src/core/wire.h"

namespace {

using strata::DeferredConnection;
using strata::TransferRequest;

struct Pair {
  std::vector<strata::SocketAddress> addresses;
  std::shared_ptr<strata::TcpRendezvous> rendezvous[2];
  std::unique_ptr<DeferredConnection> toPeer[2];  // [r]: rank r's connection to the other
  strata::Secret secret{};
};

std::unique_ptr<Pair> makePair(int streams) {
  auto pair = std::make_unique<Pair>();
  for (size_t i = 0; i < pair->secret.size(); ++i) pair->secret[i] = static_cast<uint8_t>(i * 7 + 1);
  std::vector<strata::Socket> listeners;
  for (int r = 0; r < 2; ++r) {
    strata::SocketAddress bound;
    auto listener = strata::listenOn(strata::resolveAddress("127.0.0.1", 0).value(), &bound);
    EXPECT_TRUE(listener.ok());
    listeners.push_back(std::move(listener.value()));
    pair->addresses.push_back(bound);
  }
  for (int r = 0; r < 2; ++r) {
    strata::TcpRendezvous::Job job;
    job.secret = pair->secret;
    job.rank = r;
    job.nranks = 2;
    job.streams = streams;
    job.splitBytes = 4096;
    job.addresses = pair->addresses;
    job.overTcp = {r != 0, r != 1};
    auto rendezvous = std::make_shared<strata::TcpRendezvous>(std::move(listeners[static_cast<size_t>(r)]), job);
    pair->rendezvous[r] = rendezvous;
    pair->toPeer[r] = std::make_unique<DeferredConnection>(
        "tcp", [rendezvous, r] { return rendezvous->advance(1 - r); }, [rendezvous] { rendezvous->shutDown(); });
  }
  return pair;
}

// Sends `bytes` from rank 0 to rank 1 and back, progressing both ends in turn until done.
void roundTrip(Pair& pair, size_t bytes) {
  for (int from : {0, 1}) {
    std::vector<std::byte> out(bytes), in(bytes);
    for (size_t i = 0; i < bytes; ++i) out[i] = static_cast<std::byte>((i * 31 + static_cast<size_t>(from)) & 0xff);
    TransferRequest send{out.data(), bytes}, recv{in.data(), bytes};
    for (int spins = 0; !(send.complete() && recv.complete()); ++spins) {
      ASSERT_LT(spins, 2000000) << "no progress";
      if (!send.complete()) {
        ASSERT_TRUE(pair.toPeer[from]->progressSend(send).isOk());
      }
      if (!recv.complete()) {
        ASSERT_TRUE(pair.toPeer[1 - from]->progressRecv(recv).isOk());
      }
    }
    EXPECT_EQ(std::memcmp(out.data(), in.data(), bytes), 0);
  }
}

TEST(TcpOnFirstUse, OpensWhenBytesFirstMove) {
  auto pair = makePair(3);
  EXPECT_FALSE(pair->toPeer[0]->isOpen());
  EXPECT_FALSE(pair->toPeer[1]->isOpen());
  EXPECT_EQ(pair->rendezvous[0]->heldSockets() + pair->rendezvous[1]->heldSockets(), 0u);
  for (size_t bytes : {size_t{1}, size_t{4097}, size_t{1} << 20}) roundTrip(*pair, bytes);
  EXPECT_TRUE(pair->toPeer[0]->isOpen());
  EXPECT_TRUE(pair->toPeer[1]->isOpen());
  EXPECT_EQ(pair->rendezvous[0]->heldSockets() + pair->rendezvous[1]->heldSockets(), 0u);  // all handed out
  EXPECT_STREQ(pair->toPeer[0]->kind(), "tcp");
}

// Silence, garbage and a hello with the wrong secret at rank 0's port, before rank 1 dials: the
// job's connection still opens, and every stranger is closed without a byte in reply.
TEST(TcpOnFirstUse, StrangersAtThePortAreRefused) {
  auto pair = makePair(2);
  strata::Deadline deadline(5000);
  std::vector<strata::Socket> strangers;
  for (int kind = 0; kind < 3; ++kind) {
    auto s = strata::connectWithRetry(pair->addresses[0], deadline);
    ASSERT_TRUE(s.ok());
    if (kind == 1) {
      char junk[64];
      std::memset(junk, 0x5a, sizeof(junk));
      ASSERT_TRUE(strata::sendAll(s.value().fd(), junk, sizeof(junk), deadline).isOk());
    } else if (kind == 2) {
      strata::Secret wrong = pair->secret;
      wrong[15] ^= 1;
      const strata::WireHello hello = strata::makeHello(strata::HelloKind::DataStream, wrong, 1, 2, 0);
      ASSERT_TRUE(strata::sendAll(s.value().fd(), &hello, sizeof(hello), deadline).isOk());
    }
    strangers.push_back(std::move(s.value()));
  }
  roundTrip(*pair, 1000);
  for (size_t i = 1; i < strangers.size(); ++i) {  // the silent one may wait out its hello timeout
    pollfd p{strangers[i].fd(), POLLIN, 0};
    ASSERT_EQ(poll(&p, 1, 2000), 1) << "stranger " << i << " was not closed";
    char byte;
    EXPECT_LE(recv(strangers[i].fd(), &byte, 1, MSG_DONTWAIT), 0) << "stranger " << i << " got a reply";
  }
}

// Rank 0 waits for a connection rank 1 never dials; an abort closes it from another thread.
TEST(TcpOnFirstUse, CloseFromAnotherThreadFailsTheWaiter) {
  auto pair = makePair(2);
  std::atomic<bool> failed{false};
  std::thread waiter([&] {
    std::vector<std::byte> buffer(64);
    TransferRequest recv{buffer.data(), buffer.size()};
    const auto start = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
      strata::Status st = pair->toPeer[0]->progressRecv(recv);
      if (!st.isOk()) {
        EXPECT_EQ(st.code(), strataRemoteError) << st.message();
        failed = true;
        return;
      }
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  pair->toPeer[0]->close();
  waiter.join();
  EXPECT_TRUE(failed.load());
}

// Rank 1 has dialled and sent; rank 0 gives up (an abort closes its connection before it ever
// opened): rank 1's connection, complete in the kernel, fails at once rather than at a deadline.
TEST(TcpOnFirstUse, AbandonedBeforeOpeningFailsThePeerAtOnce) {
  auto pair = makePair(2);
  std::vector<std::byte> buffer(size_t{64} << 20);  // more than the kernel buffers both ends
  TransferRequest send{buffer.data(), buffer.size()};
  for (int i = 0; i < 100 && !pair->toPeer[1]->isOpen(); ++i) ASSERT_TRUE(pair->toPeer[1]->progressSend(send).isOk());
  ASSERT_TRUE(pair->toPeer[1]->isOpen());
  pair->toPeer[0]->close();
  strata::Status st;
  const auto start = std::chrono::steady_clock::now();
  while (st.isOk() && !send.complete() && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    st = pair->toPeer[1]->progressSend(send);
  }
  EXPECT_EQ(st.code(), strataRemoteError) << st.message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  // And rank 0's own later use says why.
  std::vector<std::byte> small(8);
  TransferRequest recv{small.data(), small.size()};
  EXPECT_EQ(pair->toPeer[0]->progressRecv(recv).code(), strataRemoteError);
}

// Rank 0's listener is gone (its process exited): rank 1's first use is an error saying so.
TEST(TcpOnFirstUse, PeerWithoutListenerIsAnError) {
  auto pair = makePair(2);
  pair->toPeer[0].reset();
  pair->rendezvous[0].reset();  // closes rank 0's listener
  std::vector<std::byte> buffer(64);
  TransferRequest send{buffer.data(), buffer.size()};
  strata::Status st;
  const auto start = std::chrono::steady_clock::now();
  while (st.isOk() && std::chrono::steady_clock::now() - start < std::chrono::seconds(10)) {
    st = pair->toPeer[1]->progressSend(send);
  }
  EXPECT_EQ(st.code(), strataRemoteError);
  EXPECT_NE(st.message().find("rank 0"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("has it exited"), std::string::npos) << st.message();
}

}  // namespace
