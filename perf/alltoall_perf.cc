// alltoall_perf: strataAllToAll with nccl-tests' flags and output. The size is each rank's send
// buffer of n blocks; count is one block; busbw = algbw * (n-1)/n.
//   strata-run -n 4 alltoall_perf -b 8 -e 256M -f 2
#include "common/perf_harness.h"
#include "common/perf_shapes.h"
#include "common/perf_values.h"

namespace {

using namespace strata::perf::shapes;

const strata::perf::CollectiveTest kAllToAll = {
    .name = "alltoall_perf",
    .countFor = perRankCount,
    .sendElements = rankBlocks,
    .recvElements = rankBlocks,
    .algorithmBytes = rankBlocksBytes,
    .busFactor = gatherFactor,
    .run = [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t, int, strataComm_t comm,
              strataStream_t stream) {
      return strataAllToAll(send, recv, count, dtype, comm, stream);
    },
    .inPlacePointers = sameBuffer,
    // Block s of rank r's output is block r of rank s's input.
    .expected = [](size_t i, size_t count, strataDataType_t, strataRedOp_t, int rank, int, int) {
      return strata::perf::inputValue(static_cast<int>(i / count), static_cast<size_t>(rank) * count + i % count);
    },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kAllToAll); }
