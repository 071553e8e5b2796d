#include "src/moe/row_exchange.h"

namespace strata::moe {

Plan planRowExchange(const Communicator& comm, const std::vector<size_t>& sendRows,
                     const std::vector<size_t>& recvRows, size_t rowBytes) {
  // Every block in one stage. MoE exchanges are often sparse (hop 1 talks to one forwarder per
  // remote host): a pairwise schedule would move the two directions of a pair in different
  // steps, one after the other, and leave the network idle in steps inside the host. Posted
  // together, every link carries both directions at once and shared memory overlaps the network.
  // Blocks travel even when empty, so every pair checks the sizes it agreed on.
  const int n = comm.nranks(), rank = comm.rank();
  std::vector<size_t> sendAt(static_cast<size_t>(n), 0), recvAt(static_cast<size_t>(n), 0);
  for (size_t r = 1; r < static_cast<size_t>(n); ++r) {
    sendAt[r] = sendAt[r - 1] + sendRows[r - 1] * rowBytes;
    recvAt[r] = recvAt[r - 1] + recvRows[r - 1] * rowBytes;
  }
  Plan plan;
  plan.algorithm = "row exchange";
  Stage& stage = plan.newStage();
  const auto self = static_cast<size_t>(rank);
  Plan::copy(stage, {kRecvBuffer, recvAt[self]}, {kSendBuffer, sendAt[self]}, recvRows[self] * rowBytes);
  for (int s = 1; s < n; ++s) {
    const auto to = static_cast<size_t>((rank + s) % n), from = static_cast<size_t>((rank - s + n) % n);
    Plan::sendBlock(stage, static_cast<int>(to), {kSendBuffer, sendAt[to]}, sendRows[to] * rowBytes);
    Plan::recvBlock(stage, static_cast<int>(from), {kRecvBuffer, recvAt[from]}, recvRows[from] * rowBytes);
  }
  return plan;
}

Status exchangeCounts(const MoeRun& run, const std::vector<size_t>& sendCounts, std::vector<size_t>* recvCounts) {
  // One 8-byte count to and from every rank: a row exchange of its own, tagged with the operation.
  std::vector<uint64_t> send(sendCounts.begin(), sendCounts.end()), recv(sendCounts.size());
  const std::vector<size_t> one(sendCounts.size(), 1);
  Status st = exchangeRows(run, nullptr, Exchange::Counts, one, send.data(), one, recv.data(), sizeof(uint64_t));
  if (!st.isOk()) return st;
  recvCounts->assign(recv.begin(), recv.end());
  return Status::ok();
}

Status runExchange(const MoeRun& run, const Plan& plan, Exchange which, size_t rowBytes, uint32_t routes, const void* send,
                   void* recv) {
  CallTag tag;
  tag.kind = static_cast<uint8_t>(run.kind);
  tag.dtype = strataUint8;
  tag.root = static_cast<int32_t>(which);  // ranks in different exchanges of one operation disagree
  tag.count = moeTagCount(rowBytes, routes);
  Status st = run.comm.runPlan(plan, send, recv, tag);
  return st.withContext(which == Exchange::Counts ? "exchanging row counts: " : "exchanging token rows: ");
}

Status exchangeRows(const MoeRun& run, ExchangePlans* plans, Exchange which, const std::vector<size_t>& sendRows,
                    const void* send, const std::vector<size_t>& recvRows, void* recv, size_t rowBytes) {
  if (plans == nullptr) return runExchange(run, planRowExchange(run.comm, sendRows, recvRows, rowBytes), which, rowBytes, 0, send, recv);
  const Plan& plan = plans->get(which, rowBytes, SendLayout::Packed, 0,
                                [&] { return planRowExchange(run.comm, sendRows, recvRows, rowBytes); });
  return runExchange(run, plan, which, rowBytes, 0, send, recv);
}

Status finishOperation(const MoeRun& run) {
  CallTag tag;
  tag.kind = static_cast<uint8_t>(run.kind);
  tag.root = static_cast<int32_t>(Exchange::Agreement);
  return run.comm.runAgreement(tag);
}

}  // namespace strata::moe
