// reduce_perf: strataReduce with nccl-tests' flags and output; the root's result is checked;
// busbw = algbw.
//   strata-run -n 4 reduce_perf -b 8 -e 256M -f 2 -r 2
#include "common/perf_harness.h"
#include "common/perf_shapes.h"
#include "common/perf_values.h"

namespace {

using namespace strata::perf::shapes;

const strata::perf::CollectiveTest kReduce = {
    .name = "reduce_perf",
    .reduces = true,
    .rooted = true,
    .outputOnRootOnly = true,
    .countFor = wholeCount,
    .sendElements = oneBlock,
    .recvElements = oneBlock,
    .algorithmBytes = countBytes,
    .busFactor = unitFactor,
    .run = [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t op, int root, strataComm_t comm,
              strataStream_t stream) {
      return strataReduce(send, recv, count, dtype, op, root, comm, stream);
    },
    .inPlacePointers = sameBuffer,
    .expected = [](size_t i, size_t, strataDataType_t dtype, strataRedOp_t op, int, int, int n) {
      return strata::perf::reducedValue(op, n, i, dtype);
    },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kReduce); }
