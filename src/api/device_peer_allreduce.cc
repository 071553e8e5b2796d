#include "src/api/device_peer_allreduce.h"

#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "src/api/device_submit.h"
#include "src/api/group_state.h"
#include "src/common/log.h"

namespace strata::api {
namespace {

// The kernel reads at most this many inputs (src/cuda/reduce_kernels.cuh, kMaxTableSources).
constexpr int kMostRanks = 64;

// What each rank tells the others about its input, gathered once the stream has reached the call:
// where it is, and the call's shape, which every rank checks (a rank reading `count` elements of a
// peer that called with fewer would compute a wrong sum and report success).
struct InputAddress {
  uint64_t count = 0;
  int32_t dtype = 0;
  int32_t op = 0;
  int64_t pid = 0;
  uint64_t address = 0;  // for threads of the same process
  uint64_t offset = 0;   // of the input in the allocation `handle` names
  int32_t hasHandle = 0;
  int32_t pad = 0;
  unsigned char handle[STRATA_DEVICE_IPC_HANDLE_BYTES] = {};
};

// A small host-memory collective among the communicator's ranks, run by the proxy thread.
Status hostAllGather(Communicator* c, const void* mine, void* all, size_t bytes) {
  CollectiveCall call;
  call.shape.kind = CollectiveKind::AllGather;
  call.shape.count = bytes;
  call.shape.elementSize = 1;
  call.send = mine;
  call.recv = all;
  call.dtype = strataUint8;
  call.op = strataSum;
  return runOperations(c, {call});
}

// Every rank's verdict: true when all ranks' `ok` is; a failed exchange is an error.
Result<bool> allAgree(Communicator* c, bool ok) {
  int32_t value = ok ? 1 : 0;
  CollectiveCall call;
  call.shape.kind = CollectiveKind::AllReduce;
  call.shape.count = 1;
  call.shape.elementSize = sizeof(value);
  call.shape.inPlace = true;
  call.send = &value;
  call.recv = &value;
  call.dtype = strataInt32;
  call.op = strataMin;
  STRATA_RETURN_IF_ERROR(runOperations(c, {call}));
  return value == 1;
}

// The first rank whose call differs from this rank's, as an error naming what differs.
Status checkSameCall(const std::vector<InputAddress>& inputs, const InputAddress& mine) {
  for (size_t r = 0; r < inputs.size(); ++r) {
    const InputAddress& theirs = inputs[r];
    if (theirs.count == mine.count && theirs.dtype == mine.dtype && theirs.op == mine.op) continue;
    return invalidUsage("strataAllReduce on device memory: rank " + std::to_string(r) + " called with count " +
                        std::to_string(theirs.count) + ", datatype " + std::to_string(theirs.dtype) + ", op " +
                        std::to_string(theirs.op) + "; this rank with count " + std::to_string(mine.count) +
                        ", datatype " + std::to_string(mine.dtype) + ", op " + std::to_string(mine.op) +
                        " (every rank must make the same calls in the same order)");
  }
  return Status::ok();
}

// The inputs' addresses as this process reaches them, written into the kernel's table.
Status fillTable(DeviceProxy& proxy, const std::vector<InputAddress>& inputs, volatile uint64_t* table) {
  const int64_t self = getpid();
  for (size_t r = 0; r < inputs.size(); ++r) {
    const InputAddress& input = inputs[r];
    uint64_t address = input.address;
    if (input.pid != self) {
      if (input.hasHandle == 0) return internalError("rank " + std::to_string(r) + " sent no IPC handle");
      auto base = proxy.openPeerMemory(input.handle);
      if (!base.ok()) return base.status().withContext("rank " + std::to_string(r) + ": ");
      address = reinterpret_cast<uint64_t>(base.value()) + input.offset;
    }
    table[1 + r] = address;
  }
  __atomic_store_n(const_cast<uint64_t*>(&table[0]), static_cast<uint64_t>(inputs.size()), __ATOMIC_RELEASE);
  return Status::ok();
}

}  // namespace

bool peerAllReduceApplies(const Communicator& comm) {
  const Params& params = comm.params();
  if (comm.deviceRuntime() == nullptr || params.cudaIpc == "0") return false;
  const std::vector<PeerInfo>& peers = comm.peers();
  if (peers.size() < 2 || peers.size() > static_cast<size_t>(kMostRanks)) return false;
  const PeerInfo& me = peers[static_cast<size_t>(comm.rank())];
  for (const PeerInfo& peer : peers) {
    if (peer.deviceKey.empty() || peer.hostId != me.hostId || peer.machineId != me.machineId ||
        peer.pidNamespace != me.pidNamespace) {
      return false;
    }
    if (params.cudaIpc == "auto" && peer.deviceKey != me.deviceKey) return false;
  }
  return true;
}

strataResult_t dispatchPeerAllReduce(Communicator* c, DeviceProxy& proxy, void* stream, const CollectiveCall& call) {
  const DeviceRuntime& runtime = *c->deviceRuntime();
  const strataDeviceApi& api = runtime.api();
  const int nranks = c->nranks();
  const size_t bytes = call.shape.bytes();
  STRATA_TRACE(Coll, "allreduce of %zu bytes on device memory, read from the %d ranks' GPU memory", bytes, nranks);

  // Handles are needed only when some rank is another process.
  InputAddress mine;
  mine.count = call.shape.count;
  mine.dtype = call.dtype;
  mine.op = call.op;
  mine.pid = getpid();
  mine.address = reinterpret_cast<uint64_t>(call.send);
  bool otherProcess = false;
  for (const PeerInfo& peer : c->peers()) otherProcess = otherProcess || peer.pid != mine.pid;
  if (otherProcess) {
    size_t offset = 0;
    int code = api.ipcHandle(call.send, mine.handle, &offset);
    if (code != 0) {
      // The peers' matching calls are under way: breaking the communicator fails them at once.
      return failDevice(c, invalidArgument("strataAllReduce: sendbuff cannot be shared with the other processes of "
                                           "this host: " + runtime.errorText("cudaIpcGetMemHandle", code) +
                                           " (memory from cudaMalloc can; set STRATA_CUDA_IPC=0 to stage through "
                                           "host memory)"));
    }
    mine.offset = offset;
    mine.hasHandle = 1;
  }

  auto op = std::make_unique<DeviceProxy::Operation>();
  op->phases = 2;  // the stream waits for every input (phase 1), then for every reader (phase 2)
  auto table = proxy.acquire(sizeof(uint64_t) * (1 + static_cast<size_t>(nranks)));
  if (!table.ok()) return failDevice(c, table.status());
  op->staging.push_back(table.value());
  auto* entries = static_cast<volatile uint64_t*>(table.value().host);
  entries[0] = 0;  // until the proxy fills it, the kernel does nothing
  const auto* tableOnDevice = static_cast<const volatile uint64_t*>(table.value().deviceView);
  // In place, this rank's input is its output, which peers read while the kernel writes: the sum
  // goes to scratch, copied over the input once every rank is done reading.
  void* target = call.recv;
  if (call.send == call.recv) {
    auto scratch = proxy.acquireDevice(c->device(), bytes);
    if (!scratch.ok()) {
      proxy.giveBack(op->staging);
      return failDevice(c, scratch.status());
    }
    op->staging.push_back(scratch.value());
    target = scratch.value().host;
  }

  DeviceProxy::Operation* raw = op.get();
  const int64_t timeoutMs = c->params().timeoutMs;
  op->work = [c, &proxy, raw, mine, nranks, entries, timeoutMs]() -> Status {
    std::vector<InputAddress> inputs(static_cast<size_t>(nranks));
    // Every rank's stream has reached the call (its work runs after its ready callback): the
    // inputs are final.
    STRATA_RETURN_IF_ERROR(hostAllGather(c, &mine, inputs.data(), sizeof(InputAddress)));
    Status filled = checkSameCall(inputs, mine);
    if (filled.isOk()) filled = fillTable(proxy, inputs, entries);
    auto everyone = allAgree(c, filled.isOk());
    STRATA_RETURN_IF_ERROR(filled);
    if (!everyone.ok()) return everyone.status();
    if (!everyone.value()) return remoteError("another rank could not reach this rank's device memory");
    proxy.releaseThrough(raw->sequence - 1);
    const Status read = proxy.waitForStep(raw, 1, timeoutMs);
    // Nobody lets its stream overwrite its input before every kernel has read it.
    auto done = allAgree(c, read.isOk());
    STRATA_RETURN_IF_ERROR(read);
    if (!done.ok()) return done.status();
    return done.value() ? Status::ok() : remoteError("another rank's device did not finish the allreduce");
  };
  c->addPending();  // until the proxy retires the operation
  DeviceProxy::Operation* queued = proxy.push(std::move(op));
  const uint64_t inputsReady = queued->sequence - 1;  // the first of its two phases
  Status status = proxy.enqueueReady(queued, stream);
  if (!status.isOk()) return failDevice(c, status);
  const bool average = call.op == strataAvg;
  status = proxy.enqueueFinish(
      queued, stream,
      [&]() -> Status {
        if (target == call.recv) return Status::ok();
        int code = api.copyAsync(call.recv, target, bytes, stream);
        return code == 0 ? Status::ok() : systemError(runtime.errorText("cudaMemcpyAsync", code));
      },
      [&]() -> Status {
        Status queuedKernel = proxy.enqueueWaitFor(stream, inputsReady);
        if (queuedKernel.isOk()) {
          int code = api.reduceTable(target, tableOnDevice, call.shape.count, call.dtype, call.op, average ? 1 : 0,
                                     stream);
          if (code != 0) {
            queuedKernel = systemError(runtime.errorText("cudaLaunchKernel (allreduce)", code));
          } else if ((code = api.hostCallback(stream, &DeviceProxy::markStep, queued)) != 0) {
            queuedKernel = systemError(runtime.errorText("cudaLaunchHostFunc", code));
          } else {
            // Counted before anything may retire the operation: retirement without a release
            // callback is decided only after this lambda returns (enqueueFinish's failure path),
            // and the work waits for this very callback.
            proxy.stepQueued(queued);
          }
        }
        // The work must not wait for a completion that will never be signalled.
        if (!queuedKernel.isOk()) proxy.abandonSteps(queued);
        return queuedKernel;
      });
  return status.isOk() ? strataSuccess : failDevice(c, status);
}

}  // namespace strata::api
