#include "output_forwarder.h"

#include <poll.h>
#include <unistd.h>

#include <cerrno>

namespace strata::run {

void OutputForwarder::addRank(int rank, int stdoutFd, int stderrFd) {
  sources_.push_back({rank, stdoutFd, 1, {}});
  sources_.push_back({rank, stderrFd, 2, {}});
}

void OutputForwarder::emit(Source& source, bool flushAll) {
  size_t start = 0;
  while (true) {
    size_t end = source.pending.find('\n', start);
    if (end == std::string::npos) break;
    std::string line = (prefix_ ? "[" + std::to_string(source.rank) + "] " : "") +
                       source.pending.substr(start, end - start + 1);
    (void)!write(source.target, line.data(), line.size());
    start = end + 1;
  }
  source.pending.erase(0, start);
  if (flushAll && !source.pending.empty()) {
    std::string line = (prefix_ ? "[" + std::to_string(source.rank) + "] " : "") + source.pending + "\n";
    (void)!write(source.target, line.data(), line.size());
    source.pending.clear();
  }
}

bool OutputForwarder::pump(int timeoutMs) {
  std::vector<pollfd> fds;
  for (auto& s : sources_) fds.push_back({s.fd, POLLIN, 0});
  if (fds.empty()) return false;
  int rc = poll(fds.data(), fds.size(), timeoutMs);
  if (rc <= 0) return true;
  for (size_t i = 0; i < fds.size(); ++i) {
    if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    char buffer[65536];
    ssize_t n = read(sources_[i].fd, buffer, sizeof(buffer));
    if (n > 0) {
      sources_[i].pending.append(buffer, static_cast<size_t>(n));
      emit(sources_[i], false);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
      emit(sources_[i], true);
      close(sources_[i].fd);
      sources_[i].fd = -1;
    }
  }
  std::erase_if(sources_, [](const Source& s) { return s.fd < 0; });
  return !sources_.empty();
}

}  // namespace strata::run
