// How idle ranks wait: the doorbell (a sleeper is woken by a ring, an unarmed ring leaves
// nothing behind), every publication that a peer may wait for rings it (ring data, ring space,
// window flags), the wait policy's learning, and a rank whose peer is late sleeps instead of
// burning its core.
#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "src/core/executor.h"
#include "src/core/wait_policy.h"
#include "transports/memory/doorbell.h"
#include "transports/memory/ring_connection.h"
#include "transports/memory/peer_windows.h"

namespace {

using std::chrono::milliseconds;
using strata::Clock;
using strata::DoorbellWord;
using strata::WaitPolicy;

constexpr int64_t kLongSleepNs = 10'000'000'000;  // 10 s: a sleep that lasts this long was never woken

milliseconds elapsedSince(Clock::time_point start) {
  return std::chrono::duration_cast<milliseconds>(Clock::now() - start);
}

TEST(Doorbell, RingWakesASleeper) {
  DoorbellWord bell{};
  strata::armDoorbell(bell);
  std::thread ringer([&] {
    std::this_thread::sleep_for(milliseconds(20));
    strata::ringDoorbell(bell);
  });
  auto start = Clock::now();
  strata::sleepOnDoorbell(bell, kLongSleepNs);
  EXPECT_LT(elapsedSince(start), milliseconds(5000));
  ringer.join();
  EXPECT_EQ(bell.armed.load(), 0u) << "the ringer disarms the bell it rang";
}

TEST(Doorbell, RingBeforeTheSleepEndsItAtOnce) {
  DoorbellWord bell{};
  strata::armDoorbell(bell);
  strata::ringDoorbell(bell);  // the peer published between our arming and our sleep
  auto start = Clock::now();
  strata::sleepOnDoorbell(bell, kLongSleepNs);
  EXPECT_LT(elapsedSince(start), milliseconds(5000));
}

TEST(Doorbell, UnarmedRingIsNotRemembered) {
  DoorbellWord bell{};
  strata::ringDoorbell(bell);  // nobody sleeps: a load, nothing else
  EXPECT_EQ(bell.armed.load(), 0u);
  strata::armDoorbell(bell);
  auto start = Clock::now();
  strata::sleepOnDoorbell(bell, 50'000'000);
  EXPECT_GE(elapsedSince(start), milliseconds(40)) << "an old ring must not cut a later sleep short";
}

// Every movement on a ring connection rings the peer's doorbell: new bytes wake a receiver,
// consumed bytes wake a sender waiting for space.
TEST(Doorbell, RingConnectionsRingThePeer) {
  auto bells = strata::makeMemoryDoorbells(2);
  std::vector<DoorbellWord*> pointers = {&(*bells)[0], &(*bells)[1]};
  auto mesh = strata::makeMemoryMesh(2, 4096, pointers);
  EXPECT_TRUE(mesh[0][1]->wakesOwnerDoorbell());
  EXPECT_TRUE(mesh[0][0]->wakesOwnerDoorbell()) << "a rank's connection to itself never needs a ring";
  std::byte out[64] = {}, in[64] = {};
  strata::TransferRequest send{out, sizeof(out)}, recv{in, sizeof(in)};
  strata::armDoorbell((*bells)[1]);
  strata::armDoorbell((*bells)[0]);
  ASSERT_TRUE(mesh[0][1]->progressSend(send).isOk());
  EXPECT_EQ((*bells)[1].armed.load(), 0u) << "rank 1 was not woken by the bytes rank 0 wrote";
  EXPECT_EQ((*bells)[0].armed.load(), 1u) << "rank 0 rang its own doorbell";
  ASSERT_TRUE(mesh[1][0]->progressRecv(recv).isOk());
  EXPECT_TRUE(recv.complete());
  EXPECT_EQ((*bells)[0].armed.load(), 0u) << "rank 0 was not woken by the space rank 1 freed";
  auto plain = strata::makeMemoryMesh(2, 4096);
  EXPECT_FALSE(plain[0][1]->wakesOwnerDoorbell()) << "without doorbells nobody may sleep on one";
}

TEST(Doorbell, WindowFlagsRingEveryOtherRank) {
  auto bells = strata::makeMemoryDoorbells(3);
  std::vector<DoorbellWord*> pointers = {&(*bells)[0], &(*bells)[1], &(*bells)[2]};
  auto windows = strata::makeMemoryWindows(3, 64, pointers);
  for (auto& bell : *bells) strata::armDoorbell(bell);
  windows[1]->raise(&strata::WindowFlags::ready, 1);
  EXPECT_EQ(windows[0]->flags(1).ready.load(), 1u);
  EXPECT_EQ((*bells)[0].armed.load(), 0u);
  EXPECT_EQ((*bells)[2].armed.load(), 0u);
  EXPECT_EQ((*bells)[1].armed.load(), 1u);
  EXPECT_TRUE(windows[0]->wakesWaiters());
  EXPECT_FALSE(strata::makeMemoryWindows(2, 64)[0]->wakesWaiters());
}

TEST(WaitPolicy, SpinGrowsWhenWaitsEndLateInIt) {
  WaitPolicy policy;
  const uint32_t start = policy.spinRounds();
  policy.endedWhileSpinning(start / 4);
  EXPECT_EQ(policy.spinRounds(), start) << "a wait caught early says nothing";
  policy.endedWhileSpinning(start - 1);
  EXPECT_EQ(policy.spinRounds(), 2 * start);
  for (int i = 0; i < 20; ++i) policy.endedWhileSpinning(policy.spinRounds());
  EXPECT_EQ(policy.spinRounds(), WaitPolicy::kMaxSpinRounds);
}

TEST(WaitPolicy, SpinStaysShortWhenRanksOutnumberCores) {
  WaitPolicy policy;
  policy.ranksOutnumberCores();
  EXPECT_LE(policy.spinRounds(), WaitPolicy::kSharedCoreMaxSpinRounds);
  for (int i = 0; i < 20; ++i) policy.endedWhileSpinning(policy.spinRounds());
  EXPECT_EQ(policy.spinRounds(), WaitPolicy::kSharedCoreMaxSpinRounds);
}

TEST(WaitPolicy, SpinShrinksWhenWaitsOutlastIt) {
  WaitPolicy policy;
  const uint32_t start = policy.spinRounds();
  policy.endedAfterSpin(std::chrono::microseconds(5));
  EXPECT_EQ(policy.spinRounds(), start) << "a wait a yield or a wake-up ended soon says nothing";
  policy.endedAfterSpin(milliseconds(1));
  EXPECT_LT(policy.spinRounds(), start);
  for (int i = 0; i < 100; ++i) policy.endedAfterSpin(milliseconds(1));
  EXPECT_EQ(policy.spinRounds(), WaitPolicy::kMinSpinRounds);
}

TEST(WaitPolicy, YieldsStopWhenMostAreSlowAndAreProbedLessAndLessOften) {
  WaitPolicy policy;
  const auto slow = WaitPolicy::kSlowYield * 4, quick = std::chrono::microseconds(2);
  // An odd slow yield among quick ones (a peer of ours had work to do) changes nothing.
  policy.yieldTook(slow);
  for (int i = 0; i < 10; ++i) policy.yieldTook(quick);
  EXPECT_TRUE(policy.yieldsPay());
  // Mostly slow: someone else's work gets our core when we yield.
  int slowOnes = 0;
  while (policy.yieldsPay() && slowOnes < 10) {
    policy.yieldTook(slow);
    ++slowOnes;
  }
  ASSERT_FALSE(policy.yieldsPay()) << "yields still pay after " << slowOnes << " slow ones";
  auto waitsUntilProbe = [&] {
    int waits = 0;
    while (!policy.yieldsPay() && waits < 1 << 20) {
      policy.endedAfterSpin(milliseconds(1));
      ++waits;
    }
    return waits;
  };
  const int first = waitsUntilProbe();
  policy.yieldTook(slow);  // the probe: still slow
  const int second = waitsUntilProbe();
  EXPECT_EQ(second, 2 * first);
  policy.yieldTook(quick);  // the load went away
  EXPECT_TRUE(policy.yieldsPay());
  EXPECT_EQ(policy.counts().slowYields, static_cast<uint64_t>(slowOnes + 2));
}

int64_t threadCpuNs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// Two thread ranks over an in-memory mesh with doorbells; rank 1 sends kBytes to rank 0.
class LateSender {
 public:
  static constexpr size_t kBytes = 1000;
  LateSender() : bells_(strata::makeMemoryDoorbells(2)), out_(kBytes), in_(kBytes) {
    pointers_ = {&(*bells_)[0], &(*bells_)[1]};
    mesh_ = strata::makeMemoryMesh(2, 4096, pointers_);
    for (size_t i = 0; i < kBytes; ++i) out_[i] = static_cast<std::byte>(i * 7);
    strata::Plan::send(sendPlan_.newStage(), 0, {strata::kSendBuffer, 0}, kBytes);
    strata::Plan::recv(recvPlan_.newStage(), 1, {strata::kRecvBuffer, 0}, kBytes);
  }
  strata::Status send(WaitPolicy& policy) { return run(1, sendPlan_, policy); }
  strata::Status receive(WaitPolicy& policy) { return run(0, recvPlan_, policy); }
  bool arrived() const { return std::memcmp(in_.data(), out_.data(), kBytes) == 0; }

 private:
  strata::Status run(int rank, const strata::Plan& plan, WaitPolicy& policy) {
    std::vector<std::byte> staging;
    std::atomic<bool> abortFlag{false};
    strata::ExecutionContext context;
    context.rank = rank;
    context.connections = {mesh_[rank][0].get(), mesh_[rank][1].get()};
    context.buffers = {out_.data(), in_.data(), nullptr};
    context.timeoutMs = 20000;
    context.abortFlag = &abortFlag;
    context.staging = &staging;
    context.doorbell = pointers_[static_cast<size_t>(rank)];
    context.waitPolicy = &policy;
    return strata::executePlan(plan, context);
  }
  std::shared_ptr<std::vector<DoorbellWord>> bells_;
  std::vector<DoorbellWord*> pointers_;
  std::vector<std::vector<std::unique_ptr<strata::Connection>>> mesh_;
  std::vector<std::byte> out_, in_;
  strata::Plan sendPlan_, recvPlan_;
};

// Rank 1 computes for 400 ms before it sends; rank 0, waiting in the executor, sleeps on its
// doorbell after a short spin and yield, and is woken by the message.
TEST(Waiting, ALateSenderCostsTheReceiverNoCore) {
  LateSender job;
  WaitPolicy senderPolicy, receiverPolicy;
  strata::Status sent;
  std::thread sender([&] {
    std::this_thread::sleep_for(milliseconds(400));
    sent = job.send(senderPolicy);
  });
  const int64_t cpuBefore = threadCpuNs();
  strata::Status received = job.receive(receiverPolicy);
  const int64_t cpuNs = threadCpuNs() - cpuBefore;
  sender.join();
  ASSERT_TRUE(received.isOk()) << received.message();
  ASSERT_TRUE(sent.isOk()) << sent.message();
  EXPECT_TRUE(job.arrived());
  EXPECT_GE(receiverPolicy.counts().sleeps, 1u);
  // A spin-and-yield wait would take the whole 400 ms of its core; a sleeper takes its spin,
  // ~2 ms of yields and a wake-up every health check (20 ms).
  EXPECT_LT(cpuNs, 100'000'000) << "the waiting rank used " << cpuNs / 1000000 << " ms of CPU in 400 ms";
}

// The message itself wakes the sleeping receiver: it finishes well before its next health check
// (20 ms) would have woken it. A broken ring would leave delays spread over 0-20 ms, so the
// median of seven would rarely stay under 4 ms; a working one is a wake-up, tens of microseconds.
TEST(Waiting, TheMessageWakesTheSleepingReceiverAtOnce) {
  std::vector<double> delaysMs;
  for (int round = 0; round < 7; ++round) {
    LateSender job;
    WaitPolicy senderPolicy, receiverPolicy;
    strata::Status sent;
    Clock::time_point sentAt;
    std::thread sender([&] {
      std::this_thread::sleep_for(milliseconds(50));  // past the receiver's spin and yields
      sent = job.send(senderPolicy);
      sentAt = Clock::now();
    });
    strata::Status received = job.receive(receiverPolicy);
    const auto receivedAt = Clock::now();
    sender.join();
    ASSERT_TRUE(received.isOk() && sent.isOk()) << received.message() << sent.message();
    ASSERT_TRUE(job.arrived());
    ASSERT_GE(receiverPolicy.counts().sleeps, 1u);
    delaysMs.push_back(std::chrono::duration<double, std::milli>(receivedAt - sentAt).count());
  }
  std::sort(delaysMs.begin(), delaysMs.end());
  EXPECT_LT(delaysMs[3], 4.0) << "median delay from send to receive: " << delaysMs[3] << " ms";
}

}  // namespace
