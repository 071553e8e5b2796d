// The communicator: who we are (rank, size, peers and their hosts), how we reach them
// (connections), how we choose algorithms (selector, plan cache) and what went wrong (error state).
// Calls run one at a time under `executionMutex_`; abort() may come from any thread.
#pragma once

#include <strata/strata.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "src/algorithms/collective.h"
#include "src/algorithms/selection.h"
#include "src/common/params.h"
#include "src/core/connect.h"
#include "src/core/device_proxy.h"
#include "src/core/executor.h"
#include "src/core/unique_id.h"
#include "topology/hierarchy.h"

namespace strata {

struct CollectiveCall {
  CollectiveShape shape;
  const void* send = nullptr;
  void* recv = nullptr;
  strataDataType_t dtype = strataUint8;
  strataRedOp_t op = strataSum;
};

struct PointToPointCall {
  bool isSend = true;
  int peer = 0;
  void* buffer = nullptr;
  size_t bytes = 0;
  strataDataType_t dtype = strataUint8;  // checked against the matching call's
};

// A collective's plan as the communicator runs it: the algorithm's plan with the agreement
// rounds the collective needs (core/agreement.h), and which algorithm it is (for call tags).
struct PreparedPlan {
  Plan plan;
  uint8_t algorithm = 0;
};

class Communicator {
 public:
  static Result<std::unique_ptr<Communicator>> create(const strataUniqueId& id, int nranks, int rank,
                                                      const strataConfig_t* config);
  ~Communicator();

  int rank() const { return rank_; }
  int nranks() const { return nranks_; }
  const Params& params() const { return params_; }
  const std::vector<PeerInfo>& peers() const { return peers_; }
  const Hierarchy& hierarchy() const { return hierarchy_; }

  Status runCollective(const CollectiveCall& call);
  // `bytes` from every rank, in rank order, into `all` (host memory): the library's own exchanges.
  Status allGatherBytes(const void* mine, void* all, size_t bytes);
  // A plan made outside the tuner (MoE row exchanges), run as one numbered call described by
  // `tag` (its sequence is filled in here); `send` and `recv` are its kSendBuffer and kRecvBuffer.
  Status runPlan(const Plan& plan, const void* send, void* recv, CallTag tag);
  // A call of agreement rounds only (core/agreement.h): ends an operation made of several plans.
  Status runAgreement(CallTag tag);
  const PlanTopology& planTopology() const { return topology_; }
  // Bytes of one half of each rank's peer-memory window; 0 when there are none (ranks on
  // several hosts, or STRATA_WINDOW_BYTES=0). The same on every rank.
  size_t windowHalfBytes() const;
  // Whether window exchanges may read straight from the ranks' buffers (PeerWindows::singleCopy).
  bool singleCopyReads() const { return windows_ && windows_->singleCopy(); }
  // All operations progress together in one stage (grouped send/recv).
  Status runPointToPoint(const std::vector<PointToPointCall>& calls);

  // OK, or why no call may run (aborted, or a fatal error earlier).
  Status checkUsable() const;

  // Fails pending and future waits here and at the peers; never blocks on the network.
  void abort();

  // Error state: the first fatal error sticks (NCCL: only InvalidArgument is not fatal).
  strataResult_t asyncError() const { return asyncError_.load(); }
  void recordError(const Status& status);
  void recordDeviceError(const Status& status);
  std::string lastError() const;
  void setLastError(const std::string& message);

  // Device memory (device_runtime.h): the module when this communicator takes device buffers,
  // else null; the device it is bound to (the current device at init), -1 without.
  const DeviceRuntime* deviceRuntime() const { return deviceRuntime_; }
  int device() const { return device_; }
  // The proxy that runs this communicator's device-memory operations, made on first use.
  Result<DeviceProxy*> deviceProxy();
  // A host-memory call comes after the device-memory calls made before it: waits until the
  // proxy has run them (a timeout error if their streams do not reach them in time).
  Status waitForDeviceWork();

  // Host-stream operations queued for this communicator; destroy waits for them.
  void addPending() { pendingOps_.fetch_add(1); }
  void removePending() { pendingOps_.fetch_sub(1); }
  void waitForPending() const;

 private:
  Communicator() = default;
  Result<const PreparedPlan*> planFor(const CollectiveCall& call, PreparedPlan& uncached);
  // Runs the tuner and the chosen algorithm's generator for one shape.
  Status preparePlan(const CollectiveShape& callShape, PreparedPlan& prepared) const;
  // buffers[kSendBuffer], [kRecvBuffer] and any extras must be set in context_.buffers already.
  Status execute(const Plan& plan, strataDataType_t dtype, strataRedOp_t op, const CallTag& tag);
  void logBanner() const;

  int rank_ = 0;
  int nranks_ = 0;
  Params params_;
  std::string name_;
  std::optional<AlgorithmSelector> selector_;
  std::vector<PeerInfo> peers_;
  HostAnalysis host_;        // this host's topology and the device this rank drives
  std::string bindingNote_;  // what STRATA_BIND did
  Hierarchy hierarchy_;      // racks, hosts and the ring order, the same on every rank
  PlanTopology topology_;    // what plan generators read
  CostModel costModel_;      // defaults or STRATA_COST_FILE
  CostContext cost_;         // what the tuner reads (points into the members above)
  std::vector<std::unique_ptr<Connection>> connections_;
  std::shared_ptr<PeerWindows> windows_;  // peer memory when every rank is on this host
  uint64_t windowSequence_ = 0;
  std::shared_ptr<void> doorbellMemory_;  // keeps context_.doorbell mapped
  WaitPolicy waitPolicy_;

  std::mutex executionMutex_;
  using PlanKey = std::tuple<int, size_t, size_t, int, bool>;  // kind, count, element size, root, in place
  std::map<PlanKey, PreparedPlan> planCache_;
  // The plan of the previous collective: a training step repeats the same calls, so most calls
  // skip the map. Points into planCache_ (its nodes never move) and is set again whenever the
  // map is cleared.
  PlanKey lastPlanKey_{};
  const PreparedPlan* lastPlan_ = nullptr;
  uint64_t collectiveCalls_ = 0;  // collectives run so far: call tags number them
  Plan agreementPlan_;            // runAgreement's rounds
  std::vector<std::byte> scratch_;
  std::vector<std::byte> staging_;
  PlanExecutor executor_;
  ExecutionContext context_;  // reused by every call: no allocation on the steady path

  const DeviceRuntime* deviceRuntime_ = nullptr;
  int device_ = -1;
  std::string deviceKey_;  // the device's identity (its UUID), as peers see it in PeerInfo
  std::string deviceNote_;  // for INFO
  std::mutex deviceProxyMutex_;
  std::unique_ptr<DeviceProxy> deviceProxy_;

  std::atomic<bool> aborted_{false};
  std::atomic<strataResult_t> asyncError_{strataSuccess};
  std::atomic<bool> deviceFailed_{false};  // the asynchronous error is a device failure (its message stays)
  std::atomic<int> pendingOps_{0};
  mutable std::mutex errorMutex_;
  std::string lastError_;
};

}  // namespace strata
