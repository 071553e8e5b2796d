#include "moe/moe_exchange.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/datatype.h"
#include "moe/moe_rows.h"

namespace strata::moe {
namespace {

using Bytes = std::vector<unsigned char>;

// Sends one row per (destination, routed token), built by fill(token, dest, row), and returns the
// rows this rank receives, in receive order (by source rank, then the source's token order).
template <typename Fill>
Result<Bytes> sendOut(const strataMoeHandle& h, size_t rowBytes, Fill fill) {
  std::vector<size_t> rows = h.sendRows();
  size_t total = 0;
  for (size_t r : rows) total += r;
  Bytes send(total * rowBytes);
  unsigned char* at = send.data();
  for (int dest = 0; dest < h.nranks; ++dest) {
    for (uint32_t t : h.routing.tokensTo[static_cast<size_t>(dest)]) {
      fill(t, dest, at);
      at += rowBytes;
    }
  }
  Bytes recv(h.numRecv * rowBytes);
  STRATA_RETURN_IF_ERROR(exchangeRows(h.comm, rows, send.data(), h.recvFrom, recv.data(), rowBytes));
  return recv;
}

// Sends received row i (rows[i], in receive order) back to its source; calls take(token, dest,
// row) at the source for every row it gets back.
template <typename Take>
Status sendBack(const strataMoeHandle& h, size_t rowBytes, const void* rows, Take take) {
  std::vector<size_t> back = h.sendRows();
  size_t total = 0;
  for (size_t r : back) total += r;
  Bytes recv(total * rowBytes);
  STRATA_RETURN_IF_ERROR(exchangeRows(h.comm, h.recvFrom, rows, back, recv.data(), rowBytes));
  const unsigned char* at = recv.data();
  for (int dest = 0; dest < h.nranks; ++dest) {
    for (uint32_t t : h.routing.tokensTo[static_cast<size_t>(dest)]) {
      take(t, dest, at);
      at += rowBytes;
    }
  }
  return Status::ok();
}

size_t topK(const strataMoeHandle& h) { return static_cast<size_t>(h.routing.topK); }

// The sum of a token's returned rows, one float32 row per token.
class TokenSums {
 public:
  TokenSums(size_t tokens, size_t hidden) : hidden_(hidden), sums_(tokens * hidden, 0.0f) {}
  void add(uint32_t token, strataDataType_t dtype, const void* row) {
    accumulateRow(dtype, row, hidden_, sums_.data() + token * hidden_);
  }
  void store(strataDataType_t dtype, void* out) const {
    size_t es = dataTypeSize(dtype);
    for (size_t t = 0; t * hidden_ < sums_.size(); ++t) {
      storeRow(dtype, sums_.data() + t * hidden_, hidden_, static_cast<unsigned char*>(out) + t * hidden_ * es);
    }
  }

 private:
  size_t hidden_;
  std::vector<float> sums_;
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
  auto received = sendOut(h, rowBytes, [&](uint32_t t, int dest, unsigned char* row) {
    std::memcpy(row, x + t * xBytes, xBytes);
    if (scaleBytes) std::memcpy(row + xBytes, reinterpret_cast<const unsigned char*>(a.xScales) + t * scaleBytes, scaleBytes);
    // A weight travels only to the rank hosting its expert; elsewhere it reads 0.
    for (size_t j = 0; j < k; ++j) {
      bool here = a.topkWeights != nullptr && h.routing.localIdOn(dest, t, static_cast<int>(j)) >= 0;
      float value = here ? a.topkWeights[t * k + j] : 0.0f;
      std::memcpy(row + xBytes + scaleBytes + j * sizeof(float), &value, sizeof(float));
    }
  });
  if (!received.ok()) return received.status().withContext("strataMoeDispatch: ");
  const unsigned char* row = received.value().data();
  auto* recvX = static_cast<unsigned char*>(a.recvX);
  for (size_t i = 0; i < h.numRecv; ++i, row += rowBytes) {
    std::memcpy(recvX + i * xBytes, row, xBytes);
    if (scaleBytes) std::memcpy(reinterpret_cast<unsigned char*>(a.recvScales) + i * scaleBytes, row + xBytes, scaleBytes);
    if (a.recvTopkWeights) std::memcpy(a.recvTopkWeights + i * k, row + xBytes + scaleBytes, weightBytes);
  }
  if (a.recvTopkIdx) std::memcpy(a.recvTopkIdx, h.recvLocalIds.data(), h.recvLocalIds.size() * sizeof(int32_t));
  return Status::ok();
}

Status combine(const strataMoeHandle& h, const CombineArgs& a) {
  const size_t k = topK(h);
  const size_t es = dataTypeSize(a.dtype);
  const size_t rowBytes = a.hidden * es;
  const void* rows = a.expertOut;
  Bytes weighted;
  if (a.recvTopkWeights) {
    // Strata applies the weights: each received token's slots with a local expert, summed.
    weighted.resize(h.numRecv * rowBytes);
    std::vector<float> acc(a.hidden);
    const auto* slots = static_cast<const unsigned char*>(a.expertOut);
    for (size_t i = 0; i < h.numRecv; ++i) {
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (size_t j = 0; j < k; ++j) {
        if (h.recvLocalIds[i * k + j] < 0) continue;
        accumulateRow(a.dtype, slots + (i * k + j) * rowBytes, a.hidden, acc.data(), a.recvTopkWeights[i * k + j]);
      }
      storeRow(a.dtype, acc.data(), a.hidden, weighted.data() + i * rowBytes);
    }
    rows = weighted.data();
  }
  TokenSums sums(h.routing.numTokens, a.hidden);
  Status st = sendBack(h, rowBytes, rows, [&](uint32_t t, int, const unsigned char* row) { sums.add(t, a.dtype, row); });
  if (!st.isOk()) return st.withContext("strataMoeCombine: ");
  sums.store(a.dtype, a.out);
  return Status::ok();
}

Status dispatchBackward(const strataMoeHandle& h, const DispatchBackwardArgs& a) {
  // Weight gradients always travel (zeros from a rank without them): one row layout everywhere.
  const size_t k = topK(h);
  const size_t xBytes = a.hidden * dataTypeSize(a.dtype);
  const size_t rowBytes = xBytes + k * sizeof(float);
  Bytes packed(h.numRecv * rowBytes);
  for (size_t i = 0; i < h.numRecv; ++i) {
    std::memcpy(packed.data() + i * rowBytes, static_cast<const unsigned char*>(a.gradRecvX) + i * xBytes, xBytes);
    if (a.gradRecvTopkWeights) {
      std::memcpy(packed.data() + i * rowBytes + xBytes, a.gradRecvTopkWeights + i * k, k * sizeof(float));
    } else {
      std::memset(packed.data() + i * rowBytes + xBytes, 0, k * sizeof(float));
    }
  }
  if (a.gradTopkWeights) std::fill(a.gradTopkWeights, a.gradTopkWeights + h.routing.numTokens * k, 0.0f);
  TokenSums sums(h.routing.numTokens, a.hidden);
  Status st = sendBack(h, rowBytes, packed.data(), [&](uint32_t t, int dest, const unsigned char* row) {
    sums.add(t, a.dtype, row);
    if (a.gradTopkWeights == nullptr) return;
    // Slot j's weight lives on the rank hosting its expert: take it from there only.
    for (size_t j = 0; j < k; ++j) {
      if (h.routing.localIdOn(dest, t, static_cast<int>(j)) >= 0) {
        std::memcpy(a.gradTopkWeights + t * k + j, row + xBytes + j * sizeof(float), sizeof(float));
      }
    }
  });
  if (!st.isOk()) return st.withContext("strataMoeDispatchBackward: ");
  sums.store(a.dtype, a.gradX);
  return Status::ok();
}

Status combineBackward(const strataMoeHandle& h, const CombineBackwardArgs& a) {
  const size_t k = topK(h);
  const size_t rowBytes = a.hidden * dataTypeSize(a.dtype);
  const auto* gradOut = static_cast<const unsigned char*>(a.gradOut);
  auto received = sendOut(h, rowBytes, [&](uint32_t t, int, unsigned char* row) { std::memcpy(row, gradOut + t * rowBytes, rowBytes); });
  if (!received.ok()) return received.status().withContext("strataMoeCombineBackward: ");
  const unsigned char* grad = received.value().data();
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
