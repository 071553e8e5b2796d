#include "api/handles.h"

#include <mutex>
#include <set>
#include <sstream>
#include <string>

namespace strata::api {
namespace {

std::mutex& registryMutex() {
  static std::mutex m;
  return m;
}
std::set<strataComm*>& comms() {
  static std::set<strataComm*> s;
  return s;
}
std::set<HostStream*>& streams() {
  static std::set<HostStream*> s;
  return s;
}
thread_local std::string tlsLastError;

std::string pointerText(const void* p) {
  std::ostringstream out;
  out << p;
  return out.str();
}

}  // namespace

void registerComm(strataComm* comm) {
  std::lock_guard<std::mutex> lock(registryMutex());
  comms().insert(comm);
}

void unregisterComm(strataComm* comm) {
  std::lock_guard<std::mutex> lock(registryMutex());
  comms().erase(comm);
}

Result<Communicator*> liveComm(strataComm_t comm, const char* function) {
  if (comm == nullptr) return invalidArgument(std::string(function) + ": comm is NULL");
  std::lock_guard<std::mutex> lock(registryMutex());
  if (comms().count(comm) == 0) {
    return invalidArgument(std::string(function) + ": comm " + pointerText(comm) +
                           " is not a live communicator (destroyed, aborted, or never created)");
  }
  return comm->impl.get();
}

void registerStream(HostStream* stream) {
  std::lock_guard<std::mutex> lock(registryMutex());
  streams().insert(stream);
}

bool unregisterStream(HostStream* stream) {
  std::lock_guard<std::mutex> lock(registryMutex());
  return streams().erase(stream) == 1;
}

Result<HostStream*> resolveStream(strataStream_t stream, const char* function) {
  if (stream == nullptr) return static_cast<HostStream*>(nullptr);
  std::lock_guard<std::mutex> lock(registryMutex());
  auto* host = static_cast<HostStream*>(stream);
  if (streams().count(host) == 0) {
    return invalidArgument(std::string(function) + ": stream " + pointerText(stream) +
                           " is not a Strata host stream (strataStreamCreate); CUDA streams need a CUDA build");
  }
  return host;
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
