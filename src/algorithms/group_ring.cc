#include "src/algorithms/group_ring.h"

namespace strata {
namespace {

BufferSlice at(const CollectiveShape& shape, uint16_t buffer, ElementRange chunk) {
  return {buffer, chunk.begin * shape.elementSize};
}

}  // namespace

ElementRange groupChunk(const RingGroup& group, ElementRange range, int index) {
  ElementRange part = partOf(range.size, static_cast<size_t>(group.size()), static_cast<size_t>(index));
  return {range.begin + part.begin, part.size};
}

void appendGroupReduceScatter(Plan& plan, const CollectiveShape& shape, const RingGroup& group, ElementRange range,
                              uint16_t input) {
  const int m = group.size();
  const int right = group.members[static_cast<size_t>((group.me + 1) % m)];
  const int left = group.members[static_cast<size_t>((group.me + m - 1) % m)];
  for (int s = 0; s < m - 1; ++s) {
    Stage& stage = plan.newStage();
    ElementRange sendChunk = groupChunk(group, range, modRank(group.me - s, m));
    ElementRange recvChunk = groupChunk(group, range, modRank(group.me - s - 1, m));
    Plan::send(stage, right, at(shape, s == 0 ? input : uint16_t{kRecvBuffer}, sendChunk), sendChunk.size * shape.elementSize);
    Plan::recvReduce(stage, left, at(shape, kRecvBuffer, recvChunk), at(shape, input, recvChunk),
                     recvChunk.size * shape.elementSize);
  }
}

void appendGroupAllGather(Plan& plan, const CollectiveShape& shape, const RingGroup& group, ElementRange range) {
  const int m = group.size();
  const int right = group.members[static_cast<size_t>((group.me + 1) % m)];
  const int left = group.members[static_cast<size_t>((group.me + m - 1) % m)];
  for (int s = 0; s < m - 1; ++s) {
    Stage& stage = plan.newStage();
    ElementRange sendChunk = groupChunk(group, range, modRank(group.me + 1 - s, m));
    ElementRange recvChunk = groupChunk(group, range, modRank(group.me - s, m));
    Plan::send(stage, right, at(shape, kRecvBuffer, sendChunk), sendChunk.size * shape.elementSize);
    Plan::recv(stage, left, at(shape, kRecvBuffer, recvChunk), recvChunk.size * shape.elementSize);
  }
}

}  // namespace strata
