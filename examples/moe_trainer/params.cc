#include "params.h"

#include <cmath>
#include <random>

#include "hash.h"

namespace trainer {
namespace {

class Builder {
 public:
  explicit Builder(std::vector<ParamTensor>& list, size_t& count) : list_(list), count_(count) {}
  size_t add(std::string name, int rows, int cols, ParamTensor::Init init, bool decay, float initStd = 0.02f) {
    ParamTensor t;
    t.name = std::move(name);
    t.offset = count_;
    t.rows = rows;
    t.cols = cols;
    t.count = static_cast<size_t>(rows) * cols;
    t.init = init;
    t.decay = decay;
    t.initStd = initStd;
    list_.push_back(t);
    count_ += t.count;
    return t.offset;
  }

 private:
  std::vector<ParamTensor>& list_;
  size_t& count_;
};

// A stream per tensor: FNV-1a of the name, started from the run's seed.
unsigned long long streamSeed(const std::string& name, unsigned long long seed) {
  return fnv1a(name.data(), name.size(), kFnvOffsetBasis ^ seed);
}

void fill(const ParamTensor& t, unsigned long long seed, float* data) {
  if (t.init != ParamTensor::Init::Normal) {
    for (size_t i = 0; i < t.count; ++i) data[i] = t.init == ParamTensor::Init::Ones ? 1.0f : 0.0f;
    return;
  }
  // Box-Muller over a fixed generator: the same numbers on every platform and standard library.
  std::mt19937_64 gen(streamSeed(t.name, seed));
  auto uniform = [&] { return (static_cast<double>(gen() >> 11) + 0.5) * (1.0 / 9007199254740992.0); };
  for (size_t i = 0; i < t.count; i += 2) {
    const double r = std::sqrt(-2.0 * std::log(uniform())), angle = 2.0 * M_PI * uniform();
    data[i] = static_cast<float>(r * std::cos(angle) * t.initStd);
    if (i + 1 < t.count) data[i + 1] = static_cast<float>(r * std::sin(angle) * t.initStd);
  }
}

}  // namespace

ParamLayout ParamLayout::make(const ModelConfig& c, int epRank, int epSize) {
  using Init = ParamTensor::Init;
  ParamLayout L;
  L.localExperts = c.experts / epSize;
  L.firstExpert = epRank * L.localExperts;
  Builder dense(L.dense, L.denseCount), expert(L.expert, L.expertCount);
  // Residual-branch outputs start smaller, as GPT-2 does: their sum over blocks stays unit-sized.
  const float projectionStd = 0.02f / std::sqrt(2.0f * c.blocks);
  L.headW = dense.add("head.w", c.dim, c.vocab, Init::Normal, true);
  L.headB = dense.add("head.b", 1, c.vocab, Init::Zeros, false);
  L.blocks.resize(static_cast<size_t>(c.blocks));
  for (int b = c.blocks - 1; b >= 0; --b) {
    BlockOffsets& o = L.blocks[static_cast<size_t>(b)];
    const std::string p = "block" + std::to_string(b) + ".";
    o.ln2Gamma = dense.add(p + "ln2.gamma", 1, c.dim, Init::Ones, false);
    o.ln2Beta = dense.add(p + "ln2.beta", 1, c.dim, Init::Zeros, false);
    o.router = dense.add(p + "router", c.dim, c.experts, Init::Normal, true);
    o.mlpW2 = dense.add(p + "mlp.w2", c.mlpHidden, c.dim, Init::Normal, true, projectionStd);
    o.mlpB2 = dense.add(p + "mlp.b2", 1, c.dim, Init::Zeros, false);
    o.mlpW1 = dense.add(p + "mlp.w1", c.dim, c.mlpHidden, Init::Normal, true);
    o.mlpB1 = dense.add(p + "mlp.b1", 1, c.mlpHidden, Init::Zeros, false);
    o.ln1Gamma = dense.add(p + "ln1.gamma", 1, c.dim, Init::Ones, false);
    o.ln1Beta = dense.add(p + "ln1.beta", 1, c.dim, Init::Zeros, false);
    o.attnOut = dense.add(p + "attn.out", c.dim, c.dim, Init::Normal, true, projectionStd);
    o.attnOutBias = dense.add(p + "attn.out_bias", 1, c.dim, Init::Zeros, false);
    o.qkv = dense.add(p + "attn.qkv", c.dim, 3 * c.dim, Init::Normal, true);
    o.qkvBias = dense.add(p + "attn.qkv_bias", 1, 3 * c.dim, Init::Zeros, false);
    o.denseEnd = L.denseCount;
    for (int e = 0; e < L.localExperts; ++e) {
      const std::string q = p + "expert" + std::to_string(L.firstExpert + e) + ".";
      BlockOffsets::Expert x;
      x.w1 = expert.add(q + "w1", c.dim, c.expertHidden, Init::Normal, true);
      x.b1 = expert.add(q + "b1", 1, c.expertHidden, Init::Zeros, false);
      x.w2 = expert.add(q + "w2", c.expertHidden, c.dim, Init::Normal, true, projectionStd);
      x.b2 = expert.add(q + "b2", 1, c.dim, Init::Zeros, false);
      o.experts.push_back(x);
    }
    o.expertEnd = L.expertCount;
  }
  L.positions = dense.add("embed.positions", c.seq, c.dim, Init::Normal, true, 0.01f);
  L.tokens = dense.add("embed.tokens", c.vocab, c.dim, Init::Normal, true);
  return L;
}

void initializeParams(const ParamLayout& layout, unsigned long long seed, std::vector<float>& dense,
                      std::vector<float>& expert) {
  dense.assign(layout.denseCount, 0.0f);
  expert.assign(layout.expertCount, 0.0f);
  for (const ParamTensor& t : layout.dense) fill(t, seed, dense.data() + t.offset);
  for (const ParamTensor& t : layout.expert) fill(t, seed, expert.data() + t.offset);
}

}  // namespace trainer
