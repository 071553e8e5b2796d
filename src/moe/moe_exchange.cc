#include "moe/moe_exchange.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/datatype.h"
#include "moe/moe_route.h"
#include "moe/moe_rows.h"

namespace strata::moe {
namespace {

size_t topK(const strataMoeHandle& h) { return static_cast<size_t>(h.routing.topK); }

// The sum of a token's returned rows, one float32 row per token (in the handle's staging).
class TokenSums {
 public:
  TokenSums(const strataMoeHandle& h, size_t hidden)
      : hidden_(hidden), tokens_(h.routing.numTokens), sums_(h.zeroedSums(tokens_ * hidden)) {}
  void add(uint32_t token, strataDataType_t dtype, const void* row) {
    accumulateRow(dtype, row, hidden_, sums_ + token * hidden_);
  }
  void store(strataDataType_t dtype, void* out) const {
    size_t es = dataTypeSize(dtype);
    for (size_t t = 0; t < tokens_; ++t) {
      storeRow(dtype, sums_ + t * hidden_, hidden_, static_cast<unsigned char*>(out) + t * hidden_ * es);
    }
  }

 private:
  size_t hidden_;
  size_t tokens_;
  float* sums_;
};

}  // namespace

Status dispatch(const strataMoeHandle& h, const DispatchArgs& a) {
  // The row layout must be the same on every rank, whatever pointers each passed: weights always
  // travel (zeros when the sender has none), scales whenever the dtype is float8e4m3.
  const size_t k = topK(h);
  const size_t xBytes = a.hidden * dataTypeSize(a.dtype);
  const size_t scaleBytes = a.dtype == strataFloat8e4m3 ? scalesPerRow(a.hidden) * sizeof(float) : 0;
  const size_t weightBytes = k * sizeof(float);
  const size_t rowBytes = xBytes + scaleBytes + weightBytes;
  const auto* x = static_cast<const unsigned char*>(a.x);
  FillRow fill = [&](uint32_t t, unsigned char* row) {
    std::memcpy(row, x + t * xBytes, xBytes);
    if (scaleBytes) std::memcpy(row + xBytes, reinterpret_cast<const unsigned char*>(a.xScales) + t * scaleBytes, scaleBytes);
    if (a.topkWeights) {
      std::memcpy(row + xBytes + scaleBytes, a.topkWeights + t * k, weightBytes);
    } else {
      std::memset(row + xBytes + scaleBytes, 0, weightBytes);
    }
  };
  // A weight reaches only the rank hosting its expert; elsewhere it reads 0.
  AdaptRow keepLocalWeights = [&](unsigned char* row, int dest, const int32_t* experts) {
    for (size_t j = 0; j < k; ++j) {
      if (experts[j] < 0 || h.routing.rankOfExpert(experts[j]) != dest) {
        std::memset(row + xBytes + scaleBytes + j * sizeof(float), 0, sizeof(float));
      }
    }
  };
  auto received = routeOut(h, rowBytes, fill, keepLocalWeights);
  if (!received.ok()) return received.status().withContext("strataMoeDispatch: ");
  const unsigned char* row = received.value();
  auto* recvX = static_cast<unsigned char*>(a.recvX);
  for (size_t i = 0; i < h.numRecv; ++i, row += rowBytes) {
    std::memcpy(recvX + i * xBytes, row, xBytes);
    if (scaleBytes) std::memcpy(reinterpret_cast<unsigned char*>(a.recvScales) + i * scaleBytes, row + xBytes, scaleBytes);
    if (a.recvTopkWeights) std::memcpy(a.recvTopkWeights + i * k, row + xBytes + scaleBytes, weightBytes);
  }
  if (a.recvTopkIdx && !h.recvLocalIds.empty()) {
    std::memcpy(a.recvTopkIdx, h.recvLocalIds.data(), h.recvLocalIds.size() * sizeof(int32_t));
  }
  return Status::ok();
}

Status combine(const strataMoeHandle& h, const CombineArgs& a) {
  const size_t k = topK(h);
  const size_t rowBytes = a.hidden * dataTypeSize(a.dtype);
  const void* rows = a.expertOut;
  if (a.recvTopkWeights) {
    // Strata applies the weights: each received token's slots with a local expert, summed.
    unsigned char* weighted = h.stage(strataMoeHandle::kPacked, h.numRecv * rowBytes);
    std::vector<float> acc(a.hidden);
    const auto* slots = static_cast<const unsigned char*>(a.expertOut);
    for (size_t i = 0; i < h.numRecv; ++i) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (size_t j = 0; j < k; ++j) {
        if (h.recvLocalIds[i * k + j] < 0) continue;
        accumulateRow(a.dtype, slots + (i * k + j) * rowBytes, a.hidden, acc.data(), a.recvTopkWeights[i * k + j]);
      }
      storeRow(a.dtype, acc.data(), a.hidden, weighted + i * rowBytes);
    }
    rows = weighted;
  }
  TokenSums sums(h, a.hidden);
  Status st = routeBack(h, {a.dtype, a.hidden, 0}, rows, [&](uint32_t t, const unsigned char* row) { sums.add(t, a.dtype, row); });
  if (!st.isOk()) return st.withContext("strataMoeCombine: ");
  sums.store(a.dtype, a.out);
  return Status::ok();
}

Status dispatchBackward(const strataMoeHandle& h, const DispatchBackwardArgs& a) {
  // Weight gradients always travel (zeros from a rank without them, and for slots whose expert is
  // elsewhere), so every slot's gradient is non-zero only from its expert's rank and the
  // returned rows can simply be summed.
  const size_t k = topK(h);
  const ReturnFormat format{a.dtype, a.hidden, k};
  const size_t xBytes = a.hidden * dataTypeSize(a.dtype);
  const size_t rowBytes = format.rowBytes();
  unsigned char* packed = h.stage(strataMoeHandle::kPacked, h.numRecv * rowBytes);
  for (size_t i = 0; i < h.numRecv; ++i) {
    std::memcpy(packed + i * rowBytes, static_cast<const unsigned char*>(a.gradRecvX) + i * xBytes, xBytes);
    for (size_t j = 0; j < k; ++j) {
      float v = a.gradRecvTopkWeights != nullptr && h.recvLocalIds[i * k + j] >= 0 ? a.gradRecvTopkWeights[i * k + j] : 0.0f;
      std::memcpy(packed + i * rowBytes + xBytes + j * sizeof(float), &v, sizeof(float));
    }
  }
  std::vector<float> weightSums(h.routing.numTokens * k, 0.0f);
  TokenSums sums(h, a.hidden);
  Status st = routeBack(h, format, packed, [&](uint32_t t, const unsigned char* row) {
    sums.add(t, a.dtype, row);
    for (size_t j = 0; j < k; ++j) {
      float v;
      std::memcpy(&v, row + xBytes + j * sizeof(float), sizeof(float));
      weightSums[t * k + j] += v;
    }
  });
  if (!st.isOk()) return st.withContext("strataMoeDispatchBackward: ");
  sums.store(a.dtype, a.gradX);
  if (a.gradTopkWeights) std::copy(weightSums.begin(), weightSums.end(), a.gradTopkWeights);
  return Status::ok();
}

Status combineBackward(const strataMoeHandle& h, const CombineBackwardArgs& a) {
  const size_t k = topK(h);
  const size_t rowBytes = a.hidden * dataTypeSize(a.dtype);
  const auto* gradOut = static_cast<const unsigned char*>(a.gradOut);
  auto received = routeOut(h, rowBytes, [&](uint32_t t, unsigned char* row) { std::memcpy(row, gradOut + t * rowBytes, rowBytes); }, {});
  if (!received.ok()) return received.status().withContext("strataMoeCombineBackward: ");
  const unsigned char* grad = received.value();
  auto* gradExpertOut = static_cast<unsigned char*>(a.gradExpertOut);
  if (a.recvTopkWeights == nullptr) {
    if (h.numRecv) std::memcpy(gradExpertOut, grad, h.numRecv * rowBytes);
    return Status::ok();
  }
  // Weighted combine: out_i = sum_j w_ij * e_ij, so d/d e_ij = w_ij * g_i and d/d w_ij = <e_ij, g_i>.
  const auto* expertOut = static_cast<const unsigned char*>(a.expertOut);
  std::vector<float> scaled(a.hidden);
  for (size_t i = 0; i < h.numRecv; ++i) {
    const unsigned char* g = grad + i * rowBytes;
    for (size_t j = 0; j < k; ++j) {
      bool local = h.recvLocalIds[i * k + j] >= 0;
      float w = local ? a.recvTopkWeights[i * k + j] : 0.0f;
      std::fill(scaled.begin(), scaled.end(), 0.0f);
      accumulateRow(a.dtype, g, a.hidden, scaled.data(), w);
      storeRow(a.dtype, scaled.data(), a.hidden, gradExpertOut + (i * k + j) * rowBytes);
      if (a.gradRecvTopkWeights) {
        double dot = 0;
        if (local && expertOut) {
          const unsigned char* e = expertOut + (i * k + j) * rowBytes;
          for (size_t c = 0; c < a.hidden; ++c) dot += static_cast<double>(loadFloat(a.dtype, e, c)) * loadFloat(a.dtype, g, c);
        }
        a.gradRecvTopkWeights[i * k + j] = static_cast<float>(dot);
      }
    }
  }
  return Status::ok();
}

}  // namespace strata::moe
