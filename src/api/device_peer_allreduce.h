// Allreduce on device memory among the ranks of one host that can read each other's GPU memory
// (the cuda_ipc path): no byte goes through host memory. Each rank's stream waits until every
// rank's input is final, then one kernel reduces all ranks' inputs, read in place from their
// device memory, into this rank's output (one-shot); the stream then waits until every rank has
// finished reading, so no rank overwrites an input another still reads.
//
// The host only synchronises, through the communicator's device proxy (core/device_proxy.h), so
// the calls keep their call order across streams as the staged path does: after the stream
// reaches the call, the proxy gathers every rank's input address (CUDA IPC handles between
// processes, plain addresses between threads of one process; opened handles are cached), fills
// the kernel's address table in mapped pinned memory, lets the stream through, waits for the
// kernel, and meets the other ranks again before letting the stream finish.
#pragma once

#include <strata/strata.h>

#include "src/api/handles.h"
#include "src/core/device_proxy.h"

namespace strata::api {

// Whether this communicator's device-memory allreduces take this path: every rank bound to a GPU
// on the same host (hostId and kernel), in the same PID namespace, and either all on the same GPU
// or STRATA_CUDA_IPC=1 (the user vouches for peer access between the host's GPUs);
// STRATA_CUDA_IPC=0 turns it off. Every rank computes the same answer from the allgathered peer
// information and the settings compared at init.
bool peerAllReduceApplies(const Communicator& comm);

// Queues `call` (an allreduce of device buffers with count > 0) on `stream`.
strataResult_t dispatchPeerAllReduce(Communicator* comm, DeviceProxy& proxy, void* stream, const CollectiveCall& call);

}  // namespace strata::api
