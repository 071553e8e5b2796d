// all_gather_perf: strataAllGather with nccl-tests' flags and output. The size is the gathered
// buffer; count is each rank's share; busbw = algbw * (n-1)/n.
//   strata-run -n 4 all_gather_perf -b 8 -e 256M -f 2
#include "common/perf_harness.h"
#include "common/perf_values.h"

namespace {

using strata::perf::CollectiveTest;

const CollectiveTest kAllGather = {
    "all_gather_perf",
    /*reduces=*/false,
    /*rooted=*/false,
    [](size_t bytes, size_t es, int n) { return bytes / es / static_cast<size_t>(n); },
    [](size_t count, int) { return count; },
    [](size_t count, int n) { return count * static_cast<size_t>(n); },
    [](size_t count, size_t es, int n) { return static_cast<double>(count * es * static_cast<size_t>(n)); },
    [](int n) { return static_cast<double>(n - 1) / n; },
    [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t, int, strataComm_t comm) {
      return strataAllGather(send, recv, count, dtype, comm, nullptr);
    },
    [](char* buffer, size_t count, size_t es, int rank, int, const void** send, void** recv) {
      *recv = buffer;
      *send = buffer + static_cast<size_t>(rank) * count * es;
    },
    // Block r of the output is rank r's input.
    [](size_t i, size_t count, strataDataType_t, strataRedOp_t, int, int, int) {
      return strata::perf::inputValue(static_cast<int>(i / count), i % count);
    },
    [](size_t i, size_t, int rank) { return strata::perf::inputValue(rank, i); },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kAllGather); }
