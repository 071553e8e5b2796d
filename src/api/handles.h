// Handles the C API gives out, and how results leave the library. Communicator and stream handles
// are kept in registries, so a destroyed or made-up handle is an error rather than a crash; every
// failure stores its text as this thread's (and the communicator's) last error.
#pragma once

#include <strata/strata.h>

#include <memory>

#include "common/status.h"
#include "core/communicator.h"
#include "core/host_stream.h"

struct strataComm {
  std::unique_ptr<strata::Communicator> impl;
};

namespace strata::api {

void registerComm(strataComm* comm);
void unregisterComm(strataComm* comm);
// The communicator behind a live handle, or an error naming the handle.
Result<Communicator*> liveComm(strataComm_t comm, const char* function);

void registerStream(HostStream* stream);
bool unregisterStream(HostStream* stream);
// NULL stream: nullptr. A Strata host stream: it. Anything else: an error (a CUDA stream needs a
// CUDA build, which does not exist yet).
Result<HostStream*> resolveStream(strataStream_t stream, const char* function);

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
