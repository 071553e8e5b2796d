// The UCX side of one communicator: a UCP context and one worker, whose address the ranks
// exchange through the bootstrap, and the endpoints made from those addresses. UCX chooses the
// wires (rc/dc/ud verbs on RDMA hardware, tcp, shared memory) from its own configuration, so
// UCX_TLS and UCX_NET_DEVICES work as UCX users expect.
//
// The worker runs in UCX's multi-thread mode: the executor progresses it from the thread that
// runs a call, while strataCommAbort may close endpoints from another thread.
#pragma once

#include <ucm/api/ucm.h>
#include <ucp/api/ucp.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "src/common/status.h"
#include "transports/ucx/registration_cache.h"

namespace strata {

class UcxWorker {
 public:
  static Result<std::shared_ptr<UcxWorker>> create();
  ~UcxWorker();
  UcxWorker(const UcxWorker&) = delete;
  UcxWorker& operator=(const UcxWorker&) = delete;

  // What peers need to reach this worker (opaque bytes).
  const std::vector<std::byte>& address() const { return address_; }

  // An endpoint to the worker at `address`; `onError(arg, ep, status)` runs (inside progress())
  // when UCX finds the peer unreachable, e.g. because its process died.
  Result<ucp_ep_h> connect(const std::vector<std::byte>& address, ucp_err_handler_cb_t onError, void* arg);

  // Runs UCX's progress engine once; true when it did something. Nothing once frozen.
  bool progress() { return !frozen() && ucp_worker_progress(worker_) != 0; }
  // Never progresses again: a receive into a caller's buffer that could not be cancelled must not
  // complete after the call that posted it returned (the communicator has failed).
  void freeze() { frozen_.store(true); }
  bool frozen() const { return frozen_.load(); }

  ucp_worker_h handle() const { return worker_; }

  // Readable when the worker has events to progress; arm() before sleeping on it (false: events
  // are pending already, progress instead).
  int eventFd() const { return eventFd_; }
  bool arm() { return ucp_worker_arm(worker_) == UCS_OK; }
  // Wakes a waiter asleep on eventFd() (an abort from another thread).
  void signal() { ucp_worker_signal(worker_); }

  // A registration (ucp_mem_map) covering a payload buffer, from the worker's cache, for one
  // operation (release it when the operation is over); empty for small buffers or when the cache
  // is off (UCX then registers on its own, per operation).
  RegistrationCache::Lease registration(const void* address, size_t bytes) {
    return registrations_ ? registrations_->acquire(address, bytes) : RegistrationCache::Lease{};
  }
  void release(const RegistrationCache::Lease& lease) {
    if (registrations_) registrations_->release(lease);
  }
  // Null when the cache is off (UCX cannot report unmaps here: UCX_MEM_EVENTS=no, a static binary).
  const RegistrationCache* registrations() const { return registrations_.get(); }

  // The transports UCX chose for an endpoint, as ucp_ep_print_info words them (for INFO logs).
  static std::string describe(ucp_ep_h ep);

 private:
  UcxWorker() = default;
  void startRegistrationCache();
  static void onUnmap(ucm_event_type_t type, ucm_event_t* event, void* self);

  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  std::vector<std::byte> address_;
  int eventFd_ = -1;
  std::atomic<bool> frozen_{false};
  std::unique_ptr<RegistrationCache> registrations_;
  bool watchingUnmaps_ = false;
};

// Whether this host has an RDMA device for UCX's verbs transports to drive (an entry under
// /sys/class/infiniband): under STRATA_NET=auto, ucx carries inter-host traffic only when every
// rank has one.
bool hostHasRdmaDevice();

// "UCX <version>", for the INFO banner and errors.
std::string ucxVersionText();

}  // namespace strata
