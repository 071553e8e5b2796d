// A Plan is what one rank does for one collective: stages run one after another; inside a stage
// every step runs concurrently (sends, receives, receive-and-reduce, local copies). Algorithms in
// src/algorithms produce plans; the executor runs them over connections; tests run them over
// in-memory connections. Offsets and sizes are in bytes and always whole elements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace strata {

// Buffers a step can name. Index 3 and up are extra caller buffers (grouped send/recv).
enum : uint16_t { kSendBuffer = 0, kRecvBuffer = 1, kScratchBuffer = 2, kFirstExtraBuffer = 3 };

struct BufferSlice {
  uint16_t buffer = kSendBuffer;
  size_t offset = 0;
};

enum class StepKind : uint8_t {
  Send,        // send `bytes` of src to peer
  Recv,        // receive `bytes` from peer into dst
  RecvReduce,  // dst = src (op) bytes received from peer; dst may equal src. Several into one
               // range in one stage fold in the order listed, so results never depend on timing.
  Copy,        // dst = src, locally (done first in its stage; never depends on a receive)
  SendSignal,  // a header-only message to peer (agreement rounds, acknowledgements)
  RecvSignal,  // wait for peer's header-only message
  // Peer memory (every rank of the communicator on one host). A plan's window operations are
  // numbered 0, 1, ... (Step::windowOp); each starts with a WindowPublish (or with the
  // WindowWrites it publishes). Window steps of a stage
  // run first, in the order listed, so a plan may interleave operations to overlap them.
  WindowPublish,  // copy src into our window (after every rank released this half), mark it ready
  WindowReduce,   // wait until every window is ready; dst = window 0 op window 1 op ... over
                  // window bytes [src.offset, src.offset + bytes) (a range within the first 8
                  // bytes is read from the copy WindowPublish keeps beside its tag)
  WindowShare,    // copy src into our window at dst.offset, then mark our result shared
  WindowRead,     // wait until `peer` shared its result; copy its window [src.offset, +bytes) to dst
  WindowRelease,  // we have finished reading every window of this operation
  // Exchanges through the windows (MoE rows): writes gather into our window, a zero-byte
  // WindowPublish then marks it ready, and each peer reads what is meant for it (never with a
  // WindowReduce: such a publish keeps no copy of its first bytes).
  WindowWrite,  // copy src into our window at dst.offset (after every rank released this half); no flag
  WindowGet,    // wait until `peer` published this operation, check its tag; copy its window
                // [src.offset, +bytes) to dst (zero bytes: the check alone)
  // Single-copy exchanges (when PeerWindows::singleCopy(): every rank may read every other's
  // memory): a publisher's buffer is read where it lies, one copy per row instead of two.
  WindowPublishSource,  // after every rank released this half: publish where src.buffer lies
  WindowReadSource,     // wait until `peer` published this operation, check its tag; read
                        // [src.offset, +bytes) of the buffer it published into dst (a run of
                        // reads from one peer is one system call; zero bytes: the check alone)
  WindowAwaitReaders,   // wait until every rank is done reading this operation (before our
                        // buffer may change: the call returns)
};

// Step::dtype when the step moves elements of the call's datatype (every collective).
constexpr uint8_t kCallDatatype = 0xff;

struct Step {
  StepKind kind = StepKind::Send;
  uint8_t dtype = kCallDatatype;  // point-to-point steps: the datatype of this message
  int peer = -1;
  BufferSlice dst;
  BufferSlice src;
  size_t bytes = 0;
  uint32_t windowOp = 0;  // window steps: which of the plan's window operations
};

struct Stage {
  std::vector<Step> steps;
};

struct Plan {
  std::string algorithm;
  std::vector<Stage> stages;
  size_t scratchBytes = 0;  // bytes of kScratchBuffer the plan uses

  // Builders used by algorithm files. Zero-byte steps are dropped: both sides drop them alike.
  Stage& newStage() { return stages.emplace_back(); }
  static void send(Stage& s, int peer, BufferSlice src, size_t bytes) {
    if (bytes > 0) s.steps.push_back({StepKind::Send, kCallDatatype, peer, {}, src, bytes});
  }
  static void recv(Stage& s, int peer, BufferSlice dst, size_t bytes) {
    if (bytes > 0) s.steps.push_back({StepKind::Recv, kCallDatatype, peer, dst, {}, bytes});
  }
  static void recvReduce(Stage& s, int peer, BufferSlice dst, BufferSlice src, size_t bytes) {
    if (bytes > 0) s.steps.push_back({StepKind::RecvReduce, kCallDatatype, peer, dst, src, bytes});
  }
  static void copy(Stage& s, BufferSlice dst, BufferSlice src, size_t bytes) {
    if (bytes > 0) s.steps.push_back({StepKind::Copy, kCallDatatype, -1, dst, src, bytes});
  }
  // Blocks of an all-to-all-v travel even when empty: a receiver then checks the size its sender
  // meant (0 or not) instead of never hearing of a block it did not expect.
  static void sendBlock(Stage& s, int peer, BufferSlice src, size_t bytes) {
    s.steps.push_back({StepKind::Send, kCallDatatype, peer, {}, src, bytes});
  }
  static void recvBlock(Stage& s, int peer, BufferSlice dst, size_t bytes) {
    s.steps.push_back({StepKind::Recv, kCallDatatype, peer, dst, {}, bytes});
  }
  static void sendSignal(Stage& s, int peer) { s.steps.push_back({StepKind::SendSignal, kCallDatatype, peer}); }
  static void recvSignal(Stage& s, int peer) { s.steps.push_back({StepKind::RecvSignal, kCallDatatype, peer}); }
  // Window steps keep zero-byte operations: every rank must pass the same flags in step.
  static void windowPublish(Stage& s, uint32_t op, BufferSlice src, size_t bytes) {
    s.steps.push_back({StepKind::WindowPublish, kCallDatatype, -1, {}, src, bytes, op});
  }
  static void windowReduce(Stage& s, uint32_t op, BufferSlice dst, size_t windowOffset, size_t bytes) {
    s.steps.push_back({StepKind::WindowReduce, kCallDatatype, -1, dst, {kSendBuffer, windowOffset}, bytes, op});
  }
  static void windowShare(Stage& s, uint32_t op, size_t windowOffset, BufferSlice src, size_t bytes) {
    s.steps.push_back({StepKind::WindowShare, kCallDatatype, -1, {kSendBuffer, windowOffset}, src, bytes, op});
  }
  static void windowRead(Stage& s, uint32_t op, int peer, BufferSlice dst, size_t windowOffset, size_t bytes) {
    s.steps.push_back({StepKind::WindowRead, kCallDatatype, peer, dst, {kSendBuffer, windowOffset}, bytes, op});
  }
  static void windowRelease(Stage& s, uint32_t op) {
    s.steps.push_back({StepKind::WindowRelease, kCallDatatype, -1, {}, {}, 0, op});
  }
  static void windowWrite(Stage& s, uint32_t op, size_t windowOffset, BufferSlice src, size_t bytes) {
    s.steps.push_back({StepKind::WindowWrite, kCallDatatype, -1, {kSendBuffer, windowOffset}, src, bytes, op});
  }
  static void windowGet(Stage& s, uint32_t op, int peer, BufferSlice dst, size_t windowOffset, size_t bytes) {
    s.steps.push_back({StepKind::WindowGet, kCallDatatype, peer, dst, {kSendBuffer, windowOffset}, bytes, op});
  }
  static void windowPublishSource(Stage& s, uint32_t op, uint16_t buffer) {
    s.steps.push_back({StepKind::WindowPublishSource, kCallDatatype, -1, {}, {buffer, 0}, 0, op});
  }
  // Reads bytes [sourceOffset, +bytes) of the buffer `peer` published in operation `op`.
  static void windowReadSource(Stage& s, uint32_t op, int peer, BufferSlice dst, size_t sourceOffset, size_t bytes) {
    s.steps.push_back({StepKind::WindowReadSource, kCallDatatype, peer, dst, {kSendBuffer, sourceOffset}, bytes, op});
  }
  static void windowAwaitReaders(Stage& s, uint32_t op) {
    s.steps.push_back({StepKind::WindowAwaitReaders, kCallDatatype, -1, {}, {}, 0, op});
  }
  static bool isWindowStep(StepKind k) { return k >= StepKind::WindowPublish; }
  static bool isTransfer(StepKind k) { return k != StepKind::Copy && !isWindowStep(k); }
  static bool isReceive(StepKind k) { return k == StepKind::Recv || k == StepKind::RecvReduce || k == StepKind::RecvSignal; }
  // Drops stages left empty (e.g. by zero-byte chunks).
  void compact();
};

}  // namespace strata
