#include "dump.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace trainer {
namespace {

template <typename T>
void writeBinary(const std::string& path, const std::vector<T>& data) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size() * sizeof(T)));
  if (!out) throw std::runtime_error("--dump: cannot write " + path);
}

}  // namespace

DumpedStep::DumpedStep(Model& model, AdamW& denseOptimizer, AdamW& expertOptimizer)
    : dense_(model.dense()),
      expert_(model.expert()),
      denseM_(denseOptimizer.firstMoment()),
      denseV_(denseOptimizer.secondMoment()),
      expertM_(expertOptimizer.firstMoment()),
      expertV_(expertOptimizer.secondMoment()),
      optimizer_(denseOptimizer.config()) {}

void DumpedStep::finish(const std::string& dir, int step, Model& model, const Batch& batch, const StepLosses& losses,
                        double globalTokens, float lr, float clipScale, long long updates) const {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error("--dump " + dir + ": cannot create it: " + std::strerror(errno));
  }
  const ModelConfig& c = model.config();
  std::ofstream m(dir + "/manifest.txt");
  m.precision(17);
  m << "vocab " << c.vocab << "\nseq " << c.seq << "\ndim " << c.dim << "\nheads " << c.heads << "\nblocks " << c.blocks
    << "\nmlp_hidden " << c.mlpHidden << "\nexperts " << c.experts << "\ntopk " << c.topK << "\nexpert_hidden "
    << c.expertHidden << "\naux_weight " << c.auxWeight << "\nsequences " << batch.sequences << "\ncross_entropy "
    << losses.crossEntropySum / globalTokens << "\naux " << losses.aux << "\nstep " << step << "\nlr " << lr
    << "\nclip_scale " << clipScale << "\nupdates " << updates << "\nbase_lr " << optimizer_.lr << "\nwarmup "
    << optimizer_.warmupSteps << "\ntotal_steps " << optimizer_.totalSteps << "\nbeta1 " << optimizer_.beta1
    << "\nbeta2 " << optimizer_.beta2 << "\neps " << optimizer_.eps << "\nweight_decay " << optimizer_.weightDecay
    << "\nclip " << optimizer_.clipNorm << "\n";
  for (const ParamTensor& t : model.layout().dense)
    m << "tensor " << t.name << " dense " << t.offset << " " << t.rows << " " << t.cols << " " << t.decay << "\n";
  for (const ParamTensor& t : model.layout().expert)
    m << "tensor " << t.name << " expert " << t.offset << " " << t.rows << " " << t.cols << " " << t.decay << "\n";
  if (!m) throw std::runtime_error("--dump: cannot write " + dir + "/manifest.txt");
  writeBinary(dir + "/dense.bin", dense_);
  writeBinary(dir + "/expert.bin", expert_);
  writeBinary(dir + "/dense_grad.bin", model.denseGrad());
  writeBinary(dir + "/expert_grad.bin", model.expertGrad());
  writeBinary(dir + "/dense_m.bin", denseM_);
  writeBinary(dir + "/dense_v.bin", denseV_);
  writeBinary(dir + "/expert_m.bin", expertM_);
  writeBinary(dir + "/expert_v.bin", expertV_);
  writeBinary(dir + "/dense_after.bin", model.dense());
  writeBinary(dir + "/expert_after.bin", model.expert());
  writeBinary(dir + "/inputs.bin", batch.inputs);
  writeBinary(dir + "/targets.bin", batch.targets);
}

}  // namespace trainer
