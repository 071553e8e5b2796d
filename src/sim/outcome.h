// What a simulation reports: the collective's time, and how busy each class of link was.
#pragma once

#include <array>
#include <string>

#include "src/sim/network.h"

namespace strata::sim {

struct Outcome {
  bool exact = false;  // which replay timed it: exact (every message) or aggregated
  double seconds = 0;
  uint64_t messages = 0;  // messages simulated (a group of identical flows counts once)
  uint64_t guessedStages = 0;  // aggregated: stages timed with a guessed pairing (aggregated.cc)
  std::array<double, kLinkClasses> bytes{};  // carried by each class, all its links together
  // Utilisation of each class over the collective: bytes / (links x capacity x seconds).
  std::array<double, kLinkClasses> utilisation{};
  // The link (exact replay) or class (aggregated) that needed the longest time at full rate.
  std::string bottleneck;
  double bottleneckBusySeconds = 0;
};

// Fills utilisation from bytes and seconds.
void finishUtilisation(const Network& network, Outcome& outcome);

}  // namespace strata::sim
