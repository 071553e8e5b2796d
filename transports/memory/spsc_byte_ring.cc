#include "transports/memory/spsc_byte_ring.h"

#include <algorithm>
#include <cstring>
#include <new>

namespace strata {

SpscByteRing SpscByteRing::create(void* region, size_t capacity) {
  capacity = capacity / 8 * 8;
  auto* header = new (region) SpscRingHeader{};
  header->head.store(0, std::memory_order_relaxed);
  header->tail.store(0, std::memory_order_relaxed);
  header->closed.store(0, std::memory_order_relaxed);
  header->capacity = capacity;
  header->magic = kMagic;
  return attach(region, regionBytes(capacity));
}

SpscByteRing SpscByteRing::attach(void* region, size_t regionSize) {
  SpscByteRing ring;
  auto* header = static_cast<SpscRingHeader*>(region);
  if (regionSize < sizeof(SpscRingHeader) || header->magic != kMagic ||
      header->capacity != regionSize - sizeof(SpscRingHeader) || header->capacity == 0) {
    return ring;
  }
  ring.header_ = header;
  ring.data_ = static_cast<std::byte*>(region) + sizeof(SpscRingHeader);
  ring.capacity_ = header->capacity;
  ring.cachedHead_ = header->head.load(std::memory_order_acquire);
  ring.cachedTail_ = header->tail.load(std::memory_order_acquire);
  return ring;
}

// seq_cst stores: a sleeping peer's doorbell is looked at right after (doorbell.h).
void SpscByteRing::publishHead(uint64_t head) {
  header_->head.store(head, std::memory_order_seq_cst);
  if (peerDoorbell_ != nullptr) ringDoorbell(*peerDoorbell_);
}

void SpscByteRing::publishTail(uint64_t tail) {
  header_->tail.store(tail, std::memory_order_seq_cst);
  if (peerDoorbell_ != nullptr) ringDoorbell(*peerDoorbell_);
}

void SpscByteRing::markClosed() {
  header_->closed.store(1, std::memory_order_seq_cst);
  if (peerDoorbell_ != nullptr) ringDoorbell(*peerDoorbell_);
}

size_t SpscByteRing::write(const std::byte* data, size_t bytes) {
  uint64_t head = header_->head.load(std::memory_order_relaxed);
  if (head - cachedTail_ + bytes > capacity_) {
    cachedTail_ = header_->tail.load(std::memory_order_acquire);
  }
  size_t space = static_cast<size_t>(capacity_ - (head - cachedTail_));
  size_t n = std::min(space, bytes);
  if (n == 0) return 0;
  size_t at = static_cast<size_t>(head % capacity_);
  size_t first = std::min(n, static_cast<size_t>(capacity_) - at);
  std::memcpy(data_ + at, data, first);
  if (n > first) std::memcpy(data_, data + first, n - first);
  publishHead(head + n);
  return n;
}

size_t SpscByteRing::skipWrite(size_t bytes) {
  uint64_t head = header_->head.load(std::memory_order_relaxed);
  if (head - cachedTail_ + bytes > capacity_) cachedTail_ = header_->tail.load(std::memory_order_acquire);
  size_t n = std::min(static_cast<size_t>(capacity_ - (head - cachedTail_)), bytes);
  if (n > 0) publishHead(head + n);
  return n;
}

size_t SpscByteRing::skipRead(size_t bytes) {
  uint64_t tail = header_->tail.load(std::memory_order_relaxed);
  if (cachedHead_ - tail < bytes) cachedHead_ = header_->head.load(std::memory_order_acquire);
  size_t n = std::min(static_cast<size_t>(cachedHead_ - tail), bytes);
  if (n > 0) publishTail(tail + n);
  return n;
}

size_t SpscByteRing::peek(const std::byte** data, size_t max) {
  uint64_t tail = header_->tail.load(std::memory_order_relaxed);
  if (cachedHead_ - tail < max) cachedHead_ = header_->head.load(std::memory_order_acquire);
  size_t at = static_cast<size_t>(tail % capacity_);
  size_t n = std::min({static_cast<size_t>(cachedHead_ - tail), max, static_cast<size_t>(capacity_) - at});
  *data = data_ + at;
  return n;
}

bool SpscByteRing::peekCopy(std::byte* out, size_t bytes) {
  uint64_t tail = header_->tail.load(std::memory_order_relaxed);
  if (cachedHead_ - tail < bytes) cachedHead_ = header_->head.load(std::memory_order_acquire);
  if (cachedHead_ - tail < bytes) return false;
  size_t at = static_cast<size_t>(tail % capacity_);
  size_t first = std::min(bytes, static_cast<size_t>(capacity_) - at);
  std::memcpy(out, data_ + at, first);
  if (bytes > first) std::memcpy(out + first, data_, bytes - first);
  return true;
}

void SpscByteRing::consume(size_t bytes) {
  uint64_t tail = header_->tail.load(std::memory_order_relaxed);
  publishTail(tail + bytes);
}

size_t SpscByteRing::read(std::byte* data, size_t bytes) {
  uint64_t tail = header_->tail.load(std::memory_order_relaxed);
  if (cachedHead_ - tail < bytes) cachedHead_ = header_->head.load(std::memory_order_acquire);
  size_t available = static_cast<size_t>(cachedHead_ - tail);
  size_t n = std::min(available, bytes);
  if (n == 0) return 0;
  size_t at = static_cast<size_t>(tail % capacity_);
  size_t first = std::min(n, static_cast<size_t>(capacity_) - at);
  std::memcpy(data, data_ + at, first);
  if (n > first) std::memcpy(data + first, data_, n - first);
  publishTail(tail + n);
  return n;
}

}  // namespace strata
