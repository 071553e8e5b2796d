#include "src/algorithms/plan.h"

#include <algorithm>

namespace strata {

void Plan::compact() {
  stages.erase(std::remove_if(stages.begin(), stages.end(),
                              [](const Stage& s) { return s.steps.empty(); }),
               stages.end());
}

}  // namespace strata
