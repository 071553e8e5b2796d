#include "experts.h"

#include <algorithm>
#include <cstring>

#include "layers.h"
#include "linalg.h"

namespace trainer {

void expertsForward(const ExpertShape& s, const std::vector<ExpertWeights>& w, const float* x, const int32_t* localIds,
                    const float* weights, int rows, float* out, ExpertsCache& cache) {
  const int d = s.dim, f = s.hidden, k = s.topK;
  cache.groups.resize(w.size());
  for (auto& group : cache.groups) {
    group.row.clear();
    group.slot.clear();
  }
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < k; ++j) {
      const int32_t e = localIds[static_cast<size_t>(i) * k + j];
      if (e < 0) continue;
      cache.groups[static_cast<size_t>(e)].row.push_back(i);
      cache.groups[static_cast<size_t>(e)].slot.push_back(j);
    }
  }
  std::fill(out, out + static_cast<size_t>(rows) * d, 0.0f);
  for (size_t e = 0; e < w.size(); ++e) {
    auto& group = cache.groups[e];
    const int n = static_cast<int>(group.row.size());
    group.in.resize(static_cast<size_t>(n) * d);
    group.pre.resize(static_cast<size_t>(n) * f);
    group.act.resize(static_cast<size_t>(n) * f);
    group.out.resize(static_cast<size_t>(n) * d);
    for (int r = 0; r < n; ++r) {
      std::memcpy(&group.in[static_cast<size_t>(r) * d], x + static_cast<size_t>(group.row[static_cast<size_t>(r)]) * d,
                  sizeof(float) * d);
    }
    linearForward(group.in.data(), w[e].w1, w[e].b1, group.pre.data(), n, d, f);
    geluForward(group.pre.data(), group.act.data(), group.act.size());
    linearForward(group.act.data(), w[e].w2, w[e].b2, group.out.data(), n, f, d);
    for (int r = 0; r < n; ++r) {
      const int i = group.row[static_cast<size_t>(r)];
      const float weight = weights[static_cast<size_t>(i) * k + group.slot[static_cast<size_t>(r)]];
      const float* y = &group.out[static_cast<size_t>(r) * d];
      float* o = out + static_cast<size_t>(i) * d;
      for (int c = 0; c < d; ++c) o[c] += weight * y[c];
    }
  }
}

void expertsBackward(const ExpertShape& s, const std::vector<ExpertWeights>& w, const float* dOut, const float* weights,
                     int rows, const ExpertsCache& cache, const std::vector<ExpertGrads>& g, float* dx,
                     float* dWeights) {
  const int d = s.dim, f = s.hidden, k = s.topK;
  std::fill(dx, dx + static_cast<size_t>(rows) * d, 0.0f);
  std::fill(dWeights, dWeights + static_cast<size_t>(rows) * k, 0.0f);
  std::vector<float> dy, dAct, dPre, dIn;
  for (size_t e = 0; e < w.size(); ++e) {
    const auto& group = cache.groups[e];
    const int n = static_cast<int>(group.row.size());
    dy.resize(static_cast<size_t>(n) * d);
    for (int r = 0; r < n; ++r) {
      const int i = group.row[static_cast<size_t>(r)], j = group.slot[static_cast<size_t>(r)];
      const float weight = weights[static_cast<size_t>(i) * k + j];
      const float* g0 = dOut + static_cast<size_t>(i) * d;
      const float* y = &group.out[static_cast<size_t>(r) * d];
      float dot = 0;
      for (int c = 0; c < d; ++c) {
        dy[static_cast<size_t>(r) * d + c] = weight * g0[c];
        dot += y[c] * g0[c];
      }
      dWeights[static_cast<size_t>(i) * k + j] = dot;
    }
    dAct.resize(static_cast<size_t>(n) * f);
    dPre.resize(static_cast<size_t>(n) * f);
    dIn.resize(static_cast<size_t>(n) * d);
    linearBackward(group.act.data(), w[e].w2, dy.data(), dAct.data(), g[e].w2, g[e].b2, n, f, d, false);
    geluBackward(group.pre.data(), dAct.data(), dPre.data(), dPre.size());
    linearBackward(group.in.data(), w[e].w1, dPre.data(), dIn.data(), g[e].w1, g[e].b1, n, d, f, false);
    for (int r = 0; r < n; ++r) {
      float* o = dx + static_cast<size_t>(group.row[static_cast<size_t>(r)]) * d;
      const float* src = &dIn[static_cast<size_t>(r) * d];
      for (int c = 0; c < d; ++c) o[c] += src[c];
    }
  }
}

}  // namespace trainer
