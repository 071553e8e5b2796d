// Where an operation goes once validated: straight to the communicator (NULL stream), onto a host
// stream, or into the calling thread's open group. A group runs at strataGroupEnd: per
// communicator, its collectives in call order, then all its sends and receives in one stage so
// they progress together. One communicator's operations in a group must share a stream.
#pragma once

#include <strata/strata.h>

#include <variant>

#include "api/handles.h"

namespace strata::api {

using Operation = std::variant<CollectiveCall, PointToPointCall>;

strataResult_t submit(const CommRef& comm, const StreamRef& stream, Operation operation);
int groupDepth();
bool groupHasOperationsFor(const Communicator* comm);
strataResult_t groupStart();
strataResult_t groupEnd();

}  // namespace strata::api
