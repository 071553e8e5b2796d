// Single-copy reads from another process on this host (Linux cross-memory attach,
// process_vm_readv): the kernel copies straight from the owner's buffer into ours, where
// shared memory takes two copies (the owner's into a window, ours out of it). Open MPI's vader
// and UCX's cma transport use the same call.
//
// It needs ptrace-level access to the owner (same user, and Yama's ptrace_scope below 2, or a
// seccomp profile that allows it): PeerWindows probes it at init, and every rank of the host
// must find it working before any plan relies on it.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>

#include "src/common/status.h"

namespace strata {

// Pieces per call (Linux's IOV_MAX is 1024).
inline constexpr size_t kMaxPiecesPerRead = 1024;

// Reads remote[i] of process `pid` (its pid as this process sees it) into local[i], the two
// lists alike in lengths, count <= kMaxPiecesPerRead, finishing short reads (the lists are
// used up in the process). `ownerRank` names the process in errors. A process that
// has exited is a remoteError, an address the owner does not map an invalidUsage (its buffer
// is shorter than the call says), anything else a systemError.
Status readFromProcess(pid_t pid, int ownerRank, iovec* local, iovec* remote, size_t count);

// Whether `bytes` at `address` in process `pid` read back equal to `expected` (the probe).
bool readsBackEqual(pid_t pid, uint64_t address, const void* expected, size_t bytes);

}  // namespace strata
