#include "src/sim/outcome.h"

namespace strata::sim {

void finishUtilisation(const Network& network, Outcome& outcome) {
  for (int c = 0; c < kLinkClasses; ++c) {
    const LinkClass k = static_cast<LinkClass>(c);
    const double capacity = network.linksOf(k) * network.meanCapacity(k) * outcome.seconds;
    outcome.utilisation[static_cast<size_t>(c)] = capacity > 0 ? outcome.bytes[static_cast<size_t>(c)] / capacity : 0;
  }
}

}  // namespace strata::sim
