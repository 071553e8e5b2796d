#include "transports/memory/single_copy.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

namespace strata {
namespace {

// The error text is built only here: a read that works builds none.
Status readError(int error, pid_t pid, int ownerRank) {
  const std::string who = "rank " + std::to_string(ownerRank) + " (pid " + std::to_string(pid) + ")";
  if (error == ESRCH) return remoteError(who + " has exited");
  if (error == EFAULT) {
    return invalidUsage("reading the buffer of " + who + " failed with EFAULT: its buffer is shorter than the call says");
  }
  return systemError("single-copy read (process_vm_readv) from " + who + " failed: " + std::strerror(error));
}

void advance(iovec& piece, size_t bytes) {
  piece.iov_base = static_cast<std::byte*>(piece.iov_base) + bytes;
  piece.iov_len -= bytes;
}

}  // namespace

Status readFromProcess(pid_t pid, int ownerRank, iovec* local, iovec* remote, size_t count) {
  size_t at = 0;  // the first piece not yet read whole
  while (at < count && local[at].iov_len == 0) ++at;
  while (at < count) {
    const ssize_t got = ::process_vm_readv(pid, local + at, count - at, remote + at, count - at, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return readError(errno, pid, ownerRank);
    }
    if (got == 0) return readError(EFAULT, pid, ownerRank);
    // A short read stops at a piece boundary or inside a piece: skip what arrived and go on.
    for (size_t left = static_cast<size_t>(got); left > 0;) {
      const size_t take = std::min(left, local[at].iov_len);
      advance(local[at], take);
      advance(remote[at], take);
      left -= take;
      while (at < count && local[at].iov_len == 0) ++at;
    }
  }
  return Status::ok();
}

bool readsBackEqual(pid_t pid, uint64_t address, const void* expected, size_t bytes) {
  std::vector<std::byte> copy(bytes);
  iovec local{copy.data(), bytes};
  iovec remote{reinterpret_cast<void*>(address), bytes};
  return ::process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(bytes) &&
         std::memcmp(copy.data(), expected, bytes) == 0;
}

}  // namespace strata
