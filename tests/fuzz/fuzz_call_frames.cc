// libFuzzer target: the frame at the head of every message between ranks (core/call_tag.h),
// checked against what a receiver expects and against the call a waiting rank is in. A frame must
// decode or be refused, and a check must pass or fail with strataInvalidUsage; the message that
// names both calls must be produced without reading out of bounds whatever the frame claims.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "src/core/call_tag.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  strata::CallTag expected;
  expected.sequence = 10;
  expected.kind = strata::callKindOf(strata::CollectiveKind::AllReduce);
  expected.dtype = strataFloat32;
  expected.op = strataSum;
  expected.algorithm = 1;
  expected.count = 100;
  std::byte frame[strata::kFrameHeaderBytes];
  strata::encodeFrame({expected, strata::FrameRole::Data, 400}, frame);
  for (size_t i = 0; i < size && i < sizeof(frame); ++i) frame[i] ^= static_cast<std::byte>(data[i]);
  strata::Frame received;
  if (!strata::decodeFrame(frame, &received)) return 0;
  auto judge = [](const strata::Status& st) {
    if (!st.isOk() && (st.code() != strataInvalidUsage || st.message().empty())) __builtin_trap();
  };
  judge(strata::checkFrame({expected, strata::FrameRole::Data, 400}, received, 1, 0));
  judge(strata::checkPeekedFrame(expected, received, 1, 0));
  judge(strata::checkWindowTag(expected, received.tag, 1, 0));
  strata::CallTag p2p;
  p2p.sequence = 11;
  p2p.kind = static_cast<uint8_t>(strata::CallKind::PointToPoint);
  judge(strata::checkFrame({p2p, strata::FrameRole::Signal, 0}, received, 1, 0));
  (void)received.tag.describe();
  return 0;
}
