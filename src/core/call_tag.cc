#include "src/core/call_tag.h"

#include <cstdio>
#include <cstring>

#include "src/algorithms/algorithms.h"
#include "src/common/datatype.h"

namespace strata {
namespace {

constexpr uint32_t kFrameMagic = 0x4d524653;  // "SFRM"

struct WireFrame {
  uint32_t magic;
  uint8_t kind;
  uint8_t dtype;
  uint8_t op;
  uint8_t algorithm;
  int32_t root;
  uint8_t role;
  uint8_t reserved[3];
  uint64_t sequence;
  uint64_t count;
  uint64_t length;
};
static_assert(sizeof(WireFrame) == kFrameHeaderBytes, "frame layout");

const char* functionName(uint8_t kind) {
  switch (kind) {
    case callKindOf(CollectiveKind::AllReduce): return "strataAllReduce";
    case callKindOf(CollectiveKind::Broadcast): return "strataBroadcast";
    case callKindOf(CollectiveKind::Reduce): return "strataReduce";
    case callKindOf(CollectiveKind::AllGather): return "strataAllGather";
    case callKindOf(CollectiveKind::ReduceScatter): return "strataReduceScatter";
    case callKindOf(CollectiveKind::AllToAll): return "strataAllToAll";
    case callKindOf(CollectiveKind::AllToAllv): return "strataAllToAllv";
    case callKindOf(CollectiveKind::Gather): return "strataGather";
    case callKindOf(CollectiveKind::Scatter): return "strataScatter";
    case callKindOf(CollectiveKind::Barrier): return "strataBarrier";
    case static_cast<uint8_t>(CallKind::PointToPoint): return "strataSend/strataRecv";
    case static_cast<uint8_t>(CallKind::MoeHandleCreate): return "strataMoeHandleCreate";
    case static_cast<uint8_t>(CallKind::MoeDispatch): return "strataMoeDispatch";
    case static_cast<uint8_t>(CallKind::MoeCombine): return "strataMoeCombine";
    case static_cast<uint8_t>(CallKind::MoeDispatchBackward): return "strataMoeDispatchBackward";
    case static_cast<uint8_t>(CallKind::MoeCombineBackward): return "strataMoeCombineBackward";
    default: return "an unknown operation";
  }
}

bool hasOp(uint8_t kind) {
  return kind == callKindOf(CollectiveKind::AllReduce) || kind == callKindOf(CollectiveKind::Reduce) ||
         kind == callKindOf(CollectiveKind::ReduceScatter);
}

bool hasRoot(uint8_t kind) {
  return kind == callKindOf(CollectiveKind::Broadcast) || kind == callKindOf(CollectiveKind::Reduce) ||
         kind == callKindOf(CollectiveKind::Gather) || kind == callKindOf(CollectiveKind::Scatter);
}

bool isPointToPoint(uint8_t kind) { return kind == static_cast<uint8_t>(CallKind::PointToPoint); }

bool isMoe(uint8_t kind) { return kind > static_cast<uint8_t>(CallKind::PointToPoint); }

const char* moeExchangeName(int32_t exchange) {
  switch (static_cast<MoeExchange>(exchange)) {
    case MoeExchange::Agreement: return "agreement";
    case MoeExchange::Setup: return "handle setup";
    case MoeExchange::Counts: return "row counts";
    case MoeExchange::DirectOut: return "rows out";
    case MoeExchange::DirectBack: return "rows back";
    case MoeExchange::ForwardOut: return "rows out through forwarders";
    case MoeExchange::ForwardBack: return "rows back through forwarders";
  }
  return "an unknown exchange";
}

// Everything the two ranks must share for the call as a whole (per-message bytes aside).
bool sameCall(const CallTag& a, const CallTag& b) {
  if (a.sequence != b.sequence || a.kind != b.kind || a.algorithm != b.algorithm) return false;
  if (isPointToPoint(a.kind)) return true;  // each message carries its own datatype and size
  if (a.dtype != b.dtype || a.root != b.root) return false;
  if (hasOp(a.kind) && a.op != b.op) return false;
  return a.countsMayDiffer() || a.count == b.count;
}

std::string rankText(int rank) { return "rank " + std::to_string(rank); }

Status mismatch(const CallTag& theirs, const CallTag& ours, int peer, int self, const std::string& detail = "") {
  return invalidUsage("call mismatch: " + rankText(peer) + " is in " + theirs.describe() + " while " + rankText(self) +
                      " is in " + ours.describe() + detail +
                      "; every rank must issue the same calls in the same order with the same count, datatype, op "
                      "and root (and the same STRATA_ALGO)");
}

}  // namespace

bool CallTag::countsMayDiffer() const {
  return kind == callKindOf(CollectiveKind::AllToAllv) || isPointToPoint(kind);
}

std::string CallTag::describe() const {
  if (isPointToPoint(kind)) {
    return std::string(functionName(kind)) + " (after collective #" + std::to_string(sequence / 2) + ", " +
           std::to_string(count) + " " + dataTypeName(dtype) + ")";
  }
  std::string text = std::string(functionName(kind)) + " #" + std::to_string(sequence / 2);
  if (isMoe(kind)) {
    text += " (" + std::string(moeExchangeName(root));
    if ((count & 0xffffffffu) > 0) text += ", rows of " + std::to_string(count & 0xffffffffu) + " bytes";
    if ((count >> 32) > 0) {
      char routes[16];
      std::snprintf(routes, sizeof(routes), "%08x", static_cast<unsigned>(count >> 32));
      text += std::string(", routes ") + routes;
    }
    return text + ")";
  }
  text += " (";
  if (!countsMayDiffer()) text += "count " + std::to_string(count) + ", ";
  text += dataTypeName(dtype);
  if (hasOp(kind)) text += std::string(", ") + redOpName(op);
  if (hasRoot(kind)) text += ", root " + std::to_string(root);
  const auto& registry = algorithmRegistry();
  if (algorithm > 0 && algorithm <= registry.size()) text += std::string(", ") + registry[algorithm - 1u].name;
  return text + ")";
}

void encodeFrame(const Frame& frame, std::byte out[kFrameHeaderBytes]) {
  WireFrame w{};
  w.magic = kFrameMagic;
  w.kind = frame.tag.kind;
  w.dtype = frame.tag.dtype;
  w.op = frame.tag.op;
  w.algorithm = frame.tag.algorithm;
  w.root = frame.tag.root;
  w.role = static_cast<uint8_t>(frame.role);
  w.sequence = frame.tag.sequence;
  w.count = frame.tag.count;
  w.length = frame.length;
  std::memcpy(out, &w, sizeof(w));
}

bool decodeFrame(const std::byte in[kFrameHeaderBytes], Frame* frame) {
  WireFrame w;
  std::memcpy(&w, in, sizeof(w));
  if (w.magic != kFrameMagic) return false;
  frame->tag = {w.sequence, w.kind, w.dtype, w.op, w.algorithm, w.root, w.count};
  frame->role = static_cast<FrameRole>(w.role);
  frame->length = w.length;
  return true;
}

Status checkFrame(const Frame& expected, const Frame& received, int peer, int self) {
  if (!sameCall(received.tag, expected.tag)) return mismatch(received.tag, expected.tag, peer, self);
  if (received.role != expected.role) {
    const bool pointToPoint = isPointToPoint(expected.tag.kind);
    const char* detail = received.role == FrameRole::Data
                             ? (pointToPoint ? " (it sent data where an acknowledgement was due: sends and receives between two "
                                               "ranks must match in order; group them with strataGroupStart/End when both "
                                               "sides send first)"
                                             : " (it sent data where this rank expected the call's agreement signal: "
                                               "the two ranks disagree on what the call moves)")
                             : " (it signalled where data was due: the two ranks disagree on what the call moves)";
    return mismatch(received.tag, expected.tag, peer, self, detail);
  }
  if (received.length != expected.length) {
    return invalidUsage("call mismatch: " + rankText(peer) + " sends " + std::to_string(received.length) + " bytes in " +
                        received.tag.describe() + " where " + rankText(self) + " expects " +
                        std::to_string(expected.length) + " bytes from it in " + expected.tag.describe() +
                        "; the counts of matching calls must agree");
  }
  if (isPointToPoint(expected.tag.kind) && received.tag.dtype != expected.tag.dtype) {
    return mismatch(received.tag, expected.tag, peer, self);
  }
  return Status::ok();
}

Status checkPeekedFrame(const CallTag& current, const Frame& peeked, int peer, int self) {
  if (peeked.tag.sequence < current.sequence) {
    return invalidUsage("call mismatch: " + rankText(peer) + " sent " + std::to_string(peeked.length) + " bytes in " +
                        peeked.tag.describe() + " that " + rankText(self) +
                        " never received; it is now in " + current.describe() +
                        "; every rank must issue the same calls in the same order");
  }
  // Point-to-point messages of this position are matched when they are received.
  if (peeked.tag.sequence == current.sequence && !isPointToPoint(current.kind) && !sameCall(peeked.tag, current)) {
    return mismatch(peeked.tag, current, peer, self);
  }
  return Status::ok();
}

Status checkWindowTag(const CallTag& current, const CallTag& peers, int peer, int self) {
  if (peers.sequence == current.sequence && !sameCall(peers, current)) return mismatch(peers, current, peer, self);
  return Status::ok();
}

}  // namespace strata
