#include "checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "agreement.h"
#include "hash.h"

namespace trainer {
namespace {

constexpr char kMagic[8] = {'S', 'T', 'R', 'A', 'C', 'K', 'P', '2'};

// What a shard records about the run that wrote it; resume requires the same. (The layout is
// read back by tests/trainer/parallel_equivalence.sh.)
struct ShardHeader {
  char magic[8];
  int32_t vocab, seq, dim, heads, blocks, mlpHidden, experts, topK, expertHidden;
  int32_t ranks, ep, dp, rank;
  int32_t step;
  int64_t updates;
  uint64_t denseCount, expertCount;
  RunSettings settings;
};

std::string stepDir(const std::string& dir, int step) {
  char name[32];
  std::snprintf(name, sizeof name, "/step-%08d", step);
  return dir + name;
}

std::string shardPath(const std::string& dir, int step, int rank, uint64_t runId) {
  char name[48];
  std::snprintf(name, sizeof name, "/rank-%05d-%016" PRIx64 ".ckpt", rank, runId);
  return stepDir(dir, step) + name;
}

void makeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error("checkpoint: cannot create " + path + ": " + std::strerror(errno));
  }
}

void syncDir(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

// Test hook: MOE_TRAINER_CRASH_IN_SAVE=half-shard|before-latest makes a save die there, as a
// kill at that moment would (tests/trainer/checkpoint.sh).
bool crashAt(const char* where) {
  const char* v = std::getenv("MOE_TRAINER_CRASH_IN_SAVE");
  return v && std::strcmp(v, where) == 0;
}

// Writes `bytes` to `path` atomically: a temporary file, fsync, rename, fsync of the directory.
void writeAtomically(const std::string& path, const std::string& dir, const std::vector<char>& bytes) {
  const std::string temporary = path + ".tmp";
  const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw std::runtime_error("checkpoint: cannot write " + temporary + ": " + std::strerror(errno));
  size_t length = bytes.size();
  if (crashAt("half-shard")) length /= 2;
  size_t done = 0;
  while (done < length) {
    const ssize_t n = write(fd, bytes.data() + done, length - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      close(fd);
      throw std::runtime_error("checkpoint: writing " + temporary + " failed: " + std::strerror(errno));
    }
    done += static_cast<size_t>(n);
  }
  if (crashAt("half-shard")) {
    // Die as a kill would, with the half-written shard under its final name: resume must still
    // never take it for a complete one.
    fsync(fd);
    rename(temporary.c_str(), path.c_str());
    _exit(9);
  }
  if (fsync(fd) != 0 || close(fd) != 0) throw std::runtime_error("checkpoint: fsync of " + temporary + " failed");
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    throw std::runtime_error("checkpoint: cannot rename " + temporary + ": " + std::strerror(errno));
  }
  syncDir(dir);
}

template <typename T>
void append(std::vector<char>& out, const T* data, size_t count) {
  const char* p = reinterpret_cast<const char*>(data);
  out.insert(out.end(), p, p + count * sizeof(T));
}

ShardHeader headerFor(const ModelConfig& c, const Groups& g, int step, long long updates, const ParamLayout& layout,
                      const RunSettings& settings) {
  ShardHeader h{};
  h.settings = settings;
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.vocab = c.vocab;
  h.seq = c.seq;
  h.dim = c.dim;
  h.heads = c.heads;
  h.blocks = c.blocks;
  h.mlpHidden = c.mlpHidden;
  h.experts = c.experts;
  h.topK = c.topK;
  h.expertHidden = c.expertHidden;
  h.ranks = g.size;
  h.ep = g.epSize;
  h.dp = g.dpSize;
  h.rank = g.rank;
  h.step = step;
  h.updates = updates;
  h.denseCount = layout.denseCount;
  h.expertCount = layout.expertCount;
  return h;
}

// "name saved (this run: now), ..." for the fields that differ.
class Differences {
 public:
  template <typename T>
  void field(const char* name, T saved, T now) {
    if (saved != now) add() << name << " " << saved << " (this run: " << now << ")";
  }
  std::ostream& add() { return out_ << (out_.tellp() > 0 ? ", " : ""); }
  std::string text() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::string shapeDifference(const ShardHeader& saved, const ShardHeader& now) {
  Differences d;
  d.field("--seq", saved.seq, now.seq);
  d.field("--dim", saved.dim, now.dim);
  d.field("--heads", saved.heads, now.heads);
  d.field("--blocks", saved.blocks, now.blocks);
  d.field("--mlp-hidden", saved.mlpHidden, now.mlpHidden);
  d.field("--experts", saved.experts, now.experts);
  d.field("--topk", saved.topK, now.topK);
  d.field("--expert-hidden", saved.expertHidden, now.expertHidden);
  d.field("vocabulary", saved.vocab, now.vocab);
  return d.text();
}

std::string settingsDifference(const RunSettings& saved, const RunSettings& now) {
  Differences d;
  d.field("--seed", saved.seed, now.seed);
  d.field("--batch", saved.batch, now.batch);
  d.field("--steps", saved.steps, now.steps);
  d.field("--warmup", saved.warmup, now.warmup);
  d.field("--lr", saved.lr, now.lr);
  d.field("--weight-decay", saved.weightDecay, now.weightDecay);
  d.field("--clip", saved.clip, now.clip);
  d.field("--aux-weight", saved.auxWeight, now.auxWeight);
  if (saved.dataFingerprint != now.dataFingerprint)
    d.add() << "the training text (another --data file, or other contents)";
  return d.text();
}

struct Latest {
  int step = -1, ranks = 0, ep = 0, dp = 0;
  uint64_t run = 0;
};

// DIR/latest, or step -1 when there is none.
Latest readLatest(const std::string& dir) {
  Latest l;
  std::ifstream in(dir + "/latest");
  std::string key;
  while (in >> key) {
    if (key == "step")
      in >> l.step;
    else if (key == "ranks")
      in >> l.ranks;
    else if (key == "ep")
      in >> l.ep;
    else if (key == "dp")
      in >> l.dp;
    else if (key == "run")
      in >> std::hex >> l.run >> std::dec;
  }
  return l;
}

}  // namespace

void saveCheckpoint(const CheckpointRun& run, int step, const Groups& groups, TrainingState state) {
  Model& model = state.model;
  std::string problem;
  try {
    makeDir(run.dir);
    const std::string folder = stepDir(run.dir, step);
    makeDir(folder);
    const ShardHeader header =
        headerFor(model.config(), groups, step, state.denseOptimizer.updates(), model.layout(), run.settings);
    std::vector<char> bytes;
    append(bytes, &header, 1);
    for (const std::vector<float>* v :
         {&model.dense(), &model.expert(), &state.denseOptimizer.firstMoment(), &state.denseOptimizer.secondMoment(),
          &state.expertOptimizer.firstMoment(), &state.expertOptimizer.secondMoment()}) {
      append(bytes, v->data(), v->size());
    }
    const uint64_t checksum = fnv1a(bytes.data(), bytes.size());
    append(bytes, &checksum, 1);
    writeAtomically(shardPath(run.dir, step, groups.rank, run.runId), folder, bytes);
  } catch (const std::exception& e) {
    problem = e.what();
  }
  // Every shard is on disk before `latest` may name the step.
  agreeOrFail(groups.world, groups.rank, problem, "writing checkpoint shards");
  if (groups.rank == 0) {
    if (crashAt("before-latest")) _exit(9);
    try {
      std::ostringstream manifest;
      manifest << "step " << step << "\nranks " << groups.size << "\nep " << groups.epSize << "\ndp " << groups.dpSize
               << "\nrun " << std::hex << run.runId << "\n";
      const std::string text = manifest.str();
      writeAtomically(run.dir + "/latest", run.dir, std::vector<char>(text.begin(), text.end()));
    } catch (const std::exception& e) {
      problem = e.what();
    }
  }
  agreeOrFail(groups.world, groups.rank, problem, "publishing the checkpoint");
}

namespace {

int loadShard(const std::string& dir, const RunSettings& settings, const Groups& groups, TrainingState state) {
  Model& model = state.model;
  const Latest latest = readLatest(dir);
  if (latest.step < 0) {
    throw std::invalid_argument("--resume " + dir + ": no complete checkpoint there (no " + dir + "/latest)");
  }
  if (latest.ranks != groups.size || latest.ep != groups.epSize || latest.dp != groups.dpSize) {
    throw std::invalid_argument("--resume " + dir + ": the checkpoint is of " + std::to_string(latest.ranks) +
                                " ranks as EP " + std::to_string(latest.ep) + " x DP " + std::to_string(latest.dp) +
                                "; this run is " + std::to_string(groups.size) + " ranks as EP " +
                                std::to_string(groups.epSize) + " x DP " + std::to_string(groups.dpSize) +
                                " (resume with the same --ep/--dp and rank count)");
  }
  const int step = latest.step;
  const std::string path = shardPath(dir, step, groups.rank, latest.run);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("--resume: cannot open " + path);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const ShardHeader expected = headerFor(model.config(), groups, step, 0, model.layout(), settings);
  if (bytes.size() < sizeof(ShardHeader) + sizeof(uint64_t) || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0) {
    throw std::invalid_argument("--resume: " + path + " is not a moe_trainer checkpoint shard (or is cut short)");
  }
  ShardHeader saved;
  std::memcpy(&saved, bytes.data(), sizeof saved);
  if (std::string d = shapeDifference(saved, expected); !d.empty()) {
    throw std::invalid_argument("--resume: " + path + " holds a model of another shape: " + d);
  }
  if (std::string d = settingsDifference(saved.settings, settings); !d.empty()) {
    throw std::invalid_argument("--resume: " + path + " was trained with other settings: " + d +
                                " (resuming would not continue that run)");
  }
  const size_t floats = 3 * (expected.denseCount + expected.expertCount);
  if (saved.denseCount != expected.denseCount || saved.expertCount != expected.expertCount ||
      bytes.size() != sizeof(ShardHeader) + floats * sizeof(float) + sizeof(uint64_t)) {
    throw std::invalid_argument("--resume: " + path + " has " + std::to_string(bytes.size()) + " bytes, not the " +
                                std::to_string(sizeof(ShardHeader) + floats * sizeof(float) + sizeof(uint64_t)) +
                                " this shape needs: it is damaged or cut short");
  }
  uint64_t checksum;
  std::memcpy(&checksum, bytes.data() + bytes.size() - sizeof checksum, sizeof checksum);
  if (checksum != fnv1a(bytes.data(), bytes.size() - sizeof checksum)) {
    throw std::invalid_argument("--resume: " + path + " fails its checksum: the file is damaged");
  }
  if (saved.step != step || saved.rank != groups.rank) {
    throw std::invalid_argument("--resume: " + path + " is of step " + std::to_string(saved.step) + ", rank " +
                                std::to_string(saved.rank) + "; expected step " + std::to_string(step) + ", rank " +
                                std::to_string(groups.rank));
  }
  const char* p = bytes.data() + sizeof(ShardHeader);
  for (std::vector<float>* v :
       {&model.dense(), &model.expert(), &state.denseOptimizer.firstMoment(), &state.denseOptimizer.secondMoment(),
        &state.expertOptimizer.firstMoment(), &state.expertOptimizer.secondMoment()}) {
    std::memcpy(v->data(), p, v->size() * sizeof(float));
    p += v->size() * sizeof(float);
  }
  state.denseOptimizer.updates() = saved.updates;
  state.expertOptimizer.updates() = saved.updates;
  return step;
}

}  // namespace

int loadCheckpoint(const std::string& dir, const RunSettings& settings, const Groups& groups, TrainingState state) {
  std::string problem;
  int step = 0;
  try {
    step = loadShard(dir, settings, groups, state);
  } catch (const std::exception& e) {
    problem = e.what();
  }
  agreeOrFail(groups.world, groups.rank, problem, "loading the checkpoint");
  return step;
}

std::string saveDirectoryProblem(const std::string& saveDir, const std::string& resumeDir) {
  if (saveDir.empty() || saveDir == resumeDir) return "";
  const Latest latest = readLatest(saveDir);
  if (latest.step < 0) return "";
  return "--save " + saveDir + " already holds a checkpoint (step " + std::to_string(latest.step) +
         "): continue it with --resume " + saveDir + ", or save elsewhere";
}

}  // namespace trainer
