// all_reduce_perf: strataAllReduce with nccl-tests' flags and output.
//   strata-run -n 4 all_reduce_perf -b 8 -e 256M -f 2
#include "common/perf_harness.h"
#include "common/perf_values.h"

namespace {

using strata::perf::CollectiveTest;

const CollectiveTest kAllReduce = {
    "all_reduce_perf",
    /*reduces=*/true,
    /*rooted=*/false,
    [](size_t bytes, size_t es, int) { return bytes / es; },
    [](size_t count, int) { return count; },
    [](size_t count, int) { return count; },
    [](size_t count, size_t es, int) { return static_cast<double>(count * es); },
    [](int n) { return 2.0 * (n - 1) / n; },
    [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t op, int, strataComm_t comm) {
      return strataAllReduce(send, recv, count, dtype, op, comm, nullptr);
    },
    [](char* buffer, size_t, size_t, int, int, const void** send, void** recv) {
      *send = buffer;
      *recv = buffer;
    },
    [](size_t i, size_t, strataDataType_t dtype, strataRedOp_t op, int, int, int n) {
      return strata::perf::reducedValue(op, n, i, dtype);
    },
    [](size_t i, size_t, int rank) { return strata::perf::inputValue(rank, i); },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kAllReduce); }
