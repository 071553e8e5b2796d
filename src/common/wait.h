// Deadlines and the polite wait used by every progress loop. Ranks often outnumber cores, so a loop
// that finds nothing to do spins a little (latency), then yields the core (so a peer on the same
// core can run), then sleeps in short naps (so an idle rank costs nothing).
#pragma once

#include <sched.h>
#include <time.h>

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

class Backoff {
 public:
  // Call when an iteration made progress.
  void reset() { idleRounds_ = 0; }
  // Call when an iteration found nothing to do.
  void pause() {
    ++idleRounds_;
    if (idleRounds_ < kSpinRounds) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    } else if (idleRounds_ < kYieldRounds) {
      sched_yield();
    } else {
      timespec nap{0, 20000};  // 20 us
      nanosleep(&nap, nullptr);
    }
  }
  uint64_t idleRounds() const { return idleRounds_; }

 private:
  static constexpr uint64_t kSpinRounds = 64;
  static constexpr uint64_t kYieldRounds = 4096;
  uint64_t idleRounds_ = 0;
};

}  // namespace strata
