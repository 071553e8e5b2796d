#include <cstdio>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "report.h"
#include "topology/gpu_ring.h"

namespace strata::topo {
namespace {

std::string sizeText(size_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int u = 0;
  while (bytes >= 1024 && bytes % 1024 == 0 && u < 3) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + " " + units[u];
}

std::string timeText(double seconds) {
  char text[32];
  if (seconds < 1e-3) {
    std::snprintf(text, sizeof(text), "%.2f us", seconds * 1e6);
  } else if (seconds < 1) {
    std::snprintf(text, sizeof(text), "%.2f ms", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof(text), "%.2f s", seconds);
  }
  return text;
}

void deviceLines(std::ostringstream& out, const char* label, const std::vector<HostDevice>& devices) {
  for (const HostDevice& d : devices) {
    out << "  " << label << d.name << "  " << d.busId << "  NUMA " << d.numaNode << "  package " << d.package;
    if (d.pciLinkGBps > 0) out << "  PCIe " << d.pciLinkGBps << " GB/s";
    if (d.speedMbps > 0) out << "  " << d.speedMbps << " Mb/s";
    out << "\n";
  }
}

// "NVLink bandwidth: 120 pairs 150 GB/s through NVSwitch": pairs grouped by bandwidth and path.
void nvlinkBandwidthLines(std::ostringstream& out, const NvLinkMap& nvlinks) {
  std::map<std::pair<double, bool>, int> groups;
  for (const NvLinkPair& p : nvlinks.pairs) ++groups[{p.gbps, p.viaSwitch}];
  for (const auto& [key, count] : groups) {
    out << "  NVLink:       " << count << (count == 1 ? " pair " : " pairs ");
    if (key.first > 0) out << key.first << " GB/s ";
    out << (key.second ? "through NVSwitch" : "direct") << "\n";
  }
}

// DOT strings: quotes escaped; "\\n" in `s` stays a DOT line break.
std::string dotString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\\\"") : std::string(1, c);
  return out + "\"";
}

std::string hostName(const Report& r, int host) { return r.hierarchy.hosts()[static_cast<size_t>(host)].hostname; }

std::string treeText(const Report& r, const Tree& t) {
  std::string text = "root " + hostName(r, t.root);
  for (size_t i = 0; i < t.children.size(); ++i) {
    if (t.children[i].empty()) continue;
    text += "; " + hostName(r, static_cast<int>(i)) + " -> ";
    for (size_t c = 0; c < t.children[i].size(); ++c) text += (c ? ", " : "") + hostName(r, t.children[i][c]);
  }
  return text;
}

}  // namespace

std::string renderText(const Report& r) {
  std::ostringstream out;
  out << "Host (" << r.host.source << "): " << r.host.summary() << "\n";
  deviceLines(out, "", r.host.gpus);
  deviceLines(out, "NIC ", r.host.nics);
  out << "  " << r.nvlinkNote << "\n";
  if (r.host.gpus.size() > 1) {
    out << "  GPU links:    ";
    for (size_t b = 0; b < r.host.gpus.size(); ++b) out << "GPU" << b << (b + 1 < r.host.gpus.size() ? " " : "\n");
    for (size_t a = 0; a < r.host.gpus.size(); ++a) {
      out << "    GPU" << a << (a < 10 ? "  " : " ") << "      ";
      for (size_t b = 0; b < r.host.gpus.size(); ++b) {
        out << linkClassName(classifyLink(r.host, r.host.gpus[a], r.host.gpus[b], r.nvlinks)) << "  ";
      }
      out << "\n";
    }
    out << "    (LOC same, NVL NVLink, PIX same PCIe switch, PXB across switches, PHB host bridge, SYS across sockets)\n";
    nvlinkBandwidthLines(out, r.nvlinks);
    out << "  GPU ring:     ";
    for (int g : gpuRingOrder(r.host, r.nvlinks)) out << "GPU" << g << " ";
    out << (r.nvlinks.empty() ? "(PCIe order)" : "(NVLink hops first)") << "\n";
  }
  std::vector<int> nics = nearestNics(r.host, r.nvlinks);
  for (size_t g = 0; g < nics.size(); ++g) {
    if (nics[g] < 0) continue;
    const HostDevice& nic = r.host.nics[static_cast<size_t>(nics[g])];
    out << "  GPU" << g << " -> NIC " << nic.name << " ("
        << linkClassMeaning(classifyLink(r.host, r.host.gpus[g], nic, r.nvlinks)) << ")\n";
  }
  for (const std::string& w : r.warnings) out << "warning: " << w << "\n";
  out << "\nCluster: " << r.hierarchy.summary() << "\n";
  for (const RackGroup& rack : r.hierarchy.racks()) {
    if (rack.name.empty()) continue;
    out << "  " << rack.name << ":";
    for (int h : rack.hosts) out << " " << hostName(r, h);
    out << "\n";
  }
  out << "Ring (| host, || rack boundary): " << r.hierarchy.describeRing() << "\n";
  out << "Tree 1 over hosts: " << treeText(r, r.trees.first) << "\n";
  out << "Tree 2 over hosts: " << treeText(r, r.trees.second) << "\n";
  out << "\nTuner (cores per host " << r.coresPerHost << "): chosen algorithm, predicted time and bus bandwidth\n";
  char line[160];
  std::snprintf(line, sizeof(line), "  %-14s %10s  %-20s %12s %12s\n", "collective", "size", "algorithm", "time", "busbw GB/s");
  out << line;
  for (const Choice& c : r.choices) {
    std::snprintf(line, sizeof(line), "  %-14s %10s  %-20s %12s %12.2f\n", c.collective.c_str(), sizeText(c.bytes).c_str(),
                  c.algorithm.c_str(), timeText(c.seconds).c_str(), c.busGBps);
    out << line;
  }
  return out.str();
}

std::string renderPredictions(const Report& r) {
  std::ostringstream out;
  for (const Choice& c : r.predictions) {
    out << c.collective << " " << c.bytes << " " << c.algorithm << " " << c.seconds << " " << c.busGBps << "\n";
  }
  return out.str();
}

namespace {

nlohmann::json nvlinkPairs(const NvLinkMap& nvlinks) {
  nlohmann::json pairs = nlohmann::json::array();
  for (const NvLinkPair& p : nvlinks.pairs) {
    pairs.push_back({{"gpus", {p.a, p.b}}, {"gbps", p.gbps}, {"via_switch", p.viaSwitch}});
  }
  return pairs;
}

}  // namespace

std::string renderJson(const Report& r) {
  using nlohmann::json;
  auto devices = [](const std::vector<HostDevice>& list) {
    json out = json::array();
    for (const HostDevice& d : list) {
      out.push_back({{"name", d.name}, {"bus_id", d.busId}, {"numa", d.numaNode}, {"package", d.package}});
    }
    return out;
  };
  json racks = json::array();
  for (const RackGroup& rack : r.hierarchy.racks()) {
    json hosts = json::array();
    for (int host : rack.hosts) hosts.push_back(hostName(r, host));
    racks.push_back({{"name", rack.name}, {"hosts", hosts}});
  }
  json trees = json::array();
  for (const Tree* t : {&r.trees.first, &r.trees.second}) trees.push_back({{"root", t->root}, {"parent", t->parent}});
  json choices = json::array();
  for (const Choice& c : r.choices) {
    choices.push_back({{"collective", c.collective}, {"bytes", c.bytes}, {"algorithm", c.algorithm}, {"seconds", c.seconds},
                       {"busbw_gbps", c.busGBps}});
  }
  json document = {
      {"host",
       {{"source", r.host.source}, {"summary", r.host.summary()}, {"gpus", devices(r.host.gpus)},
        {"nics", devices(r.host.nics)}, {"gpu_nic", nearestNics(r.host, r.nvlinks)}, {"nvlink", r.nvlinkNote},
        {"nvlink_pairs", nvlinkPairs(r.nvlinks)}, {"gpu_ring", gpuRingOrder(r.host, r.nvlinks)}}},
      {"cluster", {{"summary", r.hierarchy.summary()}, {"racks", racks}}},
      {"ring", r.hierarchy.ring()},
      {"trees", trees},
      {"choices", choices},
  };
  // Names come from files and hosts: bytes that are not UTF-8 are replaced, so the output always parses.
  return document.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string renderDot(const Report& r) {
  std::ostringstream out;
  out << "digraph strata {\n  rankdir=TB;\n  compound=true;\n  node [shape=box, fontname=\"Helvetica\"];\n";
  out << "  label=" << dotString("Strata: " + r.hierarchy.summary() + ", ring in blue") << ";\n";
  // Switches above racks, racks as clusters holding their hosts (with their ranks).
  std::vector<std::pair<std::string, std::string>> switchEdges;
  for (size_t k = 0; k < r.hierarchy.racks().size(); ++k) {
    const RackGroup& rack = r.hierarchy.racks()[k];
    out << "  subgraph cluster_" << k << " {\n    label=" << dotString(rack.name.empty() ? "hosts" : rack.name)
        << ";\n    style=rounded;\n";
    for (int h : rack.hosts) {
      std::string ranks;
      for (int rank : r.hierarchy.hosts()[static_cast<size_t>(h)].ranks) ranks += (ranks.empty() ? "" : " ") + std::to_string(rank);
      out << "    host" << h << " [label=" << dotString(hostName(r, h) + "\\nranks " + ranks) << "];\n";
    }
    out << "  }\n";
    for (size_t s = 0; s + 1 < rack.switches.size(); ++s) switchEdges.emplace_back(rack.switches[s], rack.switches[s + 1]);
    if (!rack.switches.empty() && !rack.hosts.empty()) {
      out << "  " << dotString("sw:" + rack.switches.back()) << " -> host" << rack.hosts.front()
          << " [lhead=cluster_" << k << ", arrowhead=none];\n";
    }
  }
  std::set<std::pair<std::string, std::string>> uniqueEdges(switchEdges.begin(), switchEdges.end());
  for (const auto& [up, down] : uniqueEdges) {
    out << "  " << dotString("sw:" + up) << " -> " << dotString("sw:" + down) << " [arrowhead=none];\n";
  }
  std::set<std::string> switches;
  for (const RackGroup& rack : r.hierarchy.racks()) switches.insert(rack.switches.begin(), rack.switches.end());
  for (const std::string& s : switches) out << "  " << dotString("sw:" + s) << " [label=" << dotString(s) << ", shape=ellipse];\n";
  // The ring between hosts.
  const auto& ring = r.hierarchy.ring();
  for (size_t i = 0; i < ring.size() && r.hierarchy.hosts().size() > 1; ++i) {
    int a = r.hierarchy.hostOf(ring[i]), b = r.hierarchy.hostOf(ring[(i + 1) % ring.size()]);
    if (a != b) out << "  host" << a << " -> host" << b << " [color=blue, constraint=false, label=\"ring\"];\n";
  }
  out << "}\n";
  return out.str();
}

}  // namespace strata::topo
