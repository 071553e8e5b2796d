#include "tests/plugin/plugin_harness.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace plugin_test {
namespace {

int currentChild = -1;
bool killedOnPurpose = false;

bool before(std::chrono::steady_clock::time_point start, int seconds) {
  return std::chrono::steady_clock::now() - start < std::chrono::seconds(seconds);
}

}  // namespace

const PluginLibrary& plugin() {
  static PluginLibrary loaded = [] {
    PluginLibrary p;
    p.library = dlopen("libnccl-net-strata.so", RTLD_NOW | RTLD_LOCAL);
    if (p.library == nullptr) {
      ADD_FAILURE() << "dlopen(libnccl-net-strata.so): " << dlerror();
      return p;
    }
    p.v11 = static_cast<ncclNet_v11_t*>(dlsym(p.library, "ncclNetPlugin_v11"));
    p.v10 = static_cast<ncclNet_v10_t*>(dlsym(p.library, "ncclNetPlugin_v10"));
    p.v9 = static_cast<ncclNet_v9_t*>(dlsym(p.library, "ncclNetPlugin_v9"));
    p.v8 = static_cast<ncclNet_v8_t*>(dlsym(p.library, "ncclNetPlugin_v8"));
    return p;
  }();
  return loaded;
}

void testLogger(ncclDebugLogLevel level, unsigned long /*flags*/, const char* /*file*/, int /*line*/, const char* fmt,
                ...) {
  if (level > NCCL_LOG_INFO && std::getenv("PLUGIN_TEST_TRACE") == nullptr) return;
  va_list args;
  va_start(args, fmt);
  std::fprintf(stderr, "[%d] %s ", getpid(), level == NCCL_LOG_WARN ? "WARN" : "INFO");
  std::vfprintf(stderr, fmt, args);
  std::fprintf(stderr, "\n");
  va_end(args);
}

void Channel::send(const void* data, size_t bytes) {
  const auto* p = static_cast<const char*>(data);
  while (bytes > 0) {
    ssize_t n = ::write(writeFd_, p, bytes);
    if (n <= 0) {
      ADD_FAILURE() << "the other process of the pair went away";
      return;
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

void Channel::receive(void* data, size_t bytes) {
  auto* p = static_cast<char*>(data);
  auto start = std::chrono::steady_clock::now();
  while (bytes > 0) {
    pollfd ready{readFd_, POLLIN, 0};
    if (::poll(&ready, 1, 100) <= 0) {
      if (!before(start, 30)) {
        ADD_FAILURE() << "nothing from the other process of the pair for 30 s";
        std::memset(p, 0, bytes);
        return;
      }
      continue;
    }
    ssize_t n = ::read(readFd_, p, bytes);
    if (n <= 0) {
      ADD_FAILURE() << "the other process of the pair went away";
      std::memset(p, 0, bytes);
      return;
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

bool Channel::signalled() {
  pollfd ready{readFd_, POLLIN, 0};
  if (::poll(&ready, 1, 0) <= 0) return false;
  char c;
  return ::read(readFd_, &c, 1) == 1;
}

void runPair(const std::function<void(Channel&)>& parent, const std::function<void(Channel&)>& child) {
  int toChild[2];
  int toParent[2];
  ASSERT_EQ(pipe(toChild), 0);
  ASSERT_EQ(pipe(toParent), 0);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(toChild[1]);
    close(toParent[0]);
    Channel channel(toChild[0], toParent[1]);
    child(channel);
    std::fflush(stderr);
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  currentChild = pid;
  close(toChild[0]);
  close(toParent[1]);
  {
    Channel channel(toParent[0], toChild[1]);
    parent(channel);
  }
  close(toParent[0]);
  close(toChild[1]);
  int status = 0;
  auto start = std::chrono::steady_clock::now();
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (!before(start, 30)) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "the child process of the pair did not finish";
      break;
    }
    usleep(1000);
  }
  currentChild = -1;
  if (killedOnPurpose && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
    killedOnPurpose = false;
    return;
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child process of the pair failed";
}

void killChild() {
  killedOnPurpose = true;
  kill(currentChild, SIGKILL);
}

void inFreshProcess(const std::function<void()>& body) {
  std::fflush(stderr);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setpgid(0, 0);  // its own process group: a timeout below kills the pair it forks too
    body();
    std::fflush(stderr);
    _exit(::testing::Test::HasFailure() ? 1 : 0);
  }
  setpgid(pid, pid);
  int status = 0;
  auto start = std::chrono::steady_clock::now();
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (!before(start, 60)) {
      kill(-pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "the test's process did not finish within 60 s";
      return;
    }
    usleep(1000);
  }
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the test failed in its own process";
}

Endpoint initV11() {
  Endpoint e{plugin().v11, nullptr};
  if (e.net == nullptr) {
    ADD_FAILURE() << "no ncclNetPlugin_v11";
    return e;
  }
  ncclNetCommConfig_t config{-1};
  EXPECT_EQ(e.net->init(&e.ctx, 0x1234, &config, testLogger, nullptr), ncclSuccess);
  return e;
}

void* listenAndPublish(const Endpoint& e, Channel& channel) {
  char handle[NCCL_NET_HANDLE_MAXSIZE] = {};
  void* listenComm = nullptr;
  EXPECT_EQ(e.net->listen(e.ctx, 0, handle, &listenComm), ncclSuccess);
  EXPECT_NE(listenComm, nullptr);
  channel.sendHandle(handle);
  return listenComm;
}

void* connectWith(const Endpoint& e, char (&handle)[NCCL_NET_HANDLE_MAXSIZE]) {
  void* sendComm = nullptr;
  ncclNetDeviceHandle_t* devComm = nullptr;
  auto start = std::chrono::steady_clock::now();
  while (sendComm == nullptr && before(start, 20)) {
    ncclResult_t result = e.net->connect(e.ctx, 0, handle, &sendComm, &devComm);
    if (result != ncclSuccess) {
      ADD_FAILURE() << "connect() returned " << result;
      return nullptr;
    }
  }
  EXPECT_NE(sendComm, nullptr) << "connect() did not finish within 20 s";
  return sendComm;
}

void* connectFromPeer(const Endpoint& e, Channel& channel) {
  char handle[NCCL_NET_HANDLE_MAXSIZE];
  channel.receiveHandle(handle);
  return connectWith(e, handle);
}

void* acceptPolling(const Endpoint& e, void* listenComm) {
  void* recvComm = nullptr;
  ncclNetDeviceHandle_t* devComm = nullptr;
  auto start = std::chrono::steady_clock::now();
  while (recvComm == nullptr && before(start, 20)) {
    ncclResult_t result = e.net->accept(listenComm, &recvComm, &devComm);
    if (result != ncclSuccess) {
      ADD_FAILURE() << "accept() returned " << result;
      return nullptr;
    }
  }
  EXPECT_NE(recvComm, nullptr) << "accept() did not finish within 20 s";
  return recvComm;
}

ReceivingEnd::ReceivingEnd(Channel& channel) : e(initV11()) {
  listenComm = listenAndPublish(e, channel);
  if (listenComm != nullptr) comm = acceptPolling(e, listenComm);
}

ReceivingEnd::~ReceivingEnd() {
  if (e.net == nullptr) return;
  if (comm != nullptr) {
    EXPECT_EQ(e.net->closeRecv(comm), ncclSuccess);
  }
  if (listenComm != nullptr) {
    EXPECT_EQ(e.net->closeListen(listenComm), ncclSuccess);
  }
  EXPECT_EQ(e.net->finalize(e.ctx), ncclSuccess);
}

SendingEnd::SendingEnd(Channel& channel) : e(initV11()) { comm = connectFromPeer(e, channel); }

SendingEnd::~SendingEnd() {
  if (e.net == nullptr) return;
  if (comm != nullptr) {
    EXPECT_EQ(e.net->closeSend(comm), ncclSuccess);
  }
  EXPECT_EQ(e.net->finalize(e.ctx), ncclSuccess);
}

ncclResult_t testUntilDone(ncclNet_v11_t* net, void* request, int* sizes) {
  int done = 0;
  auto start = std::chrono::steady_clock::now();
  while (!done) {
    ncclResult_t result = net->test(request, &done, sizes);
    if (result != ncclSuccess) return result;
    if (!before(start, 20)) {
      ADD_FAILURE() << "a request did not finish within 20 s";
      return ncclInternalError;
    }
  }
  return ncclSuccess;
}

ncclResult_t testUntilSignalled(ncclNet_v11_t* net, void* request, Channel& channel, int* done) {
  *done = 0;
  auto start = std::chrono::steady_clock::now();
  while (!channel.signalled()) {
    if (!*done) {
      ncclResult_t result = net->test(request, done, nullptr);
      if (result != ncclSuccess) return result;
    }
    if (!before(start, 20)) {
      ADD_FAILURE() << "no signal from the other process within 20 s";
      return ncclInternalError;
    }
  }
  return ncclSuccess;
}

void* isendPosted(const Endpoint& e, void* comm, void* data, size_t size, int tag, void* mhandle) {
  void* request = nullptr;
  auto start = std::chrono::steady_clock::now();
  while (request == nullptr && before(start, 20)) {
    if (e.net->isend(comm, data, size, tag, mhandle, nullptr, &request) != ncclSuccess) {
      ADD_FAILURE() << "isend() failed";
      return nullptr;
    }
  }
  EXPECT_NE(request, nullptr);
  return request;
}

void* irecvPosted(const Endpoint& e, void* comm, int n, void** data, size_t* sizes, int* tags, void** mhandles) {
  void* request = nullptr;
  auto start = std::chrono::steady_clock::now();
  while (request == nullptr && before(start, 20)) {
    if (e.net->irecv(comm, n, data, sizes, tags, mhandles, nullptr, &request) != ncclSuccess) {
      ADD_FAILURE() << "irecv() failed";
      return nullptr;
    }
  }
  EXPECT_NE(request, nullptr);
  return request;
}

void fillPattern(std::vector<unsigned char>& buffer, size_t bytes, int index) {
  if (buffer.size() < bytes) buffer.resize(bytes);
  uint32_t x = 2654435761u * static_cast<uint32_t>(index + 1) + static_cast<uint32_t>(bytes);
  for (size_t i = 0; i < bytes; ++i) {
    x = x * 1664525u + 1013904223u;
    buffer[i] = static_cast<unsigned char>(x >> 24);
  }
}

bool matchesPattern(const unsigned char* data, size_t bytes, int index) {
  std::vector<unsigned char> expected;
  fillPattern(expected, bytes, index);
  return bytes == 0 || std::memcmp(data, expected.data(), bytes) == 0;
}

}  // namespace plugin_test

// --over-ucx: the plugin's connections go over the ucx transport, on UCX's tcp wires over loopback
// unless UCX_TLS / UCX_NET_DEVICES say otherwise (set before the plugin reads its settings).
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--over-ucx") == 0) {
      setenv("STRATA_NET", "ucx", 1);
      setenv("UCX_TLS", "tcp", 0);
      setenv("UCX_NET_DEVICES", "lo", 0);
    }
  }
  return RUN_ALL_TESTS();
}
