// Host streams through the C API.
#include "api/handles.h"

using strata::api::report;

extern "C" {

strataResult_t strataStreamCreate(strataStream_t* stream) {
  STRATA_API_BEGIN
  if (stream == nullptr) return report(strata::invalidArgument("strataStreamCreate: stream is NULL"));
  auto* host = new strata::HostStream();
  strata::api::registerStream(host);
  *stream = host;
  return strataSuccess;
  STRATA_API_END
}

strataResult_t strataStreamSynchronize(strataStream_t stream) {
  if (stream == nullptr) return strataSuccess;  // the NULL stream never has work outstanding
  auto host = strata::api::resolveStream(stream, "strataStreamSynchronize");
  if (!host.ok()) return report(host.status());
  return report(host.value()->synchronize());
}

strataResult_t strataStreamDestroy(strataStream_t stream) {
  if (stream == nullptr) return report(strata::invalidArgument("strataStreamDestroy: stream is NULL"));
  auto host = strata::api::resolveStream(stream, "strataStreamDestroy");
  if (!host.ok()) return report(host.status());
  strata::api::unregisterStream(host.value());
  delete host.value();  // drains queued work first
  return strataSuccess;
}

}  // extern "C"
