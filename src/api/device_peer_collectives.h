// Collectives on device memory among the ranks of one host that can read each other's GPU memory
// (the cuda_ipc path): no byte goes through host memory. Each rank's stream waits until every
// rank's input is final, then one kernel reads what this rank needs straight from the ranks'
// device memory (peer_memory_plan.h: all of them reduced for allreduce, reduce-scatter and the
// root of reduce; copied into place for broadcast, allgather, all-to-all, gather and scatter) and
// writes this rank's output; the stream then waits until every rank has finished reading, so no
// rank overwrites an input another still reads.
//
// The host only synchronises, through the communicator's device proxy (core/device_proxy.h), so
// the calls keep their call order across streams as the staged path does: after the stream
// reaches the call, the proxy gathers every rank's sendbuff address (CUDA IPC handles between
// processes, plain addresses between threads of one process; opened handles are cached) and the
// call's shape, which every rank checks, fills the kernel's address table in mapped pinned memory,
// lets the stream through, waits for the kernel, and meets the other ranks again before letting
// the stream finish.
#pragma once

#include <strata/strata.h>

#include "src/api/handles.h"
#include "src/core/device_proxy.h"

namespace strata::api {

// Whether this communicator's device-memory collectives of `kind` take this path: a kind the path
// has (peer_memory_plan.h), every rank bound to a GPU on the same host (hostId and kernel), in the
// same PID namespace, and either all on the same GPU or STRATA_CUDA_IPC=1 (the user vouches for
// peer access between the host's GPUs); STRATA_CUDA_IPC=0 turns it off. Every rank computes the
// same answer from the allgathered peer information and the settings compared at init.
bool peerMemoryApplies(const Communicator& comm, CollectiveKind kind);

// Queues `call` (device buffers, count > 0) on `stream`.
strataResult_t dispatchPeerCollective(Communicator* comm, DeviceProxy& proxy, void* stream, const CollectiveCall& call);

}  // namespace strata::api
