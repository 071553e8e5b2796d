// What the chaos trials run: a job that keeps its ranks busy with a mix of collectives of varied
// sizes (one-shot, two-shot and ring on shm; several streams on tcp) and grouped send/recv until
// SECONDS have passed, checking every result. Exits 0 when it ran to the end, non-zero with the
// error otherwise (a fault injected into the job should make it end that way, on every rank).
//   strata-run -n N chaos_workload SECONDS
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "strata/strata.h"

namespace {

int gRank = 0, gRanks = 1;

bool ok(strataResult_t r, strataComm_t comm, const char* what) {
  if (r == strataSuccess) return true;
  std::fprintf(stderr, "rank %d: %s: %s: %s\n", gRank, what, strataGetErrorString(r), strataGetLastError(comm));
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  strataComm_t comm = nullptr;
  if (!ok(strataCommInitFromEnv(&comm), nullptr, "init")) return 1;
  strataCommUserRank(comm, &gRank);
  strataCommCount(comm, &gRanks);
  const size_t sizes[] = {1, 333, 4096, 70000, 1 << 20};
  std::vector<float> a(1 << 20), b(1 << 20), all((1 << 12) * static_cast<size_t>(gRanks));
  auto start = std::chrono::steady_clock::now();
  for (unsigned i = 0;; ++i) {
    // Every rank stops at the same iteration: the first to run out of time decides for all.
    int done = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >= seconds ? 1 : 0;
    if (!ok(strataAllReduce(&done, &done, 1, strataInt32, strataMax, comm, nullptr), comm, "stop vote")) return 1;
    if (done) break;
    const size_t n = sizes[i % 5];
    for (size_t k = 0; k < n; ++k) a[k] = static_cast<float>(gRank + 1);
    if (!ok(strataAllReduce(a.data(), b.data(), n, strataFloat32, strataSum, comm, nullptr), comm, "allreduce")) return 1;
    if (b[n - 1] != static_cast<float>(gRanks * (gRanks + 1) / 2)) {
      std::fprintf(stderr, "rank %d: allreduce gave %g\n", gRank, b[n - 1]);
      return 2;
    }
    if (!ok(strataBroadcast(a.data(), b.data(), n, strataFloat32, static_cast<int>(i) % gRanks, comm, nullptr), comm, "broadcast")) return 1;
    if (!ok(strataAllGather(a.data(), all.data(), 1 << 12, strataFloat32, comm, nullptr), comm, "allgather")) return 1;
    int right = (gRank + 1) % gRanks, left = (gRank + gRanks - 1) % gRanks;
    strataGroupStart();
    strataSend(a.data(), 1000, strataFloat32, right, comm, nullptr);
    strataRecv(b.data(), 1000, strataFloat32, left, comm, nullptr);
    if (!ok(strataGroupEnd(), comm, "send/recv")) return 1;
  }
  strataCommDestroy(comm);
  return 0;
}
