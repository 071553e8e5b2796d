// Deadlines for every wait (how a plan's waits pace themselves: core/idle_wait.h).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace strata {

using Clock = std::chrono::steady_clock;

class Deadline {
 public:
  static constexpr int64_t kMaxDeadlineMs = 1000000000000;
  // Timeouts are clamped to about 31 years: a larger one would overflow the clock's arithmetic
  // and read as already expired.
  explicit Deadline(int64_t timeoutMs) : Deadline(timeoutMs, Clock::now()) {}
  // A deadline whose clock started at `start`.
  Deadline(int64_t timeoutMs, Clock::time_point start)
      : end_(start + std::chrono::milliseconds(std::clamp<int64_t>(timeoutMs, 0, kMaxDeadlineMs))),
        timeoutMs_(timeoutMs) {}
  bool expired() const { return Clock::now() >= end_; }
  int64_t timeoutMs() const { return timeoutMs_; }
  int64_t remainingMs() const {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end_ - Clock::now()).count();
    return left > 0 ? left : 0;
  }

 private:
  Clock::time_point end_;
  int64_t timeoutMs_;
};

}  // namespace strata
