// scatter_perf: strataScatter with nccl-tests' flags and output. The size is the root's buffer of
// n blocks; count is one block; busbw = algbw * (n-1)/n.
//   strata-run -n 4 scatter_perf -b 8 -e 256M -f 2 -r 1
#include "common/perf_harness.h"
#include "common/perf_shapes.h"
#include "common/perf_values.h"

namespace {

using namespace strata::perf::shapes;

const strata::perf::CollectiveTest kScatter = {
    .name = "scatter_perf",
    .rooted = true,
    .countFor = perRankCount,
    .sendElements = rankBlocks,
    .recvElements = oneBlock,
    .algorithmBytes = rankBlocksBytes,
    .busFactor = gatherFactor,
    .run = [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t, int root, strataComm_t comm,
              strataStream_t stream) {
      return strataScatter(send, recv, count, dtype, root, comm, stream);
    },
    // In place (at the root): its own block stays where it is in the input.
    .inPlacePointers = [](char* buffer, size_t count, size_t es, int rank, int, const void** send, void** recv) {
      *send = buffer;
      *recv = buffer + static_cast<size_t>(rank) * count * es;
    },
    // Rank r receives block r of the root's input.
    .expected = [](size_t i, size_t count, strataDataType_t, strataRedOp_t, int rank, int root, int) {
      return strata::perf::inputValue(root, static_cast<size_t>(rank) * count + i);
    },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kScatter); }
