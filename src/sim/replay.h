// Exact replay: every rank's plan, every message a flow over the links of its path, rates shared
// max-min fairly and recomputed whenever a flow starts or ends. Stages run as the executor runs
// them: a rank's stage starts when its previous stage has finished, its copies come first, its
// sends then leave (each after its link's alpha) and its receives finish when their message has
// arrived and, for a receive-and-reduce, the rank's core has reduced it (one core per rank, so
// reductions of one rank queue). Sends are eager: a message flows as soon as its sender is ready,
// whether or not its receiver has reached the stage that takes it (the transports buffer).
#pragma once

#include <vector>

#include "src/algorithms/plan.h"
#include "src/common/status.h"
#include "src/sim/network.h"
#include "src/sim/outcome.h"

namespace strata::sim {

// plans[r] is rank r's plan. Errors: a plan that uses peer memory (window steps: the simulator
// models the network only), sends and receives that do not pair up, plans that deadlock.
Result<Outcome> replayExactly(const Network& network, const std::vector<Plan>& plans);

}  // namespace strata::sim
