// What the tuner needs to predict an algorithm's time: the hierarchy (who shares a host or a
// rack), the ring order, the cost model and how many cores each host has. Predictions are
// alpha-beta sums over the plan's steps, where a step's time is that of its slowest transfer and
// transfers that share a NIC or a rack uplink split its bandwidth. Passed by value or reference;
// no globals, so a simulator can evaluate any cluster it describes.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "src/algorithms/collective.h"
#include "topology/cost_model.h"
#include "topology/hierarchy.h"

namespace strata {

// Counts of the tuner's work, for tests that bound it (no loop quadratic in the rank count).
struct TunerTally {
  uint64_t transfers = 0;     // transfers priced by stepSeconds
  uint64_t messageTerms = 0;  // terms summed by the algorithms' message counts
};

struct CostContext {
  const Hierarchy* hierarchy = nullptr;
  const CostModel* model = nullptr;
  const PlanTopology* topology = nullptr;  // ring order (positions)
  int coresPerHost = 0;                    // 0: unknown, no contention assumed
  size_t windowBytes = 0;                  // peer-memory window half (0: none)
  TunerTally* tally = nullptr;             // counts the work done when set (tests)

  int nranks() const { return topology->nranks; }
  // Ranks per core on the busiest host (>= 1).
  double contention() const;
  // Extra seconds every synchronisation costs when ranks outnumber cores.
  double syncPenalty() const;
  // Seconds for one step in which every (from, to) pair moves `bytes` at the same time.
  double stepSeconds(const std::vector<std::pair<int, int>>& transfers, double bytes) const;
  // One ring step: every rank sends `bytes` to its ring successor.
  double ringStepSeconds(double bytes) const;
  // Seconds to reduce `bytes` once (one kernel pass), shared cores included.
  double reduceSeconds(double bytes) const;
  double copySeconds(double bytes) const;
  // One flag handshake on the peer-memory windows.
  double windowSyncSeconds() const;
  // The link class a message from `from` to `to` uses (shared memory, the rack's network, or
  // across racks), before any sharing, and its latency (alpha).
  const LinkCost& linkBetween(int from, int to) const;
  double linkAlphaSeconds(int from, int to) const;
};

// A flat, single-host context for `nranks` ranks: tests and callers without a communicator.
struct StandaloneCostContext {
  Hierarchy hierarchy;
  CostModel model;
  PlanTopology topology;
  CostContext context;
  StandaloneCostContext(Hierarchy h, CostModel m, int coresPerHost, size_t windowBytes);
  StandaloneCostContext(const StandaloneCostContext&) = delete;
};

}  // namespace strata
