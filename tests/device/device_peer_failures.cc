// The cuda_ipc path's error handling (api/device_peer_collectives.h), 3 processes on the fake
// device module: rank 1 has one of its runtime calls fail (fakeCudaFailNext), at each step of an
// allreduce in turn: the IPC handle of its input, the scratch of an in-place call, the stream's
// first wait, the kernel, the kernel's completion callback, the final wait, opening a peer's handle
// (in the proxy, after the call returned), and in a two-shot allreduce the second stage's wait,
// kernel and completion callback. Every time: the call fails (or its asynchronous error is set) on
// rank 1, the other ranks' matching calls end with an asynchronous error well before the timeout
// instead of waiting for a peer that will never come, every stream finishes, destroy does not
// hang, and a new communicator gives the right sum.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "../device/cuda_like.h"
#include "strata/strata.h"

namespace {

strata::test::CudaLike gCuda;
int gRank = -1;
int gRanks = 0;
int gFailures = 0;

void check(bool ok, const std::string& what, strataComm_t comm) {
  if (ok) return;
  std::fprintf(stderr, "rank %d: FAIL: %s (last error: %s)\n", gRank, what.c_str(), strataGetLastError(comm));
  ++gFailures;
}

struct Case {
  const char* call;
  int after;  // successful calls of it before the failure, within one allreduce
  bool inPlace;
  size_t count;      // floats: 70000 make a two-shot allreduce
  bool atCall;       // the failure is found while queueing (else by the proxy, after the call returned)
  const char* says;  // in rank 1's error message
};

// An allreduce of `count` floats (rank r contributes r + 1): true when every element is the sum.
strataResult_t allreduce(strataComm_t comm, void* stream, size_t count, bool inPlace, bool* correct) {
  std::vector<float> in(count, static_cast<float>(gRank + 1)), out(count, 0.0f);
  void* send = gCuda.malloc(count * sizeof(float));
  void* recv = inPlace ? send : gCuda.malloc(count * sizeof(float));
  gCuda.copy(send, in.data(), count * sizeof(float));
  strataResult_t r = strataAllReduce(send, recv, count, strataFloat32, strataSum, comm, stream);
  gCuda.synchronize(stream);  // must return whatever happened
  gCuda.copy(out.data(), recv, count * sizeof(float));
  *correct = out == std::vector<float>(count, static_cast<float>(gRanks * (gRanks + 1) / 2));
  gCuda.free(send);
  if (!inPlace) gCuda.free(recv);
  return r;
}

// A new communicator of every rank, its id passed over `world` (host memory).
strataComm_t freshCommunicator(strataComm_t world) {
  strataUniqueId id;
  if (gRank == 0 && strataGetUniqueId(&id) != strataSuccess) check(false, "strataGetUniqueId", world);
  check(strataBroadcast(&id, &id, sizeof(id), strataUint8, 0, world, nullptr) == strataSuccess, "id broadcast", world);
  strataComm_t comm = nullptr;
  check(strataCommInitRank(&comm, gRanks, id, gRank) == strataSuccess, "a new communicator", world);
  return comm;
}

}  // namespace

int main() {
  if (!gCuda.load()) {
    std::fprintf(stderr, "STRATA_TEST_CUDART is not set\n");
    return 2;
  }
  auto failNext = gCuda.hook<int (*)(const char*, int)>("fakeCudaFailNext");
  if (failNext == nullptr) {
    std::fprintf(stderr, "needs the fake device module (fakeCudaFailNext)\n");
    return 2;
  }
  gCuda.setDevice(0);
  strataComm_t world = nullptr;
  if (strataCommInitFromEnv(&world) != strataSuccess) return 1;
  strataCommUserRank(world, &gRank);
  strataCommCount(world, &gRanks);
  void* stream = gCuda.streamCreate();
  const Case cases[] = {
      {"ipcHandle", 0, false, 1000, true, "cudaIpcGetMemHandle"},
      {"deviceAlloc", 0, true, 1000, true, "device memory"},
      {"waitCounter", 0, false, 1000, true, "stream's wait"},        // inputs ready
      {"reduceTable", 0, false, 1000, true, "cudaLaunchKernel"},     // the kernel
      {"hostCallback", 1, false, 1000, true, "cudaLaunchHostFunc"},  // the kernel's completion callback
      {"waitCounter", 1, false, 1000, true, "stream's wait"},        // every reader done
      {"ipcOpen", 0, false, 1000, false, "cudaIpcOpenMemHandle"},    // in the proxy
      {"ipcHandle", 1, true, 70000, true, "cudaIpcGetMemHandle"},    // two-shot: recvbuff's handle
      {"waitCounter", 1, true, 70000, true, "stream's wait"},        // two-shot: every rank past stage 1
      {"copyTable", 0, true, 70000, true, "cudaLaunchKernel"},       // two-shot: stage 2's kernel
      {"hostCallback", 2, true, 70000, true, "cudaLaunchHostFunc"},  // two-shot: stage 2's callback
  };
  for (const Case& c : cases) {
    const std::string what = std::string(c.call) + " failing after " + std::to_string(c.after) + " on rank 1, " +
                             std::to_string(c.count) + " floats" + (c.inPlace ? " in place" : "");
    strataComm_t comm = freshCommunicator(world);
    if (gRank == 1) failNext(c.call, c.after);
    bool correct = false;
    const auto start = std::chrono::steady_clock::now();
    strataResult_t r = allreduce(comm, stream, c.count, c.inPlace, &correct);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    failNext("", 0);
    strataResult_t async = strataSuccess;
    strataCommGetAsyncError(comm, &async);
    if (gRank == 1 && c.atCall) {
      check(r != strataSuccess, what + ": the call succeeded", comm);
      check(std::strstr(strataGetLastError(comm), c.says) != nullptr, what + ": the message lacks '" + c.says + "'",
            comm);
    }
    if (gRank == 1 && !c.atCall) {
      check(async != strataSuccess && std::strstr(strataGetLastError(comm), c.says) != nullptr,
            what + ": no asynchronous error naming '" + c.says + "'", comm);
    }
    check(r != strataSuccess || async != strataSuccess, what + ": neither the call nor the stream failed", comm);
    // STRATA_TIMEOUT_MS is 60 s in these tests: the survivor learns at once, not at the timeout.
    check(seconds < 20, what + ": took " + std::to_string(seconds) + " s", comm);
    std::printf("rank %d: %s: %s in %.2f s\n", gRank, what.c_str(),
                strataGetErrorString(r != strataSuccess ? r : async), seconds);
    check(strataCommDestroy(comm) == strataSuccess, what + ": destroy", world);
    comm = freshCommunicator(world);
    check(allreduce(comm, stream, c.count, c.inPlace, &correct) == strataSuccess && correct,
          what + ": a new communicator", comm);
    check(strataCommDestroy(comm) == strataSuccess, what + ": destroy the new communicator", world);
  }
  gCuda.streamDestroy(stream);
  strataCommDestroy(world);
  std::printf("rank %d: peer-memory failures: %s\n", gRank, gFailures == 0 ? "every path handled" : "FAILED");
  return gFailures == 0 ? 0 : 1;
}
