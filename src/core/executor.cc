#include "src/core/executor.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "src/common/datatype.h"
#include "src/core/idle_wait.h"
#include "src/reduce/reduce.h"

namespace strata {
namespace {

// Reduce in pieces of this many bytes as data arrives, so reduction overlaps the transfer.
constexpr size_t kReducePieceBytes = 64 * 1024;

std::byte* resolve(const ExecutionContext& c, const BufferSlice& slice) {
  return c.buffers[slice.buffer] + slice.offset;
}

bool isSend(StepKind kind) { return kind == StepKind::Send || kind == StepKind::SendSignal; }

std::string describeWait(const ExecutionContext& c, const ActiveTransfer& t) {
  const Step& s = *t.step;
  bool signal = s.kind == StepKind::SendSignal || s.kind == StepKind::RecvSignal;
  std::string what = signal ? "the call's agreement signal" : std::to_string(s.bytes) + " bytes";
  return std::string(isSend(s.kind) ? "send " : "receive ") + what + (isSend(s.kind) ? " to" : " from") + " rank " +
         std::to_string(s.peer) + " (" + std::to_string(t.request.done) + " done, over " +
         c.connections[s.peer]->kind() + ")";
}

// The frame a step's message carries (or, for a receive, is expected to carry).
Frame frameFor(const ExecutionContext& c, const Step& step) {
  Frame frame{c.call, FrameRole::Data, step.bytes};
  if (step.kind == StepKind::SendSignal || step.kind == StepKind::RecvSignal) frame.role = FrameRole::Signal;
  if (step.dtype != kCallDatatype) {
    frame.tag.dtype = step.dtype;
    size_t size = dataTypeSize(static_cast<strataDataType_t>(step.dtype));
    frame.tag.count = size > 0 ? step.bytes / size : step.bytes;
  }
  return frame;
}

bool overlaps(const Step& a, const Step& b) {
  return a.dst.buffer == b.dst.buffer && a.dst.offset < b.dst.offset + b.bytes && b.dst.offset < a.dst.offset + a.bytes;
}

class StageRunner {
 public:
  StageRunner(ExecutionContext& context, const Plan& plan, size_t stageIndex, std::vector<ActiveTransfer>& transfers,
              std::vector<int>& lastOnChannel, std::vector<int>& watched)
      : c_(context),
        plan_(plan),
        stageIndex_(stageIndex),
        transfers_(transfers),
        lastOnChannel_(lastOnChannel),
        watched_(watched) {}

  Status run(const Stage& stage) {
    const std::vector<Step>& steps = stage.steps;
    for (size_t i = 0; i < steps.size();) {
      const Step& step = steps[i];
      if (step.kind == StepKind::WindowReadSource) {
        size_t end = i + 1;
        while (end < steps.size() && steps[end].kind == StepKind::WindowReadSource && steps[end].peer == step.peer &&
               steps[end].windowOp == step.windowOp) {
          ++end;
        }
        STRATA_RETURN_IF_ERROR(readPublishedSources(&steps[i], end - i, c_, plan_.algorithm));
        i = end;
        continue;
      }
      if (Plan::isWindowStep(step.kind)) STRATA_RETURN_IF_ERROR(runWindowStep(step, c_, plan_.algorithm));
      ++i;
    }
    runLocalCopies(stage);
    // Peer-memory and local stages (a one-shot allreduce is all of them) move no messages.
    if (std::none_of(stage.steps.begin(), stage.steps.end(), [](const Step& s) { return Plan::isTransfer(s.kind); })) {
      return Status::ok();
    }
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
    sleepable_ = c_.doorbell != nullptr;
    wakeSource_ = nullptr;
    bool sharedWakeFd = true;
    int nranks = static_cast<int>(c_.connections.size());
    lastOnChannel_.assign(static_cast<size_t>(2 * nranks), -1);
    for (const Step& step : stage.steps) {
      if (!Plan::isTransfer(step.kind)) continue;
      if (step.peer < 0 || step.peer >= nranks || c_.connections[step.peer] == nullptr) {
        return internalError("plan names peer " + std::to_string(step.peer) + " with no connection");
      }
      Connection* connection = c_.connections[step.peer];
      Status opening = connection->prepare();
      if (!opening.isOk()) {
        return Status(opening.code(), "rank " + std::to_string(c_.rank) + " could not open its connection to rank " +
                                          std::to_string(step.peer) + " for " + plan_.algorithm + ": " + opening.message());
      }
      sleepable_ = sleepable_ && connection->wakesOwnerDoorbell();
      if (wakeSource_ == nullptr && sharedWakeFd) wakeSource_ = connection;
      sharedWakeFd = sharedWakeFd && connection->wakeFd() >= 0 && connection->wakeFd() == wakeSource_->wakeFd();
      ActiveTransfer t;
      t.step = &step;
      t.request.bytes = step.bytes;
      t.request.frameBytes = kFrameHeaderBytes;
      switch (step.kind) {
        case StepKind::Send: t.request.data = resolve(c_, step.src); break;
        case StepKind::Recv: t.request.data = resolve(c_, step.dst); break;
        case StepKind::RecvReduce:
          t.folding = c_.connections[step.peer]->canPeek();
          if (!t.folding) {
            t.request.data = staging;
            t.request.intoStaging = true;
            staging += step.bytes;
          }
          t.foldsAfterOthers = overlapsEarlierFold(step);
          break;
        default: break;
      }
      if (isSend(step.kind)) {
        encodeFrame(frameFor(c_, step), t.request.frame);
        t.request.frameAccepted = true;  // nothing to accept on the sending side
      }
      size_t channel = static_cast<size_t>(2 * step.peer + (isSend(step.kind) ? 1 : 0));
      t.predecessor = lastOnChannel_[channel];
      lastOnChannel_[channel] = static_cast<int>(transfers_.size());
      transfers_.push_back(t);
    }
    if (!sharedWakeFd) wakeSource_ = nullptr;
    // Room for checkHealth's list now, while the plan is new: a stall later allocates nothing.
    if (watched_.capacity() < transfers_.size()) watched_.reserve(transfers_.size());
    return Status::ok();
  }

  // A receive-and-reduce into a range an earlier one of this stage also reduces into folds after
  // it: the order of a floating-point sum must not depend on which peer's data came first.
  bool overlapsEarlierFold(const Step& step) const {
    for (const ActiveTransfer& earlier : transfers_) {
      if (earlier.step->kind == StepKind::RecvReduce && overlaps(*earlier.step, step)) return true;
    }
    return false;
  }

  // How far `t` may fold: no further than any unfinished earlier fold into an overlapping range
  // (element for element when the ranges are the same, not at all otherwise).
  size_t foldLimit(const ActiveTransfer& t) const {
    size_t limit = t.request.bytes;
    if (!t.foldsAfterOthers) return limit;
    for (const ActiveTransfer& earlier : transfers_) {
      if (&earlier == &t) break;
      if (earlier.finished || earlier.step->kind != StepKind::RecvReduce || !overlaps(*earlier.step, *t.step)) continue;
      const bool sameRange = earlier.step->dst.offset == t.step->dst.offset && earlier.step->bytes == t.step->bytes;
      limit = std::min(limit, sameRange ? earlier.folded() : size_t{0});
    }
    return limit;
  }

  // Folds newly arrived whole elements of a receive-and-reduce into its destination.
  void foldArrived(ActiveTransfer& t) {
    size_t elementSize = dataTypeSize(c_.dtype);
    size_t ready = std::min(t.request.contiguous, foldLimit(t)) / elementSize * elementSize;
    if (ready <= t.reduced || (ready - t.reduced < kReducePieceBytes && ready != t.request.bytes)) return;
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
      const size_t limit = foldLimit(t);
      if (limit <= t.request.done) return;
      const std::byte* view = nullptr;
      size_t available = connection->peekReceived(t.request, &view, limit - t.request.done);
      size_t whole = available / elementSize * elementSize;
      if (whole == 0) return;
      // Small pieces cost more in call overhead and shared-counter traffic than they gain: wait
      // for more while the producer is still adding (the run stops growing when it is paused or
      // the run ends at the ring's end, and then what is there is folded).
      size_t remaining = t.request.bytes - t.request.done;
      if (whole < kReducePieceBytes && whole < remaining && available != t.lastPeek && limit == t.request.bytes) {
        t.lastPeek = available;
        return;
      }
      t.lastPeek = 0;
      size_t at = t.request.done;
      reduceBuffers(resolve(c_, s.dst) + at, resolve(c_, s.src) + at, view, whole / elementSize, c_.dtype, c_.op);
      connection->consumeReceived(t.request, whole);
    }
  }

  // A receive first takes its frame and checks it: no payload byte is taken before that.
  Status acceptFrame(ActiveTransfer& t, Connection* connection, bool* progressed) {
    size_t before = t.request.frameDone;
    Status st = connection->progressFrame(t.request);
    if (!st.isOk()) return failure(st, t);
    if (t.request.frameDone != before) *progressed = true;
    if (!t.request.frameComplete()) return Status::ok();
    Frame received;
    if (!decodeFrame(t.request.frame, &received)) {
      return invalidUsage("rank " + std::to_string(t.step->peer) + " sent bytes that are not a Strata message where " +
                          "rank " + std::to_string(c_.rank) + " expected a message of " + c_.call.describe() +
                          "; the two ranks' calls went out of step earlier");
    }
    STRATA_RETURN_IF_ERROR(checkFrame(frameFor(c_, *t.step), received, t.step->peer, c_.rank));
    t.request.frameAccepted = true;
    return Status::ok();
  }

  Status progressOne(ActiveTransfer& t, bool* progressed) {
    Connection* connection = c_.connections[t.step->peer];
    if (!t.request.frameAccepted) {
      STRATA_RETURN_IF_ERROR(acceptFrame(t, connection, progressed));
      if (!t.request.frameAccepted) return Status::ok();
    }
    size_t before = t.request.done + t.request.frameDone;
    if (t.folding) {
      const size_t seenBefore = t.lastPeek;
      foldInPlace(t, connection);
      // Bytes that arrived and were held back for more count as progress: a wait must not sleep
      // on them, since their producer rang before we armed and may now wait for us.
      if (t.lastPeek != seenBefore && t.lastPeek != 0) *progressed = true;
    } else {
      Status st = isSend(t.step->kind) ? connection->progressSend(t.request) : connection->progressRecv(t.request);
      if (!st.isOk()) return failure(st, t);
      // Work the request does not show yet is progress: the wait keeps spinning on the transport
      // (health checks still come after the first quiet pass, as for any progress). Letting the
      // wait sleep instead made 4 MiB allreduce over UCX's tcp 1.3-1.8x slower.
      if (connection->movedUnseen()) *progressed = true;
      if (t.step->kind == StepKind::RecvReduce) foldArrived(t);
    }
    if (t.request.done + t.request.frameDone != before) *progressed = true;
    // A receive-and-reduce is finished when everything is folded, not merely received.
    bool done = t.request.complete() && (t.step->kind != StepKind::RecvReduce || t.folded() == t.request.bytes);
    if (done) {
      t.finished = true;
      *progressed = true;
    }
    return Status::ok();
  }

  Status progressUntilDone() {
    size_t remaining = transfers_.size();
    IdleWait idle(c_.timeoutMs, c_.waitPolicy, c_.abortFlag);
    DoorbellWord* bell = sleepable_ ? c_.doorbell : nullptr;
    bool healthCheckDue = false;
    while (remaining > 0) {
      bool progressed = false;
      for (ActiveTransfer& t : transfers_) {
        if (t.finished) continue;
        if (t.predecessor >= 0 && !transfers_[t.predecessor].finished) continue;
        STRATA_RETURN_IF_ERROR(progressOne(t, &progressed));
        if (t.finished) --remaining;
      }
      // Health is judged only after a full pass that moved nothing following the pause: a peer
      // that sent its last bytes and exited while we paused is not a failure.
      if (progressed) {
        idle.progressed();
        healthCheckDue = false;
      } else if (healthCheckDue) {
        STRATA_RETURN_IF_ERROR(checkHealth(idle.deadline()));
        healthCheckDue = false;
      } else {
        healthCheckDue = idle.pauseUntilCheckDue(bell, wakeSource_);
      }
    }
    return Status::ok();
  }

  Status checkHealth(const Deadline& deadline) {
    const ActiveTransfer* firstWaiting = nullptr;
    watched_.clear();
    for (const ActiveTransfer& t : transfers_) {
      if (t.finished) continue;
      if (firstWaiting == nullptr) firstWaiting = &t;
      watched_.push_back(t.step->peer);
    }
    auto where = [&] {
      return "stage " + std::to_string(stageIndex_ + 1) + "/" + std::to_string(plan_.stages.size()) + " of " +
             plan_.algorithm;
    };
    return checkStalledWait(c_, deadline, where, watched_, [&] { return describeWait(c_, *firstWaiting); },
                            firstWaiting->step->peer);
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
  std::vector<int>& watched_;
  bool sleepable_ = false;  // every peer of this stage rings our doorbell when it moves
  // A connection whose wake descriptor every transfer of this stage shares (ucx), else null.
  Connection* wakeSource_ = nullptr;
};

}  // namespace

Status PlanExecutor::run(const Plan& plan, ExecutionContext& context) {
  if (context.windowSequence != nullptr) context.windowSequenceAtPlanStart = *context.windowSequence;
  for (size_t i = 0; i < plan.stages.size(); ++i) {
    StageRunner runner(context, plan, i, transfers_, lastOnChannel_, watched_);
    STRATA_RETURN_IF_ERROR(runner.run(plan.stages[i]));
  }
  return Status::ok();
}

Status executePlan(const Plan& plan, ExecutionContext& context) {
  PlanExecutor executor;
  return executor.run(plan, context);
}

}  // namespace strata
