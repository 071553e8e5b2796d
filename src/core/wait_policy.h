// How this communicator's idle waits spend their time, learned from how its waits actually go.
// A wait spins first, then yields its core for a while, then sleeps on the doorbell
// (memory/doorbell.h).
//
// Spinning answers a peer in well under a microsecond but burns the core. A wait caught in the
// last half of its spin says the spin should be longer (the peer runs close behind): the budget
// doubles, up to kMaxSpinRounds. A wait that lasted long after the spin (the peer was not
// running: ranks outnumber cores, other work holds them, or the peer computes) says the spin was
// wasted: it shrinks by a quarter, down to kMinSpinRounds. A wait that ended soon after the spin
// changes nothing: a yield or a wake-up ended it, and a longer spin would have kept the peer
// that shares our core from running.
//
// Yielding is the cheapest hand-over when our own ranks share a core: the peer that must move
// runs at once, and both cores stay busy. Sleeping is the only good one when foreign work shares
// the core: a yield hands it a whole time slice (milliseconds), while a sleeper, woken by its
// peer, preempts it. And it is the worst one when ranks outnumber cores and nothing else runs: a
// core whose ranks all sleep goes idle, and waking an idle (virtual) CPU costs tens of
// microseconds. So every yield is timed: one that took longer than kSlowYield gave the core to
// some other work for a time slice. An odd slow yield happens among our own ranks too (a peer
// that had work to do); when most recent yields were slow (a running share above a quarter),
// waits stop yielding: they spin on for kLoadedSpin, then sleep; for twice as many waits each
// time a probe finds yields still slow.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "src/common/wait.h"

namespace strata {

class WaitPolicy {
 public:
  static constexpr uint32_t kMinSpinRounds = 16;
  static constexpr uint32_t kMaxSpinRounds = 8192;
  static constexpr uint32_t kInitialSpinRounds = 1024;
  // A wait that ended later than this after its spin would not have been worth spinning through.
  static constexpr auto kLongAfterSpin = std::chrono::microseconds(30);
  static constexpr auto kSlowYield = std::chrono::microseconds(200);
  // How long a wait yields before it sleeps (it is still woken at once when its peer moves).
  static constexpr auto kYieldPhase = std::chrono::milliseconds(2);
  // While waits skip yielding, they spin this long before they sleep: the peer often answers
  // within it, and the core stays ours. 2 ranks beside 2 busy processes, 8-byte allreduce, six
  // interleaved launches: 2.0-2.6 us per call with it, 2.2-9.4 without (1 ms: 2.7-3.2).
  static constexpr auto kLoadedSpin = std::chrono::microseconds(100);
  static constexpr uint32_t kFirstYieldPause = 16;
  static constexpr uint32_t kMaxYieldPause = 1u << 16;

  // When a host's ranks outnumber its cores, a spinning rank holds the core its peer needs: the
  // spin stays short (as Open MPI yields on every idle poll when oversubscribed). Measured with 4
  // ranks on 2 cores: a rank whose spin had grown to thousands of rounds made its core-mate's
  // yields slow, the core-mate went to sleep, and calls took 5x longer.
  static constexpr uint32_t kSharedCoreMaxSpinRounds = 64;
  void ranksOutnumberCores() {
    maxSpinRounds_ = kSharedCoreMaxSpinRounds;
    spinRounds_ = std::min(spinRounds_, maxSpinRounds_);
  }

  uint32_t spinRounds() const { return spinRounds_; }

  // What waits did so far (STRATA_DEBUG=INFO prints it when the communicator is destroyed).
  struct Counts {
    uint64_t waits = 0;         // stretches with nothing to do
    uint64_t endedSpinning = 0;
    uint64_t yields = 0;
    uint64_t slowYields = 0;
    uint64_t sleeps = 0;
    uint64_t sleptUs = 0;
  };
  const Counts& counts() const { return counts_; }

  void endedWhileSpinning(uint64_t round) {
    ++counts_.waits;
    ++counts_.endedSpinning;
    // Caught in the last half of the spin: the next might not be.
    if (round * 2 > spinRounds_) grow();
  }
  void slept(Clock::duration asleep) {
    ++counts_.sleeps;
    counts_.sleptUs += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(asleep).count());
  }
  // Whether waits should yield before they sleep.
  bool yieldsPay() const { return waitsWithoutYield_ == 0; }
  void yieldTook(Clock::duration took) {
    ++counts_.yields;
    const bool slow = took > kSlowYield;
    counts_.slowYields += slow ? 1 : 0;
    slowShare_ += ((slow ? kShareOne : 0) - slowShare_) / 8;
    if (!slow) {
      yieldPause_ = kFirstYieldPause;
    } else if (slowShare_ > kShareOne / 4) {
      waitsWithoutYield_ = yieldPause_;
      yieldPause_ = std::min(kMaxYieldPause, yieldPause_ * 2);
    }
  }

  void endedAfterSpin(Clock::duration afterSpin) {
    ++counts_.waits;
    if (waitsWithoutYield_ > 0) --waitsWithoutYield_;
    if (afterSpin > kLongAfterSpin) spinRounds_ = std::max(kMinSpinRounds, spinRounds_ - spinRounds_ / 4);
  }

 private:
  void grow() { spinRounds_ = std::min(maxSpinRounds_, spinRounds_ * 2); }
  uint32_t maxSpinRounds_ = kMaxSpinRounds;
  uint32_t spinRounds_ = kInitialSpinRounds;
  Counts counts_;
  static constexpr int32_t kShareOne = 1024;
  int32_t slowShare_ = 0;           // running share of slow yields, in 1/kShareOne
  uint32_t waitsWithoutYield_ = 0;  // waits left that skip yielding
  uint32_t yieldPause_ = kFirstYieldPause;
};

}  // namespace strata
