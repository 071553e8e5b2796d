// Every pointer the plugin has handed to NCCL (contexts, comms, memory handles, requests), by
// kind, so that a call given a stale, foreign or mistyped pointer returns an NCCL error instead of
// following it. A lookup is a lock and a hash probe: small beside a socket call.
#pragma once

namespace strata::nccl_net {

enum class ObjectKind { Context, ListenComm, Connector, SendComm, RecvComm, Memory, SendRequest, RecvRequest, Tuner };

void rememberObject(const void* object, ObjectKind kind);
void forgetObject(const void* object);
bool isLiveObject(const void* object, ObjectKind kind);
// The kind of a live object; false when `object` is none of ours.
bool findObject(const void* object, ObjectKind* kind);

// `pointer` as a T when it is a live object of `kind`, else null.
template <typename T>
T* liveObject(void* pointer, ObjectKind kind) {
  return isLiveObject(pointer, kind) ? static_cast<T*>(pointer) : nullptr;
}

}  // namespace strata::nccl_net
