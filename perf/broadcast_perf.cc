// broadcast_perf: strataBroadcast with nccl-tests' flags and output; -r picks the root;
// busbw = algbw.
//   strata-run -n 4 broadcast_perf -b 8 -e 256M -f 2 -r 1
#include "common/perf_harness.h"
#include "common/perf_shapes.h"
#include "common/perf_values.h"

namespace {

using namespace strata::perf::shapes;

const strata::perf::CollectiveTest kBroadcast = {
    .name = "broadcast_perf",
    .rooted = true,
    .countFor = wholeCount,
    .sendElements = oneBlock,
    .recvElements = oneBlock,
    .algorithmBytes = countBytes,
    .busFactor = unitFactor,
    .run = [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t, int root, strataComm_t comm,
              strataStream_t stream) {
      return strataBroadcast(send, recv, count, dtype, root, comm, stream);
    },
    // In place every rank starts from its own input, so a rank the data never reached shows.
    .inPlacePointers = sameBuffer,
    .expected = [](size_t i, size_t, strataDataType_t, strataRedOp_t, int, int root, int) {
      return strata::perf::inputValue(root, i);
    },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kBroadcast); }
