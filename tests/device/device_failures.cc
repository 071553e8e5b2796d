// The device path's error handling, on the fake device module with failures injected into its
// runtime calls (fakeCudaFailNext), one rank: whichever step of queueing a call on a stream fails
// (pinned memory, the copy in, the ready callback, the stream's wait, the copy back, the release
// callback; a whole call and one piece of a pipelined one), the call returns the error naming the
// runtime call, the communicator is broken for good (its asynchronous error is set and the next
// call fails: a rank that numbered part of a call must not pair later calls with its peers'
// different ones), the stream still finishes, destroying the communicator does not hang (every
// queued operation is retired exactly once), and a new communicator works. Also: the staging pool reuses its pinned
// buffers (repeated calls allocate a few at most, not one each).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "../device/cuda_like.h"
#include "strata/strata.h"

namespace {

strataComm_t gComm = nullptr;
strata::test::CudaLike gCuda;
int (*gFailNext)(const char*, int) = nullptr;
int gFailures = 0;

void check(bool ok, const std::string& what) {
  if (ok) return;
  std::fprintf(stderr, "FAIL: %s (last error: %s)\n", what.c_str(), strataGetLastError(gComm));
  ++gFailures;
}

// An out-of-place allreduce of `count` floats on one rank: the result is the input.
strataResult_t allreduce(void* stream, size_t count, float value, bool* correct) {
  std::vector<float> in(count, value), out(count, 0.0f);
  void* send = gCuda.malloc(count * sizeof(float));
  void* recv = gCuda.malloc(count * sizeof(float));
  gCuda.copy(send, in.data(), count * sizeof(float));
  strataResult_t r = strataAllReduce(send, recv, count, strataFloat32, strataSum, gComm, stream);
  gCuda.synchronize(stream);  // must return whatever happened
  gCuda.copy(out.data(), recv, count * sizeof(float));
  *correct = out == in;
  gCuda.free(send);
  gCuda.free(recv);
  return r;
}

struct Case {
  const char* call;
  int after;         // successful calls of it before the failure, within one allreduce
  size_t count;      // a size not seen before makes the staging pool allocate
  const char* says;  // in the error message
};

}  // namespace

strataComm_t freshCommunicator() {
  strataUniqueId id;
  strataComm_t comm = nullptr;
  if (strataGetUniqueId(&id) != strataSuccess || strataCommInitRank(&comm, 1, id, 0) != strataSuccess) {
    std::fprintf(stderr, "FAIL: a one-rank communicator could not be made\n");
    std::exit(1);
  }
  return comm;
}

int main() {
  if (!gCuda.load()) {
    std::fprintf(stderr, "STRATA_TEST_CUDART is not set\n");
    return 2;
  }
  gFailNext = gCuda.hook<int (*)(const char*, int)>("fakeCudaFailNext");
  if (gFailNext == nullptr) {
    std::fprintf(stderr, "needs the fake device module (fakeCudaFailNext)\n");
    return 2;
  }
  gCuda.setDevice(0);
  gComm = freshCommunicator();
  void* stream = gCuda.streamCreate();
  bool correct = false;
  check(allreduce(stream, 1000, 1.0f, &correct) == strataSuccess && correct, "a first allreduce");
  auto allocations = gCuda.hook<long (*)()>("fakeCudaHostAllocations");
  check(allocations != nullptr, "fakeCudaHostAllocations");
  if (allocations != nullptr) {
    // A buffer comes back to the pool when the proxy has retired its operation, a moment after
    // the stream's release callback: a few more may be made while one is on its way back, never
    // one per call.
    const long before = allocations();
    for (int i = 0; i < 10; ++i) {
      for (size_t count : {1, 7, 1000, 5000, 16000, 2, 999}) {
        check(allreduce(stream, count, 3.0f, &correct) == strataSuccess && correct, "a small allreduce");
      }
    }
    const long made = allocations() - before;
    check(made <= 6, "70 small calls allocated " + std::to_string(made) + " new pinned buffers");
    std::printf("70 small calls: %ld new pinned buffers\n", made);
  }
  check(strataCommDestroy(gComm) == strataSuccess, "destroy");
  // 2 Mi floats (8 MiB) go in two 4 MiB pieces (STRATA_DEVICE_CHUNK_BYTES, default): a failure in
  // the second piece comes after the first was queued.
  const size_t kPieces = size_t{2} << 20;
  const Case cases[] = {
      {"hostAlloc", 1, 300000, "pinned memory"},           // the staging (the first is the proxy's counter)
      {"copyAsync", 0, 1000, "cudaMemcpyAsync"},           // the input into staging
      {"hostCallback", 0, 1000, "cudaLaunchHostFunc"},     // the ready callback
      {"waitCounter", 0, 1000, "stream's wait"},           // the stream's wait for the proxy
      {"copyAsync", 1, 1000, "cudaMemcpyAsync"},           // the result back
      {"hostCallback", 1, 1000, "cudaLaunchHostFunc"},     // the release callback
      {"copyAsync", 1, kPieces, "cudaMemcpyAsync"},        // the second piece's input
      {"hostCallback", 1, kPieces, "cudaLaunchHostFunc"},  // the second piece's ready callback
      {"waitCounter", 1, kPieces, "stream's wait"},        // the second piece's wait
  };
  float value = 2.0f;
  for (const Case& c : cases) {
    std::string what =
        std::string(c.call) + " failing after " + std::to_string(c.after) + " (" + std::to_string(c.count) + " floats)";
    gComm = freshCommunicator();
    gFailNext(c.call, c.after);
    strataResult_t r = allreduce(stream, c.count, value, &correct);
    gFailNext("", 0);
    check(r != strataSuccess, what + ": the call succeeded");
    check(std::strstr(strataGetLastError(gComm), c.says) != nullptr, what + ": the message lacks '" + c.says + "'");
    strataResult_t async = strataSuccess;
    strataCommGetAsyncError(gComm, &async);
    check(async != strataSuccess, what + ": no asynchronous error");
    check(allreduce(stream, 1000, value, &correct) != strataSuccess,
          what + ": the next call on the broken communicator succeeded");
    std::printf("%s: %s\n", what.c_str(), strataGetErrorString(r));
    check(strataCommDestroy(gComm) == strataSuccess, what + ": destroy");
    gComm = freshCommunicator();
    value += 1.0f;
    check(allreduce(stream, 1000, value, &correct) == strataSuccess && correct, what + ": a new communicator");
    check(strataCommDestroy(gComm) == strataSuccess, what + ": destroy the new communicator");
    value += 1.0f;
  }
  gComm = nullptr;
  gCuda.streamDestroy(stream);
  std::printf("device failures: %s\n", gFailures == 0 ? "every path handled" : "FAILED");
  return gFailures == 0 ? 0 : 1;
}
