#include "cluster_file.h"

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "common/hostlist.h"

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

// Logical lines (continuations joined, comments removed), each with the number of its first line.
std::vector<std::pair<int, std::string>> logicalLines(const std::string& text) {
  std::vector<std::pair<int, std::string>> lines;
  std::istringstream in(text);
  std::string raw, pending;
  int number = 0, startedAt = 0;
  while (std::getline(in, raw)) {
    ++number;
    if (!raw.empty() && raw.back() == '\r') raw.pop_back();
    size_t hash = raw.find('#');
    if (hash != std::string::npos) raw.erase(hash);
    if (pending.empty()) startedAt = number;
    bool continues = !raw.empty() && raw.back() == '\\';
    if (continues) raw.pop_back();
    pending += raw + " ";
    if (continues) continue;
    lines.emplace_back(startedAt, pending);
    pending.clear();
  }
  if (!pending.empty()) lines.emplace_back(startedAt, pending);
  return lines;
}

Status lineError(const std::string& source, int line, const std::string& what) {
  return invalidArgument(source + ":" + std::to_string(line) + ": " + what);
}

Result<SwitchLine> parseLine(const std::string& source, int number, const std::string& line, SwitchTree& tree) {
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
      auto names = expandHostlist(value);
      if (!names.ok()) return lineError(source, number, names.status().message());
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
  size_t names = 0;  // hosts and switches listed so far: bounded, so no file can exhaust memory
  for (const auto& [number, line] : logicalLines(text)) {
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    auto parsed = parseLine(source, number, line, tree);
    if (!parsed.ok()) return parsed.status();
    names += parsed.value().nodes.size() + parsed.value().switches.size();
    if (names > kMaxHostlistNames) {
      return lineError(source, number, "the file lists more than " + std::to_string(kMaxHostlistNames) + " hosts and switches");
    }
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
  std::ifstream in(path);
  if (!in) return invalidArgument("cannot read topology file '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return invalidArgument("cannot read topology file '" + path + "'");
  return parseSwitchTree(text.str(), path);
}

}  // namespace strata
