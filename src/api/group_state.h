// Where an operation goes once validated: straight to the communicator (NULL stream), onto a host
// stream, or into the calling thread's open group. A group runs at strataGroupEnd: per
// communicator, its collectives in call order, then all its sends and receives in one stage so
// they progress together. One communicator's operations in a group must share a stream.
#pragma once

#include <strata/strata.h>

#include <functional>
#include <variant>

#include "src/api/handles.h"
#include "src/common/function_ref.h"

namespace strata::api {

// Work run in call order with the communicator's collectives that is not one collective call of
// the core (a MoE operation, made of several): its function owns what it needs (references to
// its handle and communicator), so it may run later in a group or on a host stream.
struct DeferredCall {
  std::function<Status()> run;
};

using Operation = std::variant<CollectiveCall, PointToPointCall, DeferredCall>;

strataResult_t submit(const CommRef& comm, const StreamRef& stream, Operation operation);
// A collective: run at once when blocking outside a group (without building an Operation, the
// per-call path of a training step), else submitted as above.
strataResult_t submit(const CommRef& comm, const StreamRef& stream, CollectiveCall call);
// Runs `work` on the calling thread as submit() runs a blocking call (NULL stream, no group
// open), without wrapping it in a DeferredCall: the common MoE call allocates nothing here.
strataResult_t runBlocking(const CommRef& comm, FunctionRef<Status()> work);
// Runs one communicator's operations in call order (collectives and MoE operations one by one,
// then all sends and receives in one stage): a group's batch, or a device proxy's staged calls.
Status runOperations(Communicator* comm, const std::vector<Operation>& operations);
// Queues a device-memory operation in the open group (device_submit.h decided it is one).
struct StagedForm;
strataResult_t queueInGroup(const CommRef& comm, void* deviceStream, StagedForm form);
int groupDepth();
bool groupHasOperationsFor(const Communicator* comm);
strataResult_t groupStart();
strataResult_t groupEnd();

}  // namespace strata::api
