#include "cluster_file.h"

#include <cctype>
#include <algorithm>
#include <set>
#include <sstream>

#include "src/common/hostlist.h"
#include "src/common/text_file.h"

namespace strata {
namespace {

struct SwitchLine {
  std::string name;
  std::vector<std::string> nodes;
  std::vector<std::string> switches;
  int line = 0;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// What a whole file may list (hosts and switches, after expanding every hostlist): Slurm's 64 Ki
// hosts per hostlist, four times over, so memory stays bounded whatever the file says.
constexpr HostlistLimits kFileLimits{size_t{1} << 18, size_t{16} << 20};

// Ends a physical line at its first '#' that is not escaped (preceded by an even number of '\').
void stripComment(std::string& line) {
  size_t backslashes = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '#' && backslashes % 2 == 0) {
      line.erase(i);
      return;
    }
    backslashes = line[i] == '\\' ? backslashes + 1 : 0;
  }
}

// An odd number of '\' at the end (white space after them aside) continues the line: the last
// '\' and what follows it go, and the next line is appended as it is (Slurm's parse_config).
bool stripContinuation(std::string& line) {
  size_t end = line.size();
  while (end > 0 && std::isspace(static_cast<unsigned char>(line[end - 1]))) --end;
  size_t backslashes = 0;
  while (backslashes < end && line[end - 1 - backslashes] == '\\') ++backslashes;
  if (backslashes % 2 == 0) return false;
  line.erase(end - 1);
  return true;
}

// "\x" is "x": escapes go once the lines are joined ("\#" is a '#', "\\" a '\').
std::string stripEscapes(const std::string& line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) ++i;
    out += line[i];
  }
  return out;
}

// Logical lines (continuations joined, comments and escapes removed), each with the number of its
// first line.
std::vector<std::pair<int, std::string>> logicalLines(const std::string& text) {
  std::vector<std::pair<int, std::string>> lines;
  std::istringstream in(text);
  std::string raw, pending;
  int number = 0, startedAt = 0;
  bool continuing = false;
  while (std::getline(in, raw)) {
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    if (!continuing) startedAt = number;
    stripComment(raw);
    continuing = stripContinuation(raw);
    pending += raw;
    if (continuing) continue;
    lines.emplace_back(startedAt, stripEscapes(pending));
    pending.clear();
  }
  if (continuing) lines.emplace_back(startedAt, stripEscapes(pending));
  return lines;
}

Status lineError(const std::string& source, int line, const std::string& what) {
  return invalidArgument(source + ":" + std::to_string(line) + ": " + what);
}

Result<SwitchLine> parseLine(const std::string& source, int number, const std::string& line, HostlistLimits& budget,
                             SwitchTree& tree) {
  SwitchLine parsed;
  parsed.line = number;
  std::istringstream words(line);
  std::string word;
  while (words >> word) {
    size_t eq = word.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == word.size()) {
      return lineError(source, number, "'" + word + "' is not KEY=VALUE");
    }
    std::string key = lower(word.substr(0, eq));
    std::string value = word.substr(eq + 1);
    if (key == "switchname") {
      if (!parsed.name.empty()) return lineError(source, number, "SwitchName given twice");
      parsed.name = value;
    } else if (key == "nodes" || key == "switches") {
      // One hostlist: at most what Slurm allows, and at most what the file has left.
      HostlistLimits limits{std::min(budget.names, HostlistLimits{}.names), std::min(budget.bytes, HostlistLimits{}.bytes)};
      auto names = expandHostlist(value, limits);
      if (!names.ok()) {
        return lineError(source, number, names.status().message() + " (a file may list at most " +
                                             std::to_string(kFileLimits.names) + " hosts and switches)");
      }
      budget.names -= names.value().size();
      for (const std::string& n : names.value()) budget.bytes -= n.size();
      auto& target = key == "nodes" ? parsed.nodes : parsed.switches;
      target.insert(target.end(), names.value().begin(), names.value().end());
    } else if (key == "linkspeed") {
      tree.linkSpeed[parsed.name.empty() ? "?" : parsed.name] = value;
    } else {
      return lineError(source, number, "unknown key '" + word.substr(0, eq) + "' (expected SwitchName, Switches, Nodes, LinkSpeed)");
    }
  }
  if (parsed.name.empty()) return lineError(source, number, "no SwitchName=");
  auto unnamed = tree.linkSpeed.find("?");
  if (unnamed != tree.linkSpeed.end()) {
    tree.linkSpeed[parsed.name] = unnamed->second;
    tree.linkSpeed.erase(unnamed);
  }
  return parsed;
}

}  // namespace

Result<SwitchTree> parseSwitchTree(const std::string& text, const std::string& source) {
  SwitchTree tree;
  std::map<std::string, SwitchLine> switches;
  std::vector<std::string> order;
  HostlistLimits budget = kFileLimits;  // what the rest of the file may still list
  for (const auto& [number, line] : logicalLines(text)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto parsed = parseLine(source, number, line, budget, tree);
    if (!parsed.ok()) return parsed.status();
    const std::string name = parsed.value().name;
    if (switches.count(name) != 0) {
      return lineError(source, number, "switch '" + name + "' is already defined on line " + std::to_string(switches[name].line));
    }
    switches[name] = parsed.value();
    order.push_back(name);
  }
  // Parents: each switch below at most one other.
  std::map<std::string, std::string> parentOf;
  for (const std::string& name : order) {
    const SwitchLine& s = switches[name];
    for (const std::string& child : s.switches) {
      if (switches.count(child) == 0) return lineError(source, s.line, "switch '" + name + "' lists undefined switch '" + child + "'");
      if (parentOf.count(child) != 0 && parentOf[child] != name) {
        return lineError(source, s.line, "switch '" + child + "' is below both '" + parentOf[child] + "' and '" + name + "'");
      }
      parentOf[child] = name;
    }
  }
  for (const std::string& name : order) {
    const SwitchLine& s = switches[name];
    // Path to the top; a cycle shows up as a switch seen twice.
    std::vector<std::string> path = {name};
    std::set<std::string> seen = {name};
    for (auto up = parentOf.find(name); up != parentOf.end(); up = parentOf.find(up->second)) {
      if (!seen.insert(up->second).second) return lineError(source, s.line, "switch '" + name + "' is inside a cycle of Switches=");
      path.insert(path.begin(), up->second);
    }
    for (const std::string& host : s.nodes) {
      auto existing = tree.pathOfHost.find(host);
      if (existing != tree.pathOfHost.end()) {
        return lineError(source, s.line, "host '" + host + "' is below both '" + existing->second.back() + "' and '" + name + "'");
      }
      tree.pathOfHost[host] = path;
    }
  }
  return tree;
}

Result<SwitchTree> loadSwitchTree(const std::string& path) {
  auto text = readTextFile(path, "topology file");
  if (!text.ok()) return text.status();
  return parseSwitchTree(text.value(), path);
}

}  // namespace strata
