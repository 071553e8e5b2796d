#include "step_totals.h"

#include <algorithm>
#include <cmath>

namespace trainer {
namespace {

double sumSquares(const std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += static_cast<double>(x) * x;
  return s;
}

}  // namespace

void StepTotals::queue(const Model& model, const Groups& groups, double crossEntropySum, strataStream_t stream) {
  const int experts = model.config().experts;
  values_.assign(1 + static_cast<size_t>(groups.dpSize * experts), 0.0);
  values_[0] = crossEntropySum;
  const std::vector<size_t> local = model.expertLoad();
  for (size_t e = 0; e < local.size(); ++e) {
    values_[1 + static_cast<size_t>(groups.dpRank * experts + model.layout().firstExpert) + e] =
        static_cast<double>(local[e]);
  }
  if (groups.size == 1) return;
  check(strataAllReduce(values_.data(), values_.data(), values_.size(), strataDouble, strataSum, groups.world, stream),
        groups.world, "strataAllReduce (loss and expert load)");
}

double StepTotals::gradientNorm(const Model& model, const Groups& groups, CommClock& clock) const {
  double expertSquares = sumSquares(model.expertGrad());
  if (groups.epSize > 1) {
    CommClock::Scope timed(clock);
    check(strataAllReduce(&expertSquares, &expertSquares, 1, strataDouble, strataSum, groups.ep, nullptr), groups.ep,
          "strataAllReduce (expert gradient norm)");
  }
  return std::sqrt(sumSquares(model.denseGrad()) + expertSquares);
}

double StepTotals::leastLoad() const { return *std::min_element(values_.begin() + 1, values_.end()); }

double StepTotals::mostLoad() const { return *std::max_element(values_.begin() + 1, values_.end()); }

}  // namespace trainer
