#include "src/common/text_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "src/common/errno_text.h"

namespace strata {

Result<std::string> readTextFile(const std::string& path, const std::string& what, size_t maxBytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return invalidArgument("cannot read " + what + " '" + path + "': " + errnoText(errno));
  struct stat st {};
  if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    return invalidArgument(what + " '" + path + "' is a directory, not a file");
  }
  // Pipes and devices have no size up front: read at most one byte past the limit either way.
  std::string text;
  char buffer[65536];
  while (true) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return invalidArgument("cannot read " + what + " '" + path + "': " + errnoText(err));
    }
    if (n == 0) break;
    if (text.size() + static_cast<size_t>(n) > maxBytes) {
      ::close(fd);
      return invalidArgument(what + " '" + path + "' is larger than " + std::to_string(maxBytes) +
                             " bytes; is it the right file?");
    }
    text.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace strata
