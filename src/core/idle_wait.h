// Paces one idle wait inside a plan: backs off while nothing moves (spin, yield, nap) and says
// when it is time to look at peer health, the abort flag and the deadline: after a short spin,
// then every kPeerCheckInterval.
#pragma once

#include <chrono>

#include "common/wait.h"

namespace strata {

class IdleWait {
 public:
  static constexpr auto kPeerCheckInterval = std::chrono::milliseconds(20);

  void progressed() { backoff_.reset(); }
  bool pauseUntilCheckDue() {
    backoff_.pause();
    if (backoff_.idleRounds() < 64) return false;
    auto now = Clock::now();
    if (now < nextCheck_) return false;
    nextCheck_ = now + kPeerCheckInterval;
    return true;
  }

 private:
  Backoff backoff_;
  Clock::time_point nextCheck_ = Clock::now() + kPeerCheckInterval;
};

}  // namespace strata
