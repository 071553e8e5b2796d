#include "model_config.h"

namespace trainer {

std::string ModelConfig::problem(int epSize) const {
  if (dim % heads != 0) return "--heads " + std::to_string(heads) + " does not divide --dim " + std::to_string(dim);
  if (topK > experts) return "--topk " + std::to_string(topK) + " is more than --experts " + std::to_string(experts);
  if (experts % epSize != 0) {
    return "--experts " + std::to_string(experts) + " is not divisible by the EP group size " + std::to_string(epSize);
  }
  return "";
}

}  // namespace trainer
