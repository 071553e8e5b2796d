#include "src/api/device_peer_collectives.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "src/api/device_submit.h"
#include "src/api/peer_memory_plan.h"
#include "src/common/log.h"

namespace strata::api {
namespace {

// The kernel reads at most this many inputs (src/cuda/reduce_kernels.cuh, kMaxTableSources).
constexpr int kMostRanks = 64;

// Where one of a rank's buffers is, for the other ranks.
struct BufferAddress {
  uint64_t address = 0;  // for threads of the same process
  uint64_t offset = 0;   // of the buffer in the allocation `handle` names
  int32_t hasHandle = 0;
  int32_t pad = 0;
  unsigned char handle[STRATA_DEVICE_IPC_HANDLE_BYTES] = {};
};

// What each rank tells the others, gathered once the stream has reached the call: where its
// buffers are, and the call's shape, which every rank checks (a rank reading `count` elements of a
// peer that called with fewer would compute a wrong sum and report success).
struct InputAddress {
  uint64_t count = 0;
  int32_t kind = 0;
  int32_t dtype = 0;
  int32_t op = 0;
  int32_t root = 0;
  int32_t stages = 0;  // of its plan: ranks whose buffers overlap oddly may plan otherwise
  int32_t pad = 0;
  int64_t pid = 0;
  BufferAddress send, recv;
};

// Every rank's verdict (a small host collective, run by the proxy thread): true when all ranks'
// `ok` is; a failed exchange is an error.
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
  STRATA_RETURN_IF_ERROR(c->runCollective(call));
  return value == 1;
}

// The first rank whose call differs from this rank's, as an error naming what differs.
Status checkSameCall(const std::vector<InputAddress>& inputs, const InputAddress& mine) {
  auto describe = [](const InputAddress& a) {
    return std::string(collectiveName(static_cast<CollectiveKind>(a.kind))) + " with count " + std::to_string(a.count) +
           ", datatype " + std::to_string(a.dtype) + ", op " + std::to_string(a.op) + ", root " +
           std::to_string(a.root) + " in " + std::to_string(a.stages) + " stage(s)";
  };
  for (size_t r = 0; r < inputs.size(); ++r) {
    const InputAddress& theirs = inputs[r];
    if (theirs.kind == mine.kind && theirs.count == mine.count && theirs.dtype == mine.dtype && theirs.op == mine.op &&
        theirs.root == mine.root && theirs.stages == mine.stages) {
      continue;
    }
    return invalidUsage("a collective on device memory: rank " + std::to_string(r) + " called " + describe(theirs) +
                        "; this rank " + describe(mine) + " (every rank must make the same calls in the same order)");
  }
  return Status::ok();
}

// A buffer of rank `r` as this process reaches it.
Result<uint64_t> addressOf(DeviceProxy& proxy, int64_t pid, const BufferAddress& buffer, int r) {
  if (pid == getpid()) return buffer.address;
  if (buffer.hasHandle == 0) return internalError("rank " + std::to_string(r) + " sent no IPC handle of a buffer");
  auto base = proxy.openPeerMemory(buffer.handle);
  if (!base.ok()) return base.status().withContext("rank " + std::to_string(r) + ": ");
  return reinterpret_cast<uint64_t>(base.value()) + buffer.offset;
}

// Table entries per source: reduceTable takes its address, copyTable its address, place and size.
size_t tableWords(int nranks) { return 1 + 3 * static_cast<size_t>(nranks); }

// A stage's kernel table (device_api.h: reduceTable and copyTable), from its sources.
Status fillTable(DeviceProxy& proxy, const PeerMemoryPlan::Stage& stage, const std::vector<InputAddress>& inputs,
                 volatile uint64_t* table) {
  size_t slot = 1;
  for (const PeerMemoryPlan::Source& source : stage.sources) {
    const InputAddress& input = inputs[static_cast<size_t>(source.rank)];
    auto address = addressOf(proxy, input.pid, source.fromRecv ? input.recv : input.send, source.rank);
    if (!address.ok()) return address.status();
    table[slot++] = address.value() + source.offset;
    if (stage.kernel == PeerMemoryPlan::Kernel::Copy) {
      table[slot++] = source.dstOffset;
      table[slot++] = source.bytes;
    }
  }
  __atomic_store_n(const_cast<uint64_t*>(&table[0]), static_cast<uint64_t>(stage.sources.size()), __ATOMIC_RELEASE);
  return Status::ok();
}

// Every stage's table: the handles are opened here, before any stage runs.
Status fillTables(DeviceProxy& proxy, const PeerMemoryPlan& plan, const std::vector<InputAddress>& inputs,
                  const std::vector<volatile uint64_t*>& tables) {
  size_t opens = 0;
  for (const PeerMemoryPlan::Stage& stage : plan.stages) opens += stage.sources.size();
  proxy.makeRoomForPeerMemory(opens);
  for (size_t s = 0; s < plan.stages.size(); ++s)
    STRATA_RETURN_IF_ERROR(fillTable(proxy, plan.stages[s], inputs, tables[s]));
  return Status::ok();
}

// Exports `buffer` for the other processes of the host.
Status exportBuffer(const DeviceRuntime& runtime, const char* function, const char* argument, const void* buffer,
                    BufferAddress* out) {
  out->address = reinterpret_cast<uint64_t>(buffer);
  if (buffer == nullptr) return Status::ok();
  size_t offset = 0;
  int code = runtime.api().ipcHandle(buffer, out->handle, &offset);
  if (code != 0) {
    return invalidArgument(
        std::string(function) + ": " + argument +
        " cannot be shared with the other processes of this host: " + runtime.errorText("cudaIpcGetMemHandle", code) +
        " (memory from cudaMalloc can; set STRATA_CUDA_IPC=0 to stage through host memory)");
  }
  out->offset = offset;
  out->hasHandle = 1;
  return Status::ok();
}

// Queues a stage's kernel on `stream` (`target`: recvbuff or scratch), then the callback telling
// the proxy it is done.
Status enqueueKernel(const DeviceRuntime& runtime, const PeerMemoryPlan::Stage& stage, const CollectiveCall& call,
                     void* target, const volatile uint64_t* table, int nranks, void* stream,
                     DeviceProxy::Operation* op) {
  const strataDeviceApi& api = runtime.api();
  int code = 0;
  if (stage.kernel == PeerMemoryPlan::Kernel::Reduce) {
    code = api.reduceTable(static_cast<char*>(target) + stage.dstOffset, table, stage.count, call.dtype, call.op,
                           stage.average ? 1 : 0, stream);
  } else if (stage.kernel == PeerMemoryPlan::Kernel::Copy) {
    size_t most = 0;
    for (const PeerMemoryPlan::Source& s : stage.sources) most = std::max(most, s.bytes);
    code = api.copyTable(target, table, most, nranks, stream);
  }
  if (code != 0) return systemError(runtime.errorText("cudaLaunchKernel (reading peers' memory)", code));
  code = api.hostCallback(stream, &DeviceProxy::markStep, op);
  return code == 0 ? Status::ok() : systemError(runtime.errorText("cudaLaunchHostFunc", code));
}

// What the proxy does for the operation once every stream has reached it: gathers the ranks'
// addresses and checks their calls agree, fills the kernels' tables, then lets each stage's kernel
// run and waits until every rank's has, before the next stage or the stream's end.
std::function<Status()> proxyWork(Communicator* c, DeviceProxy& proxy, DeviceProxy::Operation* op,
                                  const InputAddress& mine, const PeerMemoryPlan& plan,
                                  const std::vector<volatile uint64_t*>& tables) {
  const int64_t timeoutMs = c->params().timeoutMs;
  return [c, &proxy, op, mine, plan, tables, timeoutMs]() -> Status {
    const int stages = static_cast<int>(plan.stages.size());
    // On failure the proxy lets the whole stream go: the kernels not yet let through must then do
    // nothing (the peers, failing too, may already reuse their buffers).
    auto disarmFrom = [&](int stage, const Status& why) {
      for (int s = stage; s < stages; ++s) {
        __atomic_store_n(const_cast<uint64_t*>(&tables[static_cast<size_t>(s)][0]), uint64_t{0}, __ATOMIC_RELEASE);
      }
      return why;
    };
    std::vector<InputAddress> inputs(static_cast<size_t>(c->nranks()));
    // Every rank's stream has reached the call (its work runs after its ready callback): the
    // inputs are final.
    STRATA_RETURN_IF_ERROR(c->allGatherBytes(&mine, inputs.data(), sizeof(InputAddress)));
    Status filled = checkSameCall(inputs, mine);
    if (filled.isOk()) filled = fillTables(proxy, plan, inputs, tables);
    auto everyone = allAgree(c, filled.isOk());
    if (!filled.isOk()) return disarmFrom(0, filled);
    if (!everyone.ok()) return disarmFrom(0, everyone.status());
    if (!everyone.value()) return disarmFrom(0, remoteError("another rank could not reach the ranks' device memory"));
    const uint64_t first = op->sequence - static_cast<uint64_t>(stages);
    for (int s = 0; s < stages; ++s) {
      proxy.releaseThrough(first + static_cast<uint64_t>(s));
      const Status read = proxy.waitForStep(op, s + 1, timeoutMs);
      // Nobody goes on (the next stage, or its stream past its inputs) before every kernel of
      // this stage is done.
      auto done = allAgree(c, read.isOk());
      if (!read.isOk()) return disarmFrom(s + 1, read);
      if (!done.ok()) return disarmFrom(s + 1, done.status());
      if (!done.value()) return disarmFrom(s + 1, remoteError("another rank's device did not finish reading"));
    }
    return Status::ok();
  };
}

}  // namespace

bool peerMemoryApplies(const Communicator& comm, CollectiveKind kind) {
  const Params& params = comm.params();
  if (comm.deviceRuntime() == nullptr || params.cudaIpc == "0" || !peerMemoryTakes(kind)) return false;
  const std::vector<PeerInfo>& peers = comm.peers();
  if (peers.size() < 2 || peers.size() > static_cast<size_t>(kMostRanks)) return false;
  const PeerInfo& me = peers[static_cast<size_t>(comm.rank())];
  for (const PeerInfo& peer : peers) {
    if (peer.deviceKey.empty() || peer.hostId != me.hostId || peer.machineId != me.machineId ||
        peer.pidNamespace != me.pidNamespace) {
      return false;
    }
    if (params.cudaIpc == "auto" && peer.deviceKey != me.deviceKey) return false;
    // Threads of one process pass plain addresses, which another GPU reaches only with peer access
    // enabled: across GPUs, only processes (CUDA IPC enables it).
    if (peer.pid == me.pid && peer.deviceKey != me.deviceKey) return false;
  }
  return true;
}

strataResult_t dispatchPeerCollective(Communicator* c, DeviceProxy& proxy, void* stream, const CollectiveCall& call) {
  const DeviceRuntime& runtime = *c->deviceRuntime();
  const strataDeviceApi& api = runtime.api();
  const int nranks = c->nranks();
  const PeerMemoryPlan plan = planPeerMemory(call, c->rank(), nranks);
  const char* name = collectiveName(call.shape.kind);
  STRATA_TRACE(Coll, "%s of %zu bytes on device memory, read from the %d ranks' GPU memory", name, call.shape.bytes(),
               nranks);

  InputAddress mine;
  mine.count = call.shape.count;
  mine.kind = static_cast<int32_t>(call.shape.kind);
  mine.dtype = call.dtype;
  mine.op = call.op;
  mine.root = call.shape.root;
  mine.stages = static_cast<int32_t>(plan.stages.size());
  mine.pid = getpid();
  mine.send.address = reinterpret_cast<uint64_t>(call.send);
  mine.recv.address = reinterpret_cast<uint64_t>(call.recv);
  // Handles only where another process reads the buffer.
  bool otherProcess = false;
  for (const PeerInfo& peer : c->peers()) otherProcess = otherProcess || peer.pid != mine.pid;
  if (otherProcess) {
    Status exported = plan.sendRead ? exportBuffer(runtime, name, "sendbuff", call.send, &mine.send) : Status::ok();
    if (exported.isOk() && plan.recvRead) exported = exportBuffer(runtime, name, "recvbuff", call.recv, &mine.recv);
    // The peers' matching calls are under way: breaking the communicator fails them at once.
    if (!exported.isOk()) return failDevice(c, exported);
  }

  const int stages = static_cast<int>(plan.stages.size());
  auto op = std::make_unique<DeviceProxy::Operation>();
  // The stream waits before each stage (every rank's input final, then every rank past the stage
  // before), and at the end for every reader.
  op->phases = stages + 1;
  std::vector<volatile uint64_t*> tables;
  std::vector<const volatile uint64_t*> tablesOnDevice;
  for (int s = 0; s < stages; ++s) {
    auto table = proxy.acquire(sizeof(uint64_t) * tableWords(nranks));
    if (!table.ok()) {
      proxy.giveBack(op->staging);
      return failDevice(c, table.status());
    }
    op->staging.push_back(table.value());
    tables.push_back(static_cast<volatile uint64_t*>(table.value().host));
    tables.back()[0] = 0;  // until the proxy fills it, the kernel does nothing
    tablesOnDevice.push_back(static_cast<const volatile uint64_t*>(table.value().deviceView));
  }
  // Writes that would land on bytes a reader still takes go to scratch first, copied over
  // recvbuff once every rank is done reading.
  char* target = static_cast<char*>(call.recv);
  if (plan.scratch) {
    size_t extent = 0;
    for (const auto& [offset, bytes] : plan.stages[0].written) extent = std::max(extent, offset + bytes);
    auto scratch = proxy.acquireDevice(c->device(), extent);
    if (!scratch.ok()) {
      proxy.giveBack(op->staging);
      return failDevice(c, scratch.status());
    }
    op->staging.push_back(scratch.value());
    target = static_cast<char*>(scratch.value().host);
  }

  op->work = proxyWork(c, proxy, op.get(), mine, plan, tables);
  c->addPending();  // until the proxy retires the operation
  DeviceProxy::Operation* queued = proxy.push(std::move(op));
  const uint64_t firstPhase = queued->sequence - static_cast<uint64_t>(stages);
  Status status = proxy.enqueueReady(queued, stream);
  if (!status.isOk()) return failDevice(c, status);
  status = proxy.enqueueFinish(
      queued, stream,
      [&]() -> Status {
        if (target == call.recv) return Status::ok();
        for (const auto& [offset, bytes] : plan.stages[0].written) {
          int code = api.copyAsync(static_cast<char*>(call.recv) + offset, target + offset, bytes, stream);
          if (code != 0) return systemError(runtime.errorText("cudaMemcpyAsync", code));
        }
        return Status::ok();
      },
      [&]() -> Status {
        Status queuedKernels;
        for (int s = 0; s < stages && queuedKernels.isOk(); ++s) {
          queuedKernels = proxy.enqueueWaitFor(stream, firstPhase + static_cast<uint64_t>(s));
          if (queuedKernels.isOk()) {
            queuedKernels = enqueueKernel(runtime, plan.stages[static_cast<size_t>(s)], call, target,
                                          tablesOnDevice[static_cast<size_t>(s)], nranks, stream, queued);
          }
          // Counted before anything may retire the operation: retirement without a release
          // callback is decided only after this lambda returns (enqueueFinish's failure path),
          // and the work waits for this very callback.
          if (queuedKernels.isOk()) proxy.stepQueued(queued);
        }
        // The work must not wait for a completion that will never be signalled.
        if (!queuedKernels.isOk()) proxy.abandonSteps(queued);
        return queuedKernels;
      });
  return status.isOk() ? strataSuccess : failDevice(c, status);
}

}  // namespace strata::api
