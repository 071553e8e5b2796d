// The standard way recursive algorithms handle a rank count that is not a power of two: with
// p = the largest power of two <= n and rem = n - p, the first 2·rem positions pair up (the even
// one folds into the odd one and waits for the result), leaving p virtual ranks.
#pragma once

#include <utility>
#include <vector>

#include "src/algorithms/collective.h"

namespace strata {

struct PowerOfTwoFold {
  int pow2 = 1;
  int rem = 0;
  explicit PowerOfTwoFold(int n) {
    while (pow2 * 2 <= n) pow2 *= 2;
    rem = n - pow2;
  }
  int virtualOf(int position) const { return position < 2 * rem ? position / 2 : position - rem; }
  int positionOf(int v) const { return v < rem ? 2 * v + 1 : v + rem; }
  bool foldsAway(int position) const { return position < 2 * rem && position % 2 == 0; }
  // Positions whose data virtual rank v holds after the fold.
  std::vector<int> heldBy(int v) const {
    if (v < rem) return {2 * v, 2 * v + 1};
    return {v + rem};
  }
  // For costs: the fold's pairs (even -> odd position), and the exchange pairs at `distance`
  // between virtual ranks, as ranks of `ring`.
  std::vector<std::pair<int, int>> foldPairs(const PlanTopology& ring) const {
    std::vector<std::pair<int, int>> pairs;
    for (int i = 0; i < rem; ++i) pairs.emplace_back(ring.rankAt(2 * i), ring.rankAt(2 * i + 1));
    return pairs;
  }
  std::vector<std::pair<int, int>> exchangePairs(const PlanTopology& ring, int distance) const {
    std::vector<std::pair<int, int>> pairs;
    for (int v = 0; v < pow2; ++v) pairs.emplace_back(ring.rankAt(positionOf(v)), ring.rankAt(positionOf(v ^ distance)));
    return pairs;
  }
};

}  // namespace strata
