// Google Benchmark: the transports on their own, between two processes (a forked echo peer).
//   shm_latency/S     one S-byte message there and back through the shared-memory FIFOs (us per round trip)
//   shm_bandwidth/S   S-byte messages streamed one way (GB/s)
//   tcp_bandwidth/S/K S-byte messages over loopback TCP with K streams per peer (1 vs several)
//   tcp_latency/S     round trip over one loopback TCP stream
//   build/bin/transport_bench --benchmark_filter=shm
// The peer answers a small command before each message, so bandwidth figures include that
// 8-byte header per message (negligible from 64 KiB up).
#include <benchmark/benchmark.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "transports/shm/shm_transport.h"
#include "transports/tcp/socket.h"
#include "transports/tcp/tcp_connection.h"

namespace {

using strata::Connection;
using strata::TransferRequest;

enum class Command : uint64_t { Echo = 1, Sink = 2, Flush = 3, Quit = 4 };
struct Header {
  Command command;
  uint64_t bytes;
};

// Moves one whole message; any transport error ends the benchmark process (a benchmark with a
// broken transport has no number to report).
void transfer(Connection& c, void* data, size_t bytes, bool send) {
  TransferRequest request{static_cast<std::byte*>(data), bytes};
  while (!request.complete()) {
    strata::Status st = send ? c.progressSend(request) : c.progressRecv(request);
    if (!st.isOk()) {
      std::fprintf(stderr, "transport_bench: %s %s failed: %s\n", c.kind(), send ? "send" : "receive", st.message().c_str());
      std::exit(1);
    }
  }
}

// The forked peer: answers commands until Quit.
[[noreturn]] void servePeer(Connection& c) {
  std::vector<char> buffer;
  while (true) {
    Header h{};
    transfer(c, &h, sizeof(h), false);
    if (h.command == Command::Quit) _exit(0);
    if (h.command == Command::Flush) {
      transfer(c, &h, sizeof(h), true);
      continue;
    }
    buffer.resize(h.bytes);
    transfer(c, buffer.data(), h.bytes, false);
    if (h.command == Command::Echo) transfer(c, buffer.data(), h.bytes, true);
  }
}

// This process's end of a connection to a forked peer that serves commands.
class PeerProcess {
 public:
  // `makeEnds(isChild)` is called in each process after the fork and returns that side's connection.
  template <typename MakeEnd>
  explicit PeerProcess(MakeEnd makeEnd) {
    child_ = fork();
    if (child_ == 0) {
      std::unique_ptr<Connection> end = makeEnd(true, getppid());
      servePeer(*end);
    }
    connection_ = makeEnd(false, child_);
  }
  ~PeerProcess() {
    Header quit{Command::Quit, 0};
    transfer(*connection_, &quit, sizeof(quit), true);
    waitpid(child_, nullptr, 0);
  }
  void message(Command command, void* data, size_t bytes) {
    Header h{command, bytes};
    transfer(*connection_, &h, sizeof(h), true);
    transfer(*connection_, data, bytes, true);
    if (command == Command::Echo) transfer(*connection_, data, bytes, false);
  }
  void flush() {
    Header h{Command::Flush, 0};
    transfer(*connection_, &h, sizeof(h), true);
    transfer(*connection_, &h, sizeof(h), false);
  }

 private:
  pid_t child_ = -1;
  std::unique_ptr<Connection> connection_;
};

std::unique_ptr<PeerProcess> shmPeer() {
  strata::ShmLayout layout{2, size_t{4} << 20};  // STRATA_BUFFSIZE's default FIFO
  // Both segments are made before the fork; each process keeps the mappings it inherits.
  auto in0 = strata::createInboundSegment(0, layout);
  auto in1 = strata::createInboundSegment(1, layout);
  if (!in0.ok() || !in1.ok()) return nullptr;
  auto seg0 = in0.value(), seg1 = in1.value();
  return std::make_unique<PeerProcess>([=](bool child, pid_t peer) {
    return child ? strata::makeShmConnection(1, {0, 0, peer, true}, layout, seg1, seg0)
                 : strata::makeShmConnection(0, {1, 1, peer, true}, layout, seg0, seg1);
  });
}

std::unique_ptr<PeerProcess> tcpPeer(int streams) {
  auto lo = strata::resolveAddress("127.0.0.1", 0);
  strata::SocketAddress bound;
  auto listener = strata::listenOn(lo.value(), &bound);
  if (!listener.ok()) return nullptr;
  auto client = std::make_shared<std::vector<strata::Socket>>();
  auto server = std::make_shared<std::vector<strata::Socket>>();
  strata::Deadline deadline(10000);
  for (int i = 0; i < streams; ++i) {
    auto s = strata::connectWithRetry(bound, deadline);
    if (!s.ok()) return nullptr;
    strata::Result<strata::Socket> accepted = strata::Socket();
    while (true) {  // accept in order so stream i pairs with stream i
      accepted = strata::acceptPending(listener.value().fd());
      if (!accepted.ok() || accepted.value().valid()) break;
      usleep(1000);
    }
    if (!accepted.ok()) return nullptr;
    client->push_back(std::move(s.value()));
    server->push_back(std::move(accepted.value()));
  }
  const size_t split = 262144;  // STRATA_SOCKET_SPLIT_BYTES' default
  return std::make_unique<PeerProcess>([=](bool child, pid_t) -> std::unique_ptr<Connection> {
    // Each process keeps its own side; the other side's descriptors close here with the vector.
    if (child) {
      client->clear();
      return std::make_unique<strata::TcpConnection>(std::move(*server), split);
    }
    server->clear();
    return std::make_unique<strata::TcpConnection>(std::move(*client), split);
  });
}

void roundTrips(benchmark::State& state, PeerProcess* peer) {
  if (peer == nullptr) return state.SkipWithError("cannot set up the transport");
  std::vector<char> data(static_cast<size_t>(state.range(0)), 1);
  for (auto _ : state) peer->message(Command::Echo, data.data(), data.size());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0) * 2);
}

void streamOneWay(benchmark::State& state, PeerProcess* peer) {
  if (peer == nullptr) return state.SkipWithError("cannot set up the transport");
  std::vector<char> data(static_cast<size_t>(state.range(0)), 1);
  for (auto _ : state) peer->message(Command::Sink, data.data(), data.size());
  peer->flush();  // every byte has arrived before the clock stops
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void shmLatency(benchmark::State& state) { roundTrips(state, shmPeer().get()); }
void shmBandwidth(benchmark::State& state) { streamOneWay(state, shmPeer().get()); }
void tcpLatency(benchmark::State& state) { roundTrips(state, tcpPeer(1).get()); }
void tcpBandwidth(benchmark::State& state) { streamOneWay(state, tcpPeer(static_cast<int>(state.range(1))).get()); }

BENCHMARK(shmLatency)->Name("shm_latency")->Arg(8)->Arg(4096)->Arg(65536)->UseRealTime();
BENCHMARK(shmBandwidth)->Name("shm_bandwidth")->Arg(65536)->Arg(1 << 20)->Arg(16 << 20)->UseRealTime();
BENCHMARK(tcpLatency)->Name("tcp_latency")->Arg(8)->Arg(4096)->Arg(65536)->UseRealTime();
BENCHMARK(tcpBandwidth)->Name("tcp_bandwidth")->ArgsProduct({{1 << 20, 4 << 20, 16 << 20, 64 << 20}, {1, 2, 4}})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
