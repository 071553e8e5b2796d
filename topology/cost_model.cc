#include "cost_model.h"

#include "src/common/text_file.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace strata {
namespace {

// Binds key names to fields, so keys() and parse() cannot drift apart.
template <typename Model, typename Visit>
void forEachKey(Model& m, const Visit& visit) {
  visit("shm_alpha_us", m.shm.alphaUs);
  visit("shm_beta_gbps", m.shm.betaGBps);
  visit("shm_cache_kib", m.shmCacheKiB);
  visit("window_sync_us", m.windowSyncUs);
  visit("copy_gbps", m.copyGBps);
  visit("reduce_gbps", m.reduceGBps);
  visit("net_alpha_us", m.net.alphaUs);
  visit("net_beta_gbps", m.net.betaGBps);
  visit("interrack_alpha_us", m.interRack.alphaUs);
  visit("interrack_beta_gbps", m.interRack.betaGBps);
  visit("uplink_oversubscription", m.uplinkOversubscription);
  visit("interpod_alpha_us", m.interPod.alphaUs);
  visit("interpod_beta_gbps", m.interPod.betaGBps);
  visit("spine_oversubscription", m.spineOversubscription);
  visit("contention_us", m.contentionUs);
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

}  // namespace

std::vector<std::pair<std::string, double>> CostModel::keys() const {
  std::vector<std::pair<std::string, double>> out;
  CostModel copy = *this;
  forEachKey(copy, [&](const char* name, double& value) { out.emplace_back(name, value); });
  return out;
}

Result<CostModel> CostModel::parse(const std::string& text, const std::string& source) {
  CostModel model;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string content = trim(line.substr(0, line.find('#')));
    if (content.empty()) continue;
    auto where = source + ":" + std::to_string(number) + ": ";
    size_t eq = content.find('=');
    if (eq == std::string::npos) return invalidArgument(where + "expected 'key = value', got '" + content + "'");
    std::string key = trim(content.substr(0, eq)), valueText = trim(content.substr(eq + 1));
    char* end = nullptr;
    double value = std::strtod(valueText.c_str(), &end);
    if (valueText.empty() || *end != '\0' || !(value > 0) || value > 1e9) {
      return invalidArgument(where + "value of '" + key + "' must be a positive number, got '" + valueText + "'");
    }
    bool known = false;
    forEachKey(model, [&](const char* name, double& field) {
      if (key == name) {
        field = value;
        known = true;
      }
    });
    if (!known) {
      std::string names;
      for (const auto& [name, v] : model.keys()) names += (names.empty() ? "" : ", ") + name;
      return invalidArgument(where + "unknown key '" + key + "'; the keys are: " + names);
    }
  }
  return model;
}

Result<CostModel> CostModel::load(const std::string& path) {
  auto text = readTextFile(path, "cost file");
  if (!text.ok()) return text.status();
  return parse(text.value(), path);
}

uint64_t CostModel::digest() const {
  uint64_t h = 0xcbf29ce484222325ull;
  for (const auto& [key, value] : keys()) {
    for (unsigned char c : key) h = (h ^ c) * 0x100000001b3ull;
    unsigned char bytes[sizeof(double)];
    std::memcpy(bytes, &value, sizeof(value));
    for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  }
  return h;
}

}  // namespace strata
