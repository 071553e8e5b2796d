#include "src/api/device_submit.h"

#include <algorithm>

#include "src/api/device_peer_collectives.h"
#include "src/common/log.h"
#include "src/core/device_proxy.h"

namespace strata::api {
namespace {

// Staging for one unit of device work: the regions of all its operations, overlapping ones in one
// pinned buffer (in-place calls, a group's send and receive of one buffer), so every relation
// between the caller's pointers holds between their twins.
class Stager {
 public:
  Stager(DeviceProxy& proxy, DeviceProxy::Operation& op) : proxy_(proxy), op_(op) {}

  Status stage(const std::vector<DeviceRegion>& all) {
    std::vector<const DeviceRegion*> regions;
    for (const DeviceRegion& r : all) {
      if (r.bytes > 0 && r.base != nullptr) regions.push_back(&r);
    }
    std::sort(regions.begin(), regions.end(),
              [](const DeviceRegion* a, const DeviceRegion* b) { return a->base < b->base; });
    for (size_t first = 0; first < regions.size();) {
      // A group: regions that overlap one another, in address order.
      const char* lo = static_cast<const char*>(regions[first]->base);
      const char* hi = lo + regions[first]->bytes;
      size_t last = first + 1;
      while (last < regions.size() && static_cast<const char*>(regions[last]->base) < hi) {
        hi = std::max(hi, static_cast<const char*>(regions[last]->base) + regions[last]->bytes);
        ++last;
      }
      auto staging = proxy_.acquire(static_cast<size_t>(hi - lo));
      if (!staging.ok()) return staging.status();
      op_.staging.push_back(staging.value());
      Group group{lo, hi, static_cast<char*>(staging.value().host)};
      for (size_t i = first; i < last; ++i) {
        const DeviceRegion& r = *regions[i];
        const char* base = static_cast<const char*>(r.base);
        // An input anywhere in the group: the whole span goes in, so what an output leaves
        // unwritten comes back as it was.
        group.copyIn = group.copyIn || r.in;
        if (!r.out) continue;
        if (r.outPieces.empty()) group.copiesOut.push_back({base, r.bytes});
        for (const auto& [offset, bytes] : r.outPieces) {
          if (bytes > 0) group.copiesOut.push_back({base + offset, bytes});
        }
      }
      groups_.push_back(std::move(group));
      first = last;
    }
    return Status::ok();
  }

  // The staged twin of a device address inside a staged region (nullptr stays nullptr; an address
  // of no region, nullptr too: only the bases of non-empty regions are asked for).
  void* twin(const void* device) const {
    if (device == nullptr) return nullptr;
    const char* d = static_cast<const char*>(device);
    for (const Group& g : groups_) {
      if (d >= g.lo && d < g.hi) return g.staged + (d - g.lo);
    }
    return nullptr;
  }

  // Inputs into staging, on the stream.
  Status copyIn(const DeviceRuntime& runtime, void* stream) const {
    for (const Group& g : groups_) {
      if (!g.copyIn) continue;
      int code = runtime.api().copyAsync(g.staged, g.lo, static_cast<size_t>(g.hi - g.lo), stream);
      if (code != 0) return systemError(runtime.errorText("cudaMemcpyAsync", code));
    }
    return Status::ok();
  }

  // Results back into the caller's memory, on the stream.
  Status copyOut(const DeviceRuntime& runtime, void* stream) const {
    for (const Group& g : groups_) {
      for (const auto& [base, bytes] : g.copiesOut) {
        int code = runtime.api().copyAsync(const_cast<char*>(base), g.staged + (base - g.lo), bytes, stream);
        if (code != 0) return systemError(runtime.errorText("cudaMemcpyAsync", code));
      }
    }
    return Status::ok();
  }

 private:
  struct Group {
    const char* lo;
    const char* hi;
    char* staged;
    bool copyIn = false;
    std::vector<std::pair<const char*, size_t>> copiesOut;
  };
  DeviceProxy& proxy_;
  DeviceProxy::Operation& op_;
  std::vector<Group> groups_;
};

}  // namespace

CallExtents extentsOf(const CollectiveShape& shape, int rank, int nranks) {
  const size_t block = shape.bytes();
  const size_t all = block * static_cast<size_t>(nranks);
  const bool root = rank == shape.root;
  switch (shape.kind) {
    case CollectiveKind::AllReduce:
      return {block, block};
    case CollectiveKind::Broadcast:
      return {root ? block : 0, block};
    case CollectiveKind::Reduce:
      return {block, root ? block : 0};
    case CollectiveKind::AllGather:
      return {block, all};
    case CollectiveKind::ReduceScatter:
      return {all, block};
    case CollectiveKind::AllToAll:
      return {all, all};
    case CollectiveKind::Gather:
      return {block, root ? all : 0};
    case CollectiveKind::Scatter:
      return {root ? all : 0, block};
    case CollectiveKind::Barrier:
      return {0, 0};
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

StagedForm stagedFormOf(const Communicator& comm, const Operation& operation) {
  StagedForm form;
  if (const auto* collective = std::get_if<CollectiveCall>(&operation)) {
    CallExtents e = extentsOf(collective->shape, comm.rank(), comm.nranks());
    DeviceRegion send{"sendbuff", collective->send, e.sendBytes, true, false, {}};
    DeviceRegion recv{"recvbuff", collective->recv, e.recvBytes, false, true, {}};
    if (collective->shape.kind == CollectiveKind::AllToAllv) {  // only the blocks are written
      const CollectiveShape& s = collective->shape;
      for (size_t p = 0; p < s.recvCounts.size(); ++p) {
        recv.outPieces.push_back({s.recvDispls[p] * s.elementSize, s.recvCounts[p] * s.elementSize});
      }
    }
    form.regions = {send, recv};
    form.collective = *collective;
    CollectiveCall call = *collective;
    form.twin = [call, e](const std::function<void*(const void*)>& staged) -> Operation {
      CollectiveCall twin = call;
      twin.send = e.sendBytes > 0 ? staged(call.send) : nullptr;
      twin.recv = e.recvBytes > 0 ? static_cast<void*>(staged(call.recv)) : nullptr;
      return twin;
    };
  } else if (const auto* p2p = std::get_if<PointToPointCall>(&operation)) {
    form.regions = {{p2p->isSend ? "sendbuff" : "recvbuff", p2p->buffer, p2p->bytes, p2p->isSend, !p2p->isSend, {}}};
    PointToPointCall call = *p2p;
    form.twin = [call](const std::function<void*(const void*)>& staged) -> Operation {
      PointToPointCall twin = call;
      twin.buffer = call.bytes > 0 ? staged(call.buffer) : nullptr;
      return twin;
    };
  }
  return form;
}

Result<bool> onDeviceMemory(const Communicator& comm, const char* function, const std::vector<DeviceRegion>& regions,
                            bool hostStreamGiven, bool foreignStream) {
  const DeviceRuntime& runtime = *comm.deviceRuntime();
  const DeviceRegion* firstDevice = nullptr;
  const DeviceRegion* firstHost = nullptr;
  for (const DeviceRegion& use : regions) {
    if (use.bytes == 0 || use.base == nullptr) continue;
    int device = -1;
    auto kind = runtime.kindOf(use.base, function, use.name, &device);
    if (!kind.ok()) return kind.status();
    if (kind.value() == strataPointerHost) {
      if (firstHost == nullptr) firstHost = &use;
      continue;
    }
    if (device != comm.device()) {
      return invalidArgument(std::string(function) + ": " + use.name + " is memory of device " +
                             std::to_string(device) + ", but the communicator is bound to device " +
                             std::to_string(comm.device()) + " (the current device when it was created)");
    }
    if (firstDevice == nullptr) firstDevice = &use;
  }
  if (firstDevice != nullptr && firstHost != nullptr) {
    return invalidArgument(std::string(function) + ": " + firstDevice->name + " is device memory but " +
                           firstHost->name + " is host memory; pass both on the device or both on the host");
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

strataResult_t submitOnDevice(const CommRef& comm, void* stream, StagedForm form) {
  if (groupDepth() > 0) return queueInGroup(comm, stream, std::move(form));
  std::vector<StagedForm> one;
  one.push_back(std::move(form));
  return dispatchOnDevice(comm, stream, std::move(one), /*grouped=*/false);
}

namespace {

// An element-wise collective (allreduce, broadcast, reduce) may be staged and run in pieces, so
// that the copies of one piece overlap the exchange of another.
bool cutsIntoPieces(CollectiveKind kind) {
  return kind == CollectiveKind::AllReduce || kind == CollectiveKind::Broadcast || kind == CollectiveKind::Reduce;
}

// Piece `offset`, `count` elements, of an element-wise collective: the same call on a slice of
// its buffers (a pointer the call does not use on this rank is only carried along).
CollectiveCall pieceOf(const CollectiveCall& call, size_t offset, size_t count) {
  CollectiveCall piece = call;
  const size_t skip = offset * call.shape.elementSize;
  piece.shape.count = count;
  if (call.send != nullptr) piece.send = static_cast<const char*>(call.send) + skip;
  if (call.recv != nullptr) piece.recv = static_cast<char*>(call.recv) + skip;
  return piece;
}

// An element-wise collective in pieces of `pieceBytes`, each its own proxy operation (numbered
// and agreed on like any call): the stream gets every piece's copy in and ready callback first,
// then each piece's wait and copy back, so the proxy exchanges piece i while piece i + 1 is still
// being copied in and piece i - 1 copied back. Every rank cuts alike (the count is agreed, and
// STRATA_DEVICE_CHUNK_BYTES must be set alike).
strataResult_t dispatchInPieces(Communicator* c, DeviceProxy& proxy, void* stream, const CollectiveCall& call,
                                size_t pieceBytes) {
  const DeviceRuntime& runtime = *c->deviceRuntime();
  const size_t perPiece = std::max<size_t>(1, pieceBytes / call.shape.elementSize);
  STRATA_TRACE(Coll, "%s of %zu bytes on device memory in %zu pieces", collectiveName(call.shape.kind),
               call.shape.bytes(), (call.shape.count + perPiece - 1) / perPiece);
  struct Piece {
    std::unique_ptr<DeviceProxy::Operation> owned;
    DeviceProxy::Operation* queued = nullptr;
    std::unique_ptr<Stager> stager;
  };
  std::vector<Piece> pieces;
  Status status;
  for (size_t offset = 0; offset < call.shape.count && status.isOk(); offset += perPiece) {
    Piece p;
    p.owned = std::make_unique<DeviceProxy::Operation>();
    p.stager = std::make_unique<Stager>(proxy, *p.owned);
    StagedForm form = stagedFormOf(*c, pieceOf(call, offset, std::min(perPiece, call.shape.count - offset)));
    status = p.stager->stage(form.regions);
    if (!status.isOk()) {
      proxy.giveBack(p.owned->staging);
      break;
    }
    Stager* stager = p.stager.get();
    Operation twin = form.twin([stager](const void* device) { return stager->twin(device); });
    status = p.stager->copyIn(runtime, stream);
    if (!status.isOk()) {
      proxy.quarantine(p.owned->staging);  // copies queued before the failure may still use it
      break;
    }
    p.owned->work = [c, twin = std::move(twin)] { return runOperations(c, {twin}); };
    c->addPending();
    p.queued = proxy.push(std::move(p.owned));
    status = proxy.enqueueReady(p.queued, stream);
    if (!status.isOk()) break;  // cancelled: the proxy retires it
    pieces.push_back(std::move(p));
  }
  // Every piece whose ready callback is queued gets its finish half, even after a failure (the
  // proxy runs it, and the stream must wait for it).
  for (Piece& p : pieces) {
    Status finished = proxy.enqueueFinish(p.queued, stream, [&] { return p.stager->copyOut(runtime, stream); });
    if (status.isOk()) status = finished;
  }
  return status.isOk() ? strataSuccess : failDevice(c, status);
}

}  // namespace

// A failure on the device path after the call was accepted breaks the communicator: this rank may
// have numbered some of the call's operations and not others, so a later call could pair with a
// peer's different one. The error becomes the communicator's, and the connections close so the
// peers' matching calls fail at once instead of waiting out their timeout.
strataResult_t failDevice(Communicator* c, const Status& status) {
  c->recordDeviceError(status);
  c->abort();
  return report(status, c);
}

strataResult_t dispatchOnDevice(const CommRef& comm, void* stream, std::vector<StagedForm> forms, bool grouped) {
  Communicator* c = comm.get();
  // A broken communicator takes no more work (the host path refuses it when it runs; here that
  // would be after the call returned).
  Status usable = c->checkUsable();
  if (!usable.isOk()) return report(usable, c);
  auto proxy = c->deviceProxy();
  if (!proxy.ok()) return failDevice(c, proxy.status());
  // A call made alone may take another form of exchange than its staged one (peers' memory, or
  // pieces): every rank made the same call alone. Not a group's: one rank's group may hold only
  // that collective while another's holds it and a send, and the ranks would exchange
  // differently.
  if (!grouped && forms[0].collective && forms[0].collective->shape.count > 0 &&
      peerMemoryApplies(*c, forms[0].collective->shape.kind)) {
    return dispatchPeerCollective(c, *proxy.value(), stream, *forms[0].collective);
  }
  const size_t pieceBytes = static_cast<size_t>(c->params().deviceChunkBytes);
  if (!grouped && forms[0].collective && cutsIntoPieces(forms[0].collective->shape.kind) && pieceBytes > 0 &&
      forms[0].collective->shape.bytes() >= 2 * pieceBytes) {
    return dispatchInPieces(c, *proxy.value(), stream, *forms[0].collective, pieceBytes);
  }
  const DeviceRuntime& runtime = *c->deviceRuntime();
  auto op = std::make_unique<DeviceProxy::Operation>();
  Stager stager(*proxy.value(), *op);
  std::vector<DeviceRegion> regions;
  for (const StagedForm& form : forms) regions.insert(regions.end(), form.regions.begin(), form.regions.end());
  Status staged = stager.stage(regions);
  if (!staged.isOk()) {
    proxy.value()->giveBack(op->staging);
    return failDevice(c, staged);
  }
  // The same operations on the staged copies, run by the proxy in call order.
  std::vector<Operation> twins;
  auto twinOf = [&stager](const void* device) { return stager.twin(device); };
  for (const StagedForm& form : forms) twins.push_back(form.twin(twinOf));
  Status in = stager.copyIn(runtime, stream);
  if (!in.isOk()) {
    proxy.value()->quarantine(op->staging);  // copies queued before the failure may still use it
    return failDevice(c, in);
  }
  op->work = [c, twins = std::move(twins)] { return runOperations(c, twins); };
  c->addPending();  // until the proxy retires the operation
  DeviceProxy::Operation* queued = proxy.value()->push(std::move(op));
  Status queuedOk = proxy.value()->enqueueOnStream(queued, stream, [&] { return stager.copyOut(runtime, stream); });
  return queuedOk.isOk() ? strataSuccess : failDevice(c, queuedOk);
}

}  // namespace strata::api
