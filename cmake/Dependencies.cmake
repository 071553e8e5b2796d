# Finds every dependency; optional parts are switched off with a reason that the summary prints.
find_package(Threads REQUIRED)
find_package(PkgConfig)

set(STRATA_FEATURES "")
macro(strata_feature name enabled reason)
  list(APPEND STRATA_FEATURES "${name}|${enabled}|${reason}")
endmacro()

# hwloc: host topology discovery (topology/hwloc_discovery.cc); without it hosts are not analysed.
if(PkgConfig_FOUND)
  pkg_check_modules(HWLOC IMPORTED_TARGET hwloc)
endif()
if(HWLOC_FOUND)
  strata_feature("hwloc" ON "hwloc ${HWLOC_VERSION}")
else()
  strata_feature("hwloc" OFF "libhwloc-dev not found (scripts/install-deps.sh installs it)")
endif()

if(PkgConfig_FOUND)
  pkg_check_modules(UCX IMPORTED_TARGET ucx)
endif()
# UCX's memory hooks patch the process's mmap/munmap/malloc: under ThreadSanitizer every test
# program that linked UCX crashed inside libtsan. TSan builds leave the ucx transport out, and so
# do the libFuzzer builds (sanitizer interceptors too, and their targets never use it).
set(strata_ucx_default ON)
if(STRATA_SANITIZE STREQUAL "thread" OR STRATA_SANITIZE STREQUAL "fuzzer")
  set(strata_ucx_default OFF)
endif()
option(STRATA_WITH_UCX "Build the ucx transport when libucx-dev is found" ${strata_ucx_default})
if(UCX_FOUND AND NOT STRATA_WITH_UCX)
  set(UCX_FOUND FALSE)
  strata_feature("ucx" OFF "STRATA_WITH_UCX=OFF (off by default in TSan and fuzz builds: UCX's memory hooks crash TSan's interceptors)")
elseif(UCX_FOUND)
  strata_feature("ucx" ON "UCX ${UCX_VERSION}: the ucx transport (STRATA_NET=ucx, STRATA_TRANSPORT=ucx)")
elseif(NOT UCX_FOUND)
  strata_feature("ucx" OFF "libucx-dev not found: no ucx transport")
endif()

find_library(IBVERBS_LIBRARY ibverbs)
find_path(IBVERBS_INCLUDE infiniband/verbs.h)
if(IBVERBS_LIBRARY AND IBVERBS_INCLUDE)
  strata_feature("ibverbs" ON "libibverbs found, but the ibverbs transport is not written yet")
else()
  strata_feature("ibverbs" OFF "libibverbs-dev not found")
endif()

find_package(MPI COMPONENTS C QUIET)
option(STRATA_WITH_MPI "Broadcast the unique id with MPI under mpirun" ${MPI_C_FOUND})
if(MPI_C_FOUND AND STRATA_WITH_MPI)
  strata_feature("mpi" ON "MPI ${MPI_C_VERSION}: MPI bootstrap under mpirun, perf/compare MPI programs")
elseif(MPI_C_FOUND)
  set(STRATA_WITH_MPI OFF)
  strata_feature("mpi" OFF "STRATA_WITH_MPI=OFF (perf/compare MPI programs are still built)")
else()
  set(STRATA_WITH_MPI OFF)
  strata_feature("mpi" OFF "no MPI C compiler wrapper (libopenmpi-dev)")
endif()

# nlohmann/json: the JSON strata-topo and the perf tools write (any host name comes out valid).
find_package(nlohmann_json 3.2 REQUIRED)

find_package(GTest QUIET)
if(GTest_FOUND)
  strata_feature("gtest" ON "GoogleTest")
else()
  strata_feature("gtest" OFF "libgtest-dev not found: unit tests are not built")
endif()

find_package(benchmark QUIET)
if(benchmark_FOUND)
  strata_feature("benchmark" ON "Google Benchmark")
else()
  strata_feature("benchmark" OFF "libbenchmark-dev not found: micro-benchmarks are not built")
endif()

if(EXISTS /usr/local/cuda/include/cuda_runtime.h)
  strata_feature("cuda" OFF "CUDA toolkit found at /usr/local/cuda, but device-memory paths are not written yet")
else()
  strata_feature("cuda" OFF "no CUDA toolkit at /usr/local/cuda")
endif()

# clang++: the `fuzz` preset builds the libFuzzer targets with it (scripts/sanitize.sh); the
# GCC builds replay the fuzz corpus instead.
find_program(STRATA_CLANGXX NAMES clang++ clang++-16 clang++-15 clang++-14)
if(STRATA_SANITIZE STREQUAL "fuzzer")
  strata_feature("fuzz targets" ON "libFuzzer with ${CMAKE_CXX_COMPILER}")
elseif(STRATA_CLANGXX)
  strata_feature("fuzz targets" ON "corpus replay here, libFuzzer in the fuzz preset (${STRATA_CLANGXX})")
else()
  strata_feature("fuzz targets" OFF "clang++ not found, only the corpus replays run (install clang)")
endif()
