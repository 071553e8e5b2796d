// What a caller of the device path relies on, beyond correct results (mp_collectives checks
// those): run by strata-run with the fake device module (STRATA_DEVICE_MODULE, STRATA_TEST_CUDART;
// STRATA_FAKE_DEVICES=2).
//   - a call on device memory returns before its stream has run it, and completes in stream order;
//   - calls on two streams run in call order on every rank, even when the first call's stream
//     reaches it last (else ranks would pair different calls); a host-memory call after a queued
//     device-memory one runs after it;
//   - the NULL stream is the runtime's default stream;
//   - bad arguments fail at once with a message naming them: host and device buffers mixed, a
//     strataStream_t with device buffers, a device stream with host buffers, another device's
//     memory, host and device operations in one group;
//   - a failure found after the call returned (ranks disagree on the call) is the communicator's
//     asynchronous error on every rank, and the stream does not wait for ever;
//   - a group in which some ranks send and receive beside an allreduce while others only
//     allreduce (3+ ranks) works, for a small allreduce (which alone would read peers' memory)
//     and a large one (which alone would go in pieces): grouped, every rank stages alike;
//   - two communicators of the same ranks reading the same peer buffers (the fake module, as some
//     drivers, refuses to map one allocation twice in a process: the mappings are shared).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../device/cuda_like.h"
#include "strata/strata.h"

namespace {

int gRank = 0, gRanks = 1;
strataComm_t gComm = nullptr;
strata::test::CudaLike gCuda;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "rank %d: FAIL: %s (last error: %s)\n", gRank, what.c_str(), strataGetLastError(gComm));
  std::exit(1);
}

void expect(bool ok, const std::string& what) {
  if (!ok) fail(what);
}

void expectCall(strataResult_t got, strataResult_t want, const char* needle, const std::string& what) {
  if (got != want) fail(what + ": returned " + strataGetErrorString(got) + ", expected " + strataGetErrorString(want));
  if (needle != nullptr && std::strstr(strataGetLastError(gComm), needle) == nullptr) {
    fail(what + ": message lacks '" + needle + "'");
  }
}

std::vector<float> hostValues(size_t count, int rank, float scale) {
  std::vector<float> v(count);
  for (size_t i = 0; i < count; ++i) v[i] = scale * static_cast<float>((rank + 1) * 1000 + static_cast<int>(i % 997));
  return v;
}

float sumAt(size_t i, float scale) {
  float s = 0;
  for (int r = 0; r < gRanks; ++r) s += scale * static_cast<float>((r + 1) * 1000 + static_cast<int>(i % 997));
  return s;
}

struct DeviceBuffer {
  explicit DeviceBuffer(size_t elements)
      : count(elements), ptr(static_cast<float*>(gCuda.malloc(elements * sizeof(float)))) {}
  ~DeviceBuffer() { gCuda.free(ptr); }
  void put(const std::vector<float>& v) { gCuda.copy(ptr, v.data(), v.size() * sizeof(float)); }
  std::vector<float> get() const {
    std::vector<float> v(count);
    gCuda.copy(v.data(), ptr, count * sizeof(float));
    return v;
  }
  size_t count;
  float* ptr;
};

void expectSums(const DeviceBuffer& b, float scale, const std::string& what) {
  std::vector<float> got = b.get();
  for (size_t i = 0; i < got.size(); ++i) {
    if (got[i] != sumAt(i, scale)) fail(what + ": element " + std::to_string(i) + " is " + std::to_string(got[i]));
  }
}

using Hold = int (*)(void*, int);

void returnsBeforeTheStreamRuns(Hold hold, void* stream) {
  const size_t count = 4099;
  DeviceBuffer buf(count);
  buf.put(hostValues(count, gRank, 1));
  hold(stream, 300);  // the stream reaches the call 0.3 s from now
  auto start = std::chrono::steady_clock::now();
  expectCall(strataAllReduce(buf.ptr, buf.ptr, count, strataFloat32, strataSum, gComm, stream), strataSuccess, nullptr,
             "in-place allreduce on a held stream");
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  expect(ms < 150, "the call waited " + std::to_string(ms) + " ms for its stream");
  gCuda.synchronize(stream);
  expectSums(buf, 1, "allreduce after the held stream ran");
}

void callOrderWinsOverStreamOrder(Hold hold, void* first, void* second) {
  // Different sizes: if a rank ran them in another order, the ranks would pair calls that disagree.
  DeviceBuffer a(1001), b(3003);
  a.put(hostValues(a.count, gRank, 1));
  b.put(hostValues(b.count, gRank, 2));
  if (gRank == 0) hold(first, 300);  // on rank 0 the second call's stream is ready first
  expectCall(strataAllReduce(a.ptr, a.ptr, a.count, strataFloat32, strataSum, gComm, first), strataSuccess, nullptr,
             "first");
  expectCall(strataAllReduce(b.ptr, b.ptr, b.count, strataFloat32, strataSum, gComm, second), strataSuccess, nullptr,
             "second");
  gCuda.synchronize(first);
  gCuda.synchronize(second);
  strataResult_t async = strataSuccess;
  strataCommGetAsyncError(gComm, &async);
  expect(async == strataSuccess, std::string("asynchronous error after two streams: ") + strataGetErrorString(async));
  expectSums(a, 1, "first call (held stream)");
  expectSums(b, 2, "second call");
}

// A host-memory call after a device-memory one runs after it, even when the device call's stream
// reaches it late on one rank (else that rank's host call would pair with the peers' device call).
void hostCallsComeAfterQueuedDeviceCalls(Hold hold, void* stream) {
  DeviceBuffer dev(2001);
  dev.put(hostValues(dev.count, gRank, 4));
  std::vector<float> host(333, 1.0f);
  if (gRank == 0) hold(stream, 300);
  expectCall(strataAllReduce(dev.ptr, dev.ptr, dev.count, strataFloat32, strataSum, gComm, stream), strataSuccess,
             nullptr, "device allreduce on a held stream");
  if (gRank != 0) gCuda.synchronize(stream);  // the others' device call is surely numbered first
  expectCall(strataAllReduce(host.data(), host.data(), host.size(), strataFloat32, strataSum, gComm, nullptr),
             strataSuccess, nullptr, "host allreduce right after it");
  expect(host[332] == static_cast<float>(gRanks), "host allreduce after a queued device one: wrong sum");
  gCuda.synchronize(stream);
  expectSums(dev, 4, "device allreduce before a host one");
}

void defaultStream() {
  DeviceBuffer in(777), out(777);
  in.put(hostValues(in.count, gRank, 3));
  expectCall(strataAllReduce(in.ptr, out.ptr, in.count, strataFloat32, strataSum, gComm, nullptr), strataSuccess,
             nullptr, "allreduce on the default stream");
  gCuda.synchronize(nullptr);
  expectSums(out, 3, "allreduce on the default stream");
}

void badArguments(void* stream) {
  DeviceBuffer dev(64);
  std::vector<float> host(64, 1.0f);
  expectCall(strataAllReduce(dev.ptr, host.data(), 64, strataFloat32, strataSum, gComm, stream), strataInvalidArgument,
             "sendbuff is device memory but recvbuff is host memory", "device send, host recv");
  strataStream_t hostStream = nullptr;
  expectCall(strataStreamCreate(&hostStream), strataSuccess, nullptr, "strataStreamCreate");
  expectCall(strataAllReduce(dev.ptr, dev.ptr, 64, strataFloat32, strataSum, gComm, hostStream), strataInvalidUsage,
             "not a strataStream_t", "device buffers on a strataStream_t");
  strataStreamDestroy(hostStream);
  expectCall(strataAllReduce(host.data(), host.data(), 64, strataFloat32, strataSum, gComm, stream),
             strataInvalidArgument, "these are host memory", "host buffers on a device stream");
  gCuda.setDevice(1);
  void* other = gCuda.malloc(256);
  gCuda.setDevice(0);
  expectCall(strataBroadcast(other, other, 64, strataFloat32, 0, gComm, stream), strataInvalidArgument,
             "memory of device 1, but the communicator is bound to device 0", "another device's memory");
  gCuda.free(other);
  expectCall(strataGroupStart(), strataSuccess, nullptr, "group start");
  expectCall(strataAllReduce(dev.ptr, dev.ptr, 64, strataFloat32, strataSum, gComm, stream), strataSuccess, nullptr,
             "queued");
  expectCall(strataAllReduce(host.data(), host.data(), 64, strataFloat32, strataSum, gComm, nullptr), strataSuccess,
             nullptr, "queued");
  expectCall(strataGroupEnd(), strataInvalidUsage, "mixed device and host buffers", "host and device in one group");
  // The communicator still works: none of the above reached the other ranks.
  host.assign(64, 1.0f);
  expectCall(strataAllReduce(host.data(), host.data(), 64, strataFloat32, strataSum, gComm, nullptr), strataSuccess,
             nullptr, "host allreduce after the refusals");
  expect(host[63] == static_cast<float>(gRanks), "host allreduce after the refusals: wrong sum");
}

void groupsExchangeAlikeOnEveryRank(void* stream) {
  if (gRanks < 3) return;
  for (size_t count : {size_t{1000}, size_t{3} << 20}) {
    DeviceBuffer sum(count), message(257);
    sum.put(hostValues(count, gRank, 5));
    message.put(hostValues(message.count, gRank, 6));
    expectCall(strataGroupStart(), strataSuccess, nullptr, "group start");
    expectCall(strataAllReduce(sum.ptr, sum.ptr, count, strataFloat32, strataSum, gComm, stream), strataSuccess,
               nullptr, "grouped allreduce");
    if (gRank == 0) {
      expectCall(strataSend(message.ptr, message.count, strataFloat32, 1, gComm, stream), strataSuccess, nullptr,
                 "grouped send");
    }
    if (gRank == 1) {
      expectCall(strataRecv(message.ptr, message.count, strataFloat32, 0, gComm, stream), strataSuccess, nullptr,
                 "grouped recv");
    }
    expectCall(strataGroupEnd(), strataSuccess, nullptr, "group end");
    gCuda.synchronize(stream);
    strataResult_t async = strataSuccess;
    strataCommGetAsyncError(gComm, &async);
    expect(async == strataSuccess, std::string("a group where only some ranks send: ") + strataGetErrorString(async));
    expectSums(sum, 5, "grouped allreduce of " + std::to_string(count));
    if (gRank == 1) expect(message.get() == hostValues(message.count, 0, 6), "grouped recv: wrong data");
  }
}

void twoCommunicatorsShareMappings(void* stream) {
  strataComm_t other = nullptr;
  expectCall(strataCommSplit(gComm, 0, gRank, &other, nullptr), strataSuccess, nullptr, "split");
  DeviceBuffer in(1500), out(1500);
  in.put(hostValues(in.count, gRank, 7));
  for (strataComm_t comm : {gComm, other, gComm, other}) {
    expectCall(strataAllReduce(in.ptr, out.ptr, in.count, strataFloat32, strataSum, comm, stream), strataSuccess,
               nullptr, "allreduce of one buffer on two communicators");
    gCuda.synchronize(stream);
    strataResult_t async = strataSuccess;
    strataCommGetAsyncError(comm, &async);
    expect(async == strataSuccess, std::string("two communicators on one buffer: ") + strataGetErrorString(async) +
                                       " (" + strataGetLastError(comm) + ")");
    expectSums(out, 7, "allreduce of one buffer on two communicators");
  }
  expectCall(strataCommDestroy(other), strataSuccess, nullptr, "destroy the split communicator");
}

void disagreementIsAnAsyncError(void* stream) {
  DeviceBuffer buf(512);
  size_t count = gRank == 0 ? 500 : 512;  // rank 0 disagrees
  expectCall(strataAllReduce(buf.ptr, buf.ptr, count, strataFloat32, strataSum, gComm, stream), strataSuccess, nullptr,
             "a call the ranks disagree on is queued");
  gCuda.synchronize(stream);  // must return: the stream's wait ends whatever the outcome
  strataResult_t async = strataSuccess;
  expectCall(strataCommGetAsyncError(gComm, &async), strataSuccess, nullptr, "strataCommGetAsyncError");
  expect(async != strataSuccess, "the disagreement left no asynchronous error");
  std::printf("rank %d: disagreement reported as %s: %s\n", gRank, strataGetErrorString(async),
              strataGetLastError(gComm));
}

}  // namespace

int main() {
  if (!gCuda.load()) {
    std::fprintf(stderr, "STRATA_TEST_CUDART is not set\n");
    return 2;
  }
  auto hold = gCuda.hook<Hold>("fakeCudaStreamHold");
  if (hold == nullptr) {
    std::fprintf(stderr, "needs the fake device module (fakeCudaStreamHold)\n");
    return 2;
  }
  gCuda.setDevice(0);
  if (strataCommInitFromEnv(&gComm) != strataSuccess) fail("init");
  strataCommUserRank(gComm, &gRank);
  strataCommCount(gComm, &gRanks);
  void* first = gCuda.streamCreate();
  void* second = gCuda.streamCreate();
  returnsBeforeTheStreamRuns(hold, first);
  callOrderWinsOverStreamOrder(hold, first, second);
  hostCallsComeAfterQueuedDeviceCalls(hold, first);
  defaultStream();
  badArguments(first);
  groupsExchangeAlikeOnEveryRank(first);
  twoCommunicatorsShareMappings(first);
  disagreementIsAnAsyncError(first);
  strataCommAbort(gComm);
  gCuda.streamDestroy(first);
  gCuda.streamDestroy(second);
  std::printf("rank %d of %d: device semantics hold\n", gRank, gRanks);
  return 0;
}
