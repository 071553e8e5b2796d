#include "src/algorithms/message_work.h"

namespace strata {

double messageWork(const AlgorithmEntry& algorithm, const CollectiveShape& shape, const CostContext& cost) {
  return algorithm.work(shape, cost);
}

double ringHopAlpha(const CostContext& cost, const PlanTopology& ring, int position, int steps) {
  return cost.linkAlphaSeconds(ring.rankAt(position), ring.rankAt(static_cast<long long>(position) + steps));
}

double ringAlphaSum(const CostContext& cost, const PlanTopology& ring, int steps) {
  if (cost.tally != nullptr) cost.tally->messageTerms += static_cast<uint64_t>(ring.nranks);
  double sum = 0;
  for (int p = 0; p < ring.nranks; ++p) sum += ringHopAlpha(cost, ring, p, steps);
  return sum;
}

// Position p sends every non-empty chunk but ((p + 1) mod n) in the reduce-scatter and every one
// but ((p + 2) mod n) in the allgather, all to position p + 1. Chunk i is non-empty exactly when
// i < nonEmptyParts (partOf gives the remainder to the first chunks).
double ringReduceScatterAllGatherWork(const CostContext& cost, const PlanTopology& ring, size_t elements) {
  const int n = ring.nranks;
  if (n < 2 || elements == 0) return 0;
  const auto filled = static_cast<int>(nonEmptyParts(elements, static_cast<size_t>(n)));
  if (filled == n) return 2.0 * (n - 1) * ringAlphaSum(cost, ring);
  if (cost.tally != nullptr) cost.tally->messageTerms += static_cast<uint64_t>(n);
  double work = 0;
  for (int p = 0; p < n; ++p) {
    const int skipped = ((p + 1) % n < filled ? 1 : 0) + ((p + 2) % n < filled ? 1 : 0);
    work += (2 * filled - skipped) * ringHopAlpha(cost, ring, p);
  }
  return work;
}

}  // namespace strata
