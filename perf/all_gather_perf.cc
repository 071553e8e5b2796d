// all_gather_perf: strataAllGather with nccl-tests' flags and output. The size is the gathered
// buffer; count is each rank's share; busbw = algbw * (n-1)/n.
//   strata-run -n 4 all_gather_perf -b 8 -e 256M -f 2
#include "common/perf_harness.h"
#include "common/perf_shapes.h"
#include "common/perf_values.h"

namespace {

using namespace strata::perf::shapes;

const strata::perf::CollectiveTest kAllGather = {
    .name = "all_gather_perf",
    .countFor = perRankCount,
    .sendElements = oneBlock,
    .recvElements = rankBlocks,
    .algorithmBytes = rankBlocksBytes,
    .busFactor = gatherFactor,
    .run = [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t, int, strataComm_t comm,
              strataStream_t stream) {
      return strataAllGather(send, recv, count, dtype, comm, stream);
    },
    // In place: each rank's block already sits at its offset in the output.
    .inPlacePointers = [](char* buffer, size_t count, size_t es, int rank, int, const void** send, void** recv) {
      *recv = buffer;
      *send = buffer + static_cast<size_t>(rank) * count * es;
    },
    // Block r of the output is rank r's input.
    .expected = [](size_t i, size_t count, strataDataType_t, strataRedOp_t, int, int, int) {
      return strata::perf::inputValue(static_cast<int>(i / count), i % count);
    },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kAllGather); }
