// Alpha-beta costs of the links a collective uses: time(bytes) = alpha + bytes / beta, per link
// class, plus the rate of local reduction and memory copies, the rack uplinks' oversubscription
// and the penalty of running more ranks than cores. Plain values passed by whoever predicts (the
// tuner, strata-topo, a simulator): nothing here is global.
//
// Defaults were measured on the 2-core development VM (README, "Measured"): shm FIFO and peer
// windows between processes, tcp over loopback for the network. STRATA_COST_FILE overrides any
// of them with lines "key = value" (# comments), keys as in CostModel::keys().
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "src/common/status.h"

namespace strata {

struct LinkCost {
  double alphaUs = 1.0;   // per message
  double betaGBps = 1.0;  // bytes per nanosecond
  double seconds(double bytes) const { return alphaUs * 1e-6 + bytes / (betaGBps * 1e9); }
};

struct CostModel {
  LinkCost shm{0.25, 10.6};      // message through a shared-memory FIFO (copy in + copy out)
  double shmCacheKiB = 1024;     // a FIFO message beyond this no longer stays in cache: its rest moves at half speed
  double windowSyncUs = 0.10;    // one flag handshake on the peer-memory windows
  double copyGBps = 25.0;        // memcpy of cache-sized chunks
  double reduceGBps = 20.0;      // reduction kernel (two reads, one write)
  LinkCost net{4.5, 5.0};        // host to host inside a rack (per rank's share of the NIC)
  LinkCost interRack{6.0, 5.0};  // host to host across racks, before uplink sharing
  double uplinkOversubscription = 1.0;  // a rack uplink carries (hosts in rack x net beta) / this
  LinkCost interPod{6.0, 5.0};   // host to host across pods (racks under different spine groups)
  double spineOversubscription = 1.0;  // a pod's spine uplink carries (racks in pod x rack uplink) / this
  double contentionUs = 3.0;     // extra wait per synchronisation per rank beyond the cores

  // Every key a cost file may set, with its current value.
  std::vector<std::pair<std::string, double>> keys() const;
  // A fingerprint of every value (ranks compare theirs at init: the tuner must agree everywhere).
  uint64_t digest() const;

  // Parses "key = value" lines over the defaults. Errors name the source, line and key.
  static Result<CostModel> parse(const std::string& text, const std::string& source);
  static Result<CostModel> load(const std::string& path);
};

}  // namespace strata
