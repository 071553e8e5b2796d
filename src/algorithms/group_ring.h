// Ring reduce-scatter and allgather among a subgroup of ranks over a range of the buffer: the
// building blocks of hierarchical algorithms, which run one per tier (the ranks of a host, the
// same-position ranks of a rack's hosts, ...). With m members, member i ends the reduce-scatter
// owning chunk (i + 1) mod m of the range, fully reduced in the receive buffer; the allgather
// assumes that ownership and fills every chunk.
#pragma once

#include <vector>

#include "src/algorithms/collective.h"

namespace strata {

struct RingGroup {
  std::vector<int> members;  // ranks, in ring order
  int me = 0;                // this rank's index in members

  int size() const { return static_cast<int>(members.size()); }
  int owned() const { return (me + 1) % size(); }  // chunk owned after the reduce-scatter
};

// Chunk `index` of `range` split over the group.
ElementRange groupChunk(const RingGroup& group, ElementRange range, int index);

// `input` holds this rank's contribution (kSendBuffer at the first tier, kRecvBuffer after).
void appendGroupReduceScatter(Plan& plan, const CollectiveShape& shape, const RingGroup& group, ElementRange range,
                              uint16_t input);
void appendGroupAllGather(Plan& plan, const CollectiveShape& shape, const RingGroup& group, ElementRange range);

}  // namespace strata
