// Slurm topology.conf (the tree plugin's file): where each host sits in the switch tree.
//   # comments, blank lines, "\" at the end of a line continues it
//   SwitchName=leaf1 Nodes=node[01-16,20] LinkSpeed=100
//   SwitchName=spine Switches=leaf[1-2]
// Keys are case-insensitive; values of Nodes= and Switches= are hostlists. The result names, for
// every host the file lists, its switches from the top of the tree down to its leaf (rack) switch.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "src/common/status.h"

namespace strata {

struct SwitchTree {
  // host -> switch names, top (spine) first, leaf (rack) switch last.
  std::map<std::string, std::vector<std::string>> pathOfHost;
  // Per switch, its LinkSpeed= value when given (units as the file says; informational).
  std::map<std::string, std::string> linkSpeed;
};

// `source` names the file in messages ("topology.conf", a path). Errors are strataInvalidArgument
// naming the source, the line and what is wrong: unknown keys, a line without SwitchName, a switch
// defined twice, a switch listing an undefined switch, a cycle, a host under two leaf switches,
// a malformed hostlist.
Result<SwitchTree> parseSwitchTree(const std::string& text, const std::string& source);

// Reads and parses a file; a missing or unreadable file is an error naming it.
Result<SwitchTree> loadSwitchTree(const std::string& path);

}  // namespace strata
