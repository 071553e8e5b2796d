// C entry points for versions, errors and communicator lifecycle.
#include <chrono>
#include <cstring>
#include <thread>

#include "src/api/group_state.h"
#include "src/api/handles.h"
#include "src/common/log.h"
#include "src/common/params.h"
#include "src/core/bootstrap.h"
#include "src/core/comm_split.h"
#include "src/core/env_init.h"

using strata::Status;
using strata::api::report;

namespace {

// A config must come from STRATA_CONFIG_INITIALIZER and hold values Strata can honour; NULL means
// every default.
Status checkConfig(const strataConfig_t* config, const char* function) {
  if (config == nullptr) return Status::ok();
  if (config->magic != STRATA_CONFIG_MAGIC || config->size < offsetof(strataConfig_t, commName) + sizeof(char*)) {
    return strata::invalidArgument(std::string(function) +
                                   ": config was not initialised with STRATA_CONFIG_INITIALIZER (bad magic or size)");
  }
  if (config->blocking == 0) {
    return strata::invalidArgument(std::string(function) +
                                   ": config.blocking=0 (non-blocking communicators) is not supported yet");
  }
  if (config->blocking != 1 && config->blocking != STRATA_CONFIG_UNDEF_INT) {
    return strata::invalidArgument(std::string(function) + ": config.blocking=" + std::to_string(config->blocking) +
                                   " must be 1 (or left undefined)");
  }
  if (config->timeoutMs != STRATA_CONFIG_UNDEF_INT && config->timeoutMs <= 0) {
    return strata::invalidArgument(std::string(function) + ": config.timeoutMs=" + std::to_string(config->timeoutMs) +
                                   " must be positive (milliseconds) or left undefined");
  }
  return Status::ok();
}

strataResult_t initCommunicator(strataComm_t* comm, int nranks, const strataUniqueId& id, int rank,
                                const strataConfig_t* config, const char* function) {
  if (comm == nullptr) return report(strata::invalidArgument(std::string(function) + ": comm (output pointer) is NULL"));
  *comm = nullptr;
  if (nranks < 1) return report(strata::invalidArgument(std::string(function) + ": nranks=" + std::to_string(nranks) + " must be at least 1"));
  if (rank < 0 || rank >= nranks) {
    return report(strata::invalidArgument(std::string(function) + ": rank=" + std::to_string(rank) +
                                          " is outside [0, nranks=" + std::to_string(nranks) + ")"));
  }
  if (strata::api::groupDepth() > 0) {
    return report(strata::invalidUsage(std::string(function) + " inside strataGroupStart/End is not supported"));
  }
  Status configured = checkConfig(config, function);
  if (!configured.isOk()) return report(configured);
  auto created = strata::Communicator::create(id, nranks, rank, config);
  if (!created.ok()) return report(created.status().withContext(std::string(function) + ": "));
  auto* handle = new strataComm{std::shared_ptr<strata::Communicator>(std::move(created.value()))};
  strata::api::registerComm(handle);
  *comm = handle;
  return strataSuccess;
}

}  // namespace

extern "C" {

strataResult_t strataGetVersion(int* version) {
  if (version == nullptr) return report(strata::invalidArgument("strataGetVersion: version is NULL"));
  *version = STRATA_VERSION_CODE;
  return strataSuccess;
}

const char* strataGetErrorString(strataResult_t result) {
  switch (result) {
    case strataSuccess: return "no error";
    case strataUnhandledCudaError: return "unhandled cuda error (run with STRATA_DEBUG=INFO for details)";
    case strataSystemError: return "unhandled system error (run with STRATA_DEBUG=INFO for details)";
    case strataInternalError: return "internal error - please report this issue to the Strata developers";
    case strataInvalidArgument: return "invalid argument (run with STRATA_DEBUG=WARN for details)";
    case strataInvalidUsage: return "invalid usage (run with STRATA_DEBUG=WARN for details)";
    case strataRemoteError: return "remote process exited or there was a network error";
    case strataInProgress: return "Strata operation in progress";
    case strataTimeout: return "a wait timed out (STRATA_TIMEOUT_MS)";
    default: return "unknown result code";
  }
}

const char* strataGetLastError(strataComm_t comm) {
  auto live = comm != nullptr ? strata::api::liveComm(comm, "strataGetLastError") : strata::api::CommRef();
  if (live.ok() && live.value()) {
    // Per-communicator text lives in thread-local storage so the pointer stays valid.
    static thread_local std::string text;
    text = live.value()->lastError();
    if (!text.empty()) return text.c_str();
  }
  return strata::api::threadLastError();
}

strataResult_t strataCommGetAsyncError(strataComm_t comm, strataResult_t* asyncError) {
  auto live = strata::api::liveComm(comm, "strataCommGetAsyncError");
  if (!live.ok()) return report(live.status());
  if (asyncError == nullptr) return report(strata::invalidArgument("strataCommGetAsyncError: asyncError is NULL"));
  *asyncError = live.value()->asyncError();
  return strataSuccess;
}

strataResult_t strataGetUniqueId(strataUniqueId* uniqueId) {
  STRATA_API_BEGIN
  if (uniqueId == nullptr) return report(strata::invalidArgument("strataGetUniqueId: uniqueId is NULL"));
  auto params = strata::Params::fromEnvironment();
  if (!params.ok()) return report(params.status().withContext("strataGetUniqueId: "));
  auto id = strata::createUniqueId(params.value().socketIfname, params.value().timeoutMs);
  if (!id.ok()) return report(id.status().withContext("strataGetUniqueId: "));
  *uniqueId = id.value();
  return strataSuccess;
  STRATA_API_END
}

strataResult_t strataCommInitRank(strataComm_t* comm, int nranks, strataUniqueId commId, int rank) {
  STRATA_API_BEGIN
  return initCommunicator(comm, nranks, commId, rank, nullptr, "strataCommInitRank");
  STRATA_API_END
}

strataResult_t strataCommInitRankConfig(strataComm_t* comm, int nranks, strataUniqueId commId, int rank,
                                        strataConfig_t* config) {
  STRATA_API_BEGIN
  return initCommunicator(comm, nranks, commId, rank, config, "strataCommInitRankConfig");
  STRATA_API_END
}

strataResult_t strataCommInitFromEnv(strataComm_t* comm) {
  STRATA_API_BEGIN
  if (comm == nullptr) return report(strata::invalidArgument("strataCommInitFromEnv: comm (output pointer) is NULL"));
  *comm = nullptr;
  auto launch = strata::launchFromEnvironment();
  if (!launch.ok()) return report(launch.status().withContext("strataCommInitFromEnv: "));
  STRATA_INFO(Init, "launched by %s as rank %d of %d", launch.value().source.c_str(), launch.value().rank,
              launch.value().nranks);
  return initCommunicator(comm, launch.value().nranks, launch.value().id, launch.value().rank, nullptr,
                          "strataCommInitFromEnv");
  STRATA_API_END
}

strataResult_t strataCommSplit(strataComm_t comm, int color, int key, strataComm_t* newcomm, strataConfig_t* config) {
  STRATA_API_BEGIN
  auto live = strata::api::liveComm(comm, "strataCommSplit");
  if (!live.ok()) return report(live.status());
  strata::Communicator* parent = live.value().get();
  if (newcomm == nullptr) return report(strata::invalidArgument("strataCommSplit: newcomm is NULL"), parent);
  *newcomm = nullptr;
  if (strata::api::groupDepth() > 0) {
    return report(strata::invalidUsage("strataCommSplit inside strataGroupStart/End is not supported"), parent);
  }
  // A bad color or config still joins the split's first exchange, so the other ranks fail at once
  // with this rank named instead of waiting for it until the timeout.
  Status arguments = checkConfig(config, "strataCommSplit");
  if (arguments.isOk() && color < 0 && color != STRATA_SPLIT_NOCOLOR) {
    arguments = strata::invalidArgument("strataCommSplit: color=" + std::to_string(color) +
                                        " must be >= 0 or STRATA_SPLIT_NOCOLOR");
  }
  auto child = strata::splitCommunicator(*parent, color, key, config, arguments);
  if (!child.ok()) {
    Status failed = child.status();
    return report(failed.code() == strataInvalidArgument ? failed : failed.withContext("strataCommSplit: "), parent);
  }
  if (child.value()) {
    auto* handle = new strataComm{std::shared_ptr<strata::Communicator>(std::move(child.value()))};
    strata::api::registerComm(handle);
    *newcomm = handle;
  }
  return strataSuccess;
  STRATA_API_END
}

strataResult_t strataCommFinalize(strataComm_t comm) {
  auto live = strata::api::liveComm(comm, "strataCommFinalize");
  if (!live.ok()) return report(live.status());
  live.value()->waitForPending();
  return live.value()->asyncError();
}

strataResult_t strataCommDestroy(strataComm_t comm) {
  STRATA_API_BEGIN
  if (comm == nullptr) return strataSuccess;  // as free(NULL)
  auto live = strata::api::liveComm(comm, "strataCommDestroy");
  if (!live.ok()) return report(live.status());
  if (strata::api::groupHasOperationsFor(live.value().get())) {
    return report(strata::invalidUsage("strataCommDestroy: the open group still holds operations on this comm"));
  }
  // Of two threads destroying one handle, one wins; the other sees a dead handle.
  if (!strata::api::unregisterComm(comm)) {
    return report(strata::invalidArgument("strataCommDestroy: comm is being destroyed or aborted by another thread"));
  }
  delete comm;
  // Queued host-stream work finishes first, as NCCL's destroy does, and lets go of the
  // communicator, so it is freed here: its connections and its shared-memory lock are gone when
  // destroy returns.
  live.value()->waitForPending();
  strata::Deadline deadline(live.value()->params().timeoutMs);
  while (live.value().use_count() > 1 && !deadline.expired()) std::this_thread::sleep_for(std::chrono::microseconds(50));
  if (live.value().use_count() > 1) {
    // A call on another thread still runs on it (destroying under a call is misuse; abort is the
    // way to stop one): the handle is gone, and the rest goes when that call returns.
    return report(strata::invalidUsage("strataCommDestroy: a call on another thread still used the communicator after " +
                                       std::to_string(deadline.timeoutMs()) +
                                       " ms (STRATA_TIMEOUT_MS); the handle is destroyed and its connections close when "
                                       "that call returns (use strataCommAbort to stop a running call)"));
  }
  return strataSuccess;
  STRATA_API_END
}

strataResult_t strataCommAbort(strataComm_t comm) {
  STRATA_API_BEGIN
  if (comm == nullptr) return strataSuccess;
  auto live = strata::api::liveComm(comm, "strataCommAbort");
  if (!live.ok()) return report(live.status());
  if (!strata::api::unregisterComm(comm)) {
    return report(strata::invalidArgument("strataCommAbort: comm is being destroyed or aborted by another thread"));
  }
  delete comm;
  // Running and queued operations fail fast from here on; each holds a reference, so the
  // communicator is freed when the last of them returns, never under one.
  live.value()->abort();
  return strataSuccess;
  STRATA_API_END
}

strataResult_t strataCommCount(const strataComm_t comm, int* count) {
  auto live = strata::api::liveComm(comm, "strataCommCount");
  if (!live.ok()) return report(live.status());
  if (count == nullptr) return report(strata::invalidArgument("strataCommCount: count is NULL"));
  *count = live.value()->nranks();
  return strataSuccess;
}

strataResult_t strataCommUserRank(const strataComm_t comm, int* rank) {
  auto live = strata::api::liveComm(comm, "strataCommUserRank");
  if (!live.ok()) return report(live.status());
  if (rank == nullptr) return report(strata::invalidArgument("strataCommUserRank: rank is NULL"));
  *rank = live.value()->rank();
  return strataSuccess;
}

}  // extern "C"
