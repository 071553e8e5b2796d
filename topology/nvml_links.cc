#include "nvml_links.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <set>

namespace strata {
namespace {

// The few NVML declarations used, as the NVML API documents them (no header needed at build time).
using NvmlReturn = int;
using NvmlDevice = struct NvmlDeviceOpaque*;
struct NvmlPciInfo {
  char busIdLegacy[16];
  unsigned int domain;
  unsigned int bus;
  unsigned int device;
  unsigned int pciDeviceId;
  unsigned int pciSubSystemId;
  char busId[32];
};
constexpr NvmlReturn kNvmlSuccess = 0;
constexpr unsigned kMaxNvLinks = 18;  // NVML_NVLINK_MAX_LINKS on Hopper

struct Nvml {
  NvmlReturn (*init)() = nullptr;
  NvmlReturn (*shutdown)() = nullptr;
  NvmlReturn (*handleByBusId)(const char*, NvmlDevice*) = nullptr;
  NvmlReturn (*linkState)(NvmlDevice, unsigned, int*) = nullptr;
  NvmlReturn (*remotePci)(NvmlDevice, unsigned, NvmlPciInfo*) = nullptr;
};

template <typename F>
bool load(void* library, const char* name, F& fn) {
  fn = reinterpret_cast<F>(dlsym(library, name));
  return fn != nullptr;
}

// "00000000:07:00.0" and "0000:07:00.0" name the same device.
std::string normalBusId(const std::string& id) {
  std::string lower;
  for (char c : id) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t colon = lower.find(':');
  if (colon != std::string::npos && colon > 4) lower = lower.substr(colon - 4);
  return lower;
}

}  // namespace

NvLinkDiscovery discoverNvLinks(const HostTopology& host) {
  NvLinkDiscovery result;
  if (host.gpus.size() < 2) {
    result.note = host.gpus.empty() ? "no GPUs: no NVLink to look for" : "one GPU: no NVLink to look for";
    return result;
  }
  if (!host.nvlinks.empty()) {  // hwloc read them (its NVML backend, or the XML export's distances)
    result.map = host.nvlinks;
    result.note = host.nvlinkNote;
    return result;
  }
  void* library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    result.note = "NVML (libnvidia-ml.so.1) not available: GPU links are PCIe only";
    return result;
  }
  Nvml nvml;
  bool complete = load(library, "nvmlInit_v2", nvml.init) && load(library, "nvmlShutdown", nvml.shutdown) &&
                  load(library, "nvmlDeviceGetHandleByPciBusId_v2", nvml.handleByBusId) &&
                  load(library, "nvmlDeviceGetNvLinkState", nvml.linkState) &&
                  load(library, "nvmlDeviceGetNvLinkRemotePciInfo_v2", nvml.remotePci);
  if (!complete || nvml.init() != kNvmlSuccess) {
    result.note = "NVML present but unusable (no driver?): GPU links are PCIe only";
    dlclose(library);
    return result;
  }
  // Per GPU, the remote ends of its active links: another GPU, or an NVSwitch.
  std::vector<std::set<int>> peers(host.gpus.size());
  std::vector<bool> onSwitch(host.gpus.size(), false);
  for (size_t g = 0; g < host.gpus.size(); ++g) {
    NvmlDevice device = nullptr;
    if (nvml.handleByBusId(host.gpus[g].busId.c_str(), &device) != kNvmlSuccess) continue;
    for (unsigned link = 0; link < kMaxNvLinks; ++link) {
      int active = 0;
      NvmlPciInfo remote{};
      if (nvml.linkState(device, link, &active) != kNvmlSuccess || active == 0) continue;
      if (nvml.remotePci(device, link, &remote) != kNvmlSuccess) continue;
      std::string remoteId = normalBusId(remote.busId);
      auto gpu = std::find_if(host.gpus.begin(), host.gpus.end(),
                              [&](const HostDevice& d) { return normalBusId(d.busId) == remoteId; });
      if (gpu != host.gpus.end()) {
        peers[g].insert(static_cast<int>(gpu - host.gpus.begin()));
      } else {
        onSwitch[g] = true;  // the far end is an NVSwitch: every GPU on the fabric is reachable
      }
    }
  }
  nvml.shutdown();
  dlclose(library);
  for (size_t a = 0; a < host.gpus.size(); ++a) {
    for (size_t b = a + 1; b < host.gpus.size(); ++b) {
      bool direct = peers[a].count(static_cast<int>(b)) != 0;
      if (direct || (onSwitch[a] && onSwitch[b])) {
        result.map.pairs.push_back({static_cast<int>(a), static_cast<int>(b), 0.0, !direct});
      }
    }
  }
  result.note = "NVLink (NVML): " + std::to_string(result.map.pairs.size()) + " GPU pairs connected";
  return result;
}

}  // namespace strata
