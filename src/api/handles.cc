#include "src/api/handles.h"

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>

namespace strata::api {
namespace {

// Never destroyed: at exit, streams and communicators the program did not destroy must not be
// torn down by static destructors (a stream would drain work that may wait for its timeout).
std::mutex& registryMutex() {
  static auto* m = new std::mutex();
  return *m;
}
std::set<strataComm*>& comms() {
  static auto* s = new std::set<strataComm*>();
  return *s;
}
std::map<strataStream_t, StreamRef>& streams() {
  static auto* s = new std::map<strataStream_t, StreamRef>();
  return *s;
}
thread_local std::string tlsLastError;

// Bumped (under the registry mutex) whenever a communicator handle is registered or unregistered.
std::atomic<uint64_t> commRegistryGeneration{1};

// The handle this thread found live last, and the registry generation it was found in. A training
// loop calls one communicator over and over: while no handle has come or gone since, the handle
// is still live, and the lookup skips the registry mutex (two of the per-call profile's largest
// entries). The communicator is held weakly, so a cached entry never keeps a destroyed one's
// connections open; the handle itself is only compared, never read.
struct LastLiveComm {
  const strataComm* handle = nullptr;
  std::weak_ptr<Communicator> comm;
  uint64_t generation = 0;
};
thread_local LastLiveComm tlsLastLiveComm;

std::string pointerText(const void* p) {
  std::ostringstream out;
  out << p;
  return out.str();
}

}  // namespace

void registerComm(strataComm* comm) {
  std::lock_guard<std::mutex> lock(registryMutex());
  comms().insert(comm);
  commRegistryGeneration.fetch_add(1, std::memory_order_release);
}

bool unregisterComm(strataComm* comm) {
  std::lock_guard<std::mutex> lock(registryMutex());
  const bool erased = comms().erase(comm) == 1;
  commRegistryGeneration.fetch_add(1, std::memory_order_release);
  return erased;
}

Result<CommRef> liveComm(strataComm_t comm, const char* function) {
  if (comm == nullptr) return invalidArgument(std::string(function) + ": comm is NULL");
  LastLiveComm& last = tlsLastLiveComm;
  if (last.handle == comm) {
    // Take the reference first, then check that nothing was unregistered: a destroy that
    // starts after the check finds our reference, as it would after a registry lookup.
    CommRef held = last.comm.lock();
    if (held && commRegistryGeneration.load(std::memory_order_acquire) == last.generation) return held;
  }
  std::lock_guard<std::mutex> lock(registryMutex());
  if (comms().count(comm) == 0) {
    return invalidArgument(std::string(function) + ": comm " + pointerText(comm) +
                           " is not a live communicator (destroyed, aborted, or never created)");
  }
  last = {comm, comm->impl, commRegistryGeneration.load(std::memory_order_relaxed)};
  return comm->impl;
}

strataStream_t registerStream(StreamRef stream) {
  std::lock_guard<std::mutex> lock(registryMutex());
  strataStream_t handle = stream.get();
  streams()[handle] = std::move(stream);
  return handle;
}

StreamRef unregisterStream(strataStream_t stream) {
  std::lock_guard<std::mutex> lock(registryMutex());
  auto it = streams().find(stream);
  if (it == streams().end()) return nullptr;
  StreamRef owned = std::move(it->second);
  streams().erase(it);
  return owned;
}

Result<StreamRef> resolveStream(strataStream_t stream, const char* function) {
  if (stream == nullptr) return StreamRef();
  std::lock_guard<std::mutex> lock(registryMutex());
  auto it = streams().find(stream);
  if (it == streams().end()) {
    return invalidArgument(std::string(function) + ": stream " + pointerText(stream) +
                           " is not a Strata host stream (strataStreamCreate); CUDA streams need a CUDA build");
  }
  return it->second;
}

strataResult_t report(const Status& status, Communicator* comm) {
  if (status.isOk()) return strataSuccess;
  tlsLastError = status.message();
  // Fatal errors were recorded where they happened (the executor); here only the text is kept.
  if (comm != nullptr) comm->setLastError(status.message());
  return status.code();
}

const char* threadLastError() { return tlsLastError.c_str(); }

}  // namespace strata::api
