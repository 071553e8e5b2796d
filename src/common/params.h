// Every STRATA_* environment variable is read here and nowhere else. A communicator takes a
// snapshot at init (so tests may change the environment between communicators); the logger keeps
// its own snapshot. README lists each variable; STRATA_DEBUG=INFO prints the ones in effect.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace strata {

struct Params {
  int64_t timeoutMs = 300000;         // STRATA_TIMEOUT_MS: deadline of every blocking wait
  std::string transport = "auto";     // STRATA_TRANSPORT: auto | shm | tcp
  std::string socketIfname;           // STRATA_SOCKET_IFNAME: NCCL syntax (prefix, ^exclude, =exact)
  int socketStreams = 2;              // STRATA_SOCKET_NSTREAMS: TCP streams per peer
  int64_t socketSplitBytes = 262144;  // STRATA_SOCKET_SPLIT_BYTES: smallest message split over streams
  std::string algo;                   // STRATA_ALGO: forced algorithm(s)
  int64_t shmRingBytes = 4 << 20;     // STRATA_BUFFSIZE: bytes of each shared-memory FIFO
  int64_t oneShotBytes = 16 << 10;    // STRATA_ONESHOT_BYTES: largest one-shot allreduce (0: off)
  int64_t windowBytes = 512 << 10;    // STRATA_WINDOW_BYTES: each half of a rank's peer-memory window (0: none)
  // Topology (topology/placement.h says which wins).
  std::string topoFile;               // STRATA_TOPO_FILE: Slurm topology.conf
  std::string rack;                   // STRATA_RACK: this process's rack
  std::string slurmTopologyAddr;      // SLURM_TOPOLOGY_ADDR
  std::string slurmTopologyPattern;   // SLURM_TOPOLOGY_ADDR_PATTERN
  std::string costFile;               // STRATA_COST_FILE: cost-model overrides
  std::string topoXml;                // STRATA_TOPO_XML: hwloc XML instead of discovering this host
  bool bind = true;                   // STRATA_BIND=0: leave the process's CPU binding alone
  int localRank = -1;                 // STRATA_LOCAL_RANK, OMPI_COMM_WORLD_LOCAL_RANK, SLURM_LOCALID, LOCAL_RANK
  int moeHierarchical = -1;           // STRATA_MOE_HIERARCHICAL: 0 | 1 (unset: the handle config decides)

  // The variables that were set, name -> value, for the INFO banner.
  std::vector<std::pair<std::string, std::string>> setVariables;

  static Params fromEnvironment();
};

// What a launcher put in the environment. Read by strataCommInitFromEnv.
struct LaunchEnvironment {
  std::optional<int> rank;             // STRATA_RANK, OMPI_COMM_WORLD_RANK, SLURM_PROCID, RANK
  std::optional<int> nranks;           // STRATA_NRANKS, OMPI_COMM_WORLD_SIZE, SLURM_NTASKS, WORLD_SIZE
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
struct DebugSettings {
  int level = 0;  // 0 none/VERSION, 1 WARN, 2 INFO, 3 TRACE
  bool versionBanner = false;
  std::string subsystems;  // raw value

  static DebugSettings fromEnvironment();
};

// Host identity for transport selection: STRATA_HOSTID overrides (tests emulate several hosts).
std::string hostIdentityOverride();

}  // namespace strata
