// strataCommInitFromEnv: turns what a launcher left in the environment into (id, rank, nranks).
//   strata-run: STRATA_UNIQUE_ID, STRATA_RANK, STRATA_NRANKS.
//   torchrun / Slurm / mpirun: RANK|SLURM_PROCID|OMPI_COMM_WORLD_RANK and the matching size, with
//   MASTER_ADDR/MASTER_PORT naming where rank 0 runs the bootstrap root; the secret comes from
//   STRATA_JOB_SECRET (or the job id) since such launchers have no channel for a random one.
//   Slurm without MASTER_ADDR: the step's first node and a reserved or derived port
//   (slurm_rendezvous.h). mpirun without MASTER_ADDR: the MPI broadcast of a fresh id.
#pragma once

#include <strata/strata.h>

#include "src/common/status.h"

namespace strata {

struct EnvLaunch {
  strataUniqueId id;
  int rank = 0;
  int nranks = 0;
  std::string source;
};

Result<EnvLaunch> launchFromEnvironment();

}  // namespace strata
