// Where a Slurm job step without MASTER_ADDR/MASTER_PORT meets: task 0 runs on the first node of
// the step (srun's block and cyclic distributions both put it there), so that node hosts the
// bootstrap root. The port is the first of the step's reserved ports (srun --resv-ports) when
// there are any, else one derived from the job and step ids, so every task computes the same
// one without talking.
#pragma once

#include <cstdint>
#include <string>

#include "src/common/params.h"
#include "src/common/status.h"

namespace strata {

struct Rendezvous {
  std::string address;  // host name of the node running task 0
  uint16_t port = 0;
};

// `ownNodeName`: this node's name as Slurm knows it (SLURMD_NODENAME, else the host name).
// Task 0 refuses to start when it is not on the first node, instead of leaving the others to time out.
Result<Rendezvous> slurmRendezvous(const LaunchEnvironment& env, int rank, const std::string& ownNodeName);

// 20000 + (job * 64 + step) mod 30000: in the ephemeral-free range on Linux defaults.
uint16_t derivedSlurmPort(uint64_t jobId, uint64_t stepId);

}  // namespace strata
