// The conformance harness: NCCL's sequence against libnccl-net-strata.so between two processes
// (init, devices, getProperties, listen, polled connect/accept, regMr, isend/irecv with up to the
// limit in flight, test, iflush, deregMr, close, finalize), every version of the table, and the
// ways NCCL or a broken peer can get it wrong. No GPU: the plugin offers host memory.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <type_traits>
#include <vector>

#include "plugins/nccl_net/wire_format.h"
#include "tests/plugin/plugin_harness.h"

namespace plugin_test {
namespace {

constexpr size_t kSlack = 13;  // receives are this much larger than the sends: NCCL allows it

TEST(NetPluginLoading, NcclFindsEveryVersionByName) {
  const PluginLibrary& p = plugin();
  ASSERT_NE(p.library, nullptr);
  ASSERT_NE(p.v11, nullptr);
  ASSERT_NE(p.v10, nullptr);
  ASSERT_NE(p.v9, nullptr);
  ASSERT_NE(p.v8, nullptr);
  for (const char* name : {p.v11->name, p.v10->name, p.v9->name, p.v8->name}) EXPECT_STREQ(name, "Strata");
  EXPECT_NE(p.v11->finalize, nullptr);
  EXPECT_NE(p.v11->setNetAttr, nullptr);
  EXPECT_EQ(dlsym(p.library, "ncclNetPlugin_v7"), nullptr) << "only v8..v11 are offered";
  // Nothing of Strata's own leaks out of the plugin (it may share a process with libstrata.so).
  EXPECT_EQ(dlsym(p.library, "strataAllReduce"), nullptr);
}

TEST(NetPluginLoading, PropertiesDescribeAHostMemoryNic) {
  Endpoint e = initV11();
  int ndev = 0;
  ASSERT_EQ(e.net->devices(&ndev), ncclSuccess);
  ASSERT_GT(ndev, 0);
  ncclNetProperties_v11_t props;
  std::memset(&props, 0xff, sizeof(props));
  ASSERT_EQ(e.net->getProperties(0, &props), ncclSuccess);
  ASSERT_NE(props.name, nullptr);
  EXPECT_GT(std::strlen(props.name), 0u);
  EXPECT_EQ(props.ptrSupport, NCCL_PTR_HOST);
  EXPECT_EQ(props.maxRecvs, 8);
  EXPECT_GT(props.speed, 0);
  EXPECT_GE(props.latency, 0.0f);
  EXPECT_GT(props.maxComms, 0);
  EXPECT_EQ(props.netDeviceType, NCCL_NET_DEVICE_HOST);
  EXPECT_EQ(props.vProps.ndevs, 1);
  EXPECT_GE(props.maxP2pBytes, size_t{1} << 20);
  EXPECT_EQ(props.maxMultiRequestSize, 1);
  EXPECT_NE(e.net->getProperties(ndev, &props), ncclSuccess);
  EXPECT_NE(e.net->getProperties(-1, &props), ncclSuccess);
  EXPECT_EQ(e.net->finalize(e.ctx), ncclSuccess);
}

// Sizes 0 B to 64 MiB, each into a receive kSlack bytes larger: the size test() reports, the bytes,
// and the slack left untouched.
TEST(NetPluginTransfers, EverySizeArrivesWhole) {
  const std::vector<size_t> sizes = {0, 1, 7, 1023, 4096, 65537, (1u << 20) + 3, 4u << 20, 64u << 20};
  runPair(
      [&](Channel& channel) {  // receiver
        ReceivingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* recvComm = end.comm;
        std::vector<unsigned char> buffer(sizes.back() + kSlack);
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(recvComm, buffer.data(), buffer.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        for (size_t i = 0; i < sizes.size(); ++i) {
          std::fill(buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(sizes[i] + kSlack), 0xA5);
          void* data = buffer.data();
          size_t capacity = sizes[i] + kSlack;
          int tag = 5;
          void* request = irecvPosted(e, recvComm, 1, &data, &capacity, &tag, &mhandle);
          int received = -1;
          ASSERT_EQ(testUntilDone(e.net, request, &received), ncclSuccess);
          EXPECT_EQ(received, static_cast<int>(sizes[i]));
          EXPECT_TRUE(matchesPattern(buffer.data(), sizes[i], static_cast<int>(i))) << sizes[i] << " bytes";
          for (size_t k = 0; k < kSlack; ++k) ASSERT_EQ(buffer[sizes[i] + k], 0xA5) << "written past the message";
        }
        void* flush = reinterpret_cast<void*>(1);
        int flushSize = 4;
        void* data = buffer.data();
        EXPECT_EQ(e.net->iflush(recvComm, 1, &data, &flushSize, &mhandle, &flush), ncclSuccess);
        EXPECT_EQ(flush, nullptr) << "host memory has nothing to flush";
        EXPECT_EQ(e.net->deregMr(recvComm, mhandle), ncclSuccess);
      },
      [&](Channel& channel) {  // sender
        SendingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* sendComm = end.comm;
        std::vector<unsigned char> buffer(sizes.back());
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(sendComm, buffer.data(), buffer.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        for (size_t i = 0; i < sizes.size(); ++i) {
          fillPattern(buffer, sizes[i], static_cast<int>(i));
          void* request = isendPosted(e, sendComm, buffer.data(), sizes[i], 5, mhandle);
          int sent = -1;
          ASSERT_EQ(testUntilDone(e.net, request, &sent), ncclSuccess);
          EXPECT_EQ(sent, static_cast<int>(sizes[i]));
        }
        EXPECT_EQ(e.net->deregMr(sendComm, mhandle), ncclSuccess);
      });
}

// NCCL keeps up to NCCL_NET_MAX_REQUESTS receive groups and 32 × maxRecvs sends in flight per
// comm; one more is refused with a null request (NCCL retries), never an error. A send waits for
// a receive the receiver announced: before any, isend refuses too.
TEST(NetPluginTransfers, RequestsInFlightUpToTheLimit) {
  constexpr int kGroups = NCCL_NET_MAX_REQUESTS;
  constexpr int kSends = kGroups * 8;
  constexpr size_t kBytes = 3000;
  runPair(
      [&](Channel& channel) {
        ReceivingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* recvComm = end.comm;
        channel.awaitSignal();  // the sender found isend refused while nothing was posted
        std::vector<unsigned char> buffer(kSends * kBytes);
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(recvComm, buffer.data(), buffer.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        std::vector<void*> requests;
        for (int g = 0; g < kGroups; ++g) {
          void* data[8];
          size_t capacity[8];
          int tags[8];
          void* mhandles[8];
          for (int i = 0; i < 8; ++i) {
            data[i] = buffer.data() + static_cast<size_t>(g * 8 + i) * kBytes;
            capacity[i] = kBytes;
            tags[i] = 0;  // one sender: the slots fill in order
            mhandles[i] = mhandle;
          }
          void* request = nullptr;
          ASSERT_EQ(e.net->irecv(recvComm, 8, data, capacity, tags, mhandles, nullptr, &request), ncclSuccess);
          ASSERT_NE(request, nullptr) << "receive group " << g << " of " << kGroups << " refused";
          requests.push_back(request);
        }
        void* data = buffer.data();
        size_t capacity = kBytes;
        int tag = 0;
        void* extra = reinterpret_cast<void*>(0x2);
        ASSERT_EQ(e.net->irecv(recvComm, 1, &data, &capacity, &tag, &mhandle, nullptr, &extra), ncclSuccess);
        EXPECT_EQ(extra, nullptr) << "a receive beyond NCCL_NET_MAX_REQUESTS must come back null";
        channel.signal();
        for (void* request : requests) ASSERT_EQ(testUntilDone(e.net, request, nullptr), ncclSuccess);
        for (int i = 0; i < kSends; ++i) {
          ASSERT_TRUE(matchesPattern(buffer.data() + static_cast<size_t>(i) * kBytes, kBytes, i)) << "message " << i;
        }
      },
      [&](Channel& channel) {
        SendingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* sendComm = end.comm;
        std::vector<unsigned char> all(kSends * kBytes);
        for (int i = 0; i < kSends; ++i) {
          std::vector<unsigned char> one;
          fillPattern(one, kBytes, i);
          std::memcpy(all.data() + static_cast<size_t>(i) * kBytes, one.data(), kBytes);
        }
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(sendComm, all.data(), all.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        void* early = reinterpret_cast<void*>(0x2);
        ASSERT_EQ(e.net->isend(sendComm, all.data(), kBytes, 0, mhandle, nullptr, &early), ncclSuccess);
        EXPECT_EQ(early, nullptr) << "a send before any receive was announced must come back null";
        channel.signal();
        channel.awaitSignal();  // every receive group is posted
        std::vector<void*> requests;
        for (int i = 0; i < kSends; ++i) {
          requests.push_back(isendPosted(e, sendComm, all.data() + static_cast<size_t>(i) * kBytes, kBytes, 0, mhandle));
          ASSERT_NE(requests.back(), nullptr) << "send " << i << " of " << kSends << " refused";
        }
        void* extra = reinterpret_cast<void*>(0x2);
        ASSERT_EQ(e.net->isend(sendComm, all.data(), kBytes, 0, mhandle, nullptr, &extra), ncclSuccess);
        EXPECT_EQ(extra, nullptr) << "a send beyond 32 x maxRecvs must come back null";
        for (void* request : requests) ASSERT_EQ(testUntilDone(e.net, request, nullptr), ncclSuccess);
      });
}

// NCCL's shared comms: several ranks send through one connection, each with its tag, each at its
// own pace, into groups of one slot per sender. A sender that runs ahead is held back (null
// request) until the oldest group is complete, so nothing lands in a group it does not belong to.
TEST(NetPluginTransfers, SendersSharingAConnectionCannotRunAhead) {
  runPair(
      [&](Channel& channel) {
        ReceivingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* recvComm = end.comm;
        int values[2][2] = {};  // [group][slot]
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(recvComm, values, sizeof(values), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        void* requests[2];
        for (int g = 0; g < 2; ++g) {
          void* data[2] = {&values[g][0], &values[g][1]};
          size_t capacity[2] = {sizeof(int), sizeof(int)};
          int tags[2] = {10, 20};  // sender ranks 10 and 20
          void* mhandles[2] = {mhandle, mhandle};
          requests[g] = irecvPosted(e, recvComm, 2, data, capacity, tags, mhandles);
        }
        channel.signal();
        for (void* request : requests) ASSERT_EQ(testUntilDone(e.net, request, nullptr), ncclSuccess);
        EXPECT_EQ(values[0][0], 100);  // rank 10's step 0
        EXPECT_EQ(values[0][1], 200);  // rank 20's step 0
        EXPECT_EQ(values[1][0], 101);
        EXPECT_EQ(values[1][1], 201);
      },
      [&](Channel& channel) {
        SendingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* sendComm = end.comm;
        int steps[4] = {100, 101, 200, 201};
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(sendComm, steps, sizeof(steps), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        channel.awaitSignal();
        usleep(100000);  // both announcements are here
        std::vector<void*> requests;
        requests.push_back(isendPosted(e, sendComm, &steps[0], sizeof(int), 10, mhandle));  // rank 10, step 0
        void* ahead = reinterpret_cast<void*>(0x2);
        ASSERT_EQ(e.net->isend(sendComm, &steps[1], sizeof(int), 10, mhandle, nullptr, &ahead), ncclSuccess);
        EXPECT_EQ(ahead, nullptr) << "rank 10's step 1 must wait for rank 20's step 0";
        requests.push_back(isendPosted(e, sendComm, &steps[2], sizeof(int), 20, mhandle));  // rank 20, step 0
        requests.push_back(isendPosted(e, sendComm, &steps[1], sizeof(int), 10, mhandle));  // now rank 10, step 1
        requests.push_back(isendPosted(e, sendComm, &steps[3], sizeof(int), 20, mhandle));
        for (void* request : requests) ASSERT_EQ(testUntilDone(e.net, request, nullptr), ncclSuccess);
      });
}

// One irecv of 8 buffers: eight messages sent in another order than the tags were posted, each
// landing in the slot of its tag, with its own size.
TEST(NetPluginGroupedReceives, TagsPickTheSlots) {
  const int sendOrder[8] = {6, 2, 7, 0, 4, 1, 5, 3};
  auto bytesOf = [](int tag) { return static_cast<size_t>(1000 * tag + 17); };
  runPair(
      [&](Channel& channel) {
        ReceivingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* recvComm = end.comm;
        std::vector<std::vector<unsigned char>> buffers(8, std::vector<unsigned char>(16384, 0));
        void* data[8];
        size_t capacity[8];
        int tags[8];
        void* mhandles[8];
        for (int i = 0; i < 8; ++i) {
          data[i] = buffers[i].data();
          capacity[i] = buffers[i].size();
          tags[i] = 100 + i;
          ASSERT_EQ(e.net->regMr(recvComm, data[i], capacity[i], NCCL_PTR_HOST, &mhandles[i]), ncclSuccess);
        }
        void* request = irecvPosted(e, recvComm, 8, data, capacity, tags, mhandles);
        int sizes[8] = {};
        ASSERT_EQ(testUntilDone(e.net, request, sizes), ncclSuccess);
        for (int i = 0; i < 8; ++i) {
          EXPECT_EQ(sizes[i], static_cast<int>(bytesOf(i))) << "slot " << i;
          EXPECT_TRUE(matchesPattern(buffers[i].data(), bytesOf(i), i)) << "slot " << i;
          e.net->deregMr(recvComm, mhandles[i]);
        }
      },
      [&](Channel& channel) {
        SendingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* sendComm = end.comm;
        std::vector<std::vector<unsigned char>> buffers(8);
        std::vector<void*> requests;
        std::vector<void*> mhandles(8);
        for (int tag : sendOrder) {
          fillPattern(buffers[tag], bytesOf(tag), tag);
          ASSERT_EQ(e.net->regMr(sendComm, buffers[tag].data(), bytesOf(tag), NCCL_PTR_HOST, &mhandles[tag]),
                    ncclSuccess);
          requests.push_back(isendPosted(e, sendComm, buffers[tag].data(), bytesOf(tag), 100 + tag, mhandles[tag]));
        }
        for (void* request : requests) ASSERT_EQ(testUntilDone(e.net, request, nullptr), ncclSuccess);
        for (void* mhandle : mhandles) EXPECT_EQ(e.net->deregMr(sendComm, mhandle), ncclSuccess);
      });
}

// A message larger than the receive it lands in is an error from the receiver's irecv or test,
// and the buffer is left as it was.
TEST(NetPluginGroupedReceives, AMessageLargerThanItsReceiveIsAnError) {
  constexpr size_t kSent = 4096, kPosted = 4095;
  runPair(
      [&](Channel& channel) {
        ReceivingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* recvComm = end.comm;
        std::vector<unsigned char> buffer(kPosted + kSlack, 0x5A);
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(recvComm, buffer.data(), buffer.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        void* data = buffer.data();
        size_t capacity = kPosted;
        int tag = 1;
        void* request = nullptr;
        // irecv (which starts receiving at once) or test reports it.
        ncclResult_t result = e.net->irecv(recvComm, 1, &data, &capacity, &tag, &mhandle, nullptr, &request);
        if (result == ncclSuccess) {
          ASSERT_NE(request, nullptr);
          result = testUntilDone(e.net, request, nullptr);
        }
        EXPECT_EQ(result, ncclInternalError);
        EXPECT_TRUE(std::all_of(buffer.begin(), buffer.end(), [](unsigned char c) { return c == 0x5A; }));
        channel.signal();
      },
      [&](Channel& channel) {
        SendingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* sendComm = end.comm;
        std::vector<unsigned char> buffer(kSent, 1);
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(sendComm, buffer.data(), buffer.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        void* request = isendPosted(e, sendComm, buffer.data(), kSent, 1, mhandle);
        // Keep the send moving (as NCCL's proxy thread does) until the receiver has refused it.
        int done = 0;
        auto start = std::chrono::steady_clock::now();
        while (!channel.signalled() && std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
          if (!done && e.net->test(request, &done, nullptr) != ncclSuccess) done = 1;
        }
      });
}

// A message whose tag the oldest receive does not wait for is not sent at all: isend refuses it
// (null request, no error) for as long as that is so, and the receive stays untouched.
TEST(NetPluginGroupedReceives, ATagNoReceiveWaitsForIsHeldBack) {
  runPair(
      [&](Channel& channel) {
        ReceivingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* recvComm = end.comm;
        int value = -1;
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(recvComm, &value, sizeof(value), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        void* data = &value;
        size_t capacity = sizeof(value);
        int tag = 1;
        void* request = irecvPosted(e, recvComm, 1, &data, &capacity, &tag, &mhandle);
        channel.signal();
        int done = 0;  // the sender tries tag 99 for a while
        ASSERT_EQ(testUntilSignalled(e.net, request, channel, &done), ncclSuccess);
        EXPECT_FALSE(done);
        EXPECT_EQ(value, -1);
        channel.signal();
        ASSERT_EQ(testUntilDone(e.net, request, nullptr), ncclSuccess);
        EXPECT_EQ(value, 7);
      },
      [&](Channel& channel) {
        SendingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* sendComm = end.comm;
        int values[2] = {99, 7};
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(sendComm, values, sizeof(values), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        channel.awaitSignal();
        auto start = std::chrono::steady_clock::now();
        while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(200)) {
          void* request = nullptr;
          ASSERT_EQ(e.net->isend(sendComm, &values[0], sizeof(int), 99, mhandle, nullptr, &request), ncclSuccess);
          ASSERT_EQ(request, nullptr) << "tag 99 was sent while the receiver waits for tag 1";
        }
        channel.signal();
        channel.awaitSignal();
        ASSERT_EQ(testUntilDone(e.net, isendPosted(e, sendComm, &values[1], sizeof(int), 1, mhandle), nullptr), ncclSuccess);
      });
}

// One listen comm, three connects (each with its own copy of the handle, as NCCL gives each
// connection its own): three receive comms, each carrying its own connection's messages.
TEST(NetPluginConnections, OneListenAcceptsSeveralConnects) {
  constexpr int kConnections = 3;
  runPair(
      [&](Channel& channel) {
        Endpoint e = initV11();
        void* listenComm = listenAndPublish(e, channel);
        std::vector<void*> comms;
        for (int c = 0; c < kConnections; ++c) comms.push_back(acceptPolling(e, listenComm));
        std::vector<bool> seen(kConnections, false);
        for (void* comm : comms) {
          ASSERT_NE(comm, nullptr);
          unsigned char buffer[64] = {};
          void* mhandle = nullptr;
          ASSERT_EQ(e.net->regMr(comm, buffer, sizeof(buffer), NCCL_PTR_HOST, &mhandle), ncclSuccess);
          void* data = buffer;
          size_t capacity = sizeof(buffer);
          int tag = 0;
          void* request = irecvPosted(e, comm, 1, &data, &capacity, &tag, &mhandle);
          int size = 0;
          ASSERT_EQ(testUntilDone(e.net, request, &size), ncclSuccess);
          ASSERT_EQ(size, 1);
          ASSERT_LT(buffer[0], kConnections);
          EXPECT_FALSE(seen[buffer[0]]) << "two comms carried connection " << int(buffer[0]);
          seen[buffer[0]] = true;
          e.net->deregMr(comm, mhandle);
          e.net->closeRecv(comm);
        }
        e.net->closeListen(listenComm);
        e.net->finalize(e.ctx);
      },
      [&](Channel& channel) {
        Endpoint e = initV11();
        char published[NCCL_NET_HANDLE_MAXSIZE];
        channel.receiveHandle(published);
        // All connections first, as NCCL sets up before it moves data (a send waits for the
        // receiver's posted receive, which comes once it has accepted them all).
        std::vector<void*> comms;
        for (int c = 0; c < kConnections; ++c) {
          char handle[NCCL_NET_HANDLE_MAXSIZE];
          std::memcpy(handle, published, sizeof(handle));
          comms.push_back(connectWith(e, handle));
          ASSERT_NE(comms.back(), nullptr);
        }
        for (int c = 0; c < kConnections; ++c) {
          void* comm = comms[static_cast<size_t>(c)];
          unsigned char id = static_cast<unsigned char>(c);
          void* mhandle = nullptr;
          ASSERT_EQ(e.net->regMr(comm, &id, 1, NCCL_PTR_HOST, &mhandle), ncclSuccess);
          ASSERT_EQ(testUntilDone(e.net, isendPosted(e, comm, &id, 1, 0, mhandle), nullptr), ncclSuccess);
          e.net->deregMr(comm, mhandle);
          e.net->closeSend(comm);
        }
        e.net->finalize(e.ctx);
      });
}

// Two NCCL communicators in one process: two contexts, each with its own connection, used
// interleaved; finalize of one leaves the other working.
TEST(NetPluginConnections, TwoContextsAtOnce) {
  runPair(
      [&](Channel& channel) {
        Endpoint a = initV11();
        Endpoint b = initV11();
        ASSERT_NE(a.ctx, b.ctx);
        void* listenA = listenAndPublish(a, channel);
        void* listenB = listenAndPublish(b, channel);
        void* commA = acceptPolling(a, listenA);
        void* commB = acceptPolling(b, listenB);
        ASSERT_NE(commA, nullptr);
        ASSERT_NE(commB, nullptr);
        int valueA = 0, valueB = 0;
        void *mA = nullptr, *mB = nullptr;
        a.net->regMr(commA, &valueA, sizeof(int), NCCL_PTR_HOST, &mA);
        b.net->regMr(commB, &valueB, sizeof(int), NCCL_PTR_HOST, &mB);
        void* dataA = &valueA;
        void* dataB = &valueB;
        size_t size = sizeof(int);
        int tag = 0;
        void* requestB = irecvPosted(b, commB, 1, &dataB, &size, &tag, &mB);
        void* requestA = irecvPosted(a, commA, 1, &dataA, &size, &tag, &mA);
        // Both tested in turn, as two NCCL communicators' proxies would (each context has its
        // own progress: over ucx, its own worker).
        int doneA = 0, doneB = 0;
        for (auto t = std::chrono::steady_clock::now();
             !(doneA && doneB) && std::chrono::steady_clock::now() - t < std::chrono::seconds(20);) {
          if (!doneB) {
            ASSERT_EQ(b.net->test(requestB, &doneB, nullptr), ncclSuccess);
          }
          if (!doneA) {
            ASSERT_EQ(a.net->test(requestA, &doneA, nullptr), ncclSuccess);
          }
        }
        EXPECT_TRUE(doneA && doneB);
        EXPECT_EQ(valueA, 111);
        EXPECT_EQ(valueB, 222);
        a.net->deregMr(commA, mA);
        b.net->deregMr(commB, mB);
        a.net->closeRecv(commA);
        b.net->closeRecv(commB);
        a.net->closeListen(listenA);
        b.net->closeListen(listenB);
        EXPECT_EQ(a.net->finalize(a.ctx), ncclSuccess);
        EXPECT_EQ(b.net->finalize(b.ctx), ncclSuccess);
        EXPECT_NE(a.net->finalize(a.ctx), ncclSuccess) << "a second finalize of one context";
      },
      [&](Channel& channel) {
        Endpoint a = initV11();
        Endpoint b = initV11();
        void* commA = connectFromPeer(a, channel);
        void* commB = connectFromPeer(b, channel);
        ASSERT_NE(commA, nullptr);
        ASSERT_NE(commB, nullptr);
        int valueA = 111, valueB = 222;
        void *mA = nullptr, *mB = nullptr;
        a.net->regMr(commA, &valueA, sizeof(int), NCCL_PTR_HOST, &mA);
        b.net->regMr(commB, &valueB, sizeof(int), NCCL_PTR_HOST, &mB);
        void* requestA = nullptr;
        void* requestB = nullptr;
        int doneA = 0, doneB = 0;
        for (auto t = std::chrono::steady_clock::now();
             !(doneA && doneB) && std::chrono::steady_clock::now() - t < std::chrono::seconds(20);) {
          if (requestA == nullptr) {
            ASSERT_EQ(a.net->isend(commA, &valueA, sizeof(int), 0, mA, nullptr, &requestA), ncclSuccess);
          } else if (!doneA) {
            ASSERT_EQ(a.net->test(requestA, &doneA, nullptr), ncclSuccess);
          }
          if (requestB == nullptr) {
            ASSERT_EQ(b.net->isend(commB, &valueB, sizeof(int), 0, mB, nullptr, &requestB), ncclSuccess);
          } else if (!doneB) {
            ASSERT_EQ(b.net->test(requestB, &doneB, nullptr), ncclSuccess);
          }
        }
        EXPECT_TRUE(doneA && doneB);
        a.net->deregMr(commA, mA);
        b.net->deregMr(commB, mB);
        a.net->closeSend(commA);
        b.net->closeSend(commB);
        a.net->finalize(a.ctx);
        b.net->finalize(b.ctx);
      });
}

// Closing with requests in flight is clean on both sides: the closer's requests become unknown
// (an error from test, never a crash), and the other side's pending receives fail with an error
// instead of waiting forever.
TEST(NetPluginFailures, CloseWithRequestsInFlight) {
  // Messages larger than any socket buffer: a close right after posting them is always mid-flight.
  constexpr size_t kBytes = 256u << 20;
  constexpr int kMessages = 2;
  runPair(
      [&](Channel& channel) {
        ReceivingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* recvComm = end.comm;
        std::vector<unsigned char> buffer(kBytes);
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(recvComm, buffer.data(), buffer.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        // As in PeerKilledMidTransferIsAnError: a small message wires both ends up, then the
        // receives are posted and nothing drains until the sender has closed (a draining receiver
        // let the sender's isend move a whole message before its close).
        void* data = buffer.data();
        size_t capacity = 8;
        int tag = 1;
        ASSERT_EQ(testUntilDone(e.net, irecvPosted(e, recvComm, 1, &data, &capacity, &tag, &mhandle), nullptr), ncclSuccess);
        std::vector<void*> requests;
        for (int i = 0; i < kMessages; ++i) {
          capacity = kBytes;
          tag = 0;
          requests.push_back(irecvPosted(e, recvComm, 1, &data, &capacity, &tag, &mhandle));
        }
        int unused = 0;
        for (auto start = std::chrono::steady_clock::now();
             std::chrono::steady_clock::now() - start < std::chrono::milliseconds(50);) {
          ASSERT_EQ(e.net->test(requests.front(), &unused, nullptr), ncclSuccess);  // the announcements go out
        }
        channel.signal();
        channel.awaitSignal();  // the sender has closed
        ncclResult_t last = ncclSuccess;
        for (void* request : requests) {
          last = testUntilDone(e.net, request, nullptr);
          if (last != ncclSuccess) break;
        }
        EXPECT_EQ(last, ncclRemoteError) << "receives from a closed sender must fail, not hang";
        e.net->deregMr(recvComm, mhandle);
      },
      [&](Channel& channel) {
        SendingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* sendComm = end.comm;
        std::vector<unsigned char> buffer(kBytes, 3);
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(sendComm, buffer.data(), buffer.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        ASSERT_EQ(testUntilDone(e.net, isendPosted(e, sendComm, buffer.data(), 8, 1, mhandle), nullptr), ncclSuccess);
        channel.awaitSignal();  // the receives are posted, and the receiver is not draining
        std::vector<void*> requests;
        for (int i = 0; i < kMessages; ++i) requests.push_back(isendPosted(e, sendComm, buffer.data(), kBytes, 0, mhandle));
        ASSERT_NE(requests.back(), nullptr);
        EXPECT_EQ(e.net->deregMr(sendComm, mhandle), ncclSuccess);
        EXPECT_EQ(e.net->closeSend(sendComm), ncclSuccess);
        end.comm = nullptr;
        channel.signal();
        int done = 0;
        EXPECT_EQ(e.net->test(requests.back(), &done, nullptr), ncclInternalError) << "a closed comm's request";
        EXPECT_EQ(e.net->regMr(sendComm, buffer.data(), 8, NCCL_PTR_HOST, &mhandle), ncclInternalError) << "a closed comm";
      });
}

// A sender killed in the middle of a 256 MiB message: the receiver's test() returns an error
// within seconds.
TEST(NetPluginFailures, PeerKilledMidTransferIsAnError) {
  constexpr size_t kBytes = 256u << 20;
  // The message must still be under way when the sender dies, whatever the timing: a progress
  // call that meets a draining receiver moves all 256 MiB at once (a version that let them race
  // finished first in 5 of 40 runs). So: a small message first wires both ends up (ucx connects
  // its endpoints only while both progress); then the receiver posts and stops draining, the
  // sender posts, progresses a little (filling the sockets, or starting ucx's rendezvous, which
  // needs the receiver) and stops for good; only then does the receiver drain, and the kill
  // lands mid-message.
  runPair(
      [&](Channel& channel) {
        ReceivingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* recvComm = end.comm;
        std::vector<unsigned char> buffer(kBytes);
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(recvComm, buffer.data(), buffer.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        void* data = buffer.data();
        size_t capacity = 8;
        int tag = 1;
        ASSERT_EQ(testUntilDone(e.net, irecvPosted(e, recvComm, 1, &data, &capacity, &tag, &mhandle), nullptr), ncclSuccess);
        capacity = kBytes;
        tag = 0;
        void* request = irecvPosted(e, recvComm, 1, &data, &capacity, &tag, &mhandle);
        int done = 0;
        for (auto start = std::chrono::steady_clock::now();
             std::chrono::steady_clock::now() - start < std::chrono::milliseconds(50);) {
          ASSERT_EQ(e.net->test(request, &done, nullptr), ncclSuccess);  // the announcement goes out
        }
        channel.signal();
        channel.awaitSignal();  // the sender has stopped
        for (int i = 0; i < 100 && !done; ++i) ASSERT_EQ(e.net->test(request, &done, nullptr), ncclSuccess);
        ASSERT_FALSE(done);
        killChild();
        auto start = std::chrono::steady_clock::now();
        EXPECT_EQ(testUntilDone(e.net, request, nullptr), ncclRemoteError);
        EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
      },
      [&](Channel& channel) {
        SendingEnd end(channel);
        ASSERT_NE(end.comm, nullptr);
        const Endpoint& e = end.e;
        void* sendComm = end.comm;
        std::vector<unsigned char> buffer(kBytes, 9);
        void* mhandle = nullptr;
        ASSERT_EQ(e.net->regMr(sendComm, buffer.data(), buffer.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
        ASSERT_EQ(testUntilDone(e.net, isendPosted(e, sendComm, buffer.data(), 8, 1, mhandle), nullptr), ncclSuccess);
        channel.awaitSignal();  // the receiver has posted and stopped draining
        void* request = isendPosted(e, sendComm, buffer.data(), kBytes, 0, mhandle);
        int done = 0;
        for (int i = 0; i < 3 && !done; ++i) {
          ASSERT_EQ(e.net->test(request, &done, nullptr), ncclSuccess);
          usleep(5000);
        }
        ASSERT_FALSE(done);
        channel.signal();
        sleep(60);  // killed long before
      });
}

// Misuse NCCL could commit (or a corrupt pointer): error codes, never a crash.
TEST(NetPluginMisuse, BadPointersAndArgumentsReturnErrors) {
  Endpoint e = initV11();
  ncclNet_v11_t* net = e.net;
  int stackObject = 0;
  void* bogus = &stackObject;
  int done = 0;
  void* request = nullptr;
  void* comm = nullptr;
  void* mhandle = nullptr;
  EXPECT_EQ(net->test(nullptr, &done, nullptr), ncclInternalError);
  EXPECT_EQ(net->test(bogus, &done, nullptr), ncclInternalError);
  EXPECT_EQ(net->isend(bogus, &stackObject, 4, 0, bogus, nullptr, &request), ncclInternalError);
  EXPECT_EQ(net->irecv(bogus, 1, &bogus, nullptr, nullptr, &bogus, nullptr, &request), ncclInternalError);
  EXPECT_EQ(net->regMr(bogus, &stackObject, 4, NCCL_PTR_HOST, &mhandle), ncclInternalError);
  EXPECT_EQ(net->closeSend(bogus), ncclInternalError);
  EXPECT_EQ(net->closeRecv(nullptr), ncclInternalError);
  EXPECT_EQ(net->closeListen(bogus), ncclInternalError);
  EXPECT_EQ(net->accept(bogus, &comm, nullptr), ncclInternalError);
  EXPECT_EQ(net->listen(bogus, 0, &stackObject, &comm), ncclInternalError) << "a context init() did not make";
  char handle[NCCL_NET_HANDLE_MAXSIZE] = {};
  EXPECT_EQ(net->listen(e.ctx, -1, handle, &comm), ncclInternalError);
  EXPECT_EQ(net->connect(e.ctx, 0, handle, &comm, nullptr), ncclInternalError) << "a handle of zeros";
  EXPECT_EQ(comm, nullptr);
  EXPECT_EQ(net->setNetAttr(bogus, nullptr), ncclInternalError);
  ncclNetAttr_v11_t attr{{-1, -1, -1, -1}, {-1, -1, -1, -1}, 0xffffffffu, 0xffffffffu, 0xffffffffu};
  EXPECT_EQ(net->setNetAttr(e.ctx, &attr), ncclSuccess);

  // A real connection to misuse: to ourselves, in one process (connect and accept interleaved).
  void* listenComm = nullptr;
  ASSERT_EQ(net->listen(e.ctx, 0, handle, &listenComm), ncclSuccess);
  char stale[NCCL_NET_HANDLE_MAXSIZE];
  std::memcpy(stale, handle, sizeof(stale));
  void* sendComm = nullptr;
  void* recvComm = nullptr;
  const auto connecting = std::chrono::steady_clock::now();
  while ((sendComm == nullptr || recvComm == nullptr) &&
         std::chrono::steady_clock::now() - connecting < std::chrono::seconds(20)) {
    if (sendComm == nullptr) {
      ASSERT_EQ(net->connect(e.ctx, 0, handle, &sendComm, nullptr), ncclSuccess);
    }
    if (recvComm == nullptr) {
      ASSERT_EQ(net->accept(listenComm, &recvComm, nullptr), ncclSuccess);
    }
  }
  ASSERT_NE(sendComm, nullptr);
  ASSERT_NE(recvComm, nullptr);
  // Garbage where this plugin's handle keeps connect's state between polls.
  std::memset(stale + offsetof(strata::nccl_net::ListenHandle, connector), 0x77, sizeof(uint64_t));
  EXPECT_EQ(net->connect(e.ctx, 0, stale, &comm, nullptr), ncclInternalError);

  std::vector<unsigned char> buffer(4096);
  EXPECT_EQ(net->regMr(sendComm, buffer.data(), buffer.size(), NCCL_PTR_CUDA, &mhandle), ncclInternalError);
  EXPECT_EQ(net->regMrDmaBuf(sendComm, buffer.data(), buffer.size(), NCCL_PTR_DMABUF, 0, 3, &mhandle),
            ncclInternalError);
  ASSERT_EQ(net->regMr(sendComm, buffer.data(), buffer.size(), NCCL_PTR_HOST, &mhandle), ncclSuccess);
  EXPECT_EQ(net->isend(sendComm, buffer.data(), 4096, 0, bogus, nullptr, &request), ncclInternalError)
      << "an unregistered memory handle";
  EXPECT_EQ(net->isend(sendComm, buffer.data() + 1, 4096, 0, mhandle, nullptr, &request), ncclInternalError)
      << "a send reaching past its registration";
  EXPECT_EQ(net->isend(recvComm, buffer.data(), 8, 0, mhandle, nullptr, &request), ncclInternalError)
      << "isend on a receive comm";
  void* data[9];
  size_t sizes[9];
  int tags[9];
  void* handles[9];
  for (int i = 0; i < 9; ++i) {
    data[i] = buffer.data();
    sizes[i] = 8;
    tags[i] = i;
    handles[i] = mhandle;
  }
  EXPECT_EQ(net->irecv(recvComm, 9, data, sizes, tags, handles, nullptr, &request), ncclInternalError)
      << "more buffers than maxRecvs";
  EXPECT_EQ(net->irecv(recvComm, 0, data, sizes, tags, handles, nullptr, &request), ncclInternalError);
  EXPECT_EQ(net->irecv(sendComm, 1, data, sizes, tags, handles, nullptr, &request), ncclInternalError)
      << "irecv on a send comm";
  EXPECT_EQ(net->deregMr(sendComm, mhandle), ncclSuccess);
  EXPECT_EQ(net->deregMr(sendComm, mhandle), ncclInternalError) << "a second deregMr";
  EXPECT_EQ(net->closeSend(sendComm), ncclSuccess);
  EXPECT_EQ(net->closeSend(sendComm), ncclInternalError) << "a second close";
  EXPECT_EQ(net->closeRecv(recvComm), ncclSuccess);
  EXPECT_EQ(net->closeListen(listenComm), ncclSuccess);
  EXPECT_EQ(net->finalize(e.ctx), ncclSuccess);
  EXPECT_EQ(net->finalize(e.ctx), ncclInternalError);
}

// The older tables NCCL falls back to: one exchange each, with their own size types.
template <typename Net, typename Size>
void exchangeThroughOlderTable(Net* net) {
  // Every poll below gives up (and the test fails) 20 s after it began.
  auto polling = [](std::chrono::steady_clock::time_point start) {
    return std::chrono::steady_clock::now() - start < std::chrono::seconds(20);
  };
  auto init = [&] {
    if constexpr (std::is_same_v<Net, ncclNet_v10_t>) {
      return net->init(testLogger, nullptr);
    } else {
      return net->init(testLogger);
    }
  };
  runPair(
      [&](Channel& channel) {
        ASSERT_EQ(init(), ncclSuccess);
        char handle[NCCL_NET_HANDLE_MAXSIZE] = {};
        void* listenComm = nullptr;
        ASSERT_EQ(net->listen(0, handle, &listenComm), ncclSuccess);
        channel.sendHandle(handle);
        void* recvComm = nullptr;
        for (auto t = std::chrono::steady_clock::now(); recvComm == nullptr && polling(t);) {
          ASSERT_EQ(net->accept(listenComm, &recvComm, nullptr), ncclSuccess);
        }
        ASSERT_NE(recvComm, nullptr);
        std::vector<unsigned char> a(5000), b(5000);
        void* ma = nullptr;
        void* mb = nullptr;
        ASSERT_EQ(net->regMr(recvComm, a.data(), a.size(), NCCL_PTR_HOST, &ma), ncclSuccess);
        ASSERT_EQ(net->regMr(recvComm, b.data(), b.size(), NCCL_PTR_HOST, &mb), ncclSuccess);
        void* data[2] = {a.data(), b.data()};
        Size sizes[2] = {5000, 5000};
        int tags[2] = {1, 2};
        void* mhandles[2] = {ma, mb};
        void* request = nullptr;
        for (auto t = std::chrono::steady_clock::now(); request == nullptr && polling(t);) {
          if constexpr (std::is_same_v<Net, ncclNet_v10_t>) {
            ASSERT_EQ(net->irecv(recvComm, 2, data, sizes, tags, mhandles, nullptr, &request), ncclSuccess);
          } else {
            ASSERT_EQ(net->irecv(recvComm, 2, data, sizes, tags, mhandles, &request), ncclSuccess);
          }
        }
        int done = 0;
        int received[2] = {};
        for (auto t = std::chrono::steady_clock::now(); !done && polling(t);) {
          ASSERT_EQ(net->test(request, &done, received), ncclSuccess);
        }
        ASSERT_TRUE(done);
        EXPECT_EQ(received[0], 4321);
        EXPECT_EQ(received[1], 17);
        EXPECT_TRUE(matchesPattern(a.data(), 4321, 1));
        EXPECT_TRUE(matchesPattern(b.data(), 17, 2));
        net->deregMr(recvComm, ma);
        net->deregMr(recvComm, mb);
        EXPECT_EQ(net->closeRecv(recvComm), ncclSuccess);
        EXPECT_EQ(net->closeListen(listenComm), ncclSuccess);
      },
      [&](Channel& channel) {
        ASSERT_EQ(init(), ncclSuccess);
        char handle[NCCL_NET_HANDLE_MAXSIZE];
        channel.receiveHandle(handle);
        void* sendComm = nullptr;
        for (auto t = std::chrono::steady_clock::now(); sendComm == nullptr && polling(t);) {
          if constexpr (std::is_same_v<Net, ncclNet_v10_t>) {
            ncclNetCommConfig_t config{-1};
            ASSERT_EQ(net->connect(0, &config, handle, &sendComm, nullptr), ncclSuccess);
          } else {
            ASSERT_EQ(net->connect(0, handle, &sendComm, nullptr), ncclSuccess);
          }
        }
        ASSERT_NE(sendComm, nullptr);
        std::vector<unsigned char> first, second;
        fillPattern(first, 17, 2);
        fillPattern(second, 4321, 1);
        void* m1 = nullptr;
        void* m2 = nullptr;
        ASSERT_EQ(net->regMr(sendComm, first.data(), first.size(), NCCL_PTR_HOST, &m1), ncclSuccess);
        ASSERT_EQ(net->regMr(sendComm, second.data(), second.size(), NCCL_PTR_HOST, &m2), ncclSuccess);
        void* requests[2] = {};
        for (auto t = std::chrono::steady_clock::now(); requests[0] == nullptr && polling(t);) {
          if constexpr (std::is_same_v<Net, ncclNet_v10_t>) {
            ASSERT_EQ(net->isend(sendComm, first.data(), Size(17), 2, m1, nullptr, &requests[0]), ncclSuccess);
          } else {
            ASSERT_EQ(net->isend(sendComm, first.data(), Size(17), 2, m1, &requests[0]), ncclSuccess);
          }
        }
        for (auto t = std::chrono::steady_clock::now(); requests[1] == nullptr && polling(t);) {
          if constexpr (std::is_same_v<Net, ncclNet_v10_t>) {
            ASSERT_EQ(net->isend(sendComm, second.data(), Size(4321), 1, m2, nullptr, &requests[1]), ncclSuccess);
          } else {
            ASSERT_EQ(net->isend(sendComm, second.data(), Size(4321), 1, m2, &requests[1]), ncclSuccess);
          }
        }
        for (void* request : requests) {
          int done = 0;
          for (auto t = std::chrono::steady_clock::now(); !done && polling(t);) {
            ASSERT_EQ(net->test(request, &done, nullptr), ncclSuccess);
          }
          ASSERT_TRUE(done);
        }
        net->deregMr(sendComm, m1);
        net->deregMr(sendComm, m2);
        EXPECT_EQ(net->closeSend(sendComm), ncclSuccess);
      });
}

TEST(NetPluginOlderVersions, V10Exchange) {
  inFreshProcess([] { exchangeThroughOlderTable<ncclNet_v10_t, size_t>(plugin().v10); });
}
TEST(NetPluginOlderVersions, V9Exchange) {
  inFreshProcess([] { exchangeThroughOlderTable<ncclNet_v9_t, size_t>(plugin().v9); });
}
TEST(NetPluginOlderVersions, V8Exchange) {
  inFreshProcess([] { exchangeThroughOlderTable<ncclNet_v8_t, int>(plugin().v8); });
}

TEST(NetPluginOlderVersions, V8PropertiesAreTheShortLayout) { inFreshProcess([] {
  ASSERT_EQ(plugin().v8->init(testLogger), ncclSuccess);
  // A v8 caller's struct is 64 bytes: the plugin must not write past it.
  struct {
    ncclNetProperties_v8_t props;
    unsigned char guard[64];
  } v8;
  std::memset(&v8, 0xEE, sizeof(v8));
  ASSERT_EQ(plugin().v8->getProperties(0, &v8.props), ncclSuccess);
  EXPECT_EQ(v8.props.maxRecvs, 8);
  EXPECT_EQ(v8.props.ptrSupport, NCCL_PTR_HOST);
  for (unsigned char c : v8.guard) ASSERT_EQ(c, 0xEE);
}); }

}  // namespace
}  // namespace plugin_test
