#include "src/moe/moe_exchange.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "src/common/datatype.h"
#include "src/moe/moe_route.h"
#include "src/moe/moe_rows.h"

namespace strata::moe {
namespace {

size_t topK(const strataMoeHandle& h) { return static_cast<size_t>(h.routing.topK); }

bool rangesOverlap(const void* a, size_t aBytes, const void* b, size_t bBytes) {
  const auto x = reinterpret_cast<uintptr_t>(a), y = reinterpret_cast<uintptr_t>(b);
  return aBytes > 0 && bBytes > 0 && x < y + bBytes && y < x + aBytes;
}

Status dispatchRows(const MoeRun& run, const strataMoeHandle& h, const DispatchArgs& a) {
  // Hidden rows go straight into recvX (on direct routes); scales and weights travel as a second,
  // small row. Row layouts are the same on every rank whatever pointers each passed: weights
  // always travel (zeros when the sender has none), scales whenever the dtype is float8e4m3.
  const size_t k = topK(h);
  const size_t xBytes = a.hidden * dataTypeSize(a.dtype);
  const size_t scaleBytes = a.dtype == strataFloat8e4m3 ? scalesPerRow(a.hidden) * sizeof(float) : 0;
  const size_t weightBytes = k * sizeof(float);
  const size_t extraBytes = scaleBytes + weightBytes;
  STRATA_RETURN_IF_ERROR(routeOutInto(run, h, xBytes, a.x, a.recvX));
  auto fillExtras = [&](uint32_t t, unsigned char* row) {
    if (scaleBytes) std::memcpy(row, reinterpret_cast<const unsigned char*>(a.xScales) + t * scaleBytes, scaleBytes);
    if (a.topkWeights) {
      std::memcpy(row + scaleBytes, a.topkWeights + t * k, weightBytes);
    } else {
      std::memset(row + scaleBytes, 0, weightBytes);
    }
  };
  // A weight reaches only the rank hosting its expert; elsewhere it reads 0. (Rank dest hosts
  // experts [dest * localExperts, (dest + 1) * localExperts): a range check per slot instead of
  // a division, in a loop over every routed row.)
  const int32_t localExperts = h.routing.localExperts;
  auto keepLocalWeights = [&](unsigned char* row, int dest, const int32_t* experts) {
    const int32_t first = dest * localExperts, last = first + localExperts;
    for (size_t j = 0; j < k; ++j) {
      if (experts[j] < first || experts[j] >= last) {
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
    float* acc = h.zeroedSums(strataMoeHandle::kRowSum, a.hidden);
    const auto* slots = static_cast<const unsigned char*>(a.expertOut);
    for (size_t i = 0; i < h.numRecv; ++i) {
      std::fill(acc, acc + a.hidden, 0.0f);
      for (size_t j = 0; j < k; ++j) {
        if (h.recvLocalIds[i * k + j] < 0) continue;
        accumulateRow(a.dtype, slots + (i * k + j) * rowBytes, a.hidden, acc, a.recvTopkWeights[i * k + j]);
      }
      storeRow(a.dtype, acc, a.hidden, weighted + i * rowBytes);
    }
    rows = weighted;
  } else if (rangesOverlap(a.expertOut, h.numRecv * rowBytes, a.out, h.routing.numTokens * rowBytes)) {
    // Rows a rank returns to itself may be summed where they lie (window exchanges) while the
    // sums are written to `out`: with the two overlapping, work from a copy.
    unsigned char* copy = h.stage(strataMoeHandle::kPacked, h.numRecv * rowBytes);
    std::memcpy(copy, a.expertOut, h.numRecv * rowBytes);
    rows = copy;
  }
  TokenRows& returned = h.returned;
  returned.reset(h.routing.numTokens);
  STRATA_RETURN_IF_ERROR(
      routeBack(run, h, {a.dtype, a.hidden, 0}, rows, [&](uint32_t t, const unsigned char* row) { returned.add(t, row); }));
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
  float* weightSums = h.zeroedSums(strataMoeHandle::kWeightSums, h.routing.numTokens * k);
  TokenRows& returned = h.returned;
  returned.reset(h.routing.numTokens);
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
  if (a.gradTopkWeights) std::copy(weightSums, weightSums + h.routing.numTokens * k, a.gradTopkWeights);
  return Status::ok();
}

Status combineBackwardRows(const MoeRun& run, const strataMoeHandle& h, const CombineBackwardArgs& a) {
  const size_t k = topK(h);
  const size_t rowBytes = a.hidden * dataTypeSize(a.dtype);
  if (a.recvTopkWeights == nullptr) return routeOutInto(run, h, rowBytes, a.gradOut, a.gradExpertOut);
  const auto* gradOut = static_cast<const unsigned char*>(a.gradOut);
  auto fill = [&](uint32_t t, unsigned char* row) { std::memcpy(row, gradOut + t * rowBytes, rowBytes); };
  auto received = routeOut(run, h, rowBytes, fill, {});
  if (!received.ok()) return received.status();
  const unsigned char* grad = received.value();
  auto* gradExpertOut = static_cast<unsigned char*>(a.gradExpertOut);
  // Weighted combine: out_i = sum_j w_ij * e_ij, so d/d e_ij = w_ij * g_i and d/d w_ij = <e_ij, g_i>.
  const auto* expertOut = static_cast<const unsigned char*>(a.expertOut);
  float* scaled = h.zeroedSums(strataMoeHandle::kRowSum, a.hidden);
  for (size_t i = 0; i < h.numRecv; ++i) {
    const unsigned char* g = grad + i * rowBytes;
    for (size_t j = 0; j < k; ++j) {
      bool local = h.recvLocalIds[i * k + j] >= 0;
      float w = local ? a.recvTopkWeights[i * k + j] : 0.0f;
      std::fill(scaled, scaled + a.hidden, 0.0f);
      accumulateRow(a.dtype, g, a.hidden, scaled, w);
      storeRow(a.dtype, scaled, a.hidden, gradExpertOut + (i * k + j) * rowBytes);
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
