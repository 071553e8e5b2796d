// Every algorithm is a plan generator: (shape, rank, nranks) -> Plan for that rank. The registry
// names them (STRATA_ALGO) and says which collective each serves; selection lives in selection.h.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "algorithms/collective.h"
#include "core/plan.h"

namespace strata {

using PlanGenerator = Plan (*)(const CollectiveShape&, int rank, int nranks);

Plan planRingAllReduce(const CollectiveShape& shape, int rank, int nranks);
Plan planRecursiveDoublingAllReduce(const CollectiveShape& shape, int rank, int nranks);
Plan planOneShotAllReduce(const CollectiveShape& shape, int rank, int nranks);
Plan planTwoShotAllReduce(const CollectiveShape& shape, int rank, int nranks);
Plan planChainBroadcast(const CollectiveShape& shape, int rank, int nranks);
Plan planChainReduce(const CollectiveShape& shape, int rank, int nranks);
Plan planRingAllGather(const CollectiveShape& shape, int rank, int nranks);
Plan planRingReduceScatter(const CollectiveShape& shape, int rank, int nranks);
Plan planPairwiseAllToAll(const CollectiveShape& shape, int rank, int nranks);
Plan planDirectGather(const CollectiveShape& shape, int rank, int nranks);
Plan planDirectScatter(const CollectiveShape& shape, int rank, int nranks);
Plan planDisseminationBarrier(const CollectiveShape& shape, int rank, int nranks);

// Chunk size of the pipelined chain algorithms, in elements.
size_t pipelineChunkElements(const CollectiveShape& shape);

// Whether an algorithm goes through the peer-memory windows, which exist only where every rank
// of the communicator shares a host.
enum class PeerMemoryUse {
  None,
  WholeMessage,  // the whole message must fit one window (up to STRATA_ONESHOT_BYTES)
  Chunked,       // any size, cut into window-sized chunks
};

struct AlgorithmEntry {
  const char* name;  // as written in STRATA_ALGO
  CollectiveKind kind;
  PlanGenerator generate;
  PeerMemoryUse peerMemory = PeerMemoryUse::None;
};

const std::vector<AlgorithmEntry>& algorithmRegistry();

// "ring, recursive_doubling, ..." (each name once).
std::string algorithmNames();

}  // namespace strata
