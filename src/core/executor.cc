#include "core/executor.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "common/datatype.h"
#include "reduce/reduce.h"

namespace strata {
namespace {

// Reduce in pieces of this many bytes as data arrives, so reduction overlaps the transfer.
constexpr size_t kReducePieceBytes = 64 * 1024;
// How often an idle wait looks at deadlines and peer health.
constexpr auto kPeerCheckInterval = std::chrono::milliseconds(20);

// Paces one idle wait: backs off while nothing moves, and says when it is time to look at peer
// health, the abort flag and the deadline (after a short spin, then every kPeerCheckInterval).
class IdleWait {
 public:
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

std::byte* resolve(const ExecutionContext& c, const BufferSlice& slice) {
  return c.buffers[slice.buffer] + slice.offset;
}

std::string describeWait(const ExecutionContext& c, const ActiveTransfer& t) {
  const Step& s = *t.step;
  const char* verb = s.kind == StepKind::Send ? "send" : "receive";
  return std::string(verb) + " " + std::to_string(s.bytes) + " bytes " +
         (s.kind == StepKind::Send ? "to" : "from") + " rank " + std::to_string(s.peer) + " (" +
         std::to_string(t.request.done) + " done, over " + c.connections[s.peer]->kind() + ")";
}

class StageRunner {
 public:
  StageRunner(ExecutionContext& context, const Plan& plan, size_t stageIndex, std::vector<ActiveTransfer>& transfers,
              std::vector<int>& lastOnChannel)
      : c_(context), plan_(plan), stageIndex_(stageIndex), transfers_(transfers), lastOnChannel_(lastOnChannel) {}

  Status run(const Stage& stage) {
    STRATA_RETURN_IF_ERROR(runWindowSteps(stage));
    runLocalCopies(stage);
    STRATA_RETURN_IF_ERROR(prepareTransfers(stage));
    return progressUntilDone();
  }

 private:
  void runLocalCopies(const Stage& stage) {
    for (const Step& step : stage.steps) {
      if (step.kind != StepKind::Copy) continue;
      std::byte* dst = resolve(c_, step.dst);
      const std::byte* src = resolve(c_, step.src);
      if (dst != src) std::memmove(dst, src, step.bytes);
    }
  }

  // Waits, with the executor's usual backoff, deadline, abort and peer-health checks, until
  // `condition` holds.
  template <typename Condition>
  Status waitUntil(const Condition& condition, const char* what) {
    IdleWait idle;
    Deadline deadline(c_.timeoutMs);
    while (!condition()) {
      if (!idle.pauseUntilCheckDue()) continue;
      // A peer may have done its part and exited while we paused: look again before judging it.
      if (condition()) break;
      for (int peer = 0; peer < static_cast<int>(c_.connections.size()); ++peer) {
        Status st = c_.connections[peer]->checkPeer();
        if (!st.isOk()) {
          return {st.code(), "rank " + std::to_string(peer) + " failed while rank " + std::to_string(c_.rank) +
                                 " was waiting for " + what + " in " + plan_.algorithm + ": " + st.message()};
        }
      }
      if (c_.abortFlag != nullptr && c_.abortFlag->load(std::memory_order_relaxed)) {
        return {strataRemoteError, std::string("communicator was aborted while waiting for ") + what};
      }
      if (deadline.expired()) {
        return timeoutError("timed out after " + std::to_string(c_.timeoutMs) + " ms (STRATA_TIMEOUT_MS) waiting for " +
                            what + " in " + plan_.algorithm + "; check that every rank is alive and issued the same call");
      }
    }
    return Status::ok();
  }

  Status runWindowSteps(const Stage& stage) {
    for (const Step& step : stage.steps) {
      if (!Plan::isWindowStep(step.kind)) continue;
      PeerWindows* w = c_.windows;
      size_t windowEnd = step.kind == StepKind::WindowPublish ? step.bytes : step.src.offset + step.bytes;
      if (step.kind == StepKind::WindowShare) windowEnd = step.dst.offset + step.bytes;
      if (w == nullptr || windowEnd > w->halfBytes()) {
        return internalError(plan_.algorithm + " needs a peer-memory window of " + std::to_string(windowEnd) + " bytes");
      }
      // Every rank numbers window operations alike: the plan's operation k is sequence base + k + 1.
      const uint64_t sequence = c_.windowSequenceAtPlanStart + step.windowOp + 1;
      STRATA_RETURN_IF_ERROR(runWindowStep(step, *w, sequence));
    }
    return Status::ok();
  }

  Status runWindowStep(const Step& step, PeerWindows& w, uint64_t sequence) {
    switch (step.kind) {
      case StepKind::WindowPublish:
        // This half was last used by operation sequence-2: everyone must be done reading it.
        STRATA_RETURN_IF_ERROR(waitUntil([&] { return sequence <= 2 || w.allDone(sequence - 2); },
                                         "every rank to finish reading the previous window"));
        std::memcpy(w.data(c_.rank, sequence), resolve(c_, step.src), step.bytes);
        w.flags(c_.rank).ready.store(sequence, std::memory_order_release);
        *c_.windowSequence = std::max(*c_.windowSequence, sequence);
        return Status::ok();
      case StepKind::WindowReduce: {
        STRATA_RETURN_IF_ERROR(waitUntil([&] { return w.allReady(sequence); }, "every rank to publish its window"));
        // Every rank folds the windows in rank order, so all get bit-identical results.
        std::byte* dst = resolve(c_, step.dst);
        size_t at = step.src.offset;
        size_t count = step.bytes / dataTypeSize(c_.dtype);
        if (w.nranks() == 1) {
          std::memcpy(dst, w.data(0, sequence) + at, step.bytes);
        } else {
          reduceBuffers(dst, w.data(0, sequence) + at, w.data(1, sequence) + at, count, c_.dtype, c_.op);
          for (int r = 2; r < w.nranks(); ++r) reduceBuffers(dst, dst, w.data(r, sequence) + at, count, c_.dtype, c_.op);
        }
        return Status::ok();
      }
      case StepKind::WindowShare:
        std::memcpy(w.data(c_.rank, sequence) + step.dst.offset, resolve(c_, step.src), step.bytes);
        w.flags(c_.rank).shared.store(sequence, std::memory_order_release);
        return Status::ok();
      case StepKind::WindowRead: {
        auto& peerFlags = w.flags(step.peer);
        STRATA_RETURN_IF_ERROR(waitUntil(
            [&] { return peerFlags.shared.load(std::memory_order_acquire) >= sequence; },
            "a rank to share its reduced slice"));
        std::memcpy(resolve(c_, step.dst), w.data(step.peer, sequence) + step.src.offset, step.bytes);
        return Status::ok();
      }
      case StepKind::WindowRelease:
        w.flags(c_.rank).done.store(sequence, std::memory_order_release);
        return Status::ok();
      default: return Status::ok();
    }
  }

  Status prepareTransfers(const Stage& stage) {
    // Receive-and-reduce folds straight out of transports that can peek; the others need a
    // staging area to receive into first.
    size_t stagingBytes = 0;
    for (const Step& step : stage.steps) {
      if (step.kind == StepKind::RecvReduce && !c_.connections[step.peer]->canPeek()) stagingBytes += step.bytes;
    }
    if (c_.staging->size() < stagingBytes) c_.staging->resize(stagingBytes);
    std::byte* staging = c_.staging->data();
    transfers_.clear();
    int nranks = static_cast<int>(c_.connections.size());
    lastOnChannel_.assign(static_cast<size_t>(2 * nranks), -1);
    for (const Step& step : stage.steps) {
      if (step.kind == StepKind::Copy || Plan::isWindowStep(step.kind)) continue;
      if (step.peer < 0 || step.peer >= nranks || c_.connections[step.peer] == nullptr) {
        return internalError("plan names peer " + std::to_string(step.peer) + " with no connection");
      }
      ActiveTransfer t;
      t.step = &step;
      t.request.bytes = step.bytes;
      switch (step.kind) {
        case StepKind::Send: t.request.data = resolve(c_, step.src); break;
        case StepKind::Recv: t.request.data = resolve(c_, step.dst); break;
        case StepKind::RecvReduce:
          t.folding = c_.connections[step.peer]->canPeek();
          if (!t.folding) {
            t.request.data = staging;
            staging += step.bytes;
          }
          break;
        default: break;
      }
      size_t channel = static_cast<size_t>(2 * step.peer + (step.kind == StepKind::Send ? 1 : 0));
      t.predecessor = lastOnChannel_[channel];
      lastOnChannel_[channel] = static_cast<int>(transfers_.size());
      transfers_.push_back(t);
    }
    return Status::ok();
  }

  // Folds newly arrived whole elements of a receive-and-reduce into its destination.
  void foldArrived(ActiveTransfer& t) {
    size_t elementSize = dataTypeSize(c_.dtype);
    size_t ready = t.request.contiguous / elementSize * elementSize;
    if (ready == t.reduced || (ready - t.reduced < kReducePieceBytes && ready != t.request.bytes)) return;
    const Step& s = *t.step;
    reduceBuffers(resolve(c_, s.dst) + t.reduced, resolve(c_, s.src) + t.reduced,
                  t.request.data + t.reduced, (ready - t.reduced) / elementSize, c_.dtype, c_.op);
    t.reduced = ready;
  }

  // Reduces whatever whole elements the transport holds for `t` directly into the destination.
  void foldInPlace(ActiveTransfer& t, Connection* connection) {
    const size_t elementSize = dataTypeSize(c_.dtype);
    const Step& s = *t.step;
    while (!t.request.complete()) {
      const std::byte* view = nullptr;
      size_t available = connection->peekReceived(t.request, &view, t.request.bytes - t.request.done);
      size_t whole = available / elementSize * elementSize;
      if (whole == 0) return;
      // Small pieces cost more in call overhead and shared-counter traffic than they gain: wait
      // for more while the producer is still adding (the run stops growing when it is paused or
      // the run ends at the ring's end, and then what is there is folded).
      size_t remaining = t.request.bytes - t.request.done;
      if (whole < kReducePieceBytes && whole < remaining && available != t.lastPeek) {
        t.lastPeek = available;
        return;
      }
      t.lastPeek = 0;
      size_t at = t.request.done;
      reduceBuffers(resolve(c_, s.dst) + at, resolve(c_, s.src) + at, view, whole / elementSize, c_.dtype, c_.op);
      connection->consumeReceived(t.request, whole);
    }
  }

  Status progressUntilDone() {
    size_t remaining = transfers_.size();
    IdleWait idle;
    bool healthCheckDue = false;
    Deadline deadline(c_.timeoutMs);
    while (remaining > 0) {
      bool progressed = false;
      for (ActiveTransfer& t : transfers_) {
        if (t.finished) continue;
        if (t.predecessor >= 0 && !transfers_[t.predecessor].finished) continue;
        Connection* connection = c_.connections[t.step->peer];
        size_t before = t.request.done;
        if (t.folding) {
          foldInPlace(t, connection);
        } else {
          Status st = t.step->kind == StepKind::Send ? connection->progressSend(t.request)
                                                     : connection->progressRecv(t.request);
          if (!st.isOk()) return failure(st, t);
          if (t.step->kind == StepKind::RecvReduce) foldArrived(t);
        }
        if (t.request.done != before) progressed = true;
        if (t.request.complete()) {
          t.finished = true;
          --remaining;
          progressed = true;
        }
      }
      // Health is judged only after a full pass that moved nothing following the pause: a peer
      // that sent its last bytes and exited while we paused is not a failure.
      if (progressed) {
        idle.progressed();
        healthCheckDue = false;
      } else if (healthCheckDue) {
        STRATA_RETURN_IF_ERROR(checkHealth(deadline));
        healthCheckDue = false;
      } else {
        healthCheckDue = idle.pauseUntilCheckDue();
      }
    }
    return Status::ok();
  }

  Status checkHealth(const Deadline& deadline) {
    const ActiveTransfer* firstWaiting = nullptr;
    for (const ActiveTransfer& t : transfers_) {
      if (t.finished) continue;
      if (firstWaiting == nullptr) firstWaiting = &t;
      Status st = c_.connections[t.step->peer]->checkPeer();
      if (!st.isOk()) return failure(st, t);
    }
    if (c_.abortFlag != nullptr && c_.abortFlag->load(std::memory_order_relaxed)) {
      return {strataRemoteError, "communicator was aborted while waiting to " + describeWait(c_, *firstWaiting)};
    }
    if (deadline.expired()) {
      return timeoutError("timed out after " + std::to_string(c_.timeoutMs) + " ms (STRATA_TIMEOUT_MS) in stage " +
                          std::to_string(stageIndex_ + 1) + "/" + std::to_string(plan_.stages.size()) +
                          " of " + plan_.algorithm + " waiting to " + describeWait(c_, *firstWaiting) +
                          "; check that rank " + std::to_string(firstWaiting->step->peer) +
                          " is alive and issued the same call");
    }
    return Status::ok();
  }

  Status failure(const Status& cause, const ActiveTransfer& t) const {
    return {cause.code(), "rank " + std::to_string(t.step->peer) + " failed while rank " +
                              std::to_string(c_.rank) + " was trying to " + describeWait(c_, t) +
                              " in " + plan_.algorithm + ": " + cause.message()};
  }

  ExecutionContext& c_;
  const Plan& plan_;
  size_t stageIndex_;
  std::vector<ActiveTransfer>& transfers_;
  std::vector<int>& lastOnChannel_;
};

}  // namespace

Status PlanExecutor::run(const Plan& plan, ExecutionContext& context) {
  if (context.windowSequence != nullptr) context.windowSequenceAtPlanStart = *context.windowSequence;
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    StageRunner runner(context, plan, i, transfers_, lastOnChannel_);
    STRATA_RETURN_IF_ERROR(runner.run(plan.stages[i]));
  }
  return Status::ok();
}

Status executePlan(const Plan& plan, ExecutionContext& context) {
  PlanExecutor executor;
  return executor.run(plan, context);
}

}  // namespace strata
