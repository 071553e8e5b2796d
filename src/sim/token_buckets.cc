#include "src/sim/token_buckets.h"

#include <algorithm>
#include <limits>

namespace strata::sim {
namespace {

constexpr double kRefillToFlip = 0.1;  // of the burst, before an emptied bucket runs at the peak again

bool shaped(LinkClass c) { return c != LinkClass::LocalOut && c != LinkClass::LocalIn; }

}  // namespace

TokenBuckets::TokenBuckets(const Network& network) : net_(network), capacity_(network.capacities()) {
  const NetworkRates& rates = network.rates();
  if (rates.burstSeconds <= 0 || rates.burstPeakBytesPerSecond <= 0) return;
  peak_ = rates.burstPeakBytesPerSecond;
  const int links = network.linkCount();
  tokens_.assign(static_cast<size_t>(links), 0);
  burst_.assign(static_cast<size_t>(links), 0);
  full_.assign(static_cast<size_t>(links), 0);
  for (int l = 0; l < links; ++l) {
    if (!shaped(network.classOf(l)) || network.capacity(l) >= peak_) continue;
    // Drained: the call follows others back to back, as the perf tools time it (warm-up first).
    burst_[static_cast<size_t>(l)] = network.capacity(l) * rates.burstSeconds;
  }
}

double TokenBuckets::secondsUntilFlip(const std::vector<double>& throughput) const {
  double soonest = std::numeric_limits<double>::infinity();
  for (size_t l = 0; l < tokens_.size(); ++l) {
    if (burst_[l] <= 0) continue;
    const double rate = net_.capacity(static_cast<int>(l)), net = rate - throughput[l];
    if (full_[l] && net < 0) soonest = std::min(soonest, tokens_[l] / -net);
    if (!full_[l] && net > 0) soonest = std::min(soonest, std::max(0.0, kRefillToFlip * burst_[l] - tokens_[l]) / net);
  }
  return soonest;
}

bool TokenBuckets::advance(double seconds, const std::vector<double>& throughput) {
  bool flipped = false;
  for (size_t l = 0; l < tokens_.size(); ++l) {
    if (burst_[l] <= 0) continue;
    const double rate = net_.capacity(static_cast<int>(l));
    tokens_[l] = std::clamp(tokens_[l] + (rate - throughput[l]) * seconds, 0.0, burst_[l]);
    const bool full = full_[l] ? tokens_[l] > 1e-9 * burst_[l] : tokens_[l] >= kRefillToFlip * burst_[l] * (1 - 1e-9);
    if (full != static_cast<bool>(full_[l])) {
      full_[l] = full;
      capacity_[l] = full ? peak_ : rate;
      flipped = true;
    }
  }
  return flipped;
}

}  // namespace strata::sim
