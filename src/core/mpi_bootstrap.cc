#include "src/core/mpi_bootstrap.h"

#include <cstdlib>
#include <cstring>

#include "src/core/bootstrap.h"

#if defined(STRATA_HAVE_MPI)
// The C API only: Open MPI's and MPICH's C++ bindings would need their C++ libraries.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#endif

namespace strata {

#if defined(STRATA_HAVE_MPI)

bool mpiBootstrapAvailable() { return true; }

Result<strataUniqueId> uniqueIdFromMpi(const Params& params, int* rank, int* nranks) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
      return systemError("MPI_Init_thread failed (is this process started by mpirun?)");
    }
    // We started MPI, so we end it; every rank registers the same collective finalisation.
    std::atexit([] {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    });
  }
  MPI_Comm_rank(MPI_COMM_WORLD, rank);
  MPI_Comm_size(MPI_COMM_WORLD, nranks);
  strataUniqueId id;
  std::memset(&id, 0, sizeof(id));
  int ok = 1;
  if (*rank == 0) {
    auto made = createUniqueId(params.socketIfname, params.timeoutMs);
    if (made.ok()) {
      id = made.value();
    } else {
      ok = 0;
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (!ok) return systemError("rank 0 could not start the bootstrap root (see its STRATA_DEBUG=WARN output)");
  MPI_Bcast(&id, static_cast<int>(sizeof(id)), MPI_BYTE, 0, MPI_COMM_WORLD);
  return id;
}

#else

bool mpiBootstrapAvailable() { return false; }

Result<strataUniqueId> uniqueIdFromMpi(const Params&, int*, int*) {
  return invalidUsage("this Strata was built without MPI; set MASTER_ADDR and MASTER_PORT instead");
}

#endif

}  // namespace strata
