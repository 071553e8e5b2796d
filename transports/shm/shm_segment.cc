#include "shm/shm_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/errno_text.h"

namespace strata {

ShmSegment::~ShmSegment() {
  if (owner_) unlink();
  if (data_ != nullptr) munmap(data_, size_);
}

void ShmSegment::unlink() {
  if (owner_ && !unlinked_) {
    shm_unlink(name_.c_str());
    unlinked_ = true;
  }
}

Result<std::shared_ptr<ShmSegment>> ShmSegment::create(const std::string& name, size_t bytes) {
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return systemError("shm_open(" + name + ", create) failed: " + errnoText(errno));
  // posix_fallocate reserves the pages now: a /dev/shm too small for the job is a clear error
  // here instead of a SIGBUS at the first touch of a page that cannot be backed.
  int reserve = posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  if (reserve != 0) {
    ::close(fd);
    shm_unlink(name.c_str());
    return systemError("cannot reserve " + std::to_string(bytes) + " bytes of shared memory for " + name + ": " +
                       errnoText(reserve) + "; enlarge /dev/shm or lower STRATA_BUFFSIZE");
  }
  if (ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
    int err = errno;
    ::close(fd);
    shm_unlink(name.c_str());
    return systemError("ftruncate of shared memory " + name + " to " + std::to_string(bytes) +
                       " bytes failed: " + errnoText(err) + "; is /dev/shm large enough?");
  }
  // MAP_POPULATE: fault every page in now. Otherwise the first trip round each ring pays a page
  // fault per 4 KiB, which makes the first few hundred small messages several times slower.
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  int err = errno;
  ::close(fd);
  if (data == MAP_FAILED) {
    shm_unlink(name.c_str());
    return systemError("mmap of shared memory " + name + " failed: " + errnoText(err));
  }
  return std::shared_ptr<ShmSegment>(new ShmSegment(name, static_cast<std::byte*>(data), bytes, true));
}

Result<std::shared_ptr<ShmSegment>> ShmSegment::open(const std::string& name, size_t bytes) {
  int fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return systemError("shm_open(" + name + ") failed: " + errnoText(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || static_cast<size_t>(st.st_size) != bytes) {
    ::close(fd);
    return systemError("shared memory " + name + " has the wrong size (peer from another job?)");
  }
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
  int err = errno;
  ::close(fd);
  if (data == MAP_FAILED) return systemError("mmap of shared memory " + name + " failed: " + errnoText(err));
  return std::shared_ptr<ShmSegment>(new ShmSegment(name, static_cast<std::byte*>(data), bytes, false));
}

}  // namespace strata
