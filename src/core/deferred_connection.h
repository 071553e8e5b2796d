// A connection opened when a call first moves bytes on it, not at communicator init: a job of
// n ranks whose plans talk to a handful of peers each holds a handful of connections, not n - 1
// (descriptors, buffers and start-up time all grew with n). Until the real connection exists,
// every progress call takes one non-blocking step towards it (`establish`), so the first call
// that needs a peer opens it inside that call's deadline. A failure to open that this rank can
// see (the peer's listener refuses: it is gone) is an error at once; a peer that never comes is
// one at the wait's deadline.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include "transports/transport.h"

namespace strata {

class DeferredConnection : public Connection {
 public:
  // One step towards the connection: it, once open; null while under way; an error when it
  // cannot be opened. Called only from the thread that runs the communicator's calls.
  using Establish = std::function<Result<std::unique_ptr<Connection>>()>;

  // Called by close() when the connection never opened (any thread): what tells a peer that
  // waits on it that this rank gave up (tcp: the rendezvous shuts its listener and held sockets).
  using Abandon = std::function<void()>;

  DeferredConnection(const char* kind, Establish establish, Abandon abandon = nullptr)
      : kind_(kind), establish_(std::move(establish)), abandon_(std::move(abandon)) {}

  // Whether the real connection is open (tests, logs).
  bool isOpen() const { return open_.load(std::memory_order_acquire) != nullptr; }
  // One step towards opening it; ok while under way.
  Status advance();

  Status progressSend(TransferRequest& request) override;
  Status progressRecv(TransferRequest& request) override;
  Status progressFrame(TransferRequest& request) override;
  bool peekFrame(std::byte* out) override;
  Status checkPeer() override;
  Status prepare() override { return isOpen() ? Status::ok() : advance(); }
  void close() override;
  const char* kind() const override { return kind_; }
  // How to wait for it: the real connection's answers once it is open (a ucx connection's wake
  // descriptor, its unseen progress); before, a waiter naps and polls, which opens it. It never
  // offers zero-copy peeks: a transfer cannot switch to them half way.
  bool wakesOwnerDoorbell() const override;
  bool movedUnseen() const override;
  int wakeFd() const override;
  bool readyToSleep() override;

 private:
  // The real connection, or null after taking a step towards it.
  Result<Connection*> opened();
  // `use` on the real connection once it is open; ok (nothing moved) while it is not.
  template <typename Use>
  Status onceOpen(const Use& use) {
    auto c = opened();
    if (!c.ok()) return c.status();
    return c.value() != nullptr ? use(*c.value()) : Status::ok();
  }

  const char* kind_;
  Establish establish_;
  Abandon abandon_;
  std::unique_ptr<Connection> connection_;  // set once, under mutex_
  std::atomic<Connection*> open_{nullptr};  // connection_ once it is open: the fast path reads only this
  std::mutex mutex_;                        // orders close() (any thread) against opening
  bool closed_ = false;
};

}  // namespace strata
