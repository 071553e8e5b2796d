// The C API as a user meets it: argument validation and its messages, lifecycle misuse, groups,
// host streams, split, and strangers at the bootstrap root. Ranks are threads in this process.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "api_ranks.h"
#include "src/core/handshake_acceptor.h"
#include "src/core/host_stream.h"
#include "src/core/unique_id.h"
#include "strata/strata.h"

namespace {

using testing_support::runApiRanks;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("STRATA_SOCKET_IFNAME", "lo", 1);
    setenv("STRATA_TIMEOUT_MS", "20000", 1);
    strataUniqueId id;
    ASSERT_EQ(strataGetUniqueId(&id), strataSuccess);
    ASSERT_EQ(strataCommInitRank(&comm_, 1, id, 0), strataSuccess) << strataGetLastError(nullptr);
  }
  void TearDown() override {
    if (comm_ != nullptr) {
      EXPECT_EQ(strataCommDestroy(comm_), strataSuccess);
    }
    unsetenv("STRATA_TRANSPORT");
    unsetenv("STRATA_ALGO");
  }
  // The last error must mention every word in `words`.
  void expectError(strataResult_t got, strataResult_t want, std::initializer_list<const char*> words) {
    EXPECT_EQ(got, want) << strataGetLastError(comm_);
    std::string text = strataGetLastError(comm_);
    for (const char* w : words) EXPECT_NE(text.find(w), std::string::npos) << "'" << w << "' missing from: " << text;
  }
  strataComm_t comm_ = nullptr;
};

TEST_F(ApiTest, NullBuffersWithCountAreRejected) {
  float x = 1;
  expectError(strataAllReduce(nullptr, &x, 1, strataFloat32, strataSum, comm_, nullptr), strataInvalidArgument, {"sendbuff", "NULL"});
  expectError(strataAllReduce(&x, nullptr, 4, strataFloat32, strataSum, comm_, nullptr), strataInvalidArgument, {"recvbuff", "4"});
  // Count 0 is a valid no-op, even with NULL buffers.
  EXPECT_EQ(strataAllReduce(nullptr, nullptr, 0, strataFloat32, strataSum, comm_, nullptr), strataSuccess);
}

TEST_F(ApiTest, BadDatatypeOpRootPeerAreNamed) {
  float x = 1, y = 0;
  expectError(strataAllReduce(&x, &y, 1, static_cast<strataDataType_t>(42), strataSum, comm_, nullptr), strataInvalidArgument, {"datatype=42"});
  expectError(strataAllReduce(&x, &y, 1, strataFloat32, static_cast<strataRedOp_t>(9), comm_, nullptr), strataInvalidArgument, {"op=9"});
  expectError(strataBroadcast(&x, &y, 1, strataFloat32, 3, comm_, nullptr), strataInvalidArgument, {"root=3"});
  expectError(strataReduce(&x, &y, 1, strataFloat32, strataSum, -1, comm_, nullptr), strataInvalidArgument, {"root=-1"});
  expectError(strataSend(&x, 1, strataFloat32, 5, comm_, nullptr), strataInvalidArgument, {"peer=5"});
}

TEST_F(ApiTest, CountOverflowIsRejected) {
  float x = 1;
  size_t huge = std::numeric_limits<size_t>::max() / 4;
  expectError(strataAllReduce(&x, &x, huge, strataFloat64, strataSum, comm_, nullptr), strataInvalidArgument, {"count", "overflows"});
  expectError(strataAllGather(&x, &x, huge / 2, strataFloat32, comm_, nullptr), strataInvalidArgument, {"sendcount"});
}

TEST_F(ApiTest, DestroyedOrForeignHandlesAreErrorsNotCrashes) {
  strataComm_t dead = comm_;
  ASSERT_EQ(strataCommDestroy(comm_), strataSuccess);
  comm_ = nullptr;
  float x = 1;
  EXPECT_EQ(strataAllReduce(&x, &x, 1, strataFloat32, strataSum, dead, nullptr), strataInvalidArgument);
  EXPECT_NE(std::string(strataGetLastError(nullptr)).find("not a live communicator"), std::string::npos);
  int n = 0;
  EXPECT_EQ(strataCommCount(dead, &n), strataInvalidArgument);
  EXPECT_EQ(strataCommCount(nullptr, &n), strataInvalidArgument);
  int notAStream = 0;
  strataUniqueId id;
  ASSERT_EQ(strataGetUniqueId(&id), strataSuccess);
  ASSERT_EQ(strataCommInitRank(&comm_, 1, id, 0), strataSuccess);
  expectError(strataAllReduce(&x, &x, 1, strataFloat32, strataSum, comm_, &notAStream), strataInvalidArgument, {"stream"});
}

TEST_F(ApiTest, GroupMisuseIsInvalidUsage) {
  EXPECT_EQ(strataGroupEnd(), strataInvalidUsage);
  strataStream_t s1, s2;
  ASSERT_EQ(strataStreamCreate(&s1), strataSuccess);
  ASSERT_EQ(strataStreamCreate(&s2), strataSuccess);
  float a = 1, b = 2;
  ASSERT_EQ(strataGroupStart(), strataSuccess);
  ASSERT_EQ(strataAllReduce(&a, &a, 1, strataFloat32, strataSum, comm_, s1), strataSuccess);
  ASSERT_EQ(strataAllReduce(&b, &b, 1, strataFloat32, strataSum, comm_, s2), strataSuccess);
  expectError(strataGroupEnd(), strataInvalidUsage, {"different streams"});
  strataUniqueId id;
  ASSERT_EQ(strataGetUniqueId(&id), strataSuccess);
  strataComm_t other;
  ASSERT_EQ(strataGroupStart(), strataSuccess);
  EXPECT_EQ(strataCommInitRank(&other, 1, id, 0), strataInvalidUsage);
  ASSERT_EQ(strataGroupEnd(), strataSuccess);
  EXPECT_EQ(strataStreamDestroy(s1), strataSuccess);
  EXPECT_EQ(strataStreamDestroy(s2), strataSuccess);
}

TEST_F(ApiTest, InitArgumentsAndConfigAreChecked) {
  strataUniqueId id;
  ASSERT_EQ(strataGetUniqueId(&id), strataSuccess);
  strataComm_t c;
  EXPECT_EQ(strataCommInitRank(&c, 0, id, 0), strataInvalidArgument);
  EXPECT_EQ(strataCommInitRank(&c, 2, id, 2), strataInvalidArgument);
  strataUniqueId garbage;
  std::memset(&garbage, 0x5a, sizeof(garbage));
  EXPECT_EQ(strataCommInitRank(&c, 1, garbage, 0), strataInvalidArgument);
  strataConfig_t config = STRATA_CONFIG_INITIALIZER;
  config.magic = 1;
  EXPECT_EQ(strataCommInitRankConfig(&c, 1, id, 0, &config), strataInvalidArgument);
  setenv("STRATA_ALGO", "rign", 1);
  strataConfig_t good = STRATA_CONFIG_INITIALIZER;
  EXPECT_EQ(strataCommInitRankConfig(&c, 1, id, 0, &good), strataInvalidArgument);
  std::string text = strataGetLastError(nullptr);
  EXPECT_NE(text.find("rign"), std::string::npos) << text;
  EXPECT_NE(text.find("recursive_doubling"), std::string::npos) << text;
}

TEST_F(ApiTest, ErrorStringsAndVersion) {
  int version = 0;
  EXPECT_EQ(strataGetVersion(&version), strataSuccess);
  EXPECT_EQ(version, STRATA_VERSION_CODE);
  EXPECT_STRNE(strataGetErrorString(strataRemoteError), strataGetErrorString(strataTimeout));
  EXPECT_EQ(static_cast<int>(strataInvalidUsage), 5);  // NCCL's value
  EXPECT_EQ(static_cast<int>(strataBfloat16), 9);
}

void checkAllReduceOnThreads(int nranks, const char* transport) {
  setenv("STRATA_TRANSPORT", transport, 1);
  runApiRanks(nranks, [&](int rank, strataComm_t comm) {
    std::vector<int32_t> data(100003, rank + 1);
    ASSERT_EQ(strataAllReduce(data.data(), data.data(), data.size(), strataInt32, strataSum, comm, nullptr), strataSuccess);
    EXPECT_EQ(data[0], nranks * (nranks + 1) / 2);
    EXPECT_EQ(data.back(), nranks * (nranks + 1) / 2);
  });
  unsetenv("STRATA_TRANSPORT");
}

TEST(ApiRanks, AllReduceOverShmAndTcp) {
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  checkAllReduceOnThreads(3, "shm");
  checkAllReduceOnThreads(3, "tcp");
}

TEST(ApiRanks, HostStreamsRunInOrderAndReturnAtOnce) {
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  runApiRanks(2, [](int rank, strataComm_t comm) {
    strataStream_t stream;
    ASSERT_EQ(strataStreamCreate(&stream), strataSuccess);
    std::vector<float> a(1 << 16, static_cast<float>(rank + 1)), b(1 << 16, 0);
    // Queued in order: b = sum(a) = 3, then a = sum(b) = 6.
    ASSERT_EQ(strataAllReduce(a.data(), b.data(), a.size(), strataFloat32, strataSum, comm, stream), strataSuccess);
    ASSERT_EQ(strataAllReduce(b.data(), a.data(), a.size(), strataFloat32, strataSum, comm, stream), strataSuccess);
    ASSERT_EQ(strataStreamSynchronize(stream), strataSuccess);
    EXPECT_EQ(b[7], 3.0f);
    EXPECT_EQ(a[7], 6.0f);
    EXPECT_EQ(strataStreamDestroy(stream), strataSuccess);
  });
}

TEST(ApiRanks, GroupedSendRecvProgressTogether) {
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  const int n = 4;
  runApiRanks(n, [&](int rank, strataComm_t comm) {
    // Everyone sends 1 MiB to everyone: only works if the transfers progress together.
    const size_t count = 1 << 18;
    std::vector<std::vector<int32_t>> out(n), in(n);
    ASSERT_EQ(strataGroupStart(), strataSuccess);
    for (int p = 0; p < n; ++p) {
      out[p].assign(count, rank * 100 + p);
      in[p].assign(count, -1);
      ASSERT_EQ(strataSend(out[p].data(), count, strataInt32, p, comm, nullptr), strataSuccess);
      ASSERT_EQ(strataRecv(in[p].data(), count, strataInt32, p, comm, nullptr), strataSuccess);
    }
    ASSERT_EQ(strataGroupEnd(), strataSuccess) << strataGetLastError(comm);
    for (int p = 0; p < n; ++p) EXPECT_EQ(in[p][count - 1], p * 100 + rank);
  });
}

TEST(ApiRanks, SplitMakesWorkingSubCommunicators) {
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  runApiRanks(5, [](int rank, strataComm_t comm) {
    strataComm_t sub = nullptr;
    int color = rank == 4 ? STRATA_SPLIT_NOCOLOR : rank % 2;
    ASSERT_EQ(strataCommSplit(comm, color, -rank, &sub, nullptr), strataSuccess) << strataGetLastError(comm);
    if (color == STRATA_SPLIT_NOCOLOR) {
      EXPECT_EQ(sub, nullptr);
      return;
    }
    int subRank = -1, subSize = 0;
    ASSERT_EQ(strataCommUserRank(sub, &subRank), strataSuccess);
    ASSERT_EQ(strataCommCount(sub, &subSize), strataSuccess);
    EXPECT_EQ(subSize, 2);
    EXPECT_EQ(subRank, rank >= 2 ? 0 : 1);  // key = -rank: higher ranks first
    int value = rank, sum = 0;
    ASSERT_EQ(strataAllReduce(&value, &sum, 1, strataInt32, strataSum, sub, nullptr), strataSuccess);
    EXPECT_EQ(sum, color == 0 ? 0 + 2 : 1 + 3);
    EXPECT_EQ(strataCommDestroy(sub), strataSuccess);
  });
}

// A STRATA_* value that does not parse or is out of range is an error naming the variable, the
// value and what is allowed: never a silent default.
TEST(Settings, BadValuesAreInitErrorsNamingVariableValueAndRange) {
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  struct Case {
    const char* name;
    const char* value;
    const char* allowed;
  };
  const Case cases[] = {
      {"STRATA_TIMEOUT_MS", "abc", "whole number"},       {"STRATA_TIMEOUT_MS", "-5", "from 1 to"},
      {"STRATA_TIMEOUT_MS", "0", "from 1 to"},            {"STRATA_TIMEOUT_MS", "100000000000000000", "out of range"},
      {"STRATA_TIMEOUT_MS", "10 ", "whole number"},       {"STRATA_BUFFSIZE", "1", "from 4096"},
      {"STRATA_SOCKET_NSTREAMS", "0", "from 1 to 16"},    {"STRATA_SOCKET_NSTREAMS", "1000", "from 1 to 16"},
      {"STRATA_SOCKET_SPLIT_BYTES", "-1", "from 1"},      {"STRATA_WINDOW_BYTES", "2G", "whole number"},
      {"STRATA_ONESHOT_BYTES", "99999999", "from 0 to"},  {"STRATA_TRANSPORT", "udp", "auto, shm, tcp, ucx"}, {"STRATA_NET", "shm", "auto, tcp, ucx"},
      {"STRATA_BIND", "yes", "0, 1"},                     {"STRATA_MOE_HIERARCHICAL", "2", "0, 1"},
      {"STRATA_DEBUG", "LOUD", "VERSION, WARN, INFO, TRACE"}, {"STRATA_DEBUG_SUBSYS", "INIT,NETWORK", "comma list"},
      {"STRATA_LOCAL_RANK", "-1", "from 0"},              {"STRATA_REDUCE_KERNELS", "sse", "auto, generic, avx2"},
      {"STRATA_HOSTID", "", "non-empty"},                 {"STRATA_RACK", "", "non-empty"},
  };
  for (const Case& c : cases) {
    setenv(c.name, c.value, 1);
    strataUniqueId id;
    strataResult_t r = strataGetUniqueId(&id);
    std::string text = strataGetLastError(nullptr);
    unsetenv(c.name);
    EXPECT_EQ(r, strataInvalidArgument) << c.name << "=" << c.value;
    EXPECT_NE(text.find(std::string(c.name) + "='" + c.value + "'"), std::string::npos) << text;
    EXPECT_NE(text.find(c.allowed), std::string::npos) << text;
  }
  // Set and valid: accepted (values are case-insensitive where they are words).
  setenv("STRATA_TRANSPORT", "TCP", 1);
  setenv("STRATA_TIMEOUT_MS", "1000000000000", 1);
  runApiRanks(2, [](int, strataComm_t comm) {
    int v = 1, sum = 0;
    EXPECT_EQ(strataAllReduce(&v, &sum, 1, strataInt32, strataSum, comm, nullptr), strataSuccess);
    EXPECT_EQ(sum, 2);
  });
  unsetenv("STRATA_TRANSPORT");
  unsetenv("STRATA_TIMEOUT_MS");
}

// A bad config or color passed to split by one rank: that rank gets its argument named, and the
// others fail at once naming the rank, instead of waiting for it until the timeout.
TEST(ApiRanks, SplitChecksConfigAndColorOnEveryRank) {
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  setenv("STRATA_TIMEOUT_MS", "30000", 1);
  auto start = std::chrono::steady_clock::now();
  runApiRanks(3, [](int rank, strataComm_t comm) {
    strataConfig_t config = STRATA_CONFIG_INITIALIZER;
    if (rank == 1) config.timeoutMs = -7;
    strataComm_t sub = nullptr;
    strataResult_t r = strataCommSplit(comm, 0, rank, &sub, &config);
    EXPECT_EQ(r, strataInvalidArgument);
    std::string text = strataGetLastError(comm);
    EXPECT_NE(text.find(rank == 1 ? "config.timeoutMs=-7" : "rank 1 of the parent"), std::string::npos) << text;
    EXPECT_EQ(sub, nullptr);
    // The parent is still usable: only the arguments were wrong.
    EXPECT_EQ(strataCommSplit(comm, rank == 2 ? -5 : 0, rank, &sub, nullptr), strataInvalidArgument);
    int v = 1, sum = 0;
    EXPECT_EQ(strataAllReduce(&v, &sum, 1, strataInt32, strataSum, comm, nullptr), strataSuccess);
    EXPECT_EQ(sum, 3);
  });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  unsetenv("STRATA_TIMEOUT_MS");
}

// A watchdog thread aborts a communicator while another thread is inside a call on it: the call
// ends with an error and nothing is freed under it (ASan and TSan runs check the second part).
TEST(ApiRanks, AbortFromAWatchdogWhileACallRuns) {
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  setenv("STRATA_TIMEOUT_MS", "20000", 1);
  runApiRanks(2, [](int rank, strataComm_t comm) {
    std::vector<float> data(1 << 16, 1.0f);
    std::atomic<bool> started{false};
    std::thread watchdog([&] {
      while (!started.load()) std::this_thread::yield();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (rank == 0) {
        EXPECT_EQ(strataCommAbort(comm), strataSuccess);
      }
    });
    strataResult_t r = strataSuccess;
    for (int i = 0; i < 100000 && r == strataSuccess; ++i) {
      started = true;
      r = strataAllReduce(data.data(), data.data(), data.size(), strataFloat32, strataSum, comm, nullptr);
    }
    watchdog.join();
    EXPECT_NE(r, strataSuccess);
    if (rank == 0) {
      // The handle is gone: using it again is an error, not a crash.
      EXPECT_EQ(strataAllReduce(data.data(), data.data(), 1, strataFloat32, strataSum, comm, nullptr), strataInvalidArgument);
    } else {
      EXPECT_EQ(strataCommDestroy(comm), strataSuccess);
    }
  }, /*destroy=*/false);
  unsetenv("STRATA_TIMEOUT_MS");
}

// Work queued on a host stream that throws becomes the stream's error; the process goes on.
TEST(HostStreams, AnExceptionBecomesTheStreamsError) {
  strata::HostStream stream;
  stream.enqueue([]() -> strata::Status { throw std::runtime_error("boom"); });
  stream.enqueue([]() -> strata::Status { throw std::bad_alloc(); });
  strata::Status first = stream.synchronize();
  EXPECT_EQ(first.code(), strataInternalError);
  EXPECT_NE(first.message().find("boom"), std::string::npos) << first.message();
  int ran = 0;
  stream.enqueue([&ran] { ++ran; return strata::Status::ok(); });
  EXPECT_TRUE(stream.synchronize().isOk());
  EXPECT_EQ(ran, 1);
}

// Hellos that are nearly right: one byte of the secret off (the last one: a compare that skipped
// it would let it in), the wrong kind, an out-of-range rank or stream, a bad magic or version.
std::vector<strata::WireHello> nearMisses(const strata::Secret& secret, strata::HelloKind kind, int rank, int nranks) {
  std::vector<strata::WireHello> hellos;
  strata::Secret offByOne = secret;
  offByOne[15] ^= 1;
  hellos.push_back(strata::makeHello(kind, offByOne, rank, nranks, 0));
  strata::Secret firstByte = secret;
  firstByte[0] ^= 0x80;
  hellos.push_back(strata::makeHello(kind, firstByte, rank, nranks, 0));
  auto other = kind == strata::HelloKind::Bootstrap ? strata::HelloKind::DataStream : strata::HelloKind::Bootstrap;
  hellos.push_back(strata::makeHello(other, secret, rank, nranks, 0));
  hellos.push_back(strata::makeHello(kind, secret, nranks, nranks, 0));   // rank out of range
  hellos.push_back(strata::makeHello(kind, secret, rank, nranks, 99));    // stream out of range
  hellos.push_back(strata::makeHello(kind, secret, -1, nranks, 0));
  strata::WireHello badMagic = strata::makeHello(kind, secret, rank, nranks, 0);
  badMagic.magic ^= 1;
  hellos.push_back(badMagic);
  strata::WireHello badVersion = strata::makeHello(kind, secret, rank, nranks, 0);
  badVersion.version = 99;
  hellos.push_back(badVersion);
  return hellos;
}

// True when the socket was closed without a byte in reply (waits up to a second).
bool closedWithoutReply(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 1000) <= 0) return false;
  char byte;
  return recv(fd, &byte, 1, MSG_DONTWAIT) <= 0;
}

// Strangers at the root port: silence, garbage, near-miss hellos. None may disturb the job, and
// every one that spoke is closed without a byte in reply.
TEST(ApiRanks, StrangersAtTheRootAreRefused) {
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  strataUniqueId id;
  ASSERT_EQ(strataGetUniqueId(&id), strataSuccess);
  auto contents = strata::decodeUniqueId(id);
  ASSERT_TRUE(contents.ok());
  strata::Deadline deadline(5000);
  auto silent = strata::connectWithRetry(contents.value().root, deadline);
  auto noisy = strata::connectWithRetry(contents.value().root, deadline);
  ASSERT_TRUE(silent.ok() && noisy.ok());
  char junk[64];
  std::memset(junk, 0x41, sizeof(junk));
  ASSERT_TRUE(strata::sendAll(noisy.value().fd(), junk, sizeof(junk), deadline).isOk());
  std::vector<strata::Socket> impostors;
  for (const strata::WireHello& hello : nearMisses(contents.value().secret, strata::HelloKind::Bootstrap, 0, 2)) {
    auto s = strata::connectWithRetry(contents.value().root, deadline);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(strata::sendAll(s.value().fd(), &hello, sizeof(hello), deadline).isOk());
    impostors.push_back(std::move(s.value()));
  }
  // The job itself.
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      strataComm_t comm;
      ASSERT_EQ(strataCommInitRank(&comm, 2, id, r), strataSuccess) << strataGetLastError(nullptr);
      int v = 1, sum = 0;
      EXPECT_EQ(strataAllReduce(&v, &sum, 1, strataInt32, strataSum, comm, nullptr), strataSuccess);
      EXPECT_EQ(sum, 2);
      strataCommDestroy(comm);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE(closedWithoutReply(noisy.value().fd()));
  for (size_t i = 0; i < impostors.size(); ++i) {
    EXPECT_TRUE(closedWithoutReply(impostors[i].fd())) << "near-miss hello " << i << " was not refused";
  }
}

// A caller with the job's secret but another job size cannot be part of the job, and the job
// cannot form: the root fails it at once instead of leaving the ranks to the timeout.
TEST(ApiRanks, DisagreeingJobSizeFailsTheJobAtOnce) {
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  setenv("STRATA_TIMEOUT_MS", "30000", 1);
  strataUniqueId id;
  ASSERT_EQ(strataGetUniqueId(&id), strataSuccess);
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      strataComm_t comm = nullptr;
      if (strataCommInitRank(&comm, r == 0 ? 2 : 3, id, r) != strataSuccess) ++failed;
      if (comm != nullptr) strataCommDestroy(comm);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 2);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10)) << "the job waited for the timeout";
  unsetenv("STRATA_TIMEOUT_MS");
}

// 1,100 idle connections at the root of a process allowed 400 descriptors: the root keeps
// serving (oldest strangers dropped, EMFILE survived) and the job's ranks get in.
TEST(ApiRanks, FloodOfIdleStrangersCannotStopTheJob) {
  setenv("STRATA_SOCKET_IFNAME", "lo", 1);
  rlimit limit{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_max < 2048) GTEST_SKIP() << "needs a hard descriptor limit of 2048 for the flood (have " << limit.rlim_max << ")";
  const rlim_t hard = limit.rlim_max;
  limit.rlim_cur = 400;  // only the soft limit: the flooding child takes the hard one back
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &limit), 0);
  strataUniqueId id;
  ASSERT_EQ(strataGetUniqueId(&id), strataSuccess);
  auto root = strata::decodeUniqueId(id).value().root;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t flooder = fork();
  if (flooder == 0) {
    rlimit many{hard, hard};
    setrlimit(RLIMIT_NOFILE, &many);
    std::vector<int> idle;
    for (int i = 0; i < 1100; ++i) {
      int fd = socket(root.family(), SOCK_STREAM, 0);
      if (fd >= 0 && connect(fd, reinterpret_cast<const sockaddr*>(&root.storage), root.length) == 0) idle.push_back(fd);
    }
    char n = idle.size() >= 1000 ? 'y' : 'n';
    if (write(ready[1], &n, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char connected = 0;
  ASSERT_EQ(read(ready[0], &connected, 1), 1);
  EXPECT_EQ(connected, 'y') << "the flood did not get its connections in";
  auto start = std::chrono::steady_clock::now();
  runApiRanks(2, [&](int, strataComm_t comm) {
    int v = 1, sum = 0;
    EXPECT_EQ(strataAllReduce(&v, &sum, 1, strataInt32, strataSum, comm, nullptr), strataSuccess);
    EXPECT_EQ(sum, 2);
  });
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  kill(flooder, SIGKILL);
  waitpid(flooder, nullptr, 0);
  close(ready[0]);
  close(ready[1]);
}

// The data-port acceptor refuses the same strangers while real callers get through.
TEST(Handshake, DataPortRefusesStrangers) {
  auto lo = strata::resolveAddress("127.0.0.1", 0);
  strata::SocketAddress bound;
  auto listener = strata::listenOn(lo.value(), &bound);
  ASSERT_TRUE(listener.ok());
  strata::Secret secret = strata::secretFromText("job");
  strata::Deadline deadline(5000);
  std::vector<strata::Socket> strangers;
  for (const strata::WireHello& hello : nearMisses(secret, strata::HelloKind::DataStream, 1, 2)) {
    auto s = strata::connectWithRetry(bound, deadline);
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(strata::sendAll(s.value().fd(), &hello, sizeof(hello), deadline).isOk());
    strangers.push_back(std::move(s.value()));
  }
  auto friendly = strata::connectWithRetry(bound, deadline);
  strata::WireHello good = strata::makeHello(strata::HelloKind::DataStream, secret, 1, 2, 0);
  ASSERT_TRUE(strata::sendAll(friendly.value().fd(), &good, sizeof(good), deadline).isOk());
  strata::HandshakeAcceptor acceptor(listener.value().fd(), [&](const strata::WireHello& h) {
    return strata::helloIsValid(h, strata::HelloKind::DataStream, secret, 2, 1) ? strata::HandshakeAcceptor::accepted()
                                                                                 : strata::HandshakeAcceptor::refused();
  });
  auto accepted = acceptor.acceptAll(1, deadline, "test");
  ASSERT_TRUE(accepted.ok()) << accepted.status().message();
  EXPECT_EQ(accepted.value()[0].hello.rank, 1);
  EXPECT_FALSE(acceptor.acceptAll(1, strata::Deadline(300), "test").ok()) << "no stranger may count";
  for (size_t i = 0; i < strangers.size(); ++i) {
    EXPECT_TRUE(closedWithoutReply(strangers[i].fd())) << "near-miss hello " << i << " was not refused";
  }
}

}  // namespace
