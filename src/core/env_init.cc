#include "src/core/env_init.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "src/common/params.h"
#include "src/core/bootstrap.h"
#include "src/core/mpi_bootstrap.h"
#include "src/core/slurm_rendezvous.h"
#include "src/core/unique_id.h"

namespace strata {
namespace {

std::string ownSlurmNodeName(const LaunchEnvironment& env) {
  if (!env.slurmNodeName.empty()) return env.slurmNodeName;
  char name[256] = {};
  return gethostname(name, sizeof(name) - 1) == 0 ? name : "";
}

}  // namespace

Result<EnvLaunch> launchFromEnvironment() {
  auto params = Params::fromEnvironment();
  if (!params.ok()) return params.status();
  LaunchEnvironment env = LaunchEnvironment::fromEnvironment();
  if (env.source.empty()) {
    return invalidUsage("strataCommInitFromEnv found no launcher environment: run under strata-run, torchrun "
                        "(RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), Slurm srun or mpirun");
  }
  auto shown = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(name) + (v ? "='" + std::string(v) + "'" : " (unset)");
  };
  if (!env.rank || !env.nranks || *env.nranks <= 0 || *env.rank >= *env.nranks) {
    return invalidArgument("launcher environment (" + env.source + ") gives no valid rank and size: " +
                           shown(env.rankVariable.c_str()) + ", " + shown(env.nranksVariable.c_str()) +
                           "; expected whole numbers with 0 <= rank < size");
  }
  EnvLaunch launch;
  launch.rank = *env.rank;
  launch.nranks = *env.nranks;
  launch.source = env.source;
  if (!env.uniqueIdHex.empty()) {
    auto id = uniqueIdFromHex(env.uniqueIdHex);
    if (!id.ok()) return id.status();
    launch.id = id.value();
    return launch;
  }
  if (env.source == "mpirun" && env.masterAddr.empty() && mpiBootstrapAvailable()) {
    auto id = uniqueIdFromMpi(params.value(), &launch.rank, &launch.nranks);
    if (!id.ok()) return id.status();
    launch.id = id.value();
    launch.source = "mpirun (MPI broadcast)";
    return launch;
  }
  if (env.source == "slurm" && env.masterAddr.empty()) {
    auto meet = slurmRendezvous(env, launch.rank, ownSlurmNodeName(env));
    if (!meet.ok()) return meet.status();
    env.masterAddr = meet.value().address;
    env.masterPort = std::to_string(meet.value().port);
    launch.source = "slurm (first node " + env.masterAddr + ", port " + env.masterPort + ")";
  }
  if (env.masterAddr.empty() || env.masterPort.empty()) {
    return invalidUsage("launched by " + env.source + " without MASTER_ADDR and MASTER_PORT: set them to rank 0's "
                        "address and a free port" +
                        (env.source == "mpirun" ? std::string(" (or build Strata with MPI for the MPI bootstrap)") : ""));
  }
  char* end = nullptr;
  long port = std::strtol(env.masterPort.c_str(), &end, 10);
  if (*end != '\0' || port <= 0 || port > 65535) return invalidArgument("MASTER_PORT='" + env.masterPort + "' is not a port");
  auto root = resolveAddress(env.masterAddr, static_cast<uint16_t>(port));
  if (!root.ok()) return root.status();
  Secret secret = secretFromText(env.jobSecret + "|" + env.masterAddr + "|" + env.masterPort);
  if (launch.rank == 0) {
    // Rank 0 hosts the root, listening on every address at MASTER_PORT.
    SocketAddress any = root.value();
    std::memset(&any.storage, 0, sizeof(any.storage));
    any.storage.ss_family = static_cast<sa_family_t>(root.value().family());
    any.setPort(static_cast<uint16_t>(port));
    auto started = startBootstrapRoot(any, secret, params.value().timeoutMs);
    if (!started.ok()) return started.status().withContext("starting the bootstrap root on MASTER_PORT: ");
  }
  launch.id = encodeUniqueId({root.value(), secret});
  return launch;
}

}  // namespace strata
