#include "src/algorithms/message_work.h"

namespace strata {

double messageWork(const AlgorithmEntry& algorithm, const CollectiveShape& shape, const CostContext& cost) {
  PlanTopology topology = *cost.topology;
  topology.hierarchy = cost.hierarchy;  // what the communicator's own plans see
  double seconds = 0;
  for (int rank = 0; rank < cost.nranks(); ++rank) {
    topology.rank = rank;
    const Plan plan = algorithm.generate(shape, topology);
    for (const Stage& stage : plan.stages) {
      for (const Step& step : stage.steps) {
        if (step.kind == StepKind::Send) seconds += cost.linkAlphaSeconds(rank, step.peer);
        if (step.kind == StepKind::WindowPublish || step.kind == StepKind::WindowShare) {
          seconds += cost.model->windowSyncUs * 1e-6;
        }
      }
    }
  }
  return seconds;
}

}  // namespace strata
