#include "placement.h"

#include "cluster_file.h"
#include "src/common/strings.h"

namespace strata {
namespace {

Result<SwitchPlacement> fromFile(const PlacementInputs& in) {
  auto tree = loadSwitchTree(in.topologyFile);
  if (!tree.ok()) return tree.status();
  SwitchPlacement placement;
  placement.source = "STRATA_TOPO_FILE=" + in.topologyFile;
  std::string shortName = in.hostname.substr(0, in.hostname.find('.'));
  for (const std::string& name : {in.hostname, shortName}) {
    auto it = tree.value().pathOfHost.find(name);
    if (it != tree.value().pathOfHost.end()) {
      placement.switches = it->second;
      return placement;
    }
  }
  placement.switches = {"unlisted-" + shortName};
  placement.warning = "host '" + in.hostname + "' is not in " + in.topologyFile + "; it gets a rack of its own";
  return placement;
}

Result<SwitchPlacement> fromSlurmAddress(const PlacementInputs& in) {
  SwitchPlacement placement;
  placement.source = "SLURM_TOPOLOGY_ADDR=" + in.slurmTopologyAddr;
  std::vector<std::string> parts = splitString(in.slurmTopologyAddr, '.');
  std::vector<std::string> kinds = in.slurmTopologyPattern.empty() ? std::vector<std::string>{}
                                                                   : splitString(in.slurmTopologyPattern, '.');
  if (!kinds.empty() && kinds.size() != parts.size()) {
    return invalidArgument("SLURM_TOPOLOGY_ADDR='" + in.slurmTopologyAddr + "' and SLURM_TOPOLOGY_ADDR_PATTERN='" +
                           in.slurmTopologyPattern + "' have different numbers of parts");
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    bool isSwitch = kinds.empty() ? i + 1 < parts.size() : kinds[i] == "switch";
    if (!isSwitch) continue;
    if (parts[i].empty()) return invalidArgument("SLURM_TOPOLOGY_ADDR='" + in.slurmTopologyAddr + "' has an empty part");
    placement.switches.push_back(parts[i]);
  }
  return placement;
}

}  // namespace

Result<SwitchPlacement> placeThisHost(const PlacementInputs& inputs) {
  Result<SwitchPlacement> placement = SwitchPlacement{};
  if (!inputs.topologyFile.empty()) {
    placement = fromFile(inputs);
  } else if (!inputs.slurmTopologyAddr.empty()) {
    placement = fromSlurmAddress(inputs);
  } else if (!inputs.rack.empty()) {
    placement = SwitchPlacement{{inputs.rack}, "STRATA_RACK=" + inputs.rack, ""};
  } else {
    placement = SwitchPlacement{{}, "no rack metadata (flat)", ""};
  }
  if (!placement.ok()) return placement;
  for (const std::string& s : placement.value().switches) {
    if (s.find('/') != std::string::npos) return invalidArgument("switch or rack name '" + s + "' contains '/'");
  }
  return placement;
}

std::string joinSwitchPath(const std::vector<std::string>& switches) {
  std::string joined;
  for (const std::string& s : switches) joined += (joined.empty() ? "" : "/") + s;
  return joined;
}

std::vector<std::string> splitSwitchPath(const std::string& joined) {
  if (joined.empty()) return {};
  return splitString(joined, '/');
}

}  // namespace strata
