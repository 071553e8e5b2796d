// The per-message work of one call, summed over every message every rank sends: the tuner's
// tie-break. The alpha-beta model charges a step the latency of its slowest transfer, so ten
// messages in flight together cost what one does; on real hosts (and far more on an emulated
// cluster whose "hosts" share a few cores) each message still costs its sender and receiver a
// syscall or FIFO handshake, a progress-engine turn and NIC work. Two algorithms the model
// cannot tell apart differ in exactly that, so the tuner prefers the one with less of it.
//
// Each algorithm counts its own messages analytically (its `work` function, beside its plan
// generator and cost): a ring allreduce of n ranks sends 2n(n-1) messages, so building every
// rank's plan to count them would make the tuner quadratic in the rank count. The counts are
// exact: tests compare them with a census of every rank's generated plan.
#pragma once

#include <cstddef>

#include "src/algorithms/algorithms.h"

namespace strata {

// Seconds: each message a rank sends costs the alpha of its link (shared memory, the rack's
// network or across racks); each peer-memory publish or share costs one window handshake.
double messageWork(const AlgorithmEntry& algorithm, const CollectiveShape& shape, const CostContext& cost);

// Building blocks of the algorithms' counts.

// Alpha of the message from ring position p to position p + steps (steps may be negative).
double ringHopAlpha(const CostContext& cost, const PlanTopology& ring, int position, int steps = 1);
// Sum over every position p of ringHopAlpha(p, steps).
double ringAlphaSum(const CostContext& cost, const PlanTopology& ring, int steps = 1);

// A run of `elements` split over `parts` (partOf): how many parts are not empty. Plans drop
// empty messages, so a part that is empty is never sent.
inline size_t nonEmptyParts(size_t elements, size_t parts) { return elements < parts ? elements : parts; }

// Calls visit(sliceElements, times) for the distinct slices of `count` elements cut into slices
// of `sliceElements` (all full but the last): at most two calls.
template <typename Visit>
void forEachSliceSize(size_t count, size_t sliceElements, const Visit& visit) {
  if (count / sliceElements > 0) visit(sliceElements, count / sliceElements);
  if (count % sliceElements > 0) visit(count % sliceElements, size_t{1});
}

// A ring reduce-scatter followed by a ring allgather over `elements`, on the ring `ring`
// (positions), as ring allreduce runs it: the work of every rank's messages.
double ringReduceScatterAllGatherWork(const CostContext& cost, const PlanTopology& ring, size_t elements);

}  // namespace strata
