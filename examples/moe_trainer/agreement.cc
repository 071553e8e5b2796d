#include "agreement.h"

#include <cstdio>

#include "parallel.h"

namespace trainer {

void agreeOrFail(strataComm_t comm, int rank, const std::string& problem, const char* what) {
  if (!problem.empty()) {
    std::fprintf(stderr, "moe_trainer: %s\n", problem.c_str());
    std::fflush(stderr);
  }
  int failed[2] = {problem.empty() ? 0 : 1, problem.empty() ? -1 : rank};
  check(strataAllReduce(failed, failed, 2, strataInt, strataMax, comm, nullptr), comm, what);
  if (!failed[0]) return;
  if (problem.empty()) {
    std::fprintf(stderr, "moe_trainer: rank %d failed (%s): see its message\n", failed[1], what);
    std::fflush(stderr);
  }
  throw ReportedFailure(problem.empty() ? "another rank failed" : problem);
}

}  // namespace trainer
