// Forwarded routes (moe/moe_forwarding.h), pipelined. Out: hop 1 crosses between hosts in pieces,
// and while piece c + 1 crosses, piece c's held tokens go on through hop 2 inside the host (one
// plan per step, the blocks of both hops posted together). Back: hop 2 returns piece by piece,
// and while piece c + 1 comes in, piece c's held rows, summed, cross back. Exchanges too small
// to gain run as one piece.
#pragma once

#include "src/moe/moe_route.h"

namespace strata::moe {

// Rows in the receive layout (numRecv rows of rowBytes), in the handle's staging.
Result<const unsigned char*> forwardedOut(const MoeRun& run, const strataMoeHandle& h, size_t rowBytes,
                                          const FillRow& fill, const AdaptRow& adapt);

// As routeBack (moe/moe_route.h) for a handle with forwarding.
Status forwardedBack(const MoeRun& run, const strataMoeHandle& h, const ReturnFormat& format, const void* rows,
                     AddRow add);

}  // namespace strata::moe
