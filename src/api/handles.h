// Handles the C API gives out, and how results leave the library. Communicator and stream handles
// are kept in registries, so a destroyed or made-up handle is an error rather than a crash; every
// failure stores its text as this thread's (and the communicator's) last error.
//
// Lifetime: a handle owns a reference to its object, and every call that uses the object holds
// one too (liveComm and resolveStream return references), so strataCommAbort or
// strataStreamDestroy from another thread (a watchdog) never frees an object under a running or
// queued operation: the object goes when its last user lets go.
#pragma once

#include <strata/strata.h>

#include <memory>

#include "src/common/status.h"
#include "src/core/communicator.h"
#include "src/core/host_stream.h"

struct strataComm {
  std::shared_ptr<strata::Communicator> impl;
};

namespace strata::api {

using CommRef = std::shared_ptr<Communicator>;
using StreamRef = std::shared_ptr<HostStream>;

void registerComm(strataComm* comm);
// False when the handle was not registered (already destroyed, or by another thread).
bool unregisterComm(strataComm* comm);
// The communicator behind a live handle, or an error naming the handle.
Result<CommRef> liveComm(strataComm_t comm, const char* function);

// Registers a new host stream; its handle is the HostStream's address.
strataStream_t registerStream(StreamRef stream);
// Takes the stream out of the registry and returns the registry's reference (null if unknown).
StreamRef unregisterStream(strataStream_t stream);
// NULL stream: null. A Strata host stream: a reference to it. Anything else: an error (a CUDA
// stream needs a CUDA build, which does not exist yet).
Result<StreamRef> resolveStream(strataStream_t stream, const char* function);

strataResult_t report(const Status& status, Communicator* comm = nullptr);
const char* threadLastError();

}  // namespace strata::api

// Turns escaping C++ exceptions (allocation failure) into a result code: none may cross the C API.
#define STRATA_API_BEGIN try {
#define STRATA_API_END                                                                     \
  }                                                                                        \
  catch (const std::bad_alloc&) {                                                          \
    return ::strata::api::report(::strata::systemError(std::string(__func__) + ": out of memory")); \
  }                                                                                        \
  catch (const std::exception& e) {                                                        \
    return ::strata::api::report(::strata::internalError(std::string(__func__) + ": " + e.what())); \
  }
