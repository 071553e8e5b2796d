#include "src/core/communicator.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>

#include "src/common/datatype.h"
#include "src/common/log.h"
#include "src/core/agreement.h"
#include "src/core/executor.h"
#include "src/reduce/reduce.h"

namespace strata {
namespace {

constexpr size_t kPlanCacheLimit = 512;

bool isReduction(CollectiveKind k) {
  return k == CollectiveKind::AllReduce || k == CollectiveKind::Reduce || k == CollectiveKind::ReduceScatter;
}

}  // namespace

Result<std::unique_ptr<Communicator>> Communicator::create(const strataUniqueId& id, int nranks, int rank,
                                                           const strataConfig_t* config) {
  std::unique_ptr<Communicator> comm(new Communicator());
  comm->rank_ = rank;
  comm->nranks_ = nranks;
  auto params = Params::fromEnvironment();
  if (!params.ok()) return params.status();
  comm->params_ = std::move(params.value());
  for (const std::string& name : comm->params_.unknownVariables) {
    if (rank == 0) STRATA_WARN(Env, "%s is not a Strata variable (see README for the list); it is ignored", name.c_str());
  }
  if (config != nullptr) {
    if (config->timeoutMs != STRATA_CONFIG_UNDEF_INT) comm->params_.timeoutMs = config->timeoutMs;
    if (config->commName != nullptr) comm->name_ = config->commName;
  }
  auto selector = AlgorithmSelector::parse(comm->params_.algo);
  if (!selector.ok()) return selector.status();
  comm->selector_ = selector.value();
  if (!comm->params_.costFile.empty()) {
    auto model = CostModel::load(comm->params_.costFile);
    if (!model.ok()) return model.status();
    comm->costModel_ = model.value();
  }
  auto device = DeviceRuntime::forCommunicator(comm->params_);
  if (!device.ok()) return device.status().withContext("communicator init (rank " + std::to_string(rank) + "): ");
  comm->deviceRuntime_ = device.value().runtime;
  comm->deviceNote_ = device.value().note;
  if (device.value().warn) STRATA_WARN(Init, "rank %d: %s", rank, comm->deviceNote_.c_str());
  if (comm->deviceRuntime_ != nullptr) {
    int code = comm->deviceRuntime_->api().getDevice(&comm->device_);
    if (code != 0) return systemError("communicator init: " + comm->deviceRuntime_->errorText("cudaGetDevice", code));
    comm->deviceNote_ += ", bound to device " + std::to_string(comm->device_);
    char identity[48] = {};
    if (comm->deviceRuntime_->api().deviceIdentity(comm->device_, identity, sizeof(identity)) == 0) {
      comm->deviceKey_ = std::string(identity, strnlen(identity, sizeof(identity)));
    }
  }
  auto contents = decodeUniqueId(id);
  if (!contents.ok()) return contents.status();

  setLogRank(rank);
  Deadline deadline(comm->params_.timeoutMs);
  auto bootstrap = BootstrapClient::connect(contents.value(), rank, nranks, deadline);
  if (!bootstrap.ok()) return bootstrap.status();
  auto wiring = wireCommunicator(bootstrap.value(), contents.value(), rank, nranks, comm->params_,
                                 comm->costModel_.digest(), comm->deviceKey_, deadline);
  bootstrap.value().close();
  waitForHostedRoot(contents.value().secret, deadline);
  if (!wiring.ok()) return wiring.status().withContext("communicator init (rank " + std::to_string(rank) + "): ");
  comm->peers_ = std::move(wiring.value().peers);
  comm->host_ = std::move(wiring.value().host);
  std::vector<RankPlacement> placements;
  for (const PeerInfo& peer : comm->peers_) placements.push_back({peer.hostId, peer.hostname, peer.switches, peer.localOrder});
  comm->hierarchy_ = Hierarchy(placements);
  comm->topology_ = PlanTopology::withRing(rank, comm->hierarchy_.ring());
  comm->topology_.hierarchy = &comm->hierarchy_;
  const LocalRanks local = ranksSharingCores(comm->peers_, comm->hierarchy_, rank);
  comm->bindingNote_ = bindNearDevice(comm->params_, comm->host_, local);
  const int cores = comm->peers_[static_cast<size_t>(rank)].cores;
  if (cores > 0 && local.count > cores) comm->waitPolicy_.ranksOutnumberCores();
  comm->cost_.hierarchy = &comm->hierarchy_;
  comm->cost_.model = &comm->costModel_;
  comm->cost_.topology = &comm->topology_;
  // Every input of the tuner must be the same on all ranks, or they would pick different plans:
  // the smallest host's core count, from the allgathered peer information.
  comm->cost_.coresPerHost = fewestCores(comm->peers_);
  comm->connections_ = std::move(wiring.value().connections);
  comm->windows_ = std::move(wiring.value().windows);
  comm->doorbellMemory_ = std::move(wiring.value().doorbellMemory);
  comm->cost_.windowBytes = comm->windows_ ? comm->windows_->halfBytes() : 0;
  comm->agreementPlan_.algorithm = "agreement rounds";
  appendAgreement(comm->agreementPlan_, rank, nranks);
  comm->context_.rank = rank;
  for (auto& c : comm->connections_) comm->context_.connections.push_back(c.get());
  comm->context_.timeoutMs = comm->params_.timeoutMs;
  comm->context_.abortFlag = &comm->aborted_;
  comm->context_.staging = &comm->staging_;
  comm->context_.windows = comm->windows_.get();
  comm->context_.windowSequence = &comm->windowSequence_;
  comm->context_.doorbell = wiring.value().doorbell;
  comm->context_.waitPolicy = &comm->waitPolicy_;
  comm->logBanner();
  return comm;
}

Communicator::~Communicator() {
  waitForPending();
  deviceProxy_.reset();  // every device operation is retired: its thread ends
  std::lock_guard<std::mutex> lock(executionMutex_);
  connections_.clear();
  const WaitPolicy::Counts& w = waitPolicy_.counts();
  STRATA_INFO(Coll, "rank %d waits: %llu, %llu ended spinning; %llu yields (%llu slow), %llu sleeps (%llu us); spin now %u rounds",
              rank_, static_cast<unsigned long long>(w.waits), static_cast<unsigned long long>(w.endedSpinning),
              static_cast<unsigned long long>(w.yields), static_cast<unsigned long long>(w.slowYields),
              static_cast<unsigned long long>(w.sleeps), static_cast<unsigned long long>(w.sleptUs), waitPolicy_.spinRounds());
}

void Communicator::logBanner() const {
  if (rank_ == 0 && versionBannerRequested()) {
    std::fprintf(stderr, "%s:%d STRATA version %d.%d.%d\n", peers_[rank_].hostname.c_str(),
                 static_cast<int>(peers_[rank_].pid), STRATA_MAJOR, STRATA_MINOR, STRATA_PATCH);
  }
  if (!logEnabled(LogLevel::Info, LogSubsystem::Init)) return;
  STRATA_INFO(Init, "Strata %d.%d.%d rank %d of %d%s%s on %s (pid %d), reduction kernels: %s", STRATA_MAJOR,
              STRATA_MINOR, STRATA_PATCH, rank_, nranks_, name_.empty() ? "" : ", comm ", name_.c_str(),
              peers_[rank_].hostname.c_str(), static_cast<int>(peers_[rank_].pid), reduceKernelVariant());
  for (int peer = 0; peer < nranks_; ++peer) {
    STRATA_INFO(Init, "peer %d on host %s via %s", peer, peers_[peer].hostname.c_str(), connections_[peer]->kind());
  }
  STRATA_INFO(Init, "host: %s (%s); %s", host_.summary.c_str(),
              host_.topology ? host_.topology->source.c_str() : "no hwloc", host_.nvlinkNote.c_str());
  STRATA_INFO(Init, "device: %s; %s", host_.device.describe.c_str(), bindingNote_.c_str());
  STRATA_INFO(Init, "%s", deviceNote_.c_str());
  STRATA_INFO(Init, "placement from %s", peers_[rank_].placementSource.c_str());
  STRATA_INFO(Init, "hierarchy: %s", hierarchy_.summary().c_str());
  STRATA_INFO(Init, "ring: %s", hierarchy_.describeRing().c_str());
  for (const auto& [name, value] : params_.setVariables) {
    STRATA_INFO(Env, "%s=%s", name.c_str(), value.c_str());
  }
  STRATA_INFO(Env,
              "in effect: STRATA_TIMEOUT_MS=%lld STRATA_TRANSPORT=%s STRATA_SOCKET_NSTREAMS=%d STRATA_BUFFSIZE=%s "
              "STRATA_WINDOW_BYTES=%lld STRATA_ONESHOT_BYTES=%lld STRATA_RUNTIME_CONNECT=%d",
              static_cast<long long>(params_.timeoutMs), params_.transport.c_str(), params_.socketStreams,
              params_.shmRingBytesSet ? std::to_string(params_.shmRingBytes).c_str() : "(sized for the host: see the shm line)",
              static_cast<long long>(windowHalfBytes()), static_cast<long long>(params_.oneShotBytes),
              params_.runtimeConnect ? 1 : 0);
}

Status Communicator::checkUsable() const {
  // The fatal error first: a communicator broken by one is also aborted (device_submit.cc), and
  // the error says why.
  strataResult_t previous = asyncError_.load();
  if (previous != strataSuccess) {
    return {previous, "communicator had a fatal error earlier (" + lastError() + "); destroy it and create a new one"};
  }
  if (aborted_.load()) return invalidUsage("communicator was aborted; destroy it and create a new one");
  return Status::ok();
}

Status Communicator::preparePlan(const CollectiveShape& callShape, PreparedPlan& prepared) const {
  CollectiveShape shape = callShape;
  shape.windowBytes = windows_ ? windows_->halfBytes() : 0;
  size_t oneShotBytes = windows_ ? std::min(windows_->halfBytes(), static_cast<size_t>(params_.oneShotBytes)) : 0;
  const AlgorithmEntry* algorithm = selector_->choose(shape, cost_, oneShotBytes);
  if (algorithm == nullptr) {
    return internalError(std::string("no algorithm serves collective '") + collectiveName(shape.kind) + "' of " +
                         std::to_string(shape.bytes()) + " bytes");
  }
  prepared.algorithm = static_cast<uint8_t>(algorithm - algorithmRegistry().data() + 1);
  prepared.plan = algorithm->generate(shape, topology_);
  if (needsAgreement(shape.kind)) appendAgreement(prepared.plan, rank_, nranks_);
  return Status::ok();
}

Result<const PreparedPlan*> Communicator::planFor(const CollectiveCall& call, PreparedPlan& uncached) {
  if (call.shape.kind == CollectiveKind::AllToAllv) {  // its counts are not in the key: never cached
    STRATA_RETURN_IF_ERROR(preparePlan(call.shape, uncached));
    return &uncached;
  }
  // The choice depends only on the call's shape (the selector and the topology are fixed for the
  // communicator's life), so the tuner runs once per shape, not once per call.
  const PlanKey key{static_cast<int>(call.shape.kind), call.shape.count, call.shape.elementSize, call.shape.root,
                    call.shape.inPlace};
  if (lastPlan_ != nullptr && key == lastPlanKey_) return lastPlan_;
  auto it = planCache_.find(key);
  if (it == planCache_.end()) {
    PreparedPlan prepared;
    STRATA_RETURN_IF_ERROR(preparePlan(call.shape, prepared));
    if (planCache_.size() >= kPlanCacheLimit) planCache_.clear();
    it = planCache_.emplace(key, std::move(prepared)).first;
  }
  lastPlanKey_ = key;
  lastPlan_ = &it->second;
  return lastPlan_;
}

Status Communicator::execute(const Plan& plan, strataDataType_t dtype, strataRedOp_t op, const CallTag& tag) {
  if (scratch_.size() < plan.scratchBytes) scratch_.resize(plan.scratchBytes);
  context_.buffers[kScratchBuffer] = scratch_.data();
  context_.dtype = dtype;
  context_.op = op;
  context_.call = tag;
  STRATA_TRACE(Coll, "running %s: %zu stages", plan.algorithm.c_str(), plan.stages.size());
  Status status = executor_.run(plan, context_);
  if (!status.isOk()) {
    recordError(status);
    // Tell every peer now, so nobody waits for the timeout on a rank that already gave up.
    for (auto& c : connections_) c->close();
  }
  return status;
}

Status Communicator::runCollective(const CollectiveCall& call) {
  std::lock_guard<std::mutex> lock(executionMutex_);
  STRATA_RETURN_IF_ERROR(checkUsable());
  // A call that moves nothing (count 0) is a no-op on every rank: not numbered, nothing sent.
  const CollectiveKind kind = call.shape.kind;
  if (call.shape.count == 0 && kind != CollectiveKind::Barrier && kind != CollectiveKind::AllToAllv) return Status::ok();
  PreparedPlan uncached;
  auto planned = planFor(call, uncached);
  if (!planned.ok()) {
    recordError(planned.status());
    return planned.status();
  }
  const PreparedPlan& prepared = *planned.value();
  CallTag tag;
  tag.sequence = 2 * ++collectiveCalls_;
  tag.kind = callKindOf(kind);
  tag.dtype = static_cast<uint8_t>(call.dtype);
  tag.op = static_cast<uint8_t>(call.op);
  tag.algorithm = prepared.algorithm;
  tag.root = call.shape.root;
  tag.count = kind == CollectiveKind::AllToAllv ? 0 : call.shape.count;
  context_.buffers.assign({static_cast<std::byte*>(const_cast<void*>(call.send)), static_cast<std::byte*>(call.recv),
                           nullptr});
  STRATA_RETURN_IF_ERROR(execute(prepared.plan, call.dtype, call.op, tag));
  if (call.op == strataAvg && isReduction(kind)) {
    bool hasResult = kind != CollectiveKind::Reduce || rank_ == call.shape.root;
    if (hasResult) divideByCount(call.recv, call.shape.count, call.dtype, nranks_);
  }
  return Status::ok();
}

Status Communicator::allGatherBytes(const void* mine, void* all, size_t bytes) {
  CollectiveCall call;
  call.shape.kind = CollectiveKind::AllGather;
  call.shape.count = bytes;
  call.shape.elementSize = 1;
  call.send = mine;
  call.recv = all;
  return runCollective(call);
}

Status Communicator::runPlan(const Plan& plan, const void* send, void* recv, CallTag tag) {
  std::lock_guard<std::mutex> lock(executionMutex_);
  STRATA_RETURN_IF_ERROR(checkUsable());
  tag.sequence = 2 * ++collectiveCalls_;
  context_.buffers.assign({static_cast<std::byte*>(const_cast<void*>(send)), static_cast<std::byte*>(recv), nullptr});
  return execute(plan, static_cast<strataDataType_t>(tag.dtype), strataSum, tag);
}

size_t Communicator::windowHalfBytes() const { return windows_ ? windows_->halfBytes() : 0; }

Status Communicator::runAgreement(CallTag tag) {
  if (nranks_ == 1) return checkUsable();
  return runPlan(agreementPlan_, nullptr, nullptr, tag);
}

Status Communicator::runPointToPoint(const std::vector<PointToPointCall>& calls) {
  std::lock_guard<std::mutex> lock(executionMutex_);
  STRATA_RETURN_IF_ERROR(checkUsable());
  Plan plan;
  plan.algorithm = "grouped send/recv";
  Stage& stage = plan.newStage();
  context_.buffers.assign({nullptr, nullptr, nullptr});
  std::vector<int> peers;
  for (const PointToPointCall& call : calls) {
    if (call.bytes == 0) continue;  // nothing to move: a no-op, as a zero-count collective
    auto index = static_cast<uint16_t>(context_.buffers.size());
    context_.buffers.push_back(static_cast<std::byte*>(call.buffer));
    if (call.isSend) {
      Plan::send(stage, call.peer, {index, 0}, call.bytes);
    } else {
      Plan::recv(stage, call.peer, {index, 0}, call.bytes);
    }
    stage.steps.back().dtype = static_cast<uint8_t>(call.dtype);
    peers.push_back(call.peer);
  }
  if (peers.empty()) return Status::ok();
  // Both sides of every message check it before either returns: a sender learns that its message
  // matched a receive, so a mismatch is an error on both ranks.
  appendAcknowledgements(plan, peers);
  CallTag tag;
  tag.sequence = 2 * collectiveCalls_ + 1;
  tag.kind = static_cast<uint8_t>(CallKind::PointToPoint);
  return execute(plan, strataUint8, strataSum, tag);
}

Result<DeviceProxy*> Communicator::deviceProxy() {
  if (deviceRuntime_ == nullptr) return invalidUsage("this communicator takes host buffers only");
  std::lock_guard<std::mutex> lock(deviceProxyMutex_);
  if (!deviceProxy_) {
    auto proxy = DeviceProxy::create(
        *deviceRuntime_, device_, [this](const Status& status) { recordDeviceError(status); }, [this] { removePending(); });
    if (!proxy.ok()) return proxy.status();
    deviceProxy_ = std::move(proxy.value());
  }
  return deviceProxy_.get();
}

Status Communicator::waitForDeviceWork() {
  DeviceProxy* proxy = nullptr;
  {
    std::lock_guard<std::mutex> lock(deviceProxyMutex_);
    proxy = deviceProxy_.get();
  }
  return proxy != nullptr ? proxy->waitUntilRun(params_.timeoutMs) : Status::ok();
}

void Communicator::abort() {
  aborted_.store(true);
  for (auto& c : connections_) c->close();
  // A call of ours asleep on the doorbell looks at the abort flag sooner.
  if (context_.doorbell != nullptr) ringDoorbell(*context_.doorbell);
}

void Communicator::recordError(const Status& status) {
  if (status.isOk() || status.code() == strataInvalidArgument) return;
  strataResult_t expected = strataSuccess;
  // After a device failure broke the communicator, what fails next fails for its sake: the
  // device failure stays the message (a peer's "connection closed" would hide the cause).
  if (!asyncError_.compare_exchange_strong(expected, status.code()) && deviceFailed_.load()) return;
  setLastError(status.message());
  STRATA_WARN(Coll, "%s", status.message().c_str());
}

void Communicator::recordDeviceError(const Status& status) {
  // Nobody waits for a device operation's result code: every failure, an invalid argument found
  // when the ranks compared their calls too, is the communicator's asynchronous error. The first
  // one is the message (the operations queued after it fail for its sake).
  strataResult_t expected = strataSuccess;
  if (!asyncError_.compare_exchange_strong(expected, status.code())) return;
  deviceFailed_.store(true);
  setLastError(status.message());
  STRATA_WARN(Coll, "device operation failed: %s", status.message().c_str());
}

std::string Communicator::lastError() const {
  std::lock_guard<std::mutex> lock(errorMutex_);
  return lastError_;
}

void Communicator::setLastError(const std::string& message) {
  std::lock_guard<std::mutex> lock(errorMutex_);
  lastError_ = message;
}

void Communicator::waitForPending() const {
  while (pendingOps_.load() > 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
}

}  // namespace strata
