#include "common/params.h"

#include <cstdlib>
#include <string>

namespace strata {
namespace {

const char* readVariable(const char* name, std::vector<std::pair<std::string, std::string>>* seen) {
  const char* value = std::getenv(name);
  if (value != nullptr && seen != nullptr) seen->emplace_back(name, value);
  return value;
}

// Parses a whole decimal number; anything else keeps the default (and is reported in the banner).
int64_t parseInteger(const char* text, int64_t fallback) {
  if (text == nullptr || *text == '\0') return fallback;
  char* end = nullptr;
  long long value = std::strtoll(text, &end, 10);
  if (end == text || *end != '\0') return fallback;
  return value;
}

std::optional<int> parseRank(const char* text) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < 0 || value > 1 << 24) return std::nullopt;
  return static_cast<int>(value);
}

}  // namespace

Params Params::fromEnvironment() {
  Params p;
  auto* seen = &p.setVariables;
  int64_t timeout = parseInteger(readVariable("STRATA_TIMEOUT_MS", seen), p.timeoutMs);
  if (timeout > 0) p.timeoutMs = timeout;
  if (const char* v = readVariable("STRATA_TRANSPORT", seen)) p.transport = v;
  if (const char* v = readVariable("STRATA_SOCKET_IFNAME", seen)) p.socketIfname = v;
  int64_t streams = parseInteger(readVariable("STRATA_SOCKET_NSTREAMS", seen), p.socketStreams);
  if (streams >= 1 && streams <= 16) p.socketStreams = static_cast<int>(streams);
  int64_t split = parseInteger(readVariable("STRATA_SOCKET_SPLIT_BYTES", seen), p.socketSplitBytes);
  if (split > 0) p.socketSplitBytes = split;
  if (const char* v = readVariable("STRATA_ALGO", seen)) p.algo = v;
  int64_t ring = parseInteger(readVariable("STRATA_BUFFSIZE", seen), p.shmRingBytes);
  if (ring >= 4096 && ring <= (int64_t{1} << 30)) p.shmRingBytes = ring;
  int64_t oneShot = parseInteger(readVariable("STRATA_ONESHOT_BYTES", seen), p.oneShotBytes);
  if (oneShot >= 0 && oneShot <= (int64_t{1} << 24)) p.oneShotBytes = oneShot / 64 * 64;
  int64_t window = parseInteger(readVariable("STRATA_WINDOW_BYTES", seen), p.windowBytes);
  if (window >= 0 && window <= (int64_t{1} << 30)) p.windowBytes = window / 64 * 64;
  if (const char* v = readVariable("STRATA_TOPO_FILE", seen)) p.topoFile = v;
  if (const char* v = readVariable("STRATA_RACK", seen)) p.rack = v;
  if (const char* v = readVariable("STRATA_TOPO_XML", seen)) p.topoXml = v;
  if (const char* v = readVariable("STRATA_COST_FILE", seen)) p.costFile = v;
  if (const char* v = readVariable("STRATA_BIND", seen)) p.bind = std::string(v) != "0";
  if (const char* v = readVariable("STRATA_MOE_HIERARCHICAL", seen)) p.moeHierarchical = std::string(v) != "0" ? 1 : 0;
  for (const char* name : {"STRATA_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "LOCAL_RANK"}) {
    auto local = parseRank(std::getenv(name));
    if (local) {
      p.localRank = *local;
      break;
    }
  }
  if (const char* v = std::getenv("SLURM_TOPOLOGY_ADDR")) p.slurmTopologyAddr = v;
  if (const char* v = std::getenv("SLURM_TOPOLOGY_ADDR_PATTERN")) p.slurmTopologyPattern = v;
  for (const char* name : {"STRATA_DEBUG", "STRATA_DEBUG_SUBSYS", "STRATA_HOSTID", "STRATA_RANK",
                           "STRATA_NRANKS", "STRATA_JOB_SECRET"}) {
    readVariable(name, seen);
  }
  return p;
}

LaunchEnvironment LaunchEnvironment::fromEnvironment() {
  LaunchEnvironment env;
  auto get = [](const char* name) -> const char* { return std::getenv(name); };
  if (const char* id = get("STRATA_UNIQUE_ID")) {
    env.source = "strata-run";
    env.uniqueIdHex = id;
    env.rank = parseRank(get("STRATA_RANK"));
    env.nranks = parseRank(get("STRATA_NRANKS"));
  } else if (get("OMPI_COMM_WORLD_RANK") != nullptr) {
    env.source = "mpirun";
    env.rank = parseRank(get("OMPI_COMM_WORLD_RANK"));
    env.nranks = parseRank(get("OMPI_COMM_WORLD_SIZE"));
  } else if (get("SLURM_PROCID") != nullptr && get("MASTER_ADDR") == nullptr) {
    env.source = "slurm";
    env.rank = parseRank(get("SLURM_PROCID"));
    env.nranks = parseRank(get("SLURM_NTASKS"));
  } else if (get("RANK") != nullptr || get("MASTER_ADDR") != nullptr) {
    env.source = "torchrun";
    env.rank = parseRank(get("RANK"));
    env.nranks = parseRank(get("WORLD_SIZE"));
  }
  if (const char* v = get("MASTER_ADDR")) env.masterAddr = v;
  if (const char* v = get("MASTER_PORT")) env.masterPort = v;
  for (const char* name : {"STRATA_JOB_SECRET", "TORCHELASTIC_RUN_ID", "SLURM_JOB_ID"}) {
    if (const char* value = get(name)) {
      env.jobSecret = value;
      break;
    }
  }
  for (const char* name : {"SLURM_STEP_NODELIST", "SLURM_JOB_NODELIST", "SLURM_NODELIST"}) {
    if (const char* value = get(name)) {
      env.slurmNodelist = value;
      break;
    }
  }
  if (const char* v = get("SLURM_STEP_RESV_PORTS")) env.slurmReservedPorts = v;
  if (const char* v = get("SLURM_JOB_ID")) env.slurmJobId = v;
  if (const char* v = get("SLURM_STEP_ID")) env.slurmStepId = v;
  if (const char* v = get("SLURMD_NODENAME")) env.slurmNodeName = v;
  return env;
}

DebugSettings DebugSettings::fromEnvironment() {
  DebugSettings s;
  std::string level = std::getenv("STRATA_DEBUG") ? std::getenv("STRATA_DEBUG") : "";
  for (auto& c : level) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (level == "VERSION") s.versionBanner = true;
  if (level == "WARN") s.level = 1;
  if (level == "INFO") s.level = 2;
  if (level == "TRACE") s.level = 3;
  if (const char* v = std::getenv("STRATA_DEBUG_SUBSYS")) s.subsystems = v;
  return s;
}

std::string hostIdentityOverride() {
  const char* v = std::getenv("STRATA_HOSTID");
  return v ? v : "";
}

}  // namespace strata
