#include "src/core/slurm_rendezvous.h"

#include <cstdlib>

#include "src/common/hostlist.h"

namespace strata {
namespace {

// "12000-12015" or "12000,12001": the first port.
Result<uint16_t> firstReservedPort(const std::string& ports) {
  char* end = nullptr;
  long first = std::strtol(ports.c_str(), &end, 10);
  if (end == ports.c_str() || (*end != '\0' && *end != '-' && *end != ',') || first <= 0 || first > 65535) {
    return invalidArgument("SLURM_STEP_RESV_PORTS='" + ports + "' does not start with a port number");
  }
  return static_cast<uint16_t>(first);
}

uint64_t parseId(const std::string& text) {
  char* end = nullptr;
  unsigned long long value = std::strtoull(text.c_str(), &end, 10);
  return end != text.c_str() ? value : 0;
}

// "node01.cluster" and "node01" are the same node.
std::string shortName(const std::string& name) { return name.substr(0, name.find('.')); }

}  // namespace

uint16_t derivedSlurmPort(uint64_t jobId, uint64_t stepId) {
  return static_cast<uint16_t>(20000 + (jobId * 64 + stepId) % 30000);
}

Result<Rendezvous> slurmRendezvous(const LaunchEnvironment& env, int rank, const std::string& ownNodeName) {
  if (env.slurmNodelist.empty()) {
    return invalidUsage("launched by Slurm without MASTER_ADDR/MASTER_PORT and without SLURM_STEP_NODELIST or "
                        "SLURM_JOB_NODELIST: set MASTER_ADDR and MASTER_PORT");
  }
  auto nodes = expandHostlist(env.slurmNodelist);
  if (!nodes.ok()) return nodes.status().withContext("Slurm node list: ");
  Rendezvous r;
  r.address = nodes.value().front();
  if (!env.slurmReservedPorts.empty()) {
    auto port = firstReservedPort(env.slurmReservedPorts);
    if (!port.ok()) return port.status();
    r.port = port.value();
  } else {
    if (env.slurmJobId.empty()) return invalidUsage("launched by Slurm without SLURM_JOB_ID: set MASTER_ADDR and MASTER_PORT");
    r.port = derivedSlurmPort(parseId(env.slurmJobId), parseId(env.slurmStepId));
  }
  if (rank == 0 && !ownNodeName.empty() && shortName(ownNodeName) != shortName(r.address)) {
    return invalidUsage("Slurm task 0 runs on '" + ownNodeName + "' but the step's first node is '" + r.address +
                        "' (a custom task distribution?): set MASTER_ADDR to task 0's host and MASTER_PORT");
  }
  return r;
}

}  // namespace strata
