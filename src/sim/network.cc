#include "src/sim/network.h"

#include <numeric>

namespace strata::sim {

const char* linkClassName(LinkClass c) {
  switch (c) {
    case LinkClass::LocalOut: return "rank ports (out)";
    case LinkClass::LocalIn: return "rank ports (in)";
    case LinkClass::NicOut: return "NICs (out)";
    case LinkClass::NicIn: return "NICs (in)";
    case LinkClass::LeafUp: return "rack uplinks (up)";
    case LinkClass::LeafDown: return "rack uplinks (down)";
    case LinkClass::SpineUp: return "pod uplinks (up)";
    case LinkClass::SpineDown: return "pod uplinks (down)";
  }
  return "?";
}

const char* reachName(Reach r) {
  switch (r) {
    case Reach::SameHost: return "host";
    case Reach::SameRack: return "rack";
    case Reach::SamePod: return "pod";
    case Reach::AcrossPods: return "core";
  }
  return "?";
}

NetworkRates NetworkRates::fromCostModel(const CostModel& m) {
  NetworkRates r;
  r.rankPortBytesPerSecond = m.shm.betaGBps * 1e9;
  r.nicBytesPerSecond = m.net.betaGBps * 1e9;
  r.leafOversubscription = m.uplinkOversubscription;
  r.spineOversubscription = m.spineOversubscription;
  r.alphaSeconds = {m.shm.alphaUs * 1e-6, m.net.alphaUs * 1e-6, m.interRack.alphaUs * 1e-6, m.interPod.alphaUs * 1e-6};
  r.reduceBytesPerSecond = m.reduceGBps * 1e9;
  r.copyBytesPerSecond = m.copyGBps * 1e9;
  return r;
}

void Network::addLinks(LinkClass c, int count, double capacityEach, const std::vector<double>* capacities) {
  firstOfClass_[static_cast<size_t>(c)] = linkCount();
  linksOfClass_[static_cast<size_t>(c)] = count;
  for (int i = 0; i < count; ++i) {
    capacity_.push_back(capacities != nullptr ? (*capacities)[static_cast<size_t>(i)] : capacityEach);
    class_.push_back(c);
  }
}

Network::Network(const Hierarchy& hierarchy, const NetworkRates& rates) : hierarchy_(&hierarchy), rates_(rates) {
  const Hierarchy& h = hierarchy;
  const int racks = static_cast<int>(h.racks().size());
  std::vector<double> rackUplink(static_cast<size_t>(racks)), podUplink(static_cast<size_t>(h.podCount()), 0.0);
  for (int k = 0; k < racks; ++k) {
    const double hosts = static_cast<double>(h.racks()[static_cast<size_t>(k)].hosts.size());
    rackUplink[static_cast<size_t>(k)] = hosts * rates.nicBytesPerSecond / rates.leafOversubscription;
    podUplink[static_cast<size_t>(h.podOfRack(k))] += rackUplink[static_cast<size_t>(k)] / rates.spineOversubscription;
  }
  for (LinkClass c : {LinkClass::LocalOut, LinkClass::LocalIn}) addLinks(c, h.nranks(), rates.rankPortBytesPerSecond);
  for (LinkClass c : {LinkClass::NicOut, LinkClass::NicIn}) {
    addLinks(c, static_cast<int>(h.hosts().size()), rates.nicBytesPerSecond);
  }
  for (LinkClass c : {LinkClass::LeafUp, LinkClass::LeafDown}) addLinks(c, racks, 0, &rackUplink);
  for (LinkClass c : {LinkClass::SpineUp, LinkClass::SpineDown}) addLinks(c, h.podCount(), 0, &podUplink);
}

double Network::meanCapacity(LinkClass c) const {
  const int count = linksOf(c);
  if (count == 0) return 0;
  const auto first = capacity_.begin() + firstOf(c);
  return std::accumulate(first, first + count, 0.0) / count;
}

Reach Network::reach(int from, int to) const {
  const Hierarchy& h = *hierarchy_;
  if (h.hostOf(from) == h.hostOf(to)) return Reach::SameHost;
  if (h.rackOf(from) == h.rackOf(to)) return Reach::SameRack;
  return h.podOf(from) == h.podOf(to) ? Reach::SamePod : Reach::AcrossPods;
}

const std::vector<LinkClass>& Network::classesOf(Reach r) {
  // Tables, not a vector per call: the aggregated replay asks for every group of every stage.
  static const std::vector<LinkClass> byReach[kReaches] = {
      {LinkClass::LocalOut, LinkClass::LocalIn},
      {LinkClass::NicOut, LinkClass::NicIn},
      {LinkClass::NicOut, LinkClass::LeafUp, LinkClass::LeafDown, LinkClass::NicIn},
      {LinkClass::NicOut, LinkClass::LeafUp, LinkClass::SpineUp, LinkClass::SpineDown, LinkClass::LeafDown, LinkClass::NicIn},
  };
  return byReach[static_cast<size_t>(r)];
}

Path Network::path(int from, int to) const {
  const Hierarchy& h = *hierarchy_;
  Path p;
  auto add = [&](LinkClass c, int index) { p.links[static_cast<size_t>(p.count++)] = firstOf(c) + index; };
  const Reach r = reach(from, to);
  if (r == Reach::SameHost) {
    add(LinkClass::LocalOut, from);
    add(LinkClass::LocalIn, to);
    return p;
  }
  add(LinkClass::NicOut, h.hostOf(from));
  if (r != Reach::SameRack) add(LinkClass::LeafUp, h.rackOf(from));
  if (r == Reach::AcrossPods) {
    add(LinkClass::SpineUp, h.podOf(from));
    add(LinkClass::SpineDown, h.podOf(to));
  }
  if (r != Reach::SameRack) add(LinkClass::LeafDown, h.rackOf(to));
  add(LinkClass::NicIn, h.hostOf(to));
  return p;
}

std::string Network::describe(int link) const {
  const Hierarchy& h = *hierarchy_;
  const LinkClass c = classOf(link);
  const int index = link - firstOf(c);
  switch (c) {
    case LinkClass::LocalOut: case LinkClass::LocalIn:
      return "port of rank " + std::to_string(index) + (c == LinkClass::LocalOut ? " (out)" : " (in)");
    case LinkClass::NicOut: case LinkClass::NicIn:
      return "NIC of host " + h.hosts()[static_cast<size_t>(index)].hostname + (c == LinkClass::NicOut ? " (out)" : " (in)");
    case LinkClass::LeafUp: case LinkClass::LeafDown: {
      const std::string& name = h.racks()[static_cast<size_t>(index)].name;
      return "uplink of rack " + (name.empty() ? std::to_string(index) : name) + (c == LinkClass::LeafUp ? " (up)" : " (down)");
    }
    case LinkClass::SpineUp: case LinkClass::SpineDown:
      return "uplink of pod " + std::to_string(index) + (c == LinkClass::SpineUp ? " (up)" : " (down)");
  }
  return "?";
}

}  // namespace strata::sim
