// Token-bucket links, as `tc tbf` shapes the emulated cluster's (perf/cluster/cluster.sh): a link
// carries up to a peak rate while its bucket holds tokens and its own rate once the bucket is
// empty; the bucket fills at the link's rate up to `burst` bytes. So a message after an idle spell
// passes at memory speed, which a real switch port would not do: modelled only to compare with the
// emulated cluster (strata-sim --link-burst-ms). Network links only (NICs and uplinks), not the
// ranks' ports inside a host. Buckets start empty: the perf tools time a call after others.
#pragma once

#include <vector>

#include "src/sim/network.h"

namespace strata::sim {

class TokenBuckets {
 public:
  explicit TokenBuckets(const Network& network);

  bool enabled() const { return !tokens_.empty(); }
  // Each link's capacity now: the peak while its bucket holds tokens (and, once emptied, until it
  // has refilled a tenth: a link does not flip at every byte).
  const std::vector<double>& capacities() const { return capacity_; }
  // Seconds until a bucket empties or has refilled enough to flip, at these link throughputs.
  double secondsUntilFlip(const std::vector<double>& throughput) const;
  // Moves the buckets `seconds` on; true when a link's capacity flipped.
  bool advance(double seconds, const std::vector<double>& throughput);

 private:
  const Network& net_;
  std::vector<double> tokens_, burst_, capacity_;
  std::vector<char> full_;  // runs at the peak
  double peak_ = 0;
};

}  // namespace strata::sim
