// Hierarchical routes (DeepEP's internode path, on any transport): a token crosses to a remote host
// once, to the rank there with the sender's local index (its forwarder), which passes it to every
// destination on its host; rows for the sender's own host go straight to their destinations.
// Combine retraces the routes and sums each token's rows at the forwarder before crossing back.
#pragma once

#include <vector>

#include "src/common/status.h"
#include "src/moe/moe_handle.h"

namespace strata::moe {

// Collective. Fills h.forwarding and the receive layout (recvFrom, numRecv, recvLocalIds), which
// is the same as direct routes give: rows grouped by source rank, each source's tokens in order.
Status buildForwarding(const MoeRun& run, strataMoeHandle& h, const std::vector<std::vector<int>>& ranksOfHost);

}  // namespace strata::moe
