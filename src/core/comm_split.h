// strataCommSplit: a collective over the parent. Ranks allgather (color, key); the first member
// of each color (by key, then parent rank) starts a bootstrap root and the parent allgathers the
// new ids; every member then initialises its sub-communicator with the ordinary bootstrap.
#pragma once

#include <memory>

#include "src/core/communicator.h"

namespace strata {

// nullptr (and success) for STRATA_SPLIT_NOCOLOR. `arguments`: this rank's verdict on its own
// color and config; a rank with bad arguments fails with that status and every other rank with
// strataInvalidArgument naming it, right after the first exchange.
Result<std::unique_ptr<Communicator>> splitCommunicator(Communicator& parent, int color, int key,
                                                        const strataConfig_t* config, const Status& arguments);

}  // namespace strata
