// Calls on device memory (DESIGN.md, "The flow of one collective", step 4). A communicator with a
// device runtime looks at each call's buffers: host buffers go the host way unchanged; device
// buffers are staged through pinned host memory and run by the communicator's device proxy
// (core/device_proxy.h), in the order of the caller's CUDA stream: the call returns at once and
// completes in stream order, as NCCL's do.
#pragma once

#include <vector>

#include "src/api/group_state.h"

namespace strata::api {

// The bytes of the caller's buffers a collective reads (send) and writes (recv) on this rank.
struct CallExtents {
  size_t sendBytes = 0;
  size_t recvBytes = 0;
};
CallExtents extentsOf(const CollectiveShape& shape, int rank, int nranks);

// True when `operation` is on device memory. Errors: host and device buffers mixed, a buffer on
// another device than the communicator's, a strataStream_t with device buffers, a stream Strata
// did not make (`foreignStream`) with host buffers.
Result<bool> onDeviceMemory(const Communicator& comm, const char* function, const Operation& operation,
                            bool hostStreamGiven, bool foreignStream);

// Queues operations on device memory on `stream` (a cudaStream_t, NULL its default stream):
// inside a group with the group's other operations, else at once.
strataResult_t submitOnDevice(const CommRef& comm, void* stream, Operation operation);
// Stages `operations` (one communicator's, in call order) and queues them on `stream` as one unit.
strataResult_t dispatchOnDevice(const CommRef& comm, void* stream, std::vector<Operation> operations);

}  // namespace strata::api
