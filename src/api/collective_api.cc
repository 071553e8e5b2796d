// C entry points for collectives and point-to-point: validate every argument, name the bad one in
// the error, work out in-place-ness as NCCL defines it, then hand the call to group_state.

#include "src/api/device_submit.h"
#include "src/api/group_state.h"
#include "src/api/handles.h"
#include "src/common/datatype.h"

namespace strata::api {
namespace {


// Everything a collective entry point checks before running. Fills `comm` and `stream`.
struct Validated {
  CommRef comm;
  StreamRef stream;
  size_t elementSize = 0;
  // A stream Strata did not make, on a communicator that takes device memory: a cudaStream_t
  // (null: none was given, or it is a Strata host stream).
  void* foreignStream = nullptr;
};

Result<Validated> validateCommon(const char* function, strataComm_t handle, strataStream_t stream, int dtype,
                                 const int* op) {
  auto comm = liveComm(handle, function);
  if (!comm.ok()) return comm.status();
  Validated v;
  v.comm = std::move(comm.value());
  if (!isValidDataType(dtype)) {
    return invalidArgument(std::string(function) + ": datatype=" + std::to_string(dtype) + " is not a strataDataType_t (0.." +
                           std::to_string(strataNumTypes - 1) + ")");
  }
  v.elementSize = dataTypeSize(static_cast<strataDataType_t>(dtype));
  if (op != nullptr && !isValidRedOp(*op)) {
    return invalidArgument(std::string(function) + ": op=" + std::to_string(*op) + " is not a strataRedOp_t (sum, prod, max, min, avg)");
  }
  if (stream != nullptr) {
    auto host = resolveStream(stream, function);
    if (host.ok()) {
      v.stream = std::move(host.value());
    } else if (v.comm->deviceRuntime() != nullptr) {
      v.foreignStream = stream;
    } else {
      return host.status();
    }
  }
  return v;
}

// No buffer can exceed the 47-bit user address space of x86-64 and AArch64 Linux.
constexpr size_t kMaxBufferBytes = size_t{1} << 47;

Status checkBytes(const char* function, const char* argument, size_t count, size_t elementSize, size_t multiplier) {
  if (count != 0 && (count > kMaxBufferBytes / elementSize || count * elementSize > kMaxBufferBytes / multiplier)) {
    return invalidArgument(std::string(function) + ": " + argument + "=" + std::to_string(count) +
                           " overflows the addressable size for this datatype and rank count");
  }
  return Status::ok();
}

Status checkBuffer(const char* function, const char* argument, const void* buffer, size_t count) {
  if (buffer == nullptr && count > 0) {
    return invalidArgument(std::string(function) + ": " + argument + " is NULL but count is " + std::to_string(count));
  }
  return Status::ok();
}

Status checkRank(const char* function, const char* argument, int value, int nranks) {
  if (value < 0 || value >= nranks) {
    return invalidArgument(std::string(function) + ": " + argument + "=" + std::to_string(value) + " is outside [0, " +
                           std::to_string(nranks) + ")");
  }
  return Status::ok();
}

// A collective whose buffers are all host memory, on a communicator with a device runtime, told
// apart without building its staged form (a vector and a function: an allocation on every host
// call of such a communicator). Anything else, errors included, takes the full look.
bool plainHostCollective(const Validated& v, const Operation& operation) {
  const auto* call = std::get_if<CollectiveCall>(&operation);
  if (call == nullptr || v.foreignStream != nullptr) return false;
  for (const void* buffer : {call->send, static_cast<const void*>(call->recv)}) {
    if (buffer == nullptr) continue;
    int device = -1;
    auto kind = v.comm->deviceRuntime()->kindOf(buffer, "", "", &device);
    if (!kind.ok() || kind.value() != strataPointerHost) return false;
  }
  return true;
}

// Host memory goes as before; on a communicator with a device runtime, device memory goes to
// the device path (device_submit.h).
strataResult_t route(const Validated& v, const char* function, Operation operation) {
  Communicator* c = v.comm.get();
  if (c->deviceRuntime() == nullptr || plainHostCollective(v, operation)) {
    return submit(v.comm, v.stream, std::move(operation));
  }
  StagedForm form = stagedFormOf(*c, operation);
  auto device = onDeviceMemory(*c, function, form.regions, v.stream != nullptr, v.foreignStream != nullptr);
  if (!device.ok()) return report(device.status(), c);
  if (!device.value()) return submit(v.comm, v.stream, std::move(operation));
  return submitOnDevice(v.comm, v.foreignStream, std::move(form));
}

// The common tail: make the call and pass it on.
strataResult_t submitCollective(const Validated& v, const char* function, CollectiveKind kind, const void* send,
                                void* recv, size_t count, int dtype, int op, int root, bool inPlace) {
  CollectiveCall call;
  call.shape.kind = kind;
  call.shape.count = count;
  call.shape.elementSize = v.elementSize;
  call.shape.root = root;
  call.shape.inPlace = inPlace;
  call.send = send;
  call.recv = recv;
  call.dtype = static_cast<strataDataType_t>(dtype);
  call.op = static_cast<strataRedOp_t>(op);
  if (v.comm->deviceRuntime() != nullptr) return route(v, function, std::move(call));
  return submit(v.comm, v.stream, std::move(call));
}

#define STRATA_CHECK(comm, expr)                     \
  do {                                               \
    ::strata::Status check_status_ = (expr);         \
    if (!check_status_.isOk()) return report(check_status_, comm); \
  } while (0)

}  // namespace
}  // namespace strata::api

using namespace strata;
using namespace strata::api;

extern "C" {

strataResult_t strataAllReduce(const void* sendbuff, void* recvbuff, size_t count, strataDataType_t datatype,
                               strataRedOp_t op, strataComm_t comm, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataAllReduce";
  int opValue = op;
  auto v = validateCommon(fn, comm, stream, datatype, &opValue);
  if (!v.ok()) return report(v.status());
  Communicator* c = v.value().comm.get();
  STRATA_CHECK(c, checkBytes(fn, "count", count, v.value().elementSize, 1));
  STRATA_CHECK(c, checkBuffer(fn, "sendbuff", sendbuff, count));
  STRATA_CHECK(c, checkBuffer(fn, "recvbuff", recvbuff, count));
  return submitCollective(v.value(), fn, CollectiveKind::AllReduce, sendbuff, recvbuff, count, datatype, op, 0, sendbuff == recvbuff);
  STRATA_API_END
}

strataResult_t strataBroadcast(const void* sendbuff, void* recvbuff, size_t count, strataDataType_t datatype, int root,
                               strataComm_t comm, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataBroadcast";
  auto v = validateCommon(fn, comm, stream, datatype, nullptr);
  if (!v.ok()) return report(v.status());
  Communicator* c = v.value().comm.get();
  STRATA_CHECK(c, checkRank(fn, "root", root, c->nranks()));
  STRATA_CHECK(c, checkBytes(fn, "count", count, v.value().elementSize, 1));
  if (c->rank() == root) STRATA_CHECK(c, checkBuffer(fn, "sendbuff (at the root)", sendbuff, count));
  STRATA_CHECK(c, checkBuffer(fn, "recvbuff", recvbuff, count));
  return submitCollective(v.value(), fn, CollectiveKind::Broadcast, sendbuff, recvbuff, count, datatype, strataSum, root, sendbuff == recvbuff);
  STRATA_API_END
}

strataResult_t strataReduce(const void* sendbuff, void* recvbuff, size_t count, strataDataType_t datatype,
                            strataRedOp_t op, int root, strataComm_t comm, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataReduce";
  int opValue = op;
  auto v = validateCommon(fn, comm, stream, datatype, &opValue);
  if (!v.ok()) return report(v.status());
  Communicator* c = v.value().comm.get();
  STRATA_CHECK(c, checkRank(fn, "root", root, c->nranks()));
  STRATA_CHECK(c, checkBytes(fn, "count", count, v.value().elementSize, 1));
  STRATA_CHECK(c, checkBuffer(fn, "sendbuff", sendbuff, count));
  if (c->rank() == root) STRATA_CHECK(c, checkBuffer(fn, "recvbuff (at the root)", recvbuff, count));
  return submitCollective(v.value(), fn, CollectiveKind::Reduce, sendbuff, recvbuff, count, datatype, op, root, sendbuff == recvbuff);
  STRATA_API_END
}

strataResult_t strataAllGather(const void* sendbuff, void* recvbuff, size_t sendcount, strataDataType_t datatype,
                               strataComm_t comm, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataAllGather";
  auto v = validateCommon(fn, comm, stream, datatype, nullptr);
  if (!v.ok()) return report(v.status());
  Communicator* c = v.value().comm.get();
  size_t es = v.value().elementSize;
  STRATA_CHECK(c, checkBytes(fn, "sendcount", sendcount, es, static_cast<size_t>(c->nranks())));
  STRATA_CHECK(c, checkBuffer(fn, "sendbuff", sendbuff, sendcount));
  STRATA_CHECK(c, checkBuffer(fn, "recvbuff", recvbuff, sendcount));
  bool inPlace = recvbuff != nullptr && sendbuff == static_cast<const char*>(recvbuff) + static_cast<size_t>(c->rank()) * sendcount * es;
  return submitCollective(v.value(), fn, CollectiveKind::AllGather, sendbuff, recvbuff, sendcount, datatype, strataSum, 0, inPlace);
  STRATA_API_END
}

strataResult_t strataReduceScatter(const void* sendbuff, void* recvbuff, size_t recvcount, strataDataType_t datatype,
                                   strataRedOp_t op, strataComm_t comm, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataReduceScatter";
  int opValue = op;
  auto v = validateCommon(fn, comm, stream, datatype, &opValue);
  if (!v.ok()) return report(v.status());
  Communicator* c = v.value().comm.get();
  size_t es = v.value().elementSize;
  STRATA_CHECK(c, checkBytes(fn, "recvcount", recvcount, es, static_cast<size_t>(c->nranks())));
  STRATA_CHECK(c, checkBuffer(fn, "sendbuff", sendbuff, recvcount));
  STRATA_CHECK(c, checkBuffer(fn, "recvbuff", recvbuff, recvcount));
  bool inPlace = sendbuff != nullptr && recvbuff == static_cast<const char*>(sendbuff) + static_cast<size_t>(c->rank()) * recvcount * es;
  return submitCollective(v.value(), fn, CollectiveKind::ReduceScatter, sendbuff, recvbuff, recvcount, datatype, op, 0, inPlace);
  STRATA_API_END
}

strataResult_t strataAllToAll(const void* sendbuff, void* recvbuff, size_t count, strataDataType_t datatype,
                              strataComm_t comm, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataAllToAll";
  auto v = validateCommon(fn, comm, stream, datatype, nullptr);
  if (!v.ok()) return report(v.status());
  Communicator* c = v.value().comm.get();
  STRATA_CHECK(c, checkBytes(fn, "count", count, v.value().elementSize, static_cast<size_t>(c->nranks())));
  STRATA_CHECK(c, checkBuffer(fn, "sendbuff", sendbuff, count));
  STRATA_CHECK(c, checkBuffer(fn, "recvbuff", recvbuff, count));
  return submitCollective(v.value(), fn, CollectiveKind::AllToAll, sendbuff, recvbuff, count, datatype, strataSum, 0, sendbuff == recvbuff);
  STRATA_API_END
}

strataResult_t strataAllToAllv(const void* sendbuff, const size_t sendcounts[], const size_t sdispls[], void* recvbuff,
                               const size_t recvcounts[], const size_t rdispls[], strataDataType_t datatype,
                               strataComm_t comm, strataStream_t stream) {
  STRATA_API_BEGIN
  const char* fn = "strataAllToAllv";
  auto v = validateCommon(fn, comm, stream, datatype, nullptr);
  if (!v.ok()) return report(v.status());
  Communicator* c = v.value().comm.get();
  const char* names[] = {"sendcounts", "sdispls", "recvcounts", "rdispls"};
  const size_t* arrays[] = {sendcounts, sdispls, recvcounts, rdispls};
  for (int i = 0; i < 4; ++i) {
    if (arrays[i] == nullptr) return report(invalidArgument(std::string(fn) + ": " + names[i] + " is NULL"), c);
  }
  size_t es = v.value().elementSize;
  size_t sendTotal = 0, recvTotal = 0;
  CollectiveCall call;
  for (int p = 0; p < c->nranks(); ++p) {
    for (int i = 0; i < 4; ++i) {
      STRATA_CHECK(c, checkBytes(fn, names[i], arrays[i][p], es, 2));
    }
    sendTotal += sendcounts[p];
    recvTotal += recvcounts[p];
    call.shape.sendCounts.push_back(sendcounts[p]);
    call.shape.sendDispls.push_back(sdispls[p]);
    call.shape.recvCounts.push_back(recvcounts[p]);
    call.shape.recvDispls.push_back(rdispls[p]);
  }
  STRATA_CHECK(c, checkBytes(fn, "sum of sendcounts", sendTotal, es, 1));
  STRATA_CHECK(c, checkBytes(fn, "sum of recvcounts", recvTotal, es, 1));
  STRATA_CHECK(c, checkBuffer(fn, "sendbuff", sendbuff, sendTotal));
  STRATA_CHECK(c, checkBuffer(fn, "recvbuff", recvbuff, recvTotal));
  call.shape.kind = CollectiveKind::AllToAllv;
  call.shape.elementSize = es;
  call.shape.inPlace = sendbuff == recvbuff && sendbuff != nullptr;
  call.send = sendbuff;
  call.recv = recvbuff;
  call.dtype = datatype;
  return route(v.value(), fn, std::move(call));
  STRATA_API_END
}

// Gather and scatter mirror each other: n blocks at the root, one block everywhere; the root's
// n-block buffer is recv for gather and send for scatter.
static strataResult_t rootedBlocks(const char* fn, CollectiveKind kind, const void* sendbuff, void* recvbuff, size_t count,
                                   strataDataType_t datatype, int root, strataComm_t comm, strataStream_t stream) {
  auto v = validateCommon(fn, comm, stream, datatype, nullptr);
  if (!v.ok()) return report(v.status());
  Communicator* c = v.value().comm.get();
  size_t es = v.value().elementSize;
  bool gather = kind == CollectiveKind::Gather;
  STRATA_CHECK(c, checkRank(fn, "root", root, c->nranks()));
  STRATA_CHECK(c, checkBytes(fn, "count", count, es, static_cast<size_t>(c->nranks())));
  bool atRoot = c->rank() == root;
  if (gather || atRoot) STRATA_CHECK(c, checkBuffer(fn, gather ? "sendbuff" : "sendbuff (at the root)", sendbuff, count));
  if (!gather || atRoot) STRATA_CHECK(c, checkBuffer(fn, gather ? "recvbuff (at the root)" : "recvbuff", recvbuff, count));
  // In place: the single block is the root's own block inside the n-block buffer.
  const char* blocks = static_cast<const char*>(gather ? recvbuff : const_cast<void*>(sendbuff));
  const void* single = gather ? sendbuff : recvbuff;
  bool inPlace = blocks != nullptr && single == blocks + static_cast<size_t>(root) * count * es;
  return submitCollective(v.value(), fn, kind, sendbuff, recvbuff, count, datatype, strataSum, root, inPlace);
}

strataResult_t strataGather(const void* sendbuff, void* recvbuff, size_t count, strataDataType_t datatype, int root,
                            strataComm_t comm, strataStream_t stream) {
  STRATA_API_BEGIN
  return rootedBlocks("strataGather", CollectiveKind::Gather, sendbuff, recvbuff, count, datatype, root, comm, stream);
  STRATA_API_END
}

strataResult_t strataScatter(const void* sendbuff, void* recvbuff, size_t count, strataDataType_t datatype, int root,
                             strataComm_t comm, strataStream_t stream) {
  STRATA_API_BEGIN
  return rootedBlocks("strataScatter", CollectiveKind::Scatter, sendbuff, recvbuff, count, datatype, root, comm, stream);
  STRATA_API_END
}

strataResult_t strataBarrier(strataComm_t comm, strataStream_t stream) {
  STRATA_API_BEGIN
  auto v = validateCommon("strataBarrier", comm, stream, strataUint8, nullptr);
  if (!v.ok()) return report(v.status());
  return submitCollective(v.value(), "strataBarrier", CollectiveKind::Barrier, nullptr, nullptr, 0, strataUint8, strataSum, 0, false);
  STRATA_API_END
}

static strataResult_t pointToPoint(const char* fn, bool isSend, const void* buffer, size_t count, strataDataType_t datatype,
                                   int peer, strataComm_t comm, strataStream_t stream) {
  auto v = validateCommon(fn, comm, stream, datatype, nullptr);
  if (!v.ok()) return report(v.status());
  Communicator* c = v.value().comm.get();
  STRATA_CHECK(c, checkRank(fn, "peer", peer, c->nranks()));
  STRATA_CHECK(c, checkBytes(fn, "count", count, v.value().elementSize, 1));
  STRATA_CHECK(c, checkBuffer(fn, isSend ? "sendbuff" : "recvbuff", buffer, count));
  PointToPointCall call{isSend, peer, const_cast<void*>(buffer), count * v.value().elementSize, datatype};
  return route(v.value(), fn, call);
}

strataResult_t strataSend(const void* sendbuff, size_t count, strataDataType_t datatype, int peer, strataComm_t comm,
                          strataStream_t stream) {
  STRATA_API_BEGIN
  return pointToPoint("strataSend", true, sendbuff, count, datatype, peer, comm, stream);
  STRATA_API_END
}

strataResult_t strataRecv(void* recvbuff, size_t count, strataDataType_t datatype, int peer, strataComm_t comm,
                          strataStream_t stream) {
  STRATA_API_BEGIN
  return pointToPoint("strataRecv", false, recvbuff, count, datatype, peer, comm, stream);
  STRATA_API_END
}

}  // extern "C"
