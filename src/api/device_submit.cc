#include "src/api/device_submit.h"

#include <algorithm>

#include "src/core/device_proxy.h"

namespace strata::api {
namespace {

struct BufferUse {
  const char* name;
  const void* pointer;
  size_t bytes;
};

std::vector<BufferUse> buffersOf(const Communicator& comm, const Operation& operation) {
  if (const auto* collective = std::get_if<CollectiveCall>(&operation)) {
    CallExtents e = extentsOf(collective->shape, comm.rank(), comm.nranks());
    return {{"sendbuff", collective->send, e.sendBytes}, {"recvbuff", collective->recv, e.recvBytes}};
  }
  if (const auto* p2p = std::get_if<PointToPointCall>(&operation)) {
    return {{p2p->isSend ? "sendbuff" : "recvbuff", p2p->buffer, p2p->bytes}};
  }
  return {};  // MoE operations check their own buffers
}

// One user buffer region staged through pinned memory: copied in before the proxy runs (inputs)
// and/or back after (outputs).
struct StagedRegion {
  const char* userBase = nullptr;  // device address
  size_t bytes = 0;
  char* staged = nullptr;          // pinned host address
  bool copyIn = false;
  bool copyOut = false;
};

class Stager {
 public:
  Stager(DeviceProxy& proxy, DeviceProxy::Operation& op) : proxy_(proxy), op_(op) {}

  // Pinned memory for [base, base + bytes); one region for send and receive when they overlap
  // (in-place calls), so the in-place relation holds in staging too.
  Status stage(const void* send, size_t sendBytes, void* recv, size_t recvBytes) {
    const char* s = static_cast<const char*>(send);
    const char* r = static_cast<const char*>(recv);
    if (sendBytes > 0 && recvBytes > 0 && s < r + recvBytes && r < s + sendBytes) {
      const char* lo = std::min(s, r);
      const char* hi = std::max(s + sendBytes, r + recvBytes);
      STRATA_RETURN_IF_ERROR(add(lo, static_cast<size_t>(hi - lo), true, false));
      regions_.back().copyOut = false;
      // Only the receive part goes back: the rest of the span is the caller's and unchanged.
      StagedRegion out = regions_.back();
      out.copyIn = false;
      out.copyOut = true;
      out.staged += r - lo;
      out.userBase = r;
      out.bytes = recvBytes;
      regions_.push_back(out);
      return Status::ok();
    }
    if (sendBytes > 0) STRATA_RETURN_IF_ERROR(add(s, sendBytes, true, false));
    if (recvBytes > 0) STRATA_RETURN_IF_ERROR(add(r, recvBytes, false, true));
    return Status::ok();
  }

  // A receive buffer with holes the call must not write (all-to-all-v's gaps): its copy back
  // becomes one copy per written block, [displacement, displacement + count) elements.
  void copyBackOnly(const void* recv, const std::vector<size_t>& counts, const std::vector<size_t>& displs,
                    size_t elementSize) {
    const char* r = static_cast<const char*>(recv);
    for (size_t i = 0; i < regions_.size(); ++i) {
      StagedRegion whole = regions_[i];
      if (!whole.copyOut || r < whole.userBase || r >= whole.userBase + whole.bytes) continue;
      regions_[i].copyOut = false;
      for (size_t p = 0; p < counts.size(); ++p) {
        if (counts[p] == 0) continue;
        StagedRegion block = whole;
        block.copyIn = false;
        block.userBase = r + displs[p] * elementSize;
        block.staged = whole.staged + (block.userBase - whole.userBase);
        block.bytes = counts[p] * elementSize;
        regions_.push_back(block);
      }
      return;
    }
  }

  // The staged address of a user address inside a staged region (nullptr stays nullptr).
  char* translate(const void* user) const {
    if (user == nullptr) return nullptr;
    const char* u = static_cast<const char*>(user);
    for (const StagedRegion& region : regions_) {
      if (u >= region.userBase && u <= region.userBase + region.bytes) return region.staged + (u - region.userBase);
    }
    return nullptr;
  }

  const std::vector<StagedRegion>& regions() const { return regions_; }

 private:
  Status add(const char* base, size_t bytes, bool in, bool out) {
    auto staging = proxy_.acquire(bytes);
    if (!staging.ok()) return staging.status();
    op_.staging.push_back(staging.value());
    regions_.push_back({base, bytes, static_cast<char*>(staging.value().host), in, out});
    return Status::ok();
  }

  DeviceProxy& proxy_;
  DeviceProxy::Operation& op_;
  std::vector<StagedRegion> regions_;
};

}  // namespace

CallExtents extentsOf(const CollectiveShape& shape, int rank, int nranks) {
  const size_t block = shape.bytes();
  const size_t all = block * static_cast<size_t>(nranks);
  const bool root = rank == shape.root;
  switch (shape.kind) {
    case CollectiveKind::AllReduce: return {block, block};
    case CollectiveKind::Broadcast: return {root ? block : 0, block};
    case CollectiveKind::Reduce: return {block, root ? block : 0};
    case CollectiveKind::AllGather: return {block, all};
    case CollectiveKind::ReduceScatter: return {all, block};
    case CollectiveKind::AllToAll: return {all, all};
    case CollectiveKind::Gather: return {block, root ? all : 0};
    case CollectiveKind::Scatter: return {root ? all : 0, block};
    case CollectiveKind::Barrier: return {0, 0};
    case CollectiveKind::AllToAllv: {
      size_t send = 0, recv = 0;
      for (size_t p = 0; p < shape.sendCounts.size(); ++p) {
        if (shape.sendCounts[p] > 0) send = std::max(send, shape.sendDispls[p] + shape.sendCounts[p]);
        if (shape.recvCounts[p] > 0) recv = std::max(recv, shape.recvDispls[p] + shape.recvCounts[p]);
      }
      return {send * shape.elementSize, recv * shape.elementSize};
    }
  }
  return {};
}

Result<bool> onDeviceMemory(const Communicator& comm, const char* function, const Operation& operation,
                            bool hostStreamGiven, bool foreignStream) {
  const DeviceRuntime& runtime = *comm.deviceRuntime();
  const BufferUse* firstDevice = nullptr;
  const BufferUse* firstHost = nullptr;
  std::vector<BufferUse> uses = buffersOf(comm, operation);
  for (const BufferUse& use : uses) {
    if (use.bytes == 0 || use.pointer == nullptr) continue;
    int device = -1;
    auto kind = runtime.kindOf(use.pointer, (std::string(function) + ": " + use.name).c_str(), &device);
    if (!kind.ok()) return kind.status();
    if (kind.value() == strataPointerHost) {
      if (firstHost == nullptr) firstHost = &use;
      continue;
    }
    if (device != comm.device()) {
      return invalidArgument(std::string(function) + ": " + use.name + " is memory of device " + std::to_string(device) +
                             ", but the communicator is bound to device " + std::to_string(comm.device()) +
                             " (the current device when it was created)");
    }
    if (firstDevice == nullptr) firstDevice = &use;
  }
  if (firstDevice != nullptr && firstHost != nullptr) {
    return invalidArgument(std::string(function) + ": " + firstDevice->name + " is device memory but " + firstHost->name +
                           " is host memory; pass both on the device or both on the host");
  }
  const bool device = firstDevice != nullptr || (firstHost == nullptr && foreignStream);
  if (device && hostStreamGiven) {
    return invalidUsage(std::string(function) +
                        ": device buffers take a cudaStream_t (NULL: the default stream), not a strataStream_t");
  }
  if (!device && foreignStream) {
    return invalidArgument(std::string(function) +
                           ": the stream is not a Strata host stream, and a cudaStream_t goes with device buffers; "
                           "these are host memory (pass NULL or a strataStream_t)");
  }
  return device;
}

strataResult_t submitOnDevice(const CommRef& comm, void* stream, Operation operation) {
  if (groupDepth() > 0) return queueInGroup(comm, stream, std::move(operation));
  std::vector<Operation> one;
  one.push_back(std::move(operation));
  return dispatchOnDevice(comm, stream, std::move(one));
}

strataResult_t dispatchOnDevice(const CommRef& comm, void* stream, std::vector<Operation> operations) {
  Communicator* c = comm.get();
  auto proxy = c->deviceProxy();
  if (!proxy.ok()) return report(proxy.status(), c);
  const strataDeviceApi& api = c->deviceRuntime()->api();
  auto op = std::make_unique<DeviceProxy::Operation>();
  Stager stager(*proxy.value(), *op);
  // The staged twins of the caller's operations: same calls, pinned host addresses.
  std::vector<Operation> staged;
  for (Operation& operation : operations) {
    if (auto* collective = std::get_if<CollectiveCall>(&operation)) {
      CallExtents e = extentsOf(collective->shape, c->rank(), c->nranks());
      Status s = stager.stage(collective->send, e.sendBytes, collective->recv, e.recvBytes);
      if (!s.isOk()) {
        proxy.value()->giveBack(op->staging);
        return report(s, c);
      }
      CollectiveCall twin = *collective;
      twin.send = e.sendBytes > 0 ? stager.translate(collective->send) : nullptr;
      twin.recv = e.recvBytes > 0 ? stager.translate(collective->recv) : nullptr;
      if (collective->shape.kind == CollectiveKind::AllToAllv && e.recvBytes > 0) {
        stager.copyBackOnly(collective->recv, collective->shape.recvCounts, collective->shape.recvDispls,
                            collective->shape.elementSize);
      }
      staged.push_back(std::move(twin));
    } else if (auto* p2p = std::get_if<PointToPointCall>(&operation)) {
      Status s = p2p->isSend ? stager.stage(p2p->buffer, p2p->bytes, nullptr, 0) : stager.stage(nullptr, 0, p2p->buffer, p2p->bytes);
      if (!s.isOk()) {
        proxy.value()->giveBack(op->staging);
        return report(s, c);
      }
      PointToPointCall twin = *p2p;
      twin.buffer = p2p->bytes > 0 ? stager.translate(p2p->buffer) : nullptr;
      staged.push_back(twin);
    } else {
      proxy.value()->giveBack(op->staging);
      return report(invalidUsage("MoE dispatch and combine take host buffers only in this version"), c);
    }
  }
  // Inputs into staging, in stream order.
  for (const StagedRegion& region : stager.regions()) {
    if (!region.copyIn) continue;
    int code = api.copyAsync(region.staged, region.userBase, region.bytes, stream);
    // The staging stays out of the pool: copies queued before this one may still write into it.
    if (code != 0) return report(systemError(c->deviceRuntime()->errorText("cudaMemcpyAsync", code)), c);
  }
  op->work = [c, staged = std::move(staged)] { return runOperations(c, staged); };
  std::vector<StagedRegion> regions = stager.regions();
  c->addPending();  // until the proxy retires the operation
  DeviceProxy::Operation* queued = proxy.value()->push(std::move(op));
  Status status = proxy.value()->enqueueOnStream(queued, stream, [&]() -> Status {
    for (const StagedRegion& region : regions) {
      if (!region.copyOut) continue;
      int code = api.copyAsync(const_cast<char*>(region.userBase), region.staged, region.bytes, stream);
      if (code != 0) return systemError(c->deviceRuntime()->errorText("cudaMemcpyAsync", code));
    }
    return Status::ok();
  });
  return report(status, c);
}

}  // namespace strata::api
