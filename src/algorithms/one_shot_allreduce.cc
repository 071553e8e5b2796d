// One-shot allreduce over peer memory: every rank copies its input into its shared window, waits
// until all windows are ready, and reduces all of them directly into its output (in rank order,
// so every rank gets bit-identical results). Cost: 2 synchronisations (~2·alpha_shm) and n·S
// bytes read per rank, no ring hops. Needs every rank on one host (the shm windows) and
// S <= STRATA_ONESHOT_BYTES; the tuner picks it for messages that small.
#include "src/algorithms/algorithms.h"
#include "src/algorithms/message_work.h"

namespace strata {

Plan planOneShotAllReduce(const CollectiveShape& shape, const PlanTopology& /*topo*/) {
  Plan plan;
  plan.algorithm = "one-shot allreduce";
  if (shape.bytes() == 0) return plan;
  Stage& stage = plan.newStage();
  Plan::windowPublish(stage, 0, {kSendBuffer, 0}, shape.bytes());
  Plan::windowReduce(stage, 0, {kRecvBuffer, 0}, 0, shape.bytes());
  Plan::windowRelease(stage, 0);
  return plan;
}

double costOneShotAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  const double bytes = static_cast<double>(shape.bytes());
  return 2 * cost.windowSyncSeconds() + cost.copySeconds(bytes) + (cost.nranks() - 1) * cost.reduceSeconds(bytes);
}

// Work: one window publish per rank.
double workOneShotAllReduce(const CollectiveShape& shape, const CostContext& cost) {
  if (shape.bytes() == 0) return 0;
  return cost.nranks() * cost.model->windowSyncUs * 1e-6;
}

}  // namespace strata
