// The MPI route of strataCommInitFromEnv: under mpirun (Open MPI) without MASTER_ADDR, rank 0
// makes the unique id and MPI_Bcast hands it to everyone. Built only when CMake finds MPI
// (STRATA_WITH_MPI); MPI is initialised here if the application has not done it (and then
// finalised at exit).
#pragma once

#include <strata/strata.h>

#include "src/common/params.h"
#include "src/common/status.h"

namespace strata {

bool mpiBootstrapAvailable();
// The id everyone shares, and this process's rank and size in MPI_COMM_WORLD.
Result<strataUniqueId> uniqueIdFromMpi(const Params& params, int* rank, int* nranks);

}  // namespace strata
