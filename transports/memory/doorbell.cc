#include "transports/memory/doorbell.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>

namespace strata {
namespace {

// Not FUTEX_PRIVATE: the word may be shared between processes.
long futex(std::atomic<uint32_t>& word, int op, uint32_t value, const timespec* timeout) {
  return syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), op, value, timeout, nullptr, 0);
}

}  // namespace

void ringDoorbell(DoorbellWord& bell) {
  if (bell.armed.load(std::memory_order_seq_cst) == 0) return;
  if (bell.armed.exchange(0, std::memory_order_seq_cst) == 0) return;  // another ringer was first
  futex(bell.armed, FUTEX_WAKE, INT_MAX, nullptr);
}

void armDoorbell(DoorbellWord& bell) {
  bell.armed.exchange(1, std::memory_order_seq_cst);
  // The look that follows uses acquire loads, which the C++ model (and ARMv8.3 RCpc loads) may
  // move before the exchange; the fence keeps them after it. On x86 the exchange is a full
  // barrier already, and GCC's TSan does not follow fences (and warns), so it is left out there.
#if !defined(__SANITIZE_THREAD__)
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

void disarmDoorbell(DoorbellWord& bell) { bell.armed.store(0, std::memory_order_relaxed); }

void sleepOnDoorbell(DoorbellWord& bell, int64_t timeoutNs) {
  if (timeoutNs <= 0) return;
  timespec timeout{static_cast<time_t>(timeoutNs / 1000000000), static_cast<long>(timeoutNs % 1000000000)};
  // Returns at once when a ringer already cleared the word (EAGAIN); a signal or a spurious
  // wake-up only ends this sleep early, and the caller looks again.
  futex(bell.armed, FUTEX_WAIT, 1, &timeout);
}

std::shared_ptr<std::vector<DoorbellWord>> makeMemoryDoorbells(int nranks) {
  return std::make_shared<std::vector<DoorbellWord>>(static_cast<size_t>(nranks));
}

}  // namespace strata
