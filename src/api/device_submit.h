// Calls on device memory (DESIGN.md, "The flow of one collective", step 4). A communicator with a
// device runtime looks at each call's buffers: host buffers go the host way unchanged; device
// buffers are staged through pinned host memory and run by the communicator's device proxy
// (core/device_proxy.h), in the order of the caller's CUDA stream: the call returns at once and
// completes in stream order, as NCCL's do.
#pragma once

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "src/api/group_state.h"

namespace strata::api {

// The bytes of the caller's buffers a collective reads (send) and writes (recv) on this rank.
struct CallExtents {
  size_t sendBytes = 0;
  size_t recvBytes = 0;
};
CallExtents extentsOf(const CollectiveShape& shape, int rank, int nranks);

// A region of the caller's device memory that an operation reads (copied into staging before it
// runs) and/or writes (copied back after).
struct DeviceRegion {
  const char* name = "";  // the argument, for messages
  const void* base = nullptr;
  size_t bytes = 0;
  bool in = false;
  bool out = false;
  // Written only in these (offset, bytes) pieces, the rest left as it was (all-to-all-v's gaps);
  // empty: all of it.
  std::vector<std::pair<size_t, size_t>> outPieces;
};

// An operation on device memory as the device path takes it: the regions it touches, and the same
// operation made on their staged copies (`staged` maps a device address inside a region to its
// pinned host twin).
struct StagedForm {
  std::vector<DeviceRegion> regions;
  std::function<Operation(const std::function<void*(const void*)>& staged)> twin;
  // A collective call (any kind): an element-wise one may run in pieces, and the peer-memory path
  // may take it (device_peer_collectives.h).
  std::optional<CollectiveCall> collective;
};

// A collective or send/recv's form.
StagedForm stagedFormOf(const Communicator& comm, const Operation& operation);

// True when the regions are on device memory. Errors: host and device buffers mixed, a buffer on
// another device than the communicator's, a strataStream_t with device buffers, a stream Strata
// did not make (`foreignStream`) with host buffers.
Result<bool> onDeviceMemory(const Communicator& comm, const char* function, const std::vector<DeviceRegion>& regions,
                            bool hostStreamGiven, bool foreignStream);

// Queues an operation on device memory on `stream` (a cudaStream_t, NULL its default stream):
// inside a group with the group's other operations, else at once.
strataResult_t submitOnDevice(const CommRef& comm, void* stream, StagedForm form);
// A failure on the device path after the call was accepted: breaks the communicator (see
// device_submit.cc) and reports `status`.
strataResult_t failDevice(Communicator* comm, const Status& status);
// Stages `forms` (one communicator's, in call order) and queues them on `stream` as one unit.
// `grouped`: the forms come from a group (which always stages them as one unit).
strataResult_t dispatchOnDevice(const CommRef& comm, void* stream, std::vector<StagedForm> forms, bool grouped);

}  // namespace strata::api
