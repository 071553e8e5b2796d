#include "progress.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace trainer {

Progress::Progress(const Options& o, const Groups& groups, const ParamLayout& layout) : options_(o), groups_(groups) {
  if (groups_.rank != 0) return;
  std::printf(
      "moe_trainer: %d ranks (EP %d x DP %d), %d blocks, dim %d, %d heads, %d experts (%d per rank), top-%d, "
      "%zu dense + %zu expert weights per rank, global batch %d x %d tokens\n",
      groups.size, groups.epSize, groups.dpSize, o.model.blocks, o.model.dim, o.model.heads, o.model.experts,
      layout.localExperts, o.model.topK, layout.denseCount, layout.expertCount, o.batch, o.model.seq);
  csvPath_ = o.csv;
  if (csvPath_.empty() && !o.plot.empty()) {
    char path[] = "/tmp/moe_trainer_XXXXXX";
    const int fd = mkstemp(path);
    if (fd < 0) throw std::runtime_error("--plot: cannot create a temporary file for the data");
    close(fd);
    csvPath_ = path;
    csvIsTemporary_ = true;
  }
  if (!csvPath_.empty()) {
    csv_ = std::fopen(csvPath_.c_str(), "w");
    if (!csv_) throw std::runtime_error("--csv " + csvPath_ + ": cannot write it");
    std::fprintf(csv_, "step,loss,aux,grad_norm,lr,seconds,comm_seconds,tokens_per_second,load_min,load_max\n");
  }
  std::fflush(stdout);
}

Progress::~Progress() {
  if (csv_) std::fclose(csv_);
  if (csvIsTemporary_) std::remove(csvPath_.c_str());
}

namespace {

// A gnuplot string literal: single quotes, a quote inside doubled.
std::string quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

void Progress::checkOutputs(const Options& o) {
  if (!o.csv.empty()) {
    std::FILE* f = std::fopen(o.csv.c_str(), "a");
    if (!f) throw std::runtime_error("--csv " + o.csv + ": cannot write it (" + std::strerror(errno) + ")");
    std::fclose(f);
  }
  if (!o.plot.empty()) {
    const size_t slash = o.plot.rfind('/');
    const std::string dir = slash == std::string::npos ? "." : o.plot.substr(0, std::max<size_t>(slash, 1));
    if (access(dir.c_str(), W_OK) != 0) {
      throw std::runtime_error("--plot " + o.plot + ": cannot write in " + dir + " (" + std::strerror(errno) + ")");
    }
  }
}

bool Progress::plot() const {
  // The script goes to gnuplot's standard input: no shell sees the file names.
  const std::string data = quoted(csvPath_);
  const std::string script = "set terminal pngcairo size 1000,700 noenhanced\nset output " + quoted(options_.plot) +
                             "\nset datafile separator ','\nset multiplot layout 2,1\n"
                             "set title 'moe_trainer: loss'\nset xlabel 'step'\nset ylabel 'loss'\n"
                             "plot " +
                             data +
                             " every ::1 using 1:2 with lines title 'loss'\n"
                             "set title 'expert load (tokens per expert replica, all blocks)'\nset ylabel 'tokens'\n"
                             "plot " +
                             data + " every ::1 using 1:9 with lines title 'min', " + data +
                             " every ::1 using 1:10 with lines title 'max'\nunset multiplot\n";
  int input[2];
  if (pipe(input) != 0) return false;
  const pid_t child = fork();
  if (child < 0) {
    close(input[0]);
    close(input[1]);
    return false;
  }
  if (child == 0) {
    dup2(input[0], STDIN_FILENO);
    close(input[0]);
    close(input[1]);
    execlp("gnuplot", "gnuplot", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(input[0]);
  const bool written = write(input[1], script.data(), script.size()) == static_cast<ssize_t>(script.size());
  close(input[1]);
  int status = 0;
  while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  return written && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void Progress::record(const StepRecord& r) {
  steps_.push_back(r);
  if (groups_.rank != 0) return;
  if (csv_) {
    std::fprintf(csv_, "%d,%.9g,%.9g,%.7g,%.6g,%.6f,%.6f,%.1f,%zu,%zu\n", r.step, r.loss, r.aux, r.gradNorm, r.lr,
                 r.seconds, r.commSeconds, r.tokens / r.seconds, r.loadMin, r.loadMax);
  }
  const bool last = r.step + 1 == options_.steps;
  if (r.step % options_.logEvery == 0 || last) {
    std::printf("step %5d  loss %.4f  aux %.4f  |g| %.3f  lr %.2e  %8.0f tok/s  comm %4.1f%%  expert load %zu-%zu\n",
                r.step, r.loss, r.aux, r.gradNorm, r.lr, r.tokens / r.seconds, 100.0 * r.commSeconds / r.seconds,
                r.loadMin, r.loadMax);
    std::fflush(stdout);
  }
}

void Progress::finish(double heldOutLoss) {
  if (groups_.rank != 0 || steps_.empty()) return;
  // Steady state: the first step (allocation, first connections) is left out of the rates.
  double seconds = 0, comm = 0, tokens = 0;
  for (size_t i = steps_.size() > 1 ? 1 : 0; i < steps_.size(); ++i) {
    seconds += steps_[i].seconds;
    comm += steps_[i].commSeconds;
    tokens += steps_[i].tokens;
  }
  const size_t tail = std::min<size_t>(steps_.size(), static_cast<size_t>(options_.logEvery));
  double finalLoss = 0;
  for (size_t i = steps_.size() - tail; i < steps_.size(); ++i) finalLoss += steps_[i].loss;
  finalLoss /= static_cast<double>(tail);
  std::printf(
      "summary: %zu steps, %.0f tokens/s, communication %.1f%% of step time, loss %.4f -> %.4f (mean of the "
      "last %zu steps), expert load %zu-%zu tokens in the last step\n",
      steps_.size(), tokens / seconds, 100.0 * comm / seconds, steps_.front().loss, finalLoss, tail,
      steps_.back().loadMin, steps_.back().loadMax);
  std::printf("held-out: loss %.4f, perplexity %.2f (%d sequences of the held-out tenth)\n", heldOutLoss,
              std::exp(heldOutLoss), options_.batch);
  if (csv_) {
    std::fclose(csv_);
    csv_ = nullptr;
  }
  if (!options_.plot.empty()) {
    if (plot()) {
      std::printf("loss plot: %s\n", options_.plot.c_str());
    } else {
      std::printf("loss plot: gnuplot failed%s%s\n", options_.csv.empty() ? "" : "; the data is in ",
                  options_.csv.c_str());
    }
  }
  std::fflush(stdout);
}

}  // namespace trainer
