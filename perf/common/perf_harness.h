// The shared engine of the *_perf tools: sweep sizes, time out-of-place and in-place runs,
// combine times across ranks, check results, and print nccl-tests' exact format from rank 0.
// Each tool describes its collective with a CollectiveTest (designated initialisers; the
// defaults fit the unrooted, non-reducing collectives) and calls runPerfTool.
#pragma once

#include <strata/strata.h>

#include <cstddef>

namespace strata::perf {

struct CollectiveTest {
  const char* name = nullptr;  // "all_reduce_perf"
  bool reduces = false;        // prints the op, loops over -o
  bool rooted = false;         // prints the root
  bool outputOnRootOnly = false;  // reduce, gather: only the root's output is checked
  // nccl-tests times in-place sendrecv but prints #wrong N/A (the exchange overwrites its own input).
  bool checksInPlace = true;
  // Elements in the "count" column for a size in bytes (the per-rank or per-peer count the API takes).
  size_t (*countFor)(size_t bytes, size_t elementSize, int nranks) = nullptr;
  // Elements of the send and receive buffers every rank allocates for that count.
  size_t (*sendElements)(size_t count, int nranks) = nullptr;
  size_t (*recvElements)(size_t count, int nranks) = nullptr;
  // S in algbw = S / t, and busbw = algbw * factor (nccl-tests' definitions).
  double (*algorithmBytes)(size_t count, size_t elementSize, int nranks) = nullptr;
  double (*busFactor)(int nranks) = nullptr;
  // One operation on `stream` (NULL for host memory, the CUDA stream with --memory cuda).
  strataResult_t (*run)(const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t op, int root,
                        strataComm_t comm, strataStream_t stream) = nullptr;
  // In place: where send and recv point inside one buffer of max(send, recv) elements.
  void (*inPlacePointers)(char* buffer, size_t count, size_t elementSize, int rank, int root, const void** send,
                          void** recv) = nullptr;
  // Expected element i of the output on `rank`.
  double (*expected)(size_t i, size_t count, strataDataType_t dtype, strataRedOp_t op, int rank, int root,
                     int nranks) = nullptr;
  // Input element i on `rank` (the tools use inputValue unless a collective needs otherwise).
  double (*input)(size_t i, size_t count, int rank) = nullptr;
};

int runPerfTool(int argc, char** argv, const CollectiveTest& test);

}  // namespace strata::perf
