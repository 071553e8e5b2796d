// Shared memory for the ranks of one host: an anonymous memfd, mapped here, handed to peers as a
// descriptor (descriptor_exchange.h). Nothing has a name, so nothing can be left behind in
// /dev/shm by a crash, and two jobs can never collide; the memory goes with its last mapping.
//
// Liveness without pids: the creator holds a lock on its segment (an open-file-description lock,
// released by the kernel when the creator dies) on a private open file description; peers get a
// different one, through which they can test the lock. This works across PID namespaces
// (containers sharing a host), where pid numbers mean nothing.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "src/common/status.h"

namespace strata {

class ShmSegment {
 public:
  ~ShmSegment();
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;

  // A new segment of `bytes`, every page reserved now (too little memory is a clear error here,
  // not a SIGBUS later), locked by this process. `label` shows in /proc maps.
  static Result<std::shared_ptr<ShmSegment>> create(const std::string& label, size_t bytes);
  // Maps a segment received from its creator; takes ownership of `fd`. The size must match.
  static Result<std::shared_ptr<ShmSegment>> adopt(int fd, size_t bytes);
  // Neither maps its pages in: a rank writes one ring of each peer's segment and reads the rings
  // of the peers that send to it, so faulting every page in cost each rank the host's whole
  // shared memory (128 ranks on 16 emulated hosts spent half their start in page faults). Each
  // prefaults the parts it uses at once with this: [offset, offset + bytes), writable (best
  // effort: a kernel without MADV_POPULATE_WRITE faults them in on first touch instead).
  void populate(size_t offset, size_t bytes) const;

  // Creator: a new descriptor for peers, on its own open file description (so the creator's
  // lock stays private to the creator). The caller closes it once sent.
  Result<int> shareableDescriptor() const;
  // Adopter: whether the creator still holds its lock (true when that cannot be told).
  bool creatorAlive() const;

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  ShmSegment(int fd, std::byte* data, size_t size, bool creator) : fd_(fd), data_(data), size_(size), creator_(creator) {}

  int fd_;
  std::byte* data_;
  size_t size_;
  bool creator_;
};

}  // namespace strata
