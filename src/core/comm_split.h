// strataCommSplit: a collective over the parent. Ranks allgather (color, key); the first member
// of each color (by key, then parent rank) starts a bootstrap root and the parent allgathers the
// new ids; every member then initialises its sub-communicator with the ordinary bootstrap.
#pragma once

#include <memory>

#include "core/communicator.h"

namespace strata {

// nullptr (and success) for STRATA_SPLIT_NOCOLOR.
Result<std::unique_ptr<Communicator>> splitCommunicator(Communicator& parent, int color, int key,
                                                        const strataConfig_t* config);

}  // namespace strata
