// sendrecv_perf: each rank sends to the next and receives from the previous one in one group
// (strataSend + strataRecv), as nccl-tests' sendrecv; busbw = algbw. In place is timed, its
// #wrong is N/A as in nccl-tests (the receive overwrites the buffer being sent).
//   strata-run -n 4 sendrecv_perf -b 8 -e 256M -f 2
#include "common/perf_harness.h"
#include "common/perf_shapes.h"
#include "common/perf_values.h"

namespace {

using namespace strata::perf::shapes;

strataResult_t sendToNextReceiveFromPrevious(const void* send, void* recv, size_t count, strataDataType_t dtype,
                                             strataComm_t comm, strataStream_t stream) {
  int rank = 0, n = 1;
  strataResult_t r = strataCommUserRank(comm, &rank);
  if (r == strataSuccess) r = strataCommCount(comm, &n);
  if (r != strataSuccess) return r;
  if ((r = strataGroupStart()) != strataSuccess) return r;
  strataResult_t sent = strataSend(send, count, dtype, (rank + 1) % n, comm, stream);
  strataResult_t received = strataRecv(recv, count, dtype, (rank + n - 1) % n, comm, stream);
  r = strataGroupEnd();
  return sent != strataSuccess ? sent : received != strataSuccess ? received : r;
}

const strata::perf::CollectiveTest kSendRecv = {
    .name = "sendrecv_perf",
    .checksInPlace = false,
    .countFor = wholeCount,
    .sendElements = oneBlock,
    .recvElements = oneBlock,
    .algorithmBytes = countBytes,
    .busFactor = unitFactor,
    .run = [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t, int, strataComm_t comm,
              strataStream_t stream) {
      return sendToNextReceiveFromPrevious(send, recv, count, dtype, comm, stream);
    },
    .inPlacePointers = sameBuffer,
    .expected = [](size_t i, size_t, strataDataType_t, strataRedOp_t, int rank, int, int n) {
      return strata::perf::inputValue((rank + n - 1) % n, i);
    },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kSendRecv); }
