// A POSIX shared-memory segment mapped into this process. The creator unlinks the name as soon as
// every peer has mapped it (see ShmTransport), so a crash later leaves nothing behind in /dev/shm.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/status.h"

namespace strata {

class ShmSegment {
 public:
  ~ShmSegment();
  ShmSegment(const ShmSegment&) = delete;
  ShmSegment& operator=(const ShmSegment&) = delete;

  static Result<std::shared_ptr<ShmSegment>> create(const std::string& name, size_t bytes);
  static Result<std::shared_ptr<ShmSegment>> open(const std::string& name, size_t bytes);

  // Removes the name; the mapping stays valid until every process unmaps it.
  void unlink();

  std::byte* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& name() const { return name_; }

 private:
  ShmSegment(std::string name, std::byte* data, size_t size, bool owner)
      : name_(std::move(name)), data_(data), size_(size), owner_(owner) {}

  std::string name_;
  std::byte* data_;
  size_t size_;
  bool owner_;
  bool unlinked_ = false;
};

}  // namespace strata
