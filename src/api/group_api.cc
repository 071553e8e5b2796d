#include <map>
#include <vector>

#include "src/api/device_submit.h"
#include "src/api/group_state.h"
#include "src/api/handles.h"

namespace strata::api {
namespace {

struct QueuedOperation {
  CommRef comm;
  StreamRef stream;
  Operation operation;
  bool onDevice = false;
  void* deviceStream = nullptr;  // a cudaStream_t when onDevice
  StagedForm staged;             // the operation when onDevice
};

struct GroupState {
  int depth = 0;
  std::vector<QueuedOperation> queued;
};

thread_local GroupState tlsGroup;

}  // namespace

Status runOperations(Communicator* comm, const std::vector<Operation>& operations) {
  std::vector<PointToPointCall> pointToPoint;
  for (const Operation& op : operations) {
    if (const auto* collective = std::get_if<CollectiveCall>(&op)) {
      STRATA_RETURN_IF_ERROR(comm->runCollective(*collective));
    } else if (const auto* deferred = std::get_if<DeferredCall>(&op)) {
      STRATA_RETURN_IF_ERROR(deferred->run());
    } else {
      pointToPoint.push_back(std::get<PointToPointCall>(op));
    }
  }
  if (pointToPoint.empty()) return Status::ok();
  return comm->runPointToPoint(pointToPoint);
}

namespace {

// Runs `work` on the calling thread. The communicator counts it as pending until it is finished
// (and its result reported), so destroy/abort never free the communicator under it.
template <typename Work>
strataResult_t runNow(const CommRef& comm, const Work& work) {
  comm->addPending();
  // After the device-memory calls made before it, if the communicator takes device memory.
  Status status = comm->deviceRuntime() != nullptr ? comm->waitForDeviceWork() : Status::ok();
  strataResult_t result = report(status.isOk() ? work() : status, comm.get());
  comm->removePending();
  return result;
}

// Runs now (NULL stream) or queues on the host stream, pending likewise until finished. Queued
// work holds a reference to the communicator, so an abort from another thread cannot free it.
strataResult_t dispatch(const CommRef& comm, const StreamRef& stream, std::vector<Operation> operations) {
  if (!stream) return runNow(comm, [&] { return runOperations(comm.get(), operations); });
  comm->addPending();
  stream->enqueue([comm, operations = std::move(operations)]() {
    Status status = comm->deviceRuntime() != nullptr ? comm->waitForDeviceWork() : Status::ok();
    if (status.isOk()) status = runOperations(comm.get(), operations);
    if (!status.isOk()) comm->setLastError(status.message());
    comm->removePending();
    return status;
  });
  return strataSuccess;
}

}  // namespace

strataResult_t submit(const CommRef& comm, const StreamRef& stream, Operation operation) {
  if (tlsGroup.depth > 0) {
    tlsGroup.queued.push_back({comm, stream, std::move(operation)});
    return strataSuccess;
  }
  if (!stream) {
    // The common blocking call: straight to the communicator, no batch to build.
    return runNow(comm, [&] {
      if (const auto* collective = std::get_if<CollectiveCall>(&operation)) return comm->runCollective(*collective);
      if (const auto* deferred = std::get_if<DeferredCall>(&operation)) return deferred->run();
      return comm->runPointToPoint({std::get<PointToPointCall>(operation)});
    });
  }
  std::vector<Operation> single;
  single.push_back(std::move(operation));
  return dispatch(comm, stream, std::move(single));
}

strataResult_t submit(const CommRef& comm, const StreamRef& stream, CollectiveCall call) {
  if (tlsGroup.depth == 0 && !stream) return runNow(comm, [&] { return comm->runCollective(call); });
  return submit(comm, stream, Operation(std::move(call)));
}

strataResult_t queueInGroup(const CommRef& comm, void* deviceStream, StagedForm form) {
  tlsGroup.queued.push_back({comm, nullptr, Operation(), true, deviceStream, std::move(form)});
  return strataSuccess;
}

strataResult_t runBlocking(const CommRef& comm, FunctionRef<Status()> work) { return runNow(comm, work); }

int groupDepth() { return tlsGroup.depth; }

bool groupHasOperationsFor(const Communicator* comm) {
  for (const auto& q : tlsGroup.queued) {
    if (q.comm.get() == comm) return true;
  }
  return false;
}

strataResult_t groupStart() {
  ++tlsGroup.depth;
  return strataSuccess;
}

strataResult_t groupEnd() {
  if (tlsGroup.depth == 0) {
    return report(invalidUsage("strataGroupEnd without a matching strataGroupStart"));
  }
  if (--tlsGroup.depth > 0) return strataSuccess;
  std::vector<QueuedOperation> queued = std::move(tlsGroup.queued);
  tlsGroup.queued.clear();
  // Per communicator, in order of first appearance.
  std::vector<CommRef> order;
  std::map<Communicator*, std::vector<Operation>> batches;
  std::map<Communicator*, std::vector<StagedForm>> deviceBatches;
  std::map<Communicator*, const QueuedOperation*> firstOf;
  for (auto& q : queued) {
    auto it = firstOf.find(q.comm.get());
    if (it == firstOf.end()) {
      order.push_back(q.comm);
      firstOf[q.comm.get()] = &q;
    } else if (it->second->onDevice != q.onDevice) {
      return report(invalidUsage("strataGroupEnd: operations on one communicator (rank " + std::to_string(q.comm->rank()) +
                                 ") mixed device and host buffers inside one group; use one kind of memory per "
                                 "communicator per group"),
                    q.comm.get());
    } else if (it->second->stream != q.stream || it->second->deviceStream != q.deviceStream) {
      return report(invalidUsage("strataGroupEnd: operations on one communicator (rank " + std::to_string(q.comm->rank()) +
                                 ") used different streams inside one group; use one stream per communicator per group"),
                    q.comm.get());
    }
    if (q.onDevice) {
      deviceBatches[q.comm.get()].push_back(std::move(q.staged));
    } else {
      batches[q.comm.get()].push_back(std::move(q.operation));
    }
  }
  strataResult_t first = strataSuccess;
  for (const CommRef& comm : order) {
    const QueuedOperation& opening = *firstOf[comm.get()];
    strataResult_t result =
        opening.onDevice
            ? dispatchOnDevice(comm, opening.deviceStream, std::move(deviceBatches[comm.get()]), /*grouped=*/true)
            : dispatch(comm, opening.stream, std::move(batches[comm.get()]));
    if (first == strataSuccess) first = result;
  }
  return first;
}

}  // namespace strata::api

extern "C" {
strataResult_t strataGroupStart(void) { return strata::api::groupStart(); }
strataResult_t strataGroupEnd(void) { return strata::api::groupEnd(); }
}
