#include "src/core/deferred_connection.h"

namespace strata {

Status DeferredConnection::advance() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (connection_ != nullptr) return Status::ok();
  if (closed_) return remoteError(std::string("the ") + kind_ + " connection was closed (abort) before it was opened");
  auto step = establish_();
  if (!step.ok()) return step.status();
  if (step.value() != nullptr) {
    connection_ = std::move(step.value());
    open_.store(connection_.get(), std::memory_order_release);
  }
  return Status::ok();
}

Result<Connection*> DeferredConnection::opened() {
  if (Connection* c = open_.load(std::memory_order_acquire)) return c;
  STRATA_RETURN_IF_ERROR(advance());
  return open_.load(std::memory_order_acquire);
}

Status DeferredConnection::progressSend(TransferRequest& request) {
  return onceOpen([&](Connection& c) { return c.progressSend(request); });
}

Status DeferredConnection::progressRecv(TransferRequest& request) {
  return onceOpen([&](Connection& c) { return c.progressRecv(request); });
}

Status DeferredConnection::progressFrame(TransferRequest& request) {
  return onceOpen([&](Connection& c) { return c.progressFrame(request); });
}

bool DeferredConnection::peekFrame(std::byte* out) {
  Connection* c = open_.load(std::memory_order_acquire);
  return c != nullptr && c->peekFrame(out);
}

Status DeferredConnection::checkPeer() {
  return onceOpen([](Connection& c) { return c.checkPeer(); });
}

bool DeferredConnection::wakesOwnerDoorbell() const {
  const Connection* c = open_.load(std::memory_order_acquire);
  return c != nullptr && c->wakesOwnerDoorbell();
}

bool DeferredConnection::movedUnseen() const {
  const Connection* c = open_.load(std::memory_order_acquire);
  return c != nullptr && c->movedUnseen();
}

int DeferredConnection::wakeFd() const {
  const Connection* c = open_.load(std::memory_order_acquire);
  return c != nullptr ? c->wakeFd() : -1;
}

bool DeferredConnection::readyToSleep() {
  Connection* c = open_.load(std::memory_order_acquire);
  return c != nullptr && c->readyToSleep();
}

void DeferredConnection::close() {
  std::lock_guard<std::mutex> lock(mutex_);
  closed_ = true;
  if (connection_ != nullptr) {
    connection_->close();
  } else if (abandon_) {
    abandon_();
  }
}

}  // namespace strata
