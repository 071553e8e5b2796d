#include "transports/shm/shm_segment.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "src/common/errno_text.h"

namespace strata {
namespace {

constexpr int kSizeSeals = F_SEAL_SHRINK | F_SEAL_GROW;

// The byte range the creator locks; peers test the same range.
flock livenessRange(short type) {
  flock range{};
  range.l_type = type;
  range.l_whence = SEEK_SET;
  range.l_start = 0;
  range.l_len = 1;
  return range;
}

// Mapped without faulting pages in: the creator's fallocate has allocated every page, so a first
// touch is a minor fault, and each rank prefaults (populate()) the parts it uses at once.
Result<std::byte*> mapShared(int fd, size_t bytes) {
  void* data = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) return systemError("mmap of " + std::to_string(bytes) + " bytes of shared memory failed: " + errnoText(errno));
  return static_cast<std::byte*>(data);
}

}  // namespace

ShmSegment::~ShmSegment() {
  if (data_ != nullptr) munmap(data_, size_);
  if (fd_ >= 0) ::close(fd_);
}

Result<std::shared_ptr<ShmSegment>> ShmSegment::create(const std::string& label, size_t bytes) {
  int fd = memfd_create(label.c_str(), MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return systemError("memfd_create(" + label + ") failed: " + errnoText(errno));
  // Reserve every page now, so a machine short of memory fails here with a message.
  int reserve = posix_fallocate(fd, 0, static_cast<off_t>(bytes));
  if (reserve != 0) {
    ::close(fd);
    return systemError("cannot reserve " + std::to_string(bytes) + " bytes of shared memory for " + label + ": " +
                       errnoText(reserve) + "; free memory or lower STRATA_BUFFSIZE / STRATA_WINDOW_BYTES");
  }
  // Sealed at its size: no process holding it can shrink it under a peer's mapping (SIGBUS).
  if (fcntl(fd, F_ADD_SEALS, kSizeSeals | F_SEAL_SEAL) != 0) {
    int err = errno;
    ::close(fd);
    return systemError("cannot seal the size of shared memory " + label + ": " + errnoText(err));
  }
  flock lock = livenessRange(F_WRLCK);
  if (fcntl(fd, F_OFD_SETLK, &lock) != 0) {
    int err = errno;
    ::close(fd);
    return systemError("cannot lock shared memory " + label + ": " + errnoText(err));
  }
  auto data = mapShared(fd, bytes);
  if (!data.ok()) {
    ::close(fd);
    return data.status();
  }
  return std::shared_ptr<ShmSegment>(new ShmSegment(fd, data.value(), bytes, true));
}

Result<std::shared_ptr<ShmSegment>> ShmSegment::adopt(int fd, size_t bytes) {
  // Seals first: once the size is sealed, the size read next is the size for good.
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0 || (seals & kSizeSeals) != kSizeSeals) {
    ::close(fd);
    return systemError("received shared memory whose size is not sealed: it could shrink under this mapping");
  }
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return systemError("cannot inspect received shared memory: " + errnoText(err));
  }
  if (static_cast<size_t>(st.st_size) != bytes) {
    ::close(fd);
    return systemError("received shared memory of " + std::to_string(st.st_size) + " bytes where " +
                       std::to_string(bytes) + " were expected (a rank with other STRATA_BUFFSIZE/STRATA_WINDOW_BYTES?)");
  }
  auto data = mapShared(fd, bytes);
  if (!data.ok()) {
    ::close(fd);
    return data.status();
  }
  return std::shared_ptr<ShmSegment>(new ShmSegment(fd, data.value(), bytes, false));
}

void ShmSegment::populate(size_t offset, size_t bytes) const {
  if (offset >= size_) return;
  constexpr size_t kPage = 4096;
  const size_t begin = offset / kPage * kPage;
  const size_t end = std::min(size_, offset + bytes);
#ifdef MADV_POPULATE_WRITE  // Linux 5.14; older headers: pages fault in on first touch
  madvise(data_ + begin, end - begin, MADV_POPULATE_WRITE);  // failure only leaves faults for later
#else
  (void)begin;
  (void)end;
#endif
}

Result<int> ShmSegment::shareableDescriptor() const {
  // Reopening through /proc makes a new open file description for the same memory; a dup() would
  // share the creator's, and with it the lock, which must die with the creator alone.
  std::string path = "/proc/self/fd/" + std::to_string(fd_);
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return systemError("cannot reopen shared memory through " + path + ": " + errnoText(errno) + " (is /proc mounted?)");
  return fd;
}

bool ShmSegment::creatorAlive() const {
  if (creator_) return true;
  flock probe = livenessRange(F_WRLCK);
  if (fcntl(fd_, F_OFD_GETLK, &probe) != 0) return true;  // cannot tell: the timeout still applies
  return probe.l_type != F_UNLCK;
}

}  // namespace strata
