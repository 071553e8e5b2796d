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

void writeDump(const std::string& dir, Model& model, const Batch& batch, const StepLosses& losses, double globalTokens,
               const std::vector<float>& denseBefore, const std::vector<float>& expertBefore) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    throw std::runtime_error("--dump " + dir + ": cannot create it: " + std::strerror(errno));
  }
  const ModelConfig& c = model.config();
  std::ofstream m(dir + "/manifest.txt");
  m.precision(17);
  m << "vocab " << c.vocab << "\nseq " << c.seq << "\ndim " << c.dim << "\nheads " << c.heads << "\nblocks " << c.blocks
    << "\nmlp_hidden " << c.mlpHidden << "\nexperts " << c.experts << "\ntopk " << c.topK << "\nexpert_hidden "
    << c.expertHidden << "\naux_weight " << c.auxWeight << "\nsequences " << batch.sequences << "\ncross_entropy "
    << losses.crossEntropySum / globalTokens << "\naux " << losses.aux << "\n";
  for (const ParamTensor& t : model.layout().dense)
    m << "tensor " << t.name << " dense " << t.offset << " " << t.rows << " " << t.cols << "\n";
  for (const ParamTensor& t : model.layout().expert)
    m << "tensor " << t.name << " expert " << t.offset << " " << t.rows << " " << t.cols << "\n";
  if (!m) throw std::runtime_error("--dump: cannot write " + dir + "/manifest.txt");
  writeBinary(dir + "/dense.bin", denseBefore);
  writeBinary(dir + "/expert.bin", expertBefore);
  writeBinary(dir + "/dense_grad.bin", model.denseGrad());
  writeBinary(dir + "/expert_grad.bin", model.expertGrad());
  writeBinary(dir + "/inputs.bin", batch.inputs);
  writeBinary(dir + "/targets.bin", batch.targets);
}

}  // namespace trainer
