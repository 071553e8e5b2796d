// The executor's peer-memory steps (plan.h): publish into our window, reduce out of every window,
// share a reduced slice, read a peer's slice, release, and the exchange steps (write into our
// window, get from a peer's). Each publish writes the call's tag next to the flags, and every
// read checks the tag of the rank it reads, so ranks in different calls fail with
// strataInvalidUsage instead of taking each other's data.
#include <algorithm>
#include <cstring>

#include "src/common/datatype.h"
#include "src/core/executor.h"
#include "src/core/idle_wait.h"
#include "src/reduce/reduce.h"
#include "transports/memory/single_copy.h"

namespace strata {
namespace {

static_assert(kFrameHeaderBytes <= kWindowTagBytes, "a call tag must fit a window's tag slot");

std::byte* resolve(const ExecutionContext& c, const BufferSlice& slice) { return c.buffers[slice.buffer] + slice.offset; }

// Waits with the executor's backoff and stall checks until `condition` holds.
template <typename Condition>
Status waitUntil(const ExecutionContext& c, const Condition& condition, const std::string& where, const char* what) {
  IdleWait idle(c.timeoutMs, c.waitPolicy, c.abortFlag);
  DoorbellWord* bell = c.windows->wakesWaiters() ? c.doorbell : nullptr;
  while (!condition()) {
    if (!idle.pauseUntilCheckDue(bell)) continue;
    // A peer may have done its part and exited while we paused: look again before judging it.
    if (condition()) break;
    STRATA_RETURN_IF_ERROR(checkStalledWait(
        c, idle.deadline(), [&] { return where; }, {}, [&] { return std::string(what); }, -1));
  }
  idle.progressed();  // the policy learns how this wait ended
  return Status::ok();
}

// `peer`'s tag for window operation `sequence` (read once its flag reached it) must name our call.
Status checkPeerTag(const ExecutionContext& c, const PeerWindows& w, int peer, uint64_t sequence) {
  std::byte tag[kWindowTagBytes];
  w.readTag(peer, sequence, tag);
  Frame published;
  if (!decodeFrame(tag, &published) || published.length != sequence) {
    return invalidUsage("rank " + std::to_string(peer) + " published window operation " + std::to_string(sequence) +
                        " without a matching call while rank " + std::to_string(c.rank) + " is in " +
                        c.call.describe() + "; every rank must issue the same calls in the same order");
  }
  return checkFrame({c.call, FrameRole::Data, sequence}, published, peer, c.rank);
}

// Every rank's tag for window operation `sequence` must name our call.
Status checkWindowTags(const ExecutionContext& c, const PeerWindows& w, uint64_t sequence) {
  for (int peer = 0; peer < w.nranks(); ++peer) {
    if (peer != c.rank) STRATA_RETURN_IF_ERROR(checkPeerTag(c, w, peer, sequence));
  }
  return Status::ok();
}

// Whether this half is free to write: it was last used by operation sequence-2, which every
// rank must have finished reading.
bool halfReleased(const PeerWindows& w, uint64_t sequence) { return sequence <= 2 || w.allDone(sequence - 2); }

}  // namespace

Status runWindowStep(const Step& step, ExecutionContext& c, const std::string& where) {
  PeerWindows* w = c.windows;
  size_t windowEnd = step.kind == StepKind::WindowPublish ? step.bytes : step.src.offset + step.bytes;
  if (step.kind == StepKind::WindowShare || step.kind == StepKind::WindowWrite) windowEnd = step.dst.offset + step.bytes;
  if (step.kind == StepKind::WindowPublishSource) windowEnd = sizeof(uint64_t);
  if (step.kind == StepKind::WindowAwaitReaders) windowEnd = 0;
  if (w == nullptr || windowEnd > w->halfBytes()) {
    return internalError(where + " needs a peer-memory window of " + std::to_string(windowEnd) + " bytes");
  }
  // Every rank numbers window operations alike: the plan's operation k is sequence base + k + 1.
  const uint64_t sequence = c.windowSequenceAtPlanStart + step.windowOp + 1;
  switch (step.kind) {
    case StepKind::WindowPublish:
      // This half was last used by operation sequence-2: everyone must be done reading it.
      STRATA_RETURN_IF_ERROR(waitUntil(c, [&] { return halfReleased(*w, sequence); }, where,
                                       "see every rank finish reading the previous window"));
      {
        const std::byte* src = resolve(c, step.src);
        if (step.bytes > 0) std::memcpy(w->data(c.rank, sequence), src, step.bytes);
        std::byte tag[kWindowTagBytes] = {};
        encodeFrame({c.call, FrameRole::Data, sequence}, tag);
        w->publish(sequence, tag, src, step.bytes);
      }
      *c.windowSequence = std::max(*c.windowSequence, sequence);
      return Status::ok();
    case StepKind::WindowReduce: {
      STRATA_RETURN_IF_ERROR(waitUntil(c, [&] { return w->allReady(sequence); }, where, "see every rank publish its window"));
      STRATA_RETURN_IF_ERROR(checkWindowTags(c, *w, sequence));
      // Every rank folds the windows in rank order, so all get bit-identical results. A range
      // within a publish's first bytes is read from the header line the tag came in.
      std::byte* dst = resolve(c, step.dst);
      const size_t at = step.src.offset;
      const size_t count = step.bytes / dataTypeSize(c.dtype);
      const bool inHeader = at + step.bytes <= kWindowInlineBytes;
      auto window = [&](int r) -> const std::byte* {
        return (inHeader ? w->inlineData(r, sequence) : w->data(r, sequence)) + at;
      };
      if (w->nranks() == 1) {
        std::memcpy(dst, window(0), step.bytes);
      } else {
        reduceBuffers(dst, window(0), window(1), count, c.dtype, c.op);
        for (int r = 2; r < w->nranks(); ++r) reduceBuffers(dst, dst, window(r), count, c.dtype, c.op);
      }
      return Status::ok();
    }
    case StepKind::WindowShare:
      std::memcpy(w->data(c.rank, sequence) + step.dst.offset, resolve(c, step.src), step.bytes);
      w->raise(&WindowFlags::shared, sequence);
      return Status::ok();
    case StepKind::WindowRead: {
      auto& peerFlags = w->flags(step.peer);
      STRATA_RETURN_IF_ERROR(waitUntil(
          c, [&] { return peerFlags.shared.load(std::memory_order_acquire) >= sequence; }, where,
          "see a rank share its reduced slice"));
      STRATA_RETURN_IF_ERROR(checkPeerTag(c, *w, step.peer, sequence));
      std::memcpy(resolve(c, step.dst), w->data(step.peer, sequence) + step.src.offset, step.bytes);
      return Status::ok();
    }
    case StepKind::WindowWrite:
      // Most writes of an operation find the half free already: no wait set up for them.
      if (!halfReleased(*w, sequence)) {
        STRATA_RETURN_IF_ERROR(waitUntil(c, [&] { return halfReleased(*w, sequence); }, where,
                                         "see every rank finish reading the previous window"));
      }
      std::memcpy(w->data(c.rank, sequence) + step.dst.offset, resolve(c, step.src), step.bytes);
      return Status::ok();
    case StepKind::WindowGet: {
      // A zero-byte get only checks the peer's tag: plans check every peer once per exchange.
      auto& peerFlags = w->flags(step.peer);
      auto published = [&] { return peerFlags.ready.load(std::memory_order_acquire) >= sequence; };
      if (!published()) STRATA_RETURN_IF_ERROR(waitUntil(c, published, where, "see a rank publish its window"));
      STRATA_RETURN_IF_ERROR(checkPeerTag(c, *w, step.peer, sequence));
      if (step.bytes > 0) std::memcpy(resolve(c, step.dst), w->data(step.peer, sequence) + step.src.offset, step.bytes);
      return Status::ok();
    }
    case StepKind::WindowRelease:
      w->raise(&WindowFlags::done, sequence);
      return Status::ok();
    case StepKind::WindowPublishSource: {
      if (!w->singleCopy()) return internalError(where + " reads buffers directly, which this host's ranks cannot");
      STRATA_RETURN_IF_ERROR(waitUntil(c, [&] { return halfReleased(*w, sequence); }, where,
                                       "see every rank finish reading the previous window"));
      w->writeSourceAddress(sequence, reinterpret_cast<uint64_t>(c.buffers[step.src.buffer]));
      std::byte tag[kWindowTagBytes] = {};
      encodeFrame({c.call, FrameRole::Data, sequence}, tag);
      w->publish(sequence, tag, nullptr, 0);
      *c.windowSequence = std::max(*c.windowSequence, sequence);
      return Status::ok();
    }
    case StepKind::WindowAwaitReaders:
      return waitUntil(c, [&] { return w->allDone(sequence); }, where, "see every rank finish reading our buffer");
    default: return Status::ok();
  }
}

Status readPublishedSources(const Step* reads, size_t count, ExecutionContext& c, const std::string& where) {
  PeerWindows* w = c.windows;
  if (w == nullptr || !w->singleCopy()) return internalError(where + " reads buffers directly, which this host's ranks cannot");
  const int peer = reads[0].peer;
  const uint64_t sequence = c.windowSequenceAtPlanStart + reads[0].windowOp + 1;
  auto& peerFlags = w->flags(peer);
  auto published = [&] { return peerFlags.ready.load(std::memory_order_acquire) >= sequence; };
  if (!published()) STRATA_RETURN_IF_ERROR(waitUntil(c, published, where, "see a rank publish its buffer"));
  STRATA_RETURN_IF_ERROR(checkPeerTag(c, *w, peer, sequence));
  const uint64_t source = w->sourceAddress(peer, sequence);
  // Batches on the stack: a steady call allocates nothing.
  constexpr size_t kBatch = 128;
  static_assert(kBatch <= kMaxPiecesPerRead, "one system call per batch");
  iovec local[kBatch], remote[kBatch];
  size_t pieces = 0;
  auto flush = [&] {
    Status st = readFromProcess(w->pid(peer), peer, local, remote, pieces);
    pieces = 0;
    return st;
  };
  for (size_t i = 0; i < count; ++i) {
    if (reads[i].bytes == 0) continue;  // the tag check alone
    local[pieces] = {resolve(c, reads[i].dst), reads[i].bytes};
    remote[pieces] = {reinterpret_cast<void*>(source + reads[i].src.offset), reads[i].bytes};
    if (++pieces == kBatch) STRATA_RETURN_IF_ERROR(flush());
  }
  return pieces > 0 ? flush() : Status::ok();
}

}  // namespace strata
