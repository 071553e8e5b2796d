// The shared engine of the *_perf tools: sweep sizes, time out-of-place and in-place runs,
// combine times across ranks, check results, and print nccl-tests' exact format from rank 0.
// Each tool describes its collective with a CollectiveTest and calls runPerfTool.
#pragma once

#include <strata/strata.h>

#include <cstddef>

namespace strata::perf {

struct CollectiveTest {
  const char* name;       // "all_reduce_perf"
  bool reduces;           // prints the op, loops over -o
  bool rooted;            // prints the root
  // Elements per rank in the "count" column for a size in bytes.
  size_t (*countFor)(size_t bytes, size_t elementSize, int nranks);
  size_t (*sendElements)(size_t count, int nranks);
  size_t (*recvElements)(size_t count, int nranks);
  // S in algbw = S / t, and busbw = algbw * factor.
  double (*algorithmBytes)(size_t count, size_t elementSize, int nranks);
  double (*busFactor)(int nranks);
  strataResult_t (*run)(const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t op, int root,
                        strataComm_t comm);
  // In place: where send and recv point inside one buffer of max(send, recv) elements.
  void (*inPlacePointers)(char* buffer, size_t count, size_t elementSize, int rank, int root, const void** send, void** recv);
  // Expected element i of the output on `rank`.
  double (*expected)(size_t i, size_t count, strataDataType_t dtype, strataRedOp_t op, int rank, int root, int nranks);
  // Input element i on `rank`.
  double (*input)(size_t i, size_t count, int rank);
};

int runPerfTool(int argc, char** argv, const CollectiveTest& test);

}  // namespace strata::perf
