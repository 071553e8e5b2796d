#include "moe/moe_exchange.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/datatype.h"
#include "moe/moe_route.h"
#include "moe/moe_rows.h"
#include "reduce/reduce.h"

namespace strata::moe {
namespace {

size_t topK(const strataMoeHandle& h) { return static_cast<size_t>(h.routing.topK); }

// The rows that came back for each token, summed per token when they are all in: one pass over
// the output, each token's sum in a cache-resident row (a whole [tokens x hidden] float32
// accumulator would triple the memory traffic), a lone row copied as it is, a pair through the
// vectorised reduction kernel.
class TokenRows {
 public:
  explicit TokenRows(size_t tokens) : tokens_(tokens) {}
  void add(uint32_t token, const unsigned char* row) { arrivals_.push_back({token, row}); }
  void sumInto(strataDataType_t dtype, size_t hidden, void* out) {
    std::vector<size_t> first(tokens_ + 1, 0);
    for (const Arrival& a : arrivals_) ++first[a.token + 1];
    for (size_t t = 0; t < tokens_; ++t) first[t + 1] += first[t];
    std::vector<const unsigned char*> rows(arrivals_.size());
    std::vector<size_t> next(first.begin(), first.end() - 1);
    for (const Arrival& a : arrivals_) rows[next[a.token]++] = a.row;
    const size_t rowBytes = hidden * dataTypeSize(dtype);
    std::vector<float> acc(hidden);
    for (size_t t = 0; t < tokens_; ++t) {
      unsigned char* dst = static_cast<unsigned char*>(out) + t * rowBytes;
      size_t count = first[t + 1] - first[t];
      if (count == 1) {
        std::memcpy(dst, rows[first[t]], rowBytes);
        continue;
      }
      if (count == 2) {
        // The vectorised kernel sums in float32 and rounds once, as the loop below would.
        reduceBuffers(dst, rows[first[t]], rows[first[t] + 1], hidden, dtype, strataSum);
        continue;
      }
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (size_t i = first[t]; i < first[t + 1]; ++i) accumulateRow(dtype, rows[i], hidden, acc.data());
      storeRow(dtype, acc.data(), hidden, dst);
    }
  }

 private:
  struct Arrival {
    uint32_t token;
    const unsigned char* row;
  };
  size_t tokens_;
  std::vector<Arrival> arrivals_;
};

Status dispatchRows(const MoeRun& run, const strataMoeHandle& h, const DispatchArgs& a) {
  // Hidden rows go straight into recvX (on direct routes); scales and weights travel as a second,
  // small row. Row layouts are the same on every rank whatever pointers each passed: weights
  // always travel (zeros when the sender has none), scales whenever the dtype is float8e4m3.
  const size_t k = topK(h);
  const size_t xBytes = a.hidden * dataTypeSize(a.dtype);
  const size_t scaleBytes = a.dtype == strataFloat8e4m3 ? scalesPerRow(a.hidden) * sizeof(float) : 0;
  const size_t weightBytes = k * sizeof(float);
  const size_t extraBytes = scaleBytes + weightBytes;
  const auto* x = static_cast<const unsigned char*>(a.x);
  Status st = routeOutInto(run, h, xBytes, [&](uint32_t t, unsigned char* row) { std::memcpy(row, x + t * xBytes, xBytes); }, a.recvX);
  if (!st.isOk()) return st;
  FillRow fillExtras = [&](uint32_t t, unsigned char* row) {
    if (scaleBytes) std::memcpy(row, reinterpret_cast<const unsigned char*>(a.xScales) + t * scaleBytes, scaleBytes);
    if (a.topkWeights) {
      std::memcpy(row + scaleBytes, a.topkWeights + t * k, weightBytes);
    } else {
      std::memset(row + scaleBytes, 0, weightBytes);
    }
  };
  // A weight reaches only the rank hosting its expert; elsewhere it reads 0.
  AdaptRow keepLocalWeights = [&](unsigned char* row, int dest, const int32_t* experts) {
    for (size_t j = 0; j < k; ++j) {
      if (experts[j] < 0 || h.routing.rankOfExpert(experts[j]) != dest) {
        std::memset(row + scaleBytes + j * sizeof(float), 0, sizeof(float));
      }
    }
  };
  auto extras = routeOut(run, h, extraBytes, fillExtras, keepLocalWeights);
  if (!extras.ok()) return extras.status();
  const unsigned char* row = extras.value();
  for (size_t i = 0; i < h.numRecv; ++i, row += extraBytes) {
    if (scaleBytes) std::memcpy(reinterpret_cast<unsigned char*>(a.recvScales) + i * scaleBytes, row, scaleBytes);
    if (a.recvTopkWeights) std::memcpy(a.recvTopkWeights + i * k, row + scaleBytes, weightBytes);
  }
  if (a.recvTopkIdx && !h.recvLocalIds.empty()) {
    std::memcpy(a.recvTopkIdx, h.recvLocalIds.data(), h.recvLocalIds.size() * sizeof(int32_t));
  }
  return Status::ok();
}

Status combineRows(const MoeRun& run, const strataMoeHandle& h, const CombineArgs& a) {
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
  TokenRows returned(h.routing.numTokens);
  Status st = routeBack(run, h, {a.dtype, a.hidden, 0}, rows, [&](uint32_t t, const unsigned char* row) { returned.add(t, row); });
  if (!st.isOk()) return st;
  returned.sumInto(a.dtype, a.hidden, a.out);
  return Status::ok();
}

Status dispatchBackwardRows(const MoeRun& run, const strataMoeHandle& h, const DispatchBackwardArgs& a) {
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
  TokenRows returned(h.routing.numTokens);
  Status st = routeBack(run, h, format, packed, [&](uint32_t t, const unsigned char* row) {
    returned.add(t, row);
    for (size_t j = 0; j < k; ++j) {
      float v;
      std::memcpy(&v, row + xBytes + j * sizeof(float), sizeof(float));
      weightSums[t * k + j] += v;
    }
  });
  if (!st.isOk()) return st;
  returned.sumInto(a.dtype, a.hidden, a.gradX);
  if (a.gradTopkWeights) std::copy(weightSums.begin(), weightSums.end(), a.gradTopkWeights);
  return Status::ok();
}

Status combineBackwardRows(const MoeRun& run, const strataMoeHandle& h, const CombineBackwardArgs& a) {
  const size_t k = topK(h);
  const size_t rowBytes = a.hidden * dataTypeSize(a.dtype);
  const auto* gradOut = static_cast<const unsigned char*>(a.gradOut);
  FillRow fill = [&](uint32_t t, unsigned char* row) { std::memcpy(row, gradOut + t * rowBytes, rowBytes); };
  if (a.recvTopkWeights == nullptr) {
    Status st = routeOutInto(run, h, rowBytes, fill, a.gradExpertOut);
    return st;
  }
  auto received = routeOut(run, h, rowBytes, fill, {});
  if (!received.ok()) return received.status();
  const unsigned char* grad = received.value();
  auto* gradExpertOut = static_cast<unsigned char*>(a.gradExpertOut);
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

template <typename Args>
Status runOperation(Status (*rows)(const MoeRun&, const strataMoeHandle&, const Args&), CallKind kind,
                    const strataMoeHandle& h, Communicator& comm, const Args& a) {
  MoeRun run{comm, kind};
  STRATA_RETURN_IF_ERROR(rows(run, h, a));
  return finishOperation(run);
}

}  // namespace

Status dispatch(const strataMoeHandle& h, Communicator& comm, const DispatchArgs& a) {
  return runOperation(dispatchRows, CallKind::MoeDispatch, h, comm, a).withContext("strataMoeDispatch: ");
}

Status combine(const strataMoeHandle& h, Communicator& comm, const CombineArgs& a) {
  return runOperation(combineRows, CallKind::MoeCombine, h, comm, a).withContext("strataMoeCombine: ");
}

Status dispatchBackward(const strataMoeHandle& h, Communicator& comm, const DispatchBackwardArgs& a) {
  return runOperation(dispatchBackwardRows, CallKind::MoeDispatchBackward, h, comm, a)
      .withContext("strataMoeDispatchBackward: ");
}

Status combineBackward(const strataMoeHandle& h, Communicator& comm, const CombineBackwardArgs& a) {
  return runOperation(combineBackwardRows, CallKind::MoeCombineBackward, h, comm, a)
      .withContext("strataMoeCombineBackward: ");
}

}  // namespace strata::moe
