// Copies each rank's stdout/stderr to ours line by line, with "[rank] " in front when asked.
#pragma once

#include <string>
#include <vector>

namespace strata::run {

class OutputForwarder {
 public:
  explicit OutputForwarder(bool prefix) : prefix_(prefix) {}
  // Registers the read ends of a rank's pipes.
  void addRank(int rank, int stdoutFd, int stderrFd);
  // Forwards what is readable, waiting at most timeoutMs. False once every pipe is closed.
  bool pump(int timeoutMs);

 private:
  struct Source {
    int rank;
    int fd;
    int target;  // 1 or 2
    std::string pending;
  };
  void emit(Source& source, bool flushAll);
  bool prefix_;
  std::vector<Source> sources_;
};

}  // namespace strata::run
