// Runs a Plan over connections. Stages run in order; inside a stage every transfer is progressed
// round-robin (only the oldest unfinished message per peer and direction, which is what keeps the
// byte streams matched), receive-and-reduce folds data in as it arrives (several into one range
// in the order the plan lists them), and an idle loop backs off (spin, yield, nap). Every message
// is framed with the call's tag and every received frame is checked before its payload is taken
// (core/call_tag.h). Every wait has a deadline; an abort flag, a dead peer or a peer in another
// call ends it early.
#pragma once

#include <strata/strata.h>

#include <atomic>
#include <cstddef>
#include <string>
#include <vector>

#include "src/common/function_ref.h"
#include "src/common/status.h"
#include "src/common/wait.h"
#include "src/core/call_tag.h"
#include "src/algorithms/plan.h"
#include "src/core/wait_policy.h"
#include "transports/memory/doorbell.h"
#include "transports/memory/peer_windows.h"
#include "transports/transport.h"

namespace strata {

struct ExecutionContext {
  int rank = 0;
  std::vector<Connection*> connections;  // indexed by peer rank; connections[rank] is "self"
  std::vector<std::byte*> buffers;       // indexed by BufferSlice::buffer
  strataDataType_t dtype = strataUint8;
  strataRedOp_t op = strataSum;
  CallTag call;                          // what every message of this plan is framed with
  int64_t timeoutMs = 300000;
  const std::atomic<bool>* abortFlag = nullptr;
  std::vector<std::byte>* staging = nullptr;  // grown as needed, reused across calls
  PeerWindows* windows = nullptr;             // peer memory, when the plan uses window steps
  uint64_t* windowSequence = nullptr;         // window operations so far (same on every rank)
  uint64_t windowSequenceAtPlanStart = 0;     // set by the executor
  DoorbellWord* doorbell = nullptr;           // this rank's, when local peers can wake it (idle_wait.h)
  WaitPolicy* waitPolicy = nullptr;           // how long waits spin; null: a fixed short spin
};

// One transfer of a running stage (internal to the executor; here so its storage can be reused).
struct ActiveTransfer {
  const Step* step = nullptr;
  TransferRequest request;
  size_t reduced = 0;        // RecvReduce via staging: bytes already folded into dst
  int predecessor = -1;      // earlier transfer on the same peer and direction
  bool foldsAfterOthers = false;  // RecvReduce: an earlier RecvReduce of the stage writes an overlapping range
  bool finished = false;
  bool folding = false;      // RecvReduce straight from the transport's memory (no staging)
  size_t lastPeek = 0;       // folding: readable bytes seen at the previous look
  size_t folded() const { return folding ? request.done : reduced; }
};

// Runs plans; keeps its bookkeeping between calls so a steady stream of collectives allocates
// nothing. One per communicator (calls on a communicator are serialised).
class PlanExecutor {
 public:
  Status run(const Plan& plan, ExecutionContext& context);

 private:
  std::vector<ActiveTransfer> transfers_;
  std::vector<int> lastOnChannel_;
  std::vector<int> watched_;  // a stalled stage's peers (kept: a stall that ends well allocates nothing)
};

// Convenience for tests: a fresh executor per call.
Status executePlan(const Plan& plan, ExecutionContext& context);

// What a wait that made no progress for a while looks at, in order: the peers in `watched` (all
// when empty) that died or closed their connection, every peer that is visibly in another call
// than this one (the frame at the head of its stream, its window tags), the abort flag, and the
// deadline. `where` (a stage of an algorithm), `waitingFor` ("receive 4096 bytes from rank 3 ...")
// and `suspect` (the rank a timeout message names, -1: every rank) only shape the error text: the
// texts are made only when there is an error, so a stall that ends well allocates nothing (a
// steady MoE step must not, however loaded the machine).
Status checkStalledWait(const ExecutionContext& c, const Deadline& deadline, FunctionRef<std::string()> where,
                        const std::vector<int>& watched, FunctionRef<std::string()> waitingFor, int suspect);

// Window steps (peer memory), run by the executor before a stage's transfers. `where` names the
// plan for error messages.
Status runWindowStep(const Step& step, ExecutionContext& c, const std::string& where);
// A run of WindowReadSource steps from one peer and operation, read in as few system calls as
// possible.
Status readPublishedSources(const Step* reads, size_t count, ExecutionContext& c, const std::string& where);

}  // namespace strata
