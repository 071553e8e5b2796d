// Plays NCCL's part against libnccl-net-strata.so, as NCCL 2.28 would: the library is opened by
// name with dlopen (RTLD_NOW | RTLD_LOCAL), the newest table first, and two processes talk
// through it, the listen handle carried between them over a pipe as NCCL's bootstrap would.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "plugins/nccl_net/nccl_net_abi.h"

namespace plugin_test {

using namespace ncclabi;

struct PluginLibrary {
  void* library = nullptr;
  ncclNet_v11_t* v11 = nullptr;
  ncclNet_v10_t* v10 = nullptr;
  ncclNet_v9_t* v9 = nullptr;
  ncclNet_v8_t* v8 = nullptr;
};

// dlopen("libnccl-net-strata.so") as NCCL_NET_PLUGIN=strata makes NCCL do (found through
// LD_LIBRARY_PATH, which the test's environment points at the build's lib directory).
const PluginLibrary& plugin();

// The plugin's log lines go here (NCCL passes its own logger the same way).
void testLogger(ncclDebugLogLevel level, unsigned long flags, const char* file, int line, const char* fmt, ...);

// Both directions between the two processes of a pair: handles and small notes.
class Channel {
 public:
  Channel(int readFd, int writeFd) : readFd_(readFd), writeFd_(writeFd) {}
  void send(const void* data, size_t bytes);
  // Waits up to 30 s; a test failure (and zeros) when nothing comes.
  void receive(void* data, size_t bytes);
  void sendHandle(const char (&handle)[NCCL_NET_HANDLE_MAXSIZE]) { send(handle, sizeof(handle)); }
  void receiveHandle(char (&handle)[NCCL_NET_HANDLE_MAXSIZE]) { receive(handle, sizeof(handle)); }
  void signal() { send("!", 1); }
  void awaitSignal() {
    char c;
    receive(&c, 1);
  }
  // Takes a signal if one has come (never waits).
  bool signalled();

 private:
  int readFd_;
  int writeFd_;
};

// Runs `child` in a forked process and `parent` here; each gets its end of the channel. Fails the
// test when either fails (the child's gtest failures come back as its exit status). The child
// is killed if it outlives the parent's part by 30 s.
void runPair(const std::function<void(Channel&)>& parent, const std::function<void(Channel&)>& child);
// Runs `body` in a forked process and fails the test when it fails there. For the v8-v10 tables,
// whose one context (and UCX worker) lives as long as the process: a fork after it exists would
// share it with the child.
void inFreshProcess(const std::function<void()>& body);
// Kills the child from inside `parent` (the test of a dead peer); its death is then no failure.
void killChild();

// v11 helpers that poll as NCCL does (each bounded to 20 s, a test failure after that).
struct Endpoint {
  ncclNet_v11_t* net;
  void* ctx;
};
Endpoint initV11();
void* listenAndPublish(const Endpoint& e, Channel& channel);
void* connectFromPeer(const Endpoint& e, Channel& channel);
void* connectWith(const Endpoint& e, char (&handle)[NCCL_NET_HANDLE_MAXSIZE]);
void* acceptPolling(const Endpoint& e, void* listenComm);
// Tests until done or an error (returned); 20 s without either is a test failure.
ncclResult_t testUntilDone(ncclNet_v11_t* net, void* request, int* sizes);
// Waits for the other process's signal while testing `request` (as NCCL's proxy keeps testing:
// over ucx nothing moves, a receive's announcement included, unless the plugin is called). Returns
// the first error, or ncclSuccess with *done as the request left it.
ncclResult_t testUntilSignalled(ncclNet_v11_t* net, void* request, Channel& channel, int* done);
// Posts with retries while the plugin returns a null request.
void* isendPosted(const Endpoint& e, void* comm, void* data, size_t size, int tag, void* mhandle);
void* irecvPosted(const Endpoint& e, void* comm, int n, void** data, size_t* sizes, int* tags, void** mhandles);

// A test process's end of one v11 connection, opened as NCCL does: the receiving end inits,
// listens, publishes the handle over the channel and accepts; the sending end inits and connects
// with the peer's handle. Each closes what is still open and finalizes when it goes (a test that
// closes its comm itself sets `comm` to null).
struct ReceivingEnd {
  explicit ReceivingEnd(Channel& channel);
  ~ReceivingEnd();
  ReceivingEnd(const ReceivingEnd&) = delete;
  ReceivingEnd& operator=(const ReceivingEnd&) = delete;
  Endpoint e;
  void* listenComm = nullptr;
  void* comm = nullptr;
};
struct SendingEnd {
  explicit SendingEnd(Channel& channel);
  ~SendingEnd();
  SendingEnd(const SendingEnd&) = delete;
  SendingEnd& operator=(const SendingEnd&) = delete;
  Endpoint e;
  void* comm = nullptr;
};

// Deterministic contents of message `index` (and a check of them).
void fillPattern(std::vector<unsigned char>& buffer, size_t bytes, int index);
bool matchesPattern(const unsigned char* data, size_t bytes, int index);

}  // namespace plugin_test
