#include "src/common/params.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <string>

extern char** environ;

namespace strata {
namespace {

// Every STRATA_* name Strata or its scripts read; anything else that starts with STRATA_ is
// reported as unknown (a typo such as STRATA_TIMEOUT=... would otherwise do nothing, silently).
const char* const kKnownVariables[] = {
    "STRATA_TIMEOUT_MS", "STRATA_TRANSPORT", "STRATA_NET", "STRATA_SOCKET_IFNAME", "STRATA_SOCKET_NSTREAMS",
    "STRATA_SOCKET_SPLIT_BYTES", "STRATA_ALGO", "STRATA_BUFFSIZE", "STRATA_ONESHOT_BYTES", "STRATA_MOE_PIPELINE_BYTES",
    "STRATA_WINDOW_BYTES", "STRATA_TOPO_FILE", "STRATA_RACK", "STRATA_TOPO_XML", "STRATA_COST_FILE",
    "STRATA_BIND", "STRATA_SINGLE_COPY", "STRATA_RUNTIME_CONNECT", "STRATA_MOE_HIERARCHICAL", "STRATA_LOCAL_RANK", "STRATA_HOSTID", "STRATA_DEBUG",
    "STRATA_CUDA", "STRATA_DEVICE_MODULE", "STRATA_DEVICE_CHUNK_BYTES", "STRATA_CUDA_IPC",
    "STRATA_DEBUG_SUBSYS", "STRATA_RANK", "STRATA_NRANKS", "STRATA_UNIQUE_ID", "STRATA_JOB_SECRET",
    "STRATA_REDUCE_KERNELS", "STRATA_TESTS_MIN_BW",
    // Read by the device tests (tests/device/): the fake device module and the tests' runtime.
    "STRATA_FAKE_DEVICES", "STRATA_FAKE_STREAM_DELAY_US", "STRATA_TEST_CUDART", "STRATA_TEST_CUDART_PREFIX",
    // Read by scripts (perf/cluster, perf/compare), not by the library.
    "STRATA_CLUSTER_BURST", "STRATA_CLUSTER_DIR", "STRATA_CLUSTER_PREFIX", "STRATA_CLUSTER_HOST", "STRATA_BUILD",
    "STRATA_BIN", "STRATA_RUN"};

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// Reads variables one at a time, keeping the first problem. Each reader states what is allowed,
// so the error can say it.
class EnvironmentReader {
 public:
  explicit EnvironmentReader(std::vector<std::pair<std::string, std::string>>* seen) : seen_(seen) {}

  // The raw value, or nullptr when unset.
  const char* raw(const char* name) {
    const char* value = std::getenv(name);
    if (value != nullptr) seen_->emplace_back(name, value);
    return value;
  }

  // A whole decimal number in [min, max]; unset keeps *out.
  template <typename T>
  void integer(const char* name, int64_t min, int64_t max, T* out, const char* unit = "") {
    const char* text = raw(name);
    if (text == nullptr) return;
    auto allowed = [&] {
      return "a whole number from " + std::to_string(min) + " to " + std::to_string(max) + unit;
    };
    errno = 0;
    char* end = nullptr;
    long long value = std::strtoll(text, &end, 10);
    if (*text == '\0' || end == text || *end != '\0' || std::isspace(static_cast<unsigned char>(*text))) {
      fail(name, text, allowed());
    } else if (errno == ERANGE || value < min || value > max) {
      fail(name, text, allowed() + " (out of range)");
    } else {
      *out = static_cast<T>(value);
    }
  }

  // One of `choices` (case-insensitive); unset keeps *out. Stored in the choice's spelling.
  void choice(const char* name, std::initializer_list<const char*> choices, std::string* out) {
    const char* text = raw(name);
    if (text == nullptr) return;
    std::string allowed;
    for (const char* c : choices) {
      if (lower(text) == lower(c)) {
        *out = c;
        return;
      }
      allowed += allowed.empty() ? "" : ", ";
      allowed += c;
    }
    fail(name, text, "one of " + allowed);
  }

  // 0 or 1; unset keeps *out.
  template <typename T>
  void flag(const char* name, T* out) {
    std::string value;
    choice(name, {"0", "1"}, &value);
    if (!value.empty()) *out = static_cast<T>(value == "1");
  }

  // Any non-empty text of at most `maxLength` characters; unset keeps *out.
  void text(const char* name, std::string* out, size_t maxLength = 4096) {
    const char* value = raw(name);
    if (value == nullptr) return;
    size_t length = std::strlen(value);
    if (length == 0 || length > maxLength) {
      fail(name, value, "a non-empty value of at most " + std::to_string(maxLength) + " characters");
      return;
    }
    *out = value;
  }

  void fail(const char* name, const std::string& value, const std::string& allowed) {
    if (!status_.isOk()) return;
    std::string shown = value.size() > 80 ? value.substr(0, 80) + "..." : value;
    status_ = invalidArgument(std::string(name) + "='" + shown + "' is not valid: expected " + allowed);
  }

  Status status() const { return status_; }

 private:
  std::vector<std::pair<std::string, std::string>>* seen_;
  Status status_;
};

std::optional<int> parseRank(const char* text) {
  if (text == nullptr || *text == '\0') return std::nullopt;
  char* end = nullptr;
  errno = 0;
  long value = std::strtol(text, &end, 10);
  if (*end != '\0' || errno == ERANGE || value < 0 || value > 1 << 24) return std::nullopt;
  return static_cast<int>(value);
}

void checkDebugSettings(EnvironmentReader& reader) {
  std::string level;
  reader.choice("STRATA_DEBUG", {"VERSION", "WARN", "INFO", "TRACE"}, &level);
  const char* subsystems = reader.raw("STRATA_DEBUG_SUBSYS");
  if (subsystems == nullptr) return;
  std::string list = subsystems;
  if (!list.empty() && list[0] == '^') list = list.substr(1);
  std::string allowed;
  for (const std::string& s : debugSubsystemNames()) allowed += (allowed.empty() ? "" : ",") + s;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    std::string name = upper(list.substr(start, end - start));
    bool known = false;
    for (const std::string& s : debugSubsystemNames()) known = known || name == s;
    if (!known) {
      reader.fail("STRATA_DEBUG_SUBSYS", subsystems, "a comma list of " + allowed + " ('^' in front excludes them)");
      return;
    }
    start = end + 1;
  }
}

std::vector<std::string> unknownStrataVariables() {
  std::vector<std::string> unknown;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string variable = *entry;
    std::string name = variable.substr(0, variable.find('='));
    if (name.rfind("STRATA_", 0) != 0) continue;
    bool known = false;
    for (const char* k : kKnownVariables) known = known || name == k;
    if (!known) unknown.push_back(name);
  }
  return unknown;
}

}  // namespace

const std::vector<std::string>& debugSubsystemNames() {
  static const std::vector<std::string> names = {"INIT", "COLL", "P2P", "NET", "SHM", "ENV", "LAUNCH", "ALL"};
  return names;
}

Result<Params> Params::fromEnvironment() {
  Params p;
  EnvironmentReader env(&p.setVariables);
  env.integer("STRATA_TIMEOUT_MS", 1, kMaxTimeoutMs, &p.timeoutMs, " (milliseconds)");
  env.choice("STRATA_TRANSPORT", {"auto", "shm", "tcp", "ucx"}, &p.transport);
  env.choice("STRATA_NET", {"auto", "tcp", "ucx"}, &p.net);
  env.text("STRATA_SOCKET_IFNAME", &p.socketIfname);
  env.integer("STRATA_SOCKET_NSTREAMS", 1, 16, &p.socketStreams);
  env.integer("STRATA_SOCKET_SPLIT_BYTES", 1, int64_t{1} << 40, &p.socketSplitBytes, " (bytes)");
  if (const char* v = env.raw("STRATA_ALGO")) p.algo = v;  // the algorithm selector checks it
  env.integer("STRATA_BUFFSIZE", 4096, int64_t{1} << 30, &p.shmRingBytes, " (bytes)");
  env.integer("STRATA_ONESHOT_BYTES", 0, int64_t{1} << 24, &p.oneShotBytes, " (bytes)");
  env.integer("STRATA_WINDOW_BYTES", 0, int64_t{1} << 30, &p.windowBytes, " (bytes)");
  env.integer("STRATA_MOE_PIPELINE_BYTES", 0, int64_t{1} << 40, &p.moePipelineBytes, " (bytes)");
  p.shmRingBytes = p.shmRingBytes / 8 * 8;
  p.oneShotBytes = p.oneShotBytes / 64 * 64;
  p.windowBytes = p.windowBytes / 64 * 64;
  p.windowBytesSet = std::any_of(p.setVariables.begin(), p.setVariables.end(),
                                 [](const auto& set) { return set.first == "STRATA_WINDOW_BYTES"; });
  p.shmRingBytesSet = std::any_of(p.setVariables.begin(), p.setVariables.end(),
                                  [](const auto& set) { return set.first == "STRATA_BUFFSIZE"; });
  env.text("STRATA_TOPO_FILE", &p.topoFile);
  env.text("STRATA_RACK", &p.rack, 255);
  env.text("STRATA_TOPO_XML", &p.topoXml);
  env.text("STRATA_COST_FILE", &p.costFile);
  env.flag("STRATA_BIND", &p.bind);
  env.flag("STRATA_SINGLE_COPY", &p.singleCopy);
  env.flag("STRATA_RUNTIME_CONNECT", &p.runtimeConnect);
  env.flag("STRATA_MOE_HIERARCHICAL", &p.moeHierarchical);
  env.text("STRATA_HOSTID", &p.hostId, 159);
  env.choice("STRATA_CUDA", {"auto", "0", "1"}, &p.cuda);
  env.text("STRATA_DEVICE_MODULE", &p.deviceModule);
  env.choice("STRATA_CUDA_IPC", {"auto", "0", "1"}, &p.cudaIpc);
  env.integer("STRATA_DEVICE_CHUNK_BYTES", 0, int64_t{1} << 40, &p.deviceChunkBytes, " (bytes)");
  env.integer("STRATA_LOCAL_RANK", 0, 1 << 24, &p.localRank);
  if (std::getenv("STRATA_LOCAL_RANK") == nullptr) {
    for (const char* name : {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "LOCAL_RANK"}) {
      auto local = parseRank(std::getenv(name));
      if (local) {
        p.localRank = *local;
        break;
      }
    }
  }
  std::string kernels;
  env.choice("STRATA_REDUCE_KERNELS", {"auto", "generic", "avx2"}, &kernels);
  checkDebugSettings(env);
  std::string secret;
  env.text("STRATA_JOB_SECRET", &secret);
  for (const char* name : {"STRATA_RANK", "STRATA_NRANKS"}) env.raw(name);  // checked by strataCommInitFromEnv
  if (const char* v = std::getenv("SLURM_TOPOLOGY_ADDR")) p.slurmTopologyAddr = v;
  if (const char* v = std::getenv("NCCL_SOCKET_IFNAME")) p.ncclSocketIfname = v;
  if (const char* v = std::getenv("SLURM_TOPOLOGY_ADDR_PATTERN")) p.slurmTopologyPattern = v;
  p.unknownVariables = unknownStrataVariables();
  if (!env.status().isOk()) return env.status();
  return p;
}

LaunchEnvironment LaunchEnvironment::fromEnvironment() {
  LaunchEnvironment env;
  auto get = [](const char* name) -> const char* { return std::getenv(name); };
  auto take = [&](const char* rankName, const char* sizeName) {
    env.rank = parseRank(get(rankName));
    env.nranks = parseRank(get(sizeName));
    env.rankVariable = rankName;
    env.nranksVariable = sizeName;
  };
  if (const char* id = get("STRATA_UNIQUE_ID")) {
    env.source = "strata-run";
    env.uniqueIdHex = id;
    take("STRATA_RANK", "STRATA_NRANKS");
  } else if (get("OMPI_COMM_WORLD_RANK") != nullptr) {
    env.source = "mpirun";
    take("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE");
  } else if (get("SLURM_PROCID") != nullptr && get("MASTER_ADDR") == nullptr) {
    env.source = "slurm";
    take("SLURM_PROCID", "SLURM_NTASKS");
  } else if (get("RANK") != nullptr || get("MASTER_ADDR") != nullptr) {
    env.source = "torchrun";
    take("RANK", "WORLD_SIZE");
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
  std::string level = upper(std::getenv("STRATA_DEBUG") ? std::getenv("STRATA_DEBUG") : "");
  if (level == "VERSION") s.versionBanner = true;
  if (level == "WARN") s.level = 1;
  if (level == "INFO") s.level = 2;
  if (level == "TRACE") s.level = 3;
  if (const char* v = std::getenv("STRATA_DEBUG_SUBSYS")) s.subsystems = v;
  return s;
}

std::string reduceKernelsRequest() {
  const char* v = std::getenv("STRATA_REDUCE_KERNELS");
  std::string value = v ? lower(v) : "auto";
  return value == "generic" || value == "avx2" ? value : "auto";
}

}  // namespace strata
