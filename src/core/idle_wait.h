// Paces one idle wait inside a plan: backs off while nothing moves (spin, yield, nap) and says
// when it is time to look at peer health, the abort flag and the deadline: after a short spin,
// then every kPeerCheckInterval.
//
// The clock is first read when the spin is over, and the wait's deadline starts then: a wait
// that ends while spinning (most waits of small calls) never reads it. Reading it up front cost
// every wait two clock reads, a visible share of an 8-byte allreduce.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include "common/wait.h"

namespace strata {

class IdleWait {
 public:
  static constexpr auto kPeerCheckInterval = std::chrono::milliseconds(20);
  static constexpr uint64_t kSpinBeforeClock = 64;

  explicit IdleWait(int64_t timeoutMs) : timeoutMs_(timeoutMs) {}

  void progressed() { backoff_.reset(); }
  // Pauses once; true when the checks are due (deadline() is set from then on).
  bool pauseUntilCheckDue() {
    backoff_.pause();
    if (backoff_.idleRounds() < kSpinBeforeClock) return false;
    const auto now = Clock::now();
    if (!deadline_) {
      deadline_.emplace(timeoutMs_, now);
      nextCheck_ = now + kPeerCheckInterval;
      return false;
    }
    if (now < nextCheck_) return false;
    nextCheck_ = now + kPeerCheckInterval;
    return true;
  }
  const Deadline& deadline() const { return *deadline_; }

 private:
  int64_t timeoutMs_;
  Backoff backoff_;
  std::optional<Deadline> deadline_;
  Clock::time_point nextCheck_{};
};

}  // namespace strata
