// strata-run's engine: start N local ranks with the job's unique id in their environment, forward
// signals, and end the whole job when any rank fails.
#pragma once

#include <string>
#include <vector>

namespace strata::run {

struct LaunchOptions {
  int nranks = 1;
  bool prefixOutput = false;
  int graceMs = 3000;  // after one rank fails, how long the others get before SIGKILL
  std::vector<std::string> command;
};

// Returns the job's exit status: 0 when every rank succeeded, else the first failure's code
// (128 + signal for a rank killed by a signal).
int launchJob(const LaunchOptions& options);

}  // namespace strata::run
