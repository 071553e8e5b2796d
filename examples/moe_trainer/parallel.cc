#include "parallel.h"

namespace trainer {

void check(strataResult_t result, strataComm_t comm, const char* what) {
  if (result == strataSuccess) return;
  throw StrataError(std::string(what) + " failed: " + strataGetErrorString(result) + ": " + strataGetLastError(comm));
}

Groups Groups::make(strataComm_t world, int epSize) {
  Groups g;
  g.world = world;
  check(strataCommUserRank(world, &g.rank), world, "strataCommUserRank");
  check(strataCommCount(world, &g.size), world, "strataCommCount");
  if (epSize < 1 || g.size % epSize != 0) {
    throw std::invalid_argument("--ep " + std::to_string(epSize) + " does not divide the " + std::to_string(g.size) +
                                " ranks (ep x dp must equal the rank count)");
  }
  g.epSize = epSize;
  g.dpSize = g.size / epSize;
  g.epRank = g.rank % epSize;
  g.dpRank = g.rank / epSize;
  check(strataCommSplit(world, g.dpRank, g.epRank, &g.ep, nullptr), world, "strataCommSplit (EP groups)");
  check(strataCommSplit(world, g.epRank, g.dpRank, &g.dp, nullptr), world, "strataCommSplit (DP groups)");
  return g;
}

void Groups::destroy() {
  if (dp) strataCommDestroy(dp);
  if (ep) strataCommDestroy(ep);
  if (world) strataCommDestroy(world);
  dp = ep = world = nullptr;
}

}  // namespace trainer
