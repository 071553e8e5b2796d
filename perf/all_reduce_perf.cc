// all_reduce_perf: strataAllReduce with nccl-tests' flags and output; busbw = algbw * 2(n-1)/n.
//   strata-run -n 4 all_reduce_perf -b 8 -e 256M -f 2
#include "common/perf_harness.h"
#include "common/perf_shapes.h"
#include "common/perf_values.h"

namespace {

using namespace strata::perf::shapes;

const strata::perf::CollectiveTest kAllReduce = {
    .name = "all_reduce_perf",
    .reduces = true,
    .countFor = wholeCount,
    .sendElements = oneBlock,
    .recvElements = oneBlock,
    .algorithmBytes = countBytes,
    .busFactor = allReduceFactor,
    .run = [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t op, int, strataComm_t comm,
              strataStream_t stream) {
      return strataAllReduce(send, recv, count, dtype, op, comm, stream);
    },
    .inPlacePointers = sameBuffer,
    .expected = [](size_t i, size_t, strataDataType_t dtype, strataRedOp_t op, int, int, int n) {
      return strata::perf::reducedValue(op, n, i, dtype);
    },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kAllReduce); }
