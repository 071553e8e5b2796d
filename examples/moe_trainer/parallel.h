// The trainer's process groups, made from the world communicator with strataCommSplit: ranks are
// numbered [dp][ep] — an EP group is `ep` consecutive ranks that together hold all experts (each
// rank E/ep of them) and exchange tokens; a DP group is the ranks at the same position of every EP
// group, which hold the same experts and all-reduce their gradients. Dense weights are on every
// rank and are all-reduced over the world.
#pragma once

#include <strata/strata.h>

#include <stdexcept>
#include <string>

namespace trainer {

// A failed Strata call: what was called and the library's last-error text.
class StrataError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

void check(strataResult_t result, strataComm_t comm, const char* what);

struct Groups {
  strataComm_t world = nullptr, ep = nullptr, dp = nullptr;
  int rank = 0, size = 1;      // in the world
  int epRank = 0, epSize = 1;  // position in the EP group, its size
  int dpRank = 0, dpSize = 1;  // which EP group, how many

  // Splits `world` (which it then owns) into EP groups of `epSize`; throws when the world size is
  // not a multiple of it.
  static Groups make(strataComm_t world, int epSize);
  void destroy();
};

}  // namespace trainer
