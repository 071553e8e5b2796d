// A single-producer single-consumer byte ring over a region of memory that may be shared between
// processes (shm transport) or threads (in-memory and self connections). Head and tail count bytes
// since creation and live on their own cache lines; `closed` lets either side fail the other fast.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "transports/memory/doorbell.h"

namespace strata {

struct alignas(64) SpscRingHeader {
  std::atomic<uint64_t> head;  // bytes written by the producer
  char padHead[56];
  std::atomic<uint64_t> tail;  // bytes consumed by the consumer
  char padTail[56];
  std::atomic<uint32_t> closed;
  uint32_t magic;
  uint64_t capacity;
  char padRest[48];
};
static_assert(sizeof(SpscRingHeader) == 192, "ring header layout is shared between processes");

class SpscByteRing {
 public:
  static constexpr uint32_t kMagic = 0x52494e47;  // "RING"

  // Bytes needed for a ring of `capacity` data bytes (header included).
  static size_t regionBytes(size_t capacity) { return sizeof(SpscRingHeader) + capacity / 8 * 8; }

  SpscByteRing() = default;
  // Formats `region` (which must be regionBytes(capacity) long) as an empty ring. The capacity
  // must be a multiple of 8 (RingConnection keeps messages 8-byte aligned in the ring).
  static SpscByteRing create(void* region, size_t capacity);
  // Views an already formatted ring; returns an invalid ring when the magic or size is wrong.
  static SpscByteRing attach(void* region, size_t regionSize);

  bool valid() const { return header_ != nullptr; }
  // Producer: copies up to `bytes`; returns how many fit.
  size_t write(const std::byte* data, size_t bytes);
  // Consumer: copies out up to `bytes`; returns how many were available.
  size_t read(std::byte* data, size_t bytes);
  // Consumer, zero-copy: the readable bytes from the tail up to the end of the buffer (at most
  // `max`), which stay put until consume(); then consume(n) releases them to the producer.
  size_t peek(const std::byte** data, size_t max);
  void consume(size_t bytes);
  // Consumer: copies the first `bytes` readable bytes out without consuming them; false when
  // fewer have arrived.
  bool peekCopy(std::byte* out, size_t bytes);
  // Either side: move the counter without copying (message padding, see RingConnection).
  size_t skipWrite(size_t bytes);
  size_t skipRead(size_t bytes);

  // The doorbell of the rank at the other end of this view (the consumer for the producer's
  // view, the producer for the consumer's), rung whenever this side publishes: new bytes wake a
  // sleeping consumer, freed space a sleeping producer. Null: nobody to wake.
  void setPeerDoorbell(DoorbellWord* bell) { peerDoorbell_ = bell; }

  void markClosed();
  bool isClosed() const { return header_->closed.load(std::memory_order_acquire) != 0; }

 private:
  SpscRingHeader* header_ = nullptr;
  std::byte* data_ = nullptr;
  uint64_t capacity_ = 0;
  // Each side caches the other side's counter so the common case reads no shared cache line.
  uint64_t cachedTail_ = 0;
  uint64_t cachedHead_ = 0;
  DoorbellWord* peerDoorbell_ = nullptr;
  void publishHead(uint64_t head);
  void publishTail(uint64_t tail);
};

}  // namespace strata
