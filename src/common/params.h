// Every STRATA_* environment variable is read here and nowhere else. A communicator takes a
// snapshot at init (so tests may change the environment between communicators); the logger keeps
// its own snapshot. README lists each variable; STRATA_DEBUG=INFO prints the ones in effect.
//
// A value that does not parse or is out of range is an error naming the variable, the value and
// what is allowed: a typo must not silently run the job with a default.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "src/common/status.h"

namespace strata {

// Longest deadline a wait accepts (about 31 years): beyond it the clock arithmetic would overflow.
constexpr int64_t kMaxTimeoutMs = 1000000000000;

struct Params {
  int64_t timeoutMs = 300000;         // STRATA_TIMEOUT_MS: deadline of every blocking wait
  std::string transport = "auto";     // STRATA_TRANSPORT: auto | shm | tcp | ucx (one transport for every peer)
  std::string net = "auto";           // STRATA_NET: auto | tcp | ucx (between hosts under STRATA_TRANSPORT=auto)
  std::string socketIfname;           // STRATA_SOCKET_IFNAME: NCCL syntax (prefix, ^exclude, =exact)
  std::string ncclSocketIfname;       // NCCL_SOCKET_IFNAME: the NCCL net plugin's interfaces when the above is unset
  int socketStreams = 2;              // STRATA_SOCKET_NSTREAMS: TCP streams per peer
  int64_t socketSplitBytes = 262144;  // STRATA_SOCKET_SPLIT_BYTES: smallest message split over streams
  std::string algo;                   // STRATA_ALGO: forced algorithm(s)
  int64_t shmRingBytes = 4 << 20;     // STRATA_BUFFSIZE: bytes of each shared-memory FIFO
  int64_t oneShotBytes = 16 << 10;    // STRATA_ONESHOT_BYTES: largest one-shot allreduce (0: off)
  int64_t windowBytes = 512 << 10;    // STRATA_WINDOW_BYTES: each half of a rank's peer-memory window (0: none)
  bool shmRingBytesSet = false;       // STRATA_BUFFSIZE was given (else rings are sized for the host's rank count)
  bool windowBytesSet = false;        // STRATA_WINDOW_BYTES was given (else the wiring sizes windows for the host)
  int64_t moePipelineBytes = 1 << 20;  // STRATA_MOE_PIPELINE_BYTES: forwarded MoE hops pipelined from here
  // Topology (topology/placement.h says which wins).
  std::string topoFile;               // STRATA_TOPO_FILE: Slurm topology.conf
  std::string rack;                   // STRATA_RACK: this process's rack
  std::string slurmTopologyAddr;      // SLURM_TOPOLOGY_ADDR
  std::string slurmTopologyPattern;   // SLURM_TOPOLOGY_ADDR_PATTERN
  std::string costFile;               // STRATA_COST_FILE: cost-model overrides
  std::string topoXml;                // STRATA_TOPO_XML: hwloc XML instead of discovering this host
  bool bind = true;                   // STRATA_BIND=0: leave the process's CPU binding alone
  bool runtimeConnect = true;         // STRATA_RUNTIME_CONNECT=0: open every tcp connection at init, not on first use
  bool singleCopy = true;             // STRATA_SINGLE_COPY=0: MoE exchanges on one host copy through the windows
  int localRank = -1;                 // STRATA_LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, LOCAL_RANK
  int moeHierarchical = -1;           // STRATA_MOE_HIERARCHICAL: 0 | 1 (unset: the handle config decides)
  std::string hostId;                 // STRATA_HOSTID: host identity instead of hostname + boot id
  std::string cuda = "auto";          // STRATA_CUDA: auto (device memory when the process uses CUDA) | 0 | 1
  std::string deviceModule;           // STRATA_DEVICE_MODULE: the device module to load instead of libstrata_cuda.so
  int64_t deviceChunkBytes = 4 << 20;  // STRATA_DEVICE_CHUNK_BYTES: device allreduce/broadcast/reduce staged in pieces this big (0: whole)
  // STRATA_CUDA_IPC: auto (ranks of one host on one GPU read each other's device memory) | 0
  // (always staged through host memory) | 1 (also across a host's GPUs: the user vouches for peer access)
  std::string cudaIpc = "auto";

  // The variables that were set, name -> value, for the INFO banner.
  std::vector<std::pair<std::string, std::string>> setVariables;
  // STRATA_* variables that Strata does not know (typos), for a warning.
  std::vector<std::string> unknownVariables;

  static Result<Params> fromEnvironment();
};

// What a launcher put in the environment. Read by strataCommInitFromEnv.
struct LaunchEnvironment {
  std::optional<int> rank;             // STRATA_RANK, OMPI_COMM_WORLD_RANK, SLURM_PROCID, RANK
  std::optional<int> nranks;           // STRATA_NRANKS, OMPI_COMM_WORLD_SIZE, SLURM_NTASKS, WORLD_SIZE
  std::string rankVariable;            // which variables rank and nranks came from (for errors)
  std::string nranksVariable;
  std::string source;                  // "strata-run", "mpirun", "slurm", "torchrun"
  std::string uniqueIdHex;             // STRATA_UNIQUE_ID (strata-run)
  std::string masterAddr;              // MASTER_ADDR
  std::string masterPort;              // MASTER_PORT
  std::string jobSecret;               // STRATA_JOB_SECRET, else a job id (see README)
  // Slurm, for a launch without MASTER_ADDR: the step's nodes (SLURM_STEP_NODELIST, else
  // SLURM_JOB_NODELIST / SLURM_NODELIST), reserved ports (SLURM_STEP_RESV_PORTS), ids, and the
  // name slurmd gave this node (SLURMD_NODENAME).
  std::string slurmNodelist;
  std::string slurmReservedPorts;
  std::string slurmJobId;
  std::string slurmStepId;
  std::string slurmNodeName;

  static LaunchEnvironment fromEnvironment();
};

// Logger settings: STRATA_DEBUG (WARN|INFO|TRACE) and STRATA_DEBUG_SUBSYS (comma list, ^ negates).
// The logger cannot fail, so it ignores what it does not understand; Params::fromEnvironment()
// reports those values as init errors.
struct DebugSettings {
  int level = 0;  // 0 none/VERSION, 1 WARN, 2 INFO, 3 TRACE
  bool versionBanner = false;
  std::string subsystems;  // raw value

  static DebugSettings fromEnvironment();
};

// The subsystem names STRATA_DEBUG_SUBSYS accepts (ALL included), in log order.
const std::vector<std::string>& debugSubsystemNames();

// STRATA_REDUCE_KERNELS: "auto" (default), "generic" or "avx2". Read once by the reduction
// kernels' dispatch; tests force the generic build with it. Unknown values read as "auto" there
// (and are an init error through Params).
std::string reduceKernelsRequest();

}  // namespace strata
