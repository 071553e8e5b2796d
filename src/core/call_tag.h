// What the ranks of one call must agree on, and the frame that carries it. Every message the
// executor sends starts with a frame naming the call it belongs to (which operation, its sequence
// number on the communicator, datatype, op, root, count, algorithm) and the bytes that follow; a
// receiver checks the frame before one byte of the payload lands in a user buffer. Peer-memory
// windows carry the same tag next to their flags. A disagreement is strataInvalidUsage naming
// both calls, so a mismatched call is an error on the ranks that see it, never wrong data.
//
// Sequence numbers order a rank's calls: collective number c is 2c; the point-to-point groups
// issued after it are 2c + 1. A frame from an earlier position than the receiver's current call
// was never received when it should have been (stale); one from the same position must match.
#pragma once

#include <strata/strata.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "src/algorithms/collective.h"
#include "transports/transport.h"

namespace strata {

// Operations a tag can name: the collectives (CollectiveKind's values), then the rest.
enum class CallKind : uint8_t {
  PointToPoint = 32,
  MoeHandleCreate,
  MoeDispatch,
  MoeCombine,
  MoeDispatchBackward,
  MoeCombineBackward,
};

constexpr uint8_t callKindOf(CollectiveKind kind) { return static_cast<uint8_t>(kind); }

// Which exchange of a MoE operation a message belongs to (a MoE tag's `root`): ranks in different
// exchanges of one operation disagree, and the message says where each was.
enum class MoeExchange : int32_t {
  Agreement = -1,
  Setup,
  Counts,
  DirectOut,
  DirectBack,
  ForwardOut,   // a step of forwarded rows out (both hops, pipelined)
  ForwardBack,
};

// What a frame's payload is: a step's data, or a header-only signal (agreement rounds, the
// acknowledgements of point-to-point messages).
enum class FrameRole : uint8_t { Data = 1, Signal = 2 };

struct CallTag {
  uint64_t sequence = 0;   // position among this rank's calls (see above)
  uint8_t kind = 0;        // CollectiveKind or CallKind
  uint8_t dtype = 0;
  uint8_t op = 0;
  uint8_t algorithm = 0;   // the algorithm's registry index + 1 (0: none)
  int32_t root = 0;
  uint64_t count = 0;      // elements (MoE: moeTagCount); 0 where counts differ (all-to-all-v)

  // Calls whose counts differ between ranks by design: the bytes of each message are checked
  // instead of the count.
  bool countsMayDiffer() const;
  // "strataAllReduce #3 (count 100, float, sum, ring)".
  std::string describe() const;
};

// A MoE exchange's `count`: the row size in the low 32 bits (saturated; larger rows travel
// through FIFOs, whose messages carry their lengths), a fingerprint of the routes in the high 32.
constexpr uint64_t moeTagCount(uint64_t rowBytes, uint32_t routes) {
  return (uint64_t{routes} << 32) | (rowBytes < 0xffffffffu ? rowBytes : 0xffffffffu);
}

// The wire form, kFrameHeaderBytes long: magic, the tag, the role and the payload's length.
struct Frame {
  CallTag tag;
  FrameRole role = FrameRole::Data;
  uint64_t length = 0;
};

void encodeFrame(const Frame& frame, std::byte out[kFrameHeaderBytes]);
// False when the bytes are not a frame at all (no magic): the stream is out of step.
bool decodeFrame(const std::byte in[kFrameHeaderBytes], Frame* frame);

// Checks a received frame against what this rank expects from `peer` at this step; the error
// (strataInvalidUsage) names both calls.
Status checkFrame(const Frame& expected, const Frame& received, int peer, int self);

// Checks a frame seen at the head of a peer's stream while waiting (not yet due): stale frames
// and frames of this same call position that disagree are errors; anything later is fine.
Status checkPeekedFrame(const CallTag& current, const Frame& peeked, int peer, int self);

// The same for a peer's peer-memory window tag (the call it last published into a window).
Status checkWindowTag(const CallTag& current, const CallTag& peers, int peer, int self);

}  // namespace strata
