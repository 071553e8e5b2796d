// Paces one idle wait inside a plan. While nothing moves it spins, then yields its core, then
// sleeps on this rank's doorbell when everything it waits for rings it (shared memory), or in
// poll() on a transport's wake descriptor when everything it waits for shares one (ucx), else
// naps in short steps (tcp, where a peer cannot ring us); the communicator's WaitPolicy says how long
// to spin and whether to yield. It says when it
// is time to look at peer health, the abort flag and the deadline: once the spin is over, then
// every kPeerCheckInterval; a sleep never outlasts the next check.
//
// The clock is first read when the spin is over, and the wait's deadline starts then: a wait
// that ends while spinning (most waits of small calls) never reads it. Reading it up front cost
// every wait two clock reads, a visible share of an 8-byte allreduce.
#pragma once

#include <poll.h>
#include <sched.h>
#include <time.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

#include "src/common/wait.h"
#include "src/core/wait_policy.h"
#include "transports/memory/doorbell.h"
#include "transports/transport.h"

namespace strata {

// One round of a spin: tells the CPU we are waiting (fewer pipeline flushes, a hyperthread sibling
// runs faster).
inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

class IdleWait {
 public:
  static constexpr auto kPeerCheckInterval = std::chrono::milliseconds(20);

  // `policy` (may be null: a fixed spin) learns from how this wait's stretches end; `abortFlag`
  // (may be null) makes the checks due at once when a sleep ends with it set (abort rings us).
  IdleWait(int64_t timeoutMs, WaitPolicy* policy, const std::atomic<bool>* abortFlag = nullptr)
      : timeoutMs_(timeoutMs), policy_(policy), abortFlag_(abortFlag),
        spinRounds_(policy ? policy->spinRounds() : kFixedSpinRounds) {}
  ~IdleWait() { disarm(); }
  IdleWait(const IdleWait&) = delete;
  IdleWait& operator=(const IdleWait&) = delete;

  // Call after a pass that moved something: the next pause starts a new stretch with a spin.
  void progressed() {
    if (rounds_ == 0) return;
    disarm();
    if (policy_ != nullptr) {
      if (rounds_ <= spinRounds_) {
        policy_->endedWhileSpinning(rounds_);
      } else {
        policy_->endedAfterSpin(Clock::now() - spinEnd_);
      }
      spinRounds_ = policy_->spinRounds();
    }
    rounds_ = 0;
  }

  // Call after a pass that moved nothing. `bell`: this rank's doorbell when every peer it waits
  // for rings it, else null; `wakeSource`: a connection whose wakeFd() every transfer waited for
  // shares, else null. True when the checks are due (deadline() is set from then on).
  bool pauseUntilCheckDue(DoorbellWord* bell, Connection* wakeSource = nullptr) {
    ++rounds_;
    if (rounds_ <= spinRounds_) {
      cpuRelax();
      return false;
    }
    auto now = Clock::now();
    if (!deadline_) {
      deadline_.emplace(timeoutMs_, now);
      nextCheck_ = now + kPeerCheckInterval;
    }
    if (rounds_ == spinRounds_ + 1) {
      spinEnd_ = now;
      yielding_ = policy_ == nullptr || policy_->yieldsPay();
    }
    if (armed_ != nullptr) {
      // The pass after arming found nothing either: sleep until rung or the check is due.
      sleepOnDoorbell(*armed_, std::chrono::duration_cast<std::chrono::nanoseconds>(nextCheck_ - now).count());
      disarm();
      const auto woke = Clock::now();
      if (policy_ != nullptr) policy_->slept(woke - now);
      now = woke;
      if (abortFlag_ != nullptr && abortFlag_->load(std::memory_order_relaxed)) {
        nextCheck_ = now + kPeerCheckInterval;
        return true;
      }
    } else if (yielding_ && now - spinEnd_ < WaitPolicy::kYieldPhase) {
      sched_yield();
      const auto after = Clock::now();
      if (policy_ != nullptr) {
        policy_->yieldTook(after - now);
        yielding_ = policy_->yieldsPay();
      }
      now = after;
    } else if (!yielding_ && now - spinEnd_ < WaitPolicy::kLoadedSpin) {
      // Foreign work shares the core: a yield would hand it a time slice, so keep the core a
      // little longer in case the peer is about to answer.
      cpuRelax();
    } else if (bell != nullptr) {
      // Arm, and let the caller look once more before sleeping: a peer that published before
      // it saw the armed bell is seen by that look.
      armDoorbell(*bell);
      armed_ = bell;
      return false;
    } else if (wakeSource != nullptr) {
      // The transport moves only when we progress it: sleep until it has events to progress.
      if (wakeSource->readyToSleep()) {
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(nextCheck_ - now).count();
        timespec limit{static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
        pollfd wake{wakeSource->wakeFd(), POLLIN, 0};
        if (left > 0) ppoll(&wake, 1, &limit, nullptr);
      }
      now = Clock::now();
      if (abortFlag_ != nullptr && abortFlag_->load(std::memory_order_relaxed)) {
        nextCheck_ = now + kPeerCheckInterval;
        return true;
      }
    } else {
      timespec nap{0, 20000};  // 20 us
      nanosleep(&nap, nullptr);
      now = Clock::now();
    }
    if (now < nextCheck_) return false;
    nextCheck_ = now + kPeerCheckInterval;
    return true;
  }
  const Deadline& deadline() const { return *deadline_; }

 private:
  static constexpr uint64_t kFixedSpinRounds = 64;
  void disarm() {
    if (armed_ != nullptr) disarmDoorbell(*armed_);
    armed_ = nullptr;
  }

  int64_t timeoutMs_;
  WaitPolicy* policy_;
  const std::atomic<bool>* abortFlag_;
  uint64_t spinRounds_;
  uint64_t rounds_ = 0;
  DoorbellWord* armed_ = nullptr;
  bool yielding_ = true;
  std::optional<Deadline> deadline_;
  Clock::time_point nextCheck_{};
  Clock::time_point spinEnd_{};
};

}  // namespace strata
