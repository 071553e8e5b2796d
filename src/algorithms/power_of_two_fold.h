// The standard way recursive algorithms handle a rank count that is not a power of two: with
// p = the largest power of two <= n and rem = n - p, the first 2·rem positions pair up (the even
// one folds into the odd one and waits for the result), leaving p virtual ranks.
#pragma once

#include <vector>

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
};

}  // namespace strata
