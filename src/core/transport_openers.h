// Each transport's wiring (transport_table.h lists them): opens this rank's connections to the
// peers marked in `peers`, taking every bootstrap round of the transport.
#pragma once

#include <vector>

#include "src/core/connect.h"
#include "src/core/transport_table.h"

namespace strata {

Status openShmConnections(WiringInputs& in, const std::vector<bool>& peers, Wiring& wiring);
Status openTcpConnections(WiringInputs& in, const std::vector<bool>& peers, Wiring& wiring);
#ifdef STRATA_HAVE_UCX
Status openUcxConnections(WiringInputs& in, const std::vector<bool>& peers, Wiring& wiring);
#endif

}  // namespace strata
