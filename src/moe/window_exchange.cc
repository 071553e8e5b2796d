// Plans of window row exchanges: a sender's rows for the other ranks form one stream in its
// window, cut into chunks of a window half; a receiver knows where its rows lie in every
// sender's stream from the shared send counts.
#include "src/moe/window_exchange.h"

#include <algorithm>

namespace strata::moe {
namespace {

// Collects copies of whole rows and emits one step per contiguous run (rows of consecutive
// tokens usually lie next to each other on both sides).
class RunCollector {
 public:
  // emit(windowOrSourceOffset, bufferOffset, bytes)
  explicit RunCollector(FunctionRef<void(size_t, size_t, size_t)> emit) : emit_(emit) {}
  ~RunCollector() { flush(); }
  RunCollector(const RunCollector&) = delete;
  RunCollector& operator=(const RunCollector&) = delete;

  void add(size_t a, size_t b, size_t bytes) {
    if (bytes_ > 0 && a == a_ + bytes_ && b == b_ + bytes_) {
      bytes_ += bytes;
      return;
    }
    flush();
    a_ = a;
    b_ = b;
    bytes_ = bytes;
  }
  void flush() {
    if (bytes_ > 0) emit_(a_, b_, bytes_);
    bytes_ = 0;
  }

 private:
  FunctionRef<void(size_t, size_t, size_t)> emit_;
  size_t a_ = 0, b_ = 0, bytes_ = 0;
};

class Streams {
 public:
  explicit Streams(const WindowExchange& x) : x_(x), n_(static_cast<int>(x.rows->size())) {}
  int nranks() const { return n_; }
  size_t rows(int from, int to) const {
    const auto& m = *x_.rows;
    return x_.reversed ? m[static_cast<size_t>(to)][static_cast<size_t>(from)]
                       : m[static_cast<size_t>(from)][static_cast<size_t>(to)];
  }
  // A sender's window stream holds its rows for the other ranks in the order from+1, from+2, ...
  // (wrapping), so the first chunks of different senders are read by different receivers.
  int destination(int from, int j) const { return (from + j) % n_; }
  size_t start(int from, int to) const {
    size_t at = 0;
    for (int j = 1; j < n_; ++j) {
      int d = destination(from, j);
      if (d == to) return at;
      at += rows(from, d);
    }
    return at;
  }
  size_t length(int from) const {
    size_t total = 0;
    for (int d = 0; d < n_; ++d) total += d == from ? 0 : rows(from, d);
    return total;
  }

 private:
  const WindowExchange& x_;
  int n_;
};

// Local copies of the rows a rank sends itself (the i-th from sendOffset(i)) into `stage`.
void addSelfCopies(Stage& stage, size_t rows, size_t rowBytes, FunctionRef<size_t(size_t)> sendOffset, RowOffset recvOffset,
                   int me) {
  auto copy = [&](size_t src, size_t dst, size_t bytes) { Plan::copy(stage, {kRecvBuffer, dst}, {kSendBuffer, src}, bytes); };
  RunCollector copies(copy);
  for (size_t i = 0; i < rows; ++i) copies.add(sendOffset(i), recvOffset(me, i), rowBytes);
}

}  // namespace

Plan planWindowRowExchange(const WindowExchange& x, RowOffset sendOffset, RowOffset recvOffset) {
  const Streams streams(x);
  const int n = streams.nranks();
  const int me = x.rank;
  const size_t rowBytes = x.rowBytes;
  const size_t perChunk = x.halfBytes / rowBytes;
  Plan plan;
  plan.algorithm = "window row exchange";
  if (x.copySelf) {
    addSelfCopies(plan.newStage(), streams.rows(me, me), rowBytes, [&](size_t i) { return sendOffset(me, i); }, recvOffset, me);
  }
  size_t longest = 0;
  for (int s = 0; s < n; ++s) longest = std::max(longest, streams.length(s));
  // At least one chunk, so that every rank checks every peer's tag even when no rows move.
  const size_t chunks = std::max<size_t>(1, (longest + perChunk - 1) / perChunk);
  for (size_t k = 0; k < chunks; ++k) {
    Stage& stage = plan.newStage();
    const auto op = static_cast<uint32_t>(k);
    const size_t lo = k * perChunk, hi = lo + perChunk;
    {
      auto write = [&](size_t windowAt, size_t src, size_t bytes) {
        Plan::windowWrite(stage, op, windowAt, {kSendBuffer, src}, bytes);
      };
      RunCollector writes(write);
      size_t at = 0;  // stream position of this destination's first row
      for (int j = 1; j < n && at < hi; ++j) {
        const int d = streams.destination(me, j);
        const size_t count = streams.rows(me, d);
        for (size_t pos = std::max(at, lo); pos < std::min(at + count, hi); ++pos) {
          writes.add((pos - lo) * rowBytes, sendOffset(d, pos - at), rowBytes);
        }
        at += count;
      }
    }
    Plan::windowPublish(stage, op, {kSendBuffer, 0}, 0);
    for (int j = 1; j < n; ++j) {
      const int s = (me - j + n) % n;
      const size_t at = streams.start(s, me);
      const size_t count = streams.rows(s, me);
      auto get = [&](size_t windowAt, size_t dst, size_t bytes) {
        Plan::windowGet(stage, op, s, {kRecvBuffer, dst}, windowAt, bytes);
      };
      RunCollector gets(get);
      for (size_t pos = std::max(at, lo); pos < std::min(at + count, hi); ++pos) {
        gets.add((pos - lo) * rowBytes, recvOffset(s, pos - at), rowBytes);
      }
      // A peer with no rows for us in the first chunk is still checked: a rank in another call
      // (other routes, another row size) fails here instead of leaving its windows out of step.
      const bool readsInFirstChunk = count > 0 && at < perChunk;
      if (k == 0 && !readsInFirstChunk) Plan::windowGet(stage, op, s, {kRecvBuffer, 0}, 0, 0);
    }
    Plan::windowRelease(stage, op);
  }
  return plan;
}

Plan planSingleCopyRowExchange(const WindowExchange& x, SenderOffset senderOffset, RowOffset recvOffset) {
  const Streams streams(x);
  const int n = streams.nranks();
  const int me = x.rank;
  const size_t rowBytes = x.rowBytes;
  Plan plan;
  plan.algorithm = "single-copy row exchange";
  // The publish goes first (a stage runs its window steps before its copies): the others read
  // our rows while we copy our own.
  constexpr uint32_t kOp = 0;
  Stage& first = plan.newStage();
  Plan::windowPublishSource(first, kOp, kSendBuffer);
  if (x.copySelf) {
    addSelfCopies(first, streams.rows(me, me), rowBytes, [&](size_t i) { return senderOffset(me, me, i); }, recvOffset, me);
  }
  Stage& stage = plan.newStage();
  for (int j = 1; j < n; ++j) {
    const int s = (me - j + n) % n;
    const size_t count = streams.rows(s, me);
    // Every peer is read or at least checked: a rank in another call fails on its tag.
    if (count == 0) Plan::windowReadSource(stage, kOp, s, {kRecvBuffer, 0}, 0, 0);
    auto read = [&](size_t source, size_t dst, size_t bytes) {
      Plan::windowReadSource(stage, kOp, s, {kRecvBuffer, dst}, source, bytes);
    };
    RunCollector reads(read);
    for (size_t i = 0; i < count; ++i) reads.add(senderOffset(s, me, i), recvOffset(s, i), rowBytes);
  }
  Plan::windowRelease(stage, kOp);
  Plan::windowAwaitReaders(stage, kOp);
  return plan;
}

}  // namespace strata::moe
