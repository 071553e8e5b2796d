// The network a simulated collective runs on: a fat tree of ranks -> hosts -> racks (leaf
// switches) -> pods (spine groups) -> core, with one link per direction at every level:
//   each rank's port inside its host (shared memory or NVLink), each host's NIC, each rack's
//   uplink to its spine, each pod's uplink to the core.
// A message between two ranks climbs to the lowest level that holds both and comes back down,
// using one link of each level on the way. Capacities follow the cost model: a rack uplink
// carries hostsInRack x NIC / leaf oversubscription, a pod uplink racksInPod x rack uplink /
// spine oversubscription. Built from the same Hierarchy the tuner and the plans use.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "topology/cost_model.h"
#include "topology/hierarchy.h"

namespace strata::sim {

// Link classes, one per level and direction.
enum class LinkClass : uint8_t { LocalOut, LocalIn, NicOut, NicIn, LeafUp, LeafDown, SpineUp, SpineDown };
constexpr int kLinkClasses = 8;
const char* linkClassName(LinkClass c);

// How far apart two ranks are: the lowest level that holds both.
enum class Reach : uint8_t { SameHost, SameRack, SamePod, AcrossPods };
constexpr int kReaches = 4;
const char* reachName(Reach r);

// Rates in bytes per second, latencies in seconds. From a cost model: shm_beta_gbps is the rank
// port, net_beta_gbps the NIC, the oversubscriptions and alphas as named there.
struct NetworkRates {
  double rankPortBytesPerSecond = 0;
  double nicBytesPerSecond = 0;
  double leafOversubscription = 1;
  double spineOversubscription = 1;
  std::array<double, kReaches> alphaSeconds{};  // per Reach
  double reduceBytesPerSecond = 0;
  double copyBytesPerSecond = 0;
  // A send is done (its stage may go on) once all but this many of its bytes have left: the
  // socket's send buffer or the shared-memory FIFO holds the rest. Its receiver waits for all.
  // Linux's largest automatic tcp send buffer (net.ipv4.tcp_wmem) is 4 MiB.
  double sendBufferBytes = 4 << 20;
  // Token-bucket links (token_buckets.h), to compare with the emulated cluster: each NIC and
  // uplink may run at the peak for this many seconds of its own rate's bytes. 0: plain links.
  double burstSeconds = 0;
  double burstPeakBytesPerSecond = 0;

  static NetworkRates fromCostModel(const CostModel& model);
};

// The links a message uses, in order (at most one per class).
struct Path {
  std::array<int, kLinkClasses> links{};
  int count = 0;
};

class Network {
 public:
  Network(const Hierarchy& hierarchy, const NetworkRates& rates);

  const Hierarchy& hierarchy() const { return *hierarchy_; }
  const NetworkRates& rates() const { return rates_; }
  int linkCount() const { return static_cast<int>(capacity_.size()); }
  double capacity(int link) const { return capacity_[static_cast<size_t>(link)]; }
  const std::vector<double>& capacities() const { return capacity_; }
  LinkClass classOf(int link) const { return class_[static_cast<size_t>(link)]; }
  // "NIC of host node07 (out)", "uplink of rack leaf3 (up)".
  std::string describe(int link) const;
  // How many links a class has, and their mean capacity.
  int linksOf(LinkClass c) const { return linksOfClass_[static_cast<size_t>(c)]; }
  double meanCapacity(LinkClass c) const;

  Reach reach(int from, int to) const;
  Path path(int from, int to) const;
  double alphaSeconds(int from, int to) const { return rates_.alphaSeconds[static_cast<size_t>(reach(from, to))]; }
  // The classes a message of this reach crosses.
  static const std::vector<LinkClass>& classesOf(Reach r);

 private:
  int firstOf(LinkClass c) const { return firstOfClass_[static_cast<size_t>(c)]; }
  void addLinks(LinkClass c, int count, double capacityEach, const std::vector<double>* capacities = nullptr);

  const Hierarchy* hierarchy_;
  NetworkRates rates_;
  std::vector<double> capacity_;
  std::vector<LinkClass> class_;
  std::array<int, kLinkClasses> firstOfClass_{};
  std::array<int, kLinkClasses> linksOfClass_{};
};

}  // namespace strata::sim
