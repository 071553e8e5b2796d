// What one step reports and clipping needs, from every rank: the loss over the global batch, each
// expert replica's load, and the squared norm of the gradients. The loss and the loads are final
// once backward ends, so they travel on the gradient stream behind the last buckets (no extra
// wait); the expert gradients' norm needs those buckets summed first: each rank then holds E/ep
// experts' final gradients, and one small all-reduce over its EP group (none when ep is 1) counts
// every expert once. The dense gradients are the same on every rank after their all-reduce.
#pragma once

#include <strata/strata.h>

#include <vector>

#include "comm_clock.h"
#include "model.h"
#include "parallel.h"

namespace trainer {

class StepTotals {
 public:
  // After backward, before the gradient stream is synchronised.
  void queue(const Model& model, const Groups& groups, double crossEntropySum, strataStream_t stream);
  // After the stream is synchronised: the global gradient norm.
  double gradientNorm(const Model& model, const Groups& groups, CommClock& clock) const;

  double crossEntropySum() const { return values_[0]; }
  // Tokens per expert replica (a slot per DP group and expert), summed over blocks.
  double leastLoad() const;
  double mostLoad() const;

 private:
  std::vector<double> values_;  // [0]: cross-entropy sum, then the loads
};

}  // namespace trainer
