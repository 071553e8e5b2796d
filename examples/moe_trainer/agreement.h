// Failing together. A rank that finds a problem (a bad flag, an unreadable file, a checkpoint it
// cannot load or write) prints it at once; then every rank learns, through one all-reduce, that
// some rank failed and which, so they all stop at the same point with an error instead of the
// others waiting in their next collective until a timeout.
#pragma once

#include <strata/strata.h>

#include <stdexcept>
#include <string>

namespace trainer {

// Thrown once the problem has been printed: main only sets the exit status.
class ReportedFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Collective over `comm`: prints "moe_trainer: <problem>" when `problem` is not empty, then throws
// ReportedFailure on every rank if any rank had a problem (ranks without one print which rank
// failed, and `what` was being done).
void agreeOrFail(strataComm_t comm, int rank, const std::string& problem, const char* what);

}  // namespace trainer
