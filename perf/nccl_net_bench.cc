// The NCCL net plugin measured through its own interface, between this process and a forked
// peer, over loopback: the numbers to hold beside transport_bench's tcp figures (the plugin is
// an adapter over that transport, so the gap is what the adapter costs).
//   plugin_latency/8      8-byte round trip (isend, the peer's irecv and isend back, irecv; each
//                         side's receive posted before the data comes, as NCCL posts them)
//   plugin_bandwidth/S    S-byte messages one way, one isend at a time (the peer keeps
//                         kPostedReceives receives posted); the clock stops once the peer has
//                         every byte
// Run with the same STRATA_SOCKET_NSTREAMS as the transport_bench row it is compared with
// (default 2: tcp_bandwidth/S/2), e.g. perf/compare/nccl_net.sh.
// The plugin is opened as NCCL would: NCCL_NET_PLUGIN's path when it is one, else
// libnccl-net-strata.so beside this build's bin directory.
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <limits.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "plugins/nccl_net/nccl_net_abi.h"

namespace {

using namespace ncclabi;

constexpr size_t kLargest = size_t{64} << 20;
// Receives the peer keeps posted. A send waits for a posted receive (the receiver announces each),
// so this is the pipeline's depth; NCCL keeps up to NCCL_STEPS = 8 per connection.
constexpr int kPostedReceives = 4;

ncclNet_v11_t* openPlugin() {
  static ncclNet_v11_t* net = [] () -> ncclNet_v11_t* {
    std::string path;
    const char* configured = std::getenv("NCCL_NET_PLUGIN");
    if (configured != nullptr && std::strchr(configured, '/') != nullptr) {
      path = configured;
    } else {
      char self[PATH_MAX] = {};
      ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
      std::string dir = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string("./x");
      path = dir.substr(0, dir.rfind('/')) + "/../lib/libnccl-net-strata.so";
    }
    void* library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      std::fprintf(stderr, "nccl_net_bench: %s\n", dlerror());
      return nullptr;
    }
    return static_cast<ncclNet_v11_t*>(dlsym(library, "ncclNetPlugin_v11"));
  }();
  return net;
}

void check(ncclResult_t result, const char* what) {
  if (result == ncclSuccess) return;
  std::fprintf(stderr, "nccl_net_bench: %s failed (%d)\n", what, result);
  std::exit(1);
}

// One direction of a pair: a comm with a registered buffer.
struct Link {
  void* comm = nullptr;
  std::vector<char> buffer;
  void* mhandle = nullptr;
};

// A connection in each direction between this process and a forked peer.
class PluginPeer {
 public:
  PluginPeer() : net_(openPlugin()) {
    if (net_ == nullptr) return;
    int toChild[2], toParent[2];
    if (pipe(toChild) != 0 || pipe(toParent) != 0) return;
    child_ = fork();
    if (child_ == 0) {
      setUp(toChild[0], toParent[1]);
      serve();
    }
    setUp(toParent[0], toChild[1]);
    ready_ = true;
  }
  ~PluginPeer() {
    if (!ready_) return;
    send(1);  // 1 byte: quit
    waitpid(child_, nullptr, 0);
  }
  bool ready() const { return ready_; }

  void send(size_t bytes) { wait(post(bytes)); }
  void* post(size_t bytes) {
    void* request = nullptr;
    while (request == nullptr) {
      check(net_->isend(out_.comm, out_.buffer.data(), bytes, 0, out_.mhandle, nullptr, &request), "isend");
    }
    return request;
  }
  void receive() { wait(postReceive(0)); }
  // Receives are announced to the sender when posted (as NCCL posts them ahead of the data): a
  // round trip posts its receive before it sends.
  void roundTrip(size_t bytes) {
    void* reply = postReceive(0);
    send(bytes);
    wait(reply);
  }
  void wait(void* request) {
    int done = 0;
    while (!done) check(net_->test(request, &done, nullptr), "test");
  }

 private:
  void* postReceive(int slot) {
    void* data = in_.buffer.data() + static_cast<size_t>(slot) * kLargest;
    size_t capacity = kLargest;
    int tag = 0;
    void* request = nullptr;
    while (request == nullptr) {
      check(net_->irecv(in_.comm, 1, &data, &capacity, &tag, &in_.mhandle, nullptr, &request), "irecv");
    }
    return request;
  }

  // Listens for the peer's connection and connects to the peer's listener, handles over the pipes.
  void setUp(int readFd, int writeFd) {
    void* ctx = nullptr;
    check(net_->init(&ctx, 0, nullptr, nullptr, nullptr), "init");
    char mine[NCCL_NET_HANDLE_MAXSIZE] = {};
    char theirs[NCCL_NET_HANDLE_MAXSIZE];
    void* listenComm = nullptr;
    check(net_->listen(ctx, 0, mine, &listenComm), "listen");
    if (write(writeFd, mine, sizeof(mine)) != sizeof(mine) || read(readFd, theirs, sizeof(theirs)) != sizeof(theirs)) {
      std::exit(1);
    }
    while (out_.comm == nullptr || in_.comm == nullptr) {
      if (out_.comm == nullptr) check(net_->connect(ctx, 0, theirs, &out_.comm, nullptr), "connect");
      if (in_.comm == nullptr) check(net_->accept(listenComm, &in_.comm, nullptr), "accept");
    }
    out_.buffer.assign(kLargest, 1);
    in_.buffer.assign(kPostedReceives * kLargest, 0);
    check(net_->regMr(out_.comm, out_.buffer.data(), out_.buffer.size(), NCCL_PTR_HOST, &out_.mhandle), "regMr");
    check(net_->regMr(in_.comm, in_.buffer.data(), in_.buffer.size(), NCCL_PTR_HOST, &in_.mhandle), "regMr");
  }

  // The peer: kPostedReceives receives always posted; a message of 8 bytes is echoed, 0 bytes acknowledged
  // (the sender's flush), 1 byte ends it.
  [[noreturn]] void serve() {
    void* pending[kPostedReceives];
    for (int slot = 0; slot < kPostedReceives; ++slot) pending[slot] = postReceive(slot);
    for (int slot = 0;; slot = (slot + 1) % kPostedReceives) {
      int done = 0;
      int size = 0;
      while (!done) check(net_->test(pending[slot], &done, &size), "test");
      if (size == 1) _exit(0);
      if (size == 0 || size == 8) send(static_cast<size_t>(size));
      pending[slot] = postReceive(slot);
    }
  }

  ncclNet_v11_t* net_;
  pid_t child_ = -1;
  bool ready_ = false;
  Link out_, in_;
};

// One peer for the whole run, forked before this process starts the plugin: UCX (under
// STRATA_NET=ucx) does not survive a fork once it runs.
PluginPeer& sharedPeer() {
  static PluginPeer* peer = new PluginPeer;
  return *peer;
}

void pluginLatency(benchmark::State& state) {
  PluginPeer& peer = sharedPeer();
  if (!peer.ready()) return state.SkipWithError("cannot open the plugin");
  for (auto _ : state) peer.roundTrip(8);
}

void pluginBandwidth(benchmark::State& state) {
  PluginPeer& peer = sharedPeer();
  if (!peer.ready()) return state.SkipWithError("cannot open the plugin");
  const size_t bytes = static_cast<size_t>(state.range(0));
  for (auto _ : state) peer.send(bytes);
  peer.roundTrip(0);  // every byte has arrived before the clock stops
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

BENCHMARK(pluginLatency)->Name("plugin_latency")->Arg(8)->UseRealTime();
BENCHMARK(pluginBandwidth)->Name("plugin_bandwidth")->Arg(4 << 20)->Arg(64 << 20)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete &sharedPeer();  // the peer quits
  return 0;
}
