// Host streams through the C API.
#include "src/api/handles.h"

using strata::api::report;

extern "C" {

strataResult_t strataStreamCreate(strataStream_t* stream) {
  STRATA_API_BEGIN
  if (stream == nullptr) return report(strata::invalidArgument("strataStreamCreate: stream is NULL"));
  *stream = strata::api::registerStream(std::make_shared<strata::HostStream>());
  return strataSuccess;
  STRATA_API_END
}

strataResult_t strataStreamSynchronize(strataStream_t stream) {
  STRATA_API_BEGIN
  if (stream == nullptr) return strataSuccess;  // the NULL stream never has work outstanding
  auto host = strata::api::resolveStream(stream, "strataStreamSynchronize");
  if (!host.ok()) return report(host.status());
  return report(host.value()->synchronize());
  STRATA_API_END
}

strataResult_t strataStreamDestroy(strataStream_t stream) {
  STRATA_API_BEGIN
  if (stream == nullptr) return report(strata::invalidArgument("strataStreamDestroy: stream is NULL"));
  strata::api::StreamRef host = strata::api::unregisterStream(stream);
  if (!host) return report(strata::invalidArgument("strataStreamDestroy: stream is not a live Strata host stream (destroyed twice?)"));
  // The stream drains its queue when the last reference goes: here, or in a thread that is still
  // queueing onto it.
  host.reset();
  return strataSuccess;
  STRATA_API_END
}

}  // extern "C"
