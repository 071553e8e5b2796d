// alltoallv_perf: strataAllToAllv with uneven blocks. Rank r sends peer p a share of its buffer
// weighted (r + p) % n + 1, a Latin square, so every rank sends and receives the same total and
// the size column stays one number while every block length differs. count is the even per-peer
// count the sizes are derived from; busbw = algbw * (n-1)/n.
//   strata-run -n 4 alltoallv_perf -b 8 -e 256M -f 2
#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/perf_harness.h"
#include "common/perf_shapes.h"
#include "common/perf_values.h"

namespace {

using namespace strata::perf::shapes;

// Elements rank `from` sends rank `to` when the even share is `count` per peer.
size_t blockLength(size_t count, int n, int from, int to) {
  size_t weight = static_cast<size_t>((from + to) % n + 1);
  size_t weights = static_cast<size_t>(n) * static_cast<size_t>(n + 1) / 2;
  return count * static_cast<size_t>(n) * weight / weights;
}

// Every rank's send (and receive) total: the same weights 1..n in some order.
size_t totalElements(size_t count, int n) {
  size_t total = 0;
  for (int to = 0; to < n; ++to) total += blockLength(count, n, 0, to);
  return total;
}

struct Layout {
  std::vector<size_t> sendCounts, sendDispls, recvCounts, recvDispls;
};

Layout layoutOf(size_t count, int n, int rank) {
  Layout l;
  size_t sendAt = 0, recvAt = 0;
  for (int p = 0; p < n; ++p) {
    l.sendCounts.push_back(blockLength(count, n, rank, p));
    l.sendDispls.push_back(sendAt);
    sendAt += l.sendCounts.back();
    l.recvCounts.push_back(blockLength(count, n, p, rank));
    l.recvDispls.push_back(recvAt);
    recvAt += l.recvCounts.back();
  }
  return l;
}

strataResult_t runAllToAllv(const void* send, void* recv, size_t count, strataDataType_t dtype, strataComm_t comm,
                            strataStream_t stream) {
  int rank = 0, n = 1;
  strataResult_t r = strataCommUserRank(comm, &rank);
  if (r == strataSuccess) r = strataCommCount(comm, &n);
  if (r != strataSuccess) return r;
  // Built once per size, not inside the timed loop.
  static thread_local size_t cachedCount = SIZE_MAX;
  static thread_local Layout l;
  if (cachedCount != count || l.sendCounts.size() != static_cast<size_t>(n)) {
    l = layoutOf(count, n, rank);
    cachedCount = count;
  }
  return strataAllToAllv(send, l.sendCounts.data(), l.sendDispls.data(), recv, l.recvCounts.data(), l.recvDispls.data(),
                         dtype, comm, stream);
}

// Element i of rank r's output: the block from the source s whose receive range holds i, which
// is s's input at its send displacement for r.
double expectedElement(size_t i, size_t count, int rank, int n) {
  size_t blockStart = 0;
  for (int s = 0; s < n; ++s) {
    size_t length = blockLength(count, n, s, rank);
    if (i < blockStart + length) {
      size_t sentFrom = 0;
      for (int p = 0; p < rank; ++p) sentFrom += blockLength(count, n, s, p);
      return strata::perf::inputValue(s, sentFrom + (i - blockStart));
    }
    blockStart += length;
  }
  return -1;  // beyond the receive total: never asked
}

const strata::perf::CollectiveTest kAllToAllv = {
    .name = "alltoallv_perf",
    .countFor = perRankCount,
    .sendElements = totalElements,
    .recvElements = totalElements,
    .algorithmBytes = [](size_t count, size_t es, int n) { return static_cast<double>(totalElements(count, n) * es); },
    .busFactor = gatherFactor,
    .run = [](const void* send, void* recv, size_t count, strataDataType_t dtype, strataRedOp_t, int, strataComm_t comm,
              strataStream_t stream) {
      return runAllToAllv(send, recv, count, dtype, comm, stream);
    },
    .inPlacePointers = sameBuffer,
    .expected = [](size_t i, size_t count, strataDataType_t, strataRedOp_t, int rank, int, int n) {
      return expectedElement(i, count, rank, n);
    },
};

}  // namespace

int main(int argc, char** argv) { return strata::perf::runPerfTool(argc, argv, kAllToAllv); }
