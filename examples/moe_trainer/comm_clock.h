// Time a step spends inside communication calls that block it (dispatch, combine, their
// backward passes, the router statistics and the wait for the last gradient bucket): the
// "communication share" of the progress lines.
#pragma once

#include <chrono>

namespace trainer {

struct CommClock {
  double seconds = 0;

  class Scope {
   public:
    explicit Scope(CommClock& clock) : clock_(clock), start_(std::chrono::steady_clock::now()) {}
    ~Scope() { clock_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    CommClock& clock_;
    std::chrono::steady_clock::time_point start_;
  };
};

}  // namespace trainer
