#include "moe/row_exchange.h"

#include "algorithms/algorithms.h"

namespace strata::moe {

Plan planRowExchange(const Communicator& comm, const std::vector<size_t>& sendRows,
                     const std::vector<size_t>& recvRows, size_t rowBytes) {
  CollectiveShape shape;
  shape.kind = CollectiveKind::AllToAllv;
  shape.elementSize = 1;
  size_t sendAt = 0, recvAt = 0;
  for (size_t r = 0; r < sendRows.size(); ++r) {
    shape.sendCounts.push_back(sendRows[r] * rowBytes);
    shape.sendDispls.push_back(sendAt);
    sendAt += sendRows[r] * rowBytes;
    shape.recvCounts.push_back(recvRows[r] * rowBytes);
    shape.recvDispls.push_back(recvAt);
    recvAt += recvRows[r] * rowBytes;
  }
  return planPairwiseAllToAll(shape, comm.planTopology());
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
  const Plan& plan = plans->get(which, rowBytes, SendLayout::Packed,
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
