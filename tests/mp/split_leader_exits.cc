// strataCommSplit whose leader (the rank that hosts the new communicator's bootstrap root) exits
// the moment split returns: every other member's split must still succeed. The root used to go
// with the leader's process before the others had their last answer.
//   strata-run -n N split_leader_exits      (repeat it: the race was timing-dependent)
#include <unistd.h>

#include <cstdio>

#include "strata/strata.h"

int main() {
  strataComm_t world = nullptr, sub = nullptr;
  if (strataCommInitFromEnv(&world) != strataSuccess) {
    std::fprintf(stderr, "init: %s\n", strataGetLastError(nullptr));
    return 1;
  }
  int rank = 0;
  strataCommUserRank(world, &rank);
  // Key = rank: world rank 0 leads the new communicator and hosts its root.
  strataResult_t r = strataCommSplit(world, 0, rank, &sub, nullptr);
  if (r != strataSuccess) {
    std::fprintf(stderr, "rank %d: split failed: %s\n", rank, strataGetLastError(world));
    return 1;
  }
  if (rank == 0) _exit(0);  // the leader leaves at once, without destroying anything
  int subRank = -1;
  strataCommUserRank(sub, &subRank);
  std::printf("rank %d: split ok (rank %d in the new communicator)\n", rank, subRank);
  strataCommDestroy(sub);
  strataCommDestroy(world);
  return 0;
}
