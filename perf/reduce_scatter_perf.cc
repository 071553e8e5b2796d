// reduce_scatter_perf: strataReduceScatter with nccl-tests' flags and output. The size is the
// reduced buffer of n blocks; count is one block (recvcount); busbw = algbw * (n-1)/n.
//   strata-run -n 4 reduce_scatter_perf -b 8 -e 256M -f 2
#include "common/perf_harness.h"
#include "common/perf_shapes.h"
#include "common/perf_values.h"

namespace {

using namespace strata::perf::shapes;

const strata::perf::CollectiveTest kReduceScatter = {
    .name = "reduce_scatter_perf",
    .reduces = true,
    .countFor = perRankCount,
    .sendElements = rankBlocks,
    .recvElements = oneBlock,
    .algorithmBytes = rankBlocksBytes,
    .busFactor = gatherFactor,
    .run = [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t op, int, strataComm_t comm,
              strataStream_t stream) {
      return strataReduceScatter(send, recv, count, dtype, op, comm, stream);
    },
    // In place: each rank's result lands on its own block of the input.
    .inPlacePointers = [](char* buffer, size_t count, size_t es, int rank, int, const void** send, void** recv) {
      *send = buffer;
      *recv = buffer + static_cast<size_t>(rank) * count * es;
    },
    // Rank r receives the reduction of block r, i.e. input elements r*count + i.
    .expected = [](size_t i, size_t count, strataDataType_t dtype, strataRedOp_t op, int rank, int, int n) {
      return strata::perf::reducedValue(op, n, static_cast<size_t>(rank) * count + i, dtype);
    },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kReduceScatter); }
