// The per-message work of one call, summed over every message every rank sends: the tuner's
// tie-break. The alpha-beta model charges a step the latency of its slowest transfer, so ten
// messages in flight together cost what one does; on real hosts (and far more on an emulated
// cluster whose "hosts" share a few cores) each message still costs its sender and receiver a
// syscall or FIFO handshake, a progress-engine turn and NIC work. Two algorithms the model
// cannot tell apart differ in exactly that, so the tuner prefers the one with less of it.
#pragma once

#include "src/algorithms/algorithms.h"

namespace strata {

// Seconds: each Send step of every rank's plan costs the alpha of its link (shared memory, the
// rack's network or across racks); each peer-memory publish or share costs one window handshake.
// Plans are generated for every rank, so this runs only when the model ties (once per shape).
double messageWork(const AlgorithmEntry& algorithm, const CollectiveShape& shape, const CostContext& cost);

}  // namespace strata
