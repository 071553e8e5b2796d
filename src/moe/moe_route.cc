#include "moe/moe_route.h"

#include <algorithm>
#include <cstring>

#include "common/datatype.h"
#include "moe/moe_rows.h"

namespace strata::moe {
namespace {

size_t total(const std::vector<size_t>& rows) {
  size_t sum = 0;
  for (size_t r : rows) sum += r;
  return sum;
}

template <typename T>
std::vector<size_t> sizesOf(const std::vector<std::vector<T>>& lists) {
  std::vector<size_t> sizes;
  for (const auto& l : lists) sizes.push_back(l.size());
  return sizes;
}

const int32_t* expertsOf(const strataMoeHandle& h, uint32_t token) {
  return h.routing.experts.data() + static_cast<size_t>(token) * static_cast<size_t>(h.routing.topK);
}

Result<Bytes> directOut(const strataMoeHandle& h, size_t rowBytes, const FillRow& fill, const AdaptRow& adapt) {
  std::vector<size_t> rows = h.sendRows();
  Bytes send(total(rows) * rowBytes);
  unsigned char* at = send.data();
  for (int dest = 0; dest < h.nranks; ++dest) {
    for (uint32_t t : h.routing.tokensTo[static_cast<size_t>(dest)]) {
      fill(t, at);
      if (adapt) adapt(at, dest, expertsOf(h, t));
      at += rowBytes;
    }
  }
  Bytes recv(h.numRecv * rowBytes);
  STRATA_RETURN_IF_ERROR(exchangeRows(h.comm, rows, send.data(), h.recvFrom, recv.data(), rowBytes));
  return recv;
}

Result<Bytes> forwardedOut(const strataMoeHandle& h, size_t rowBytes, const FillRow& fill, const AdaptRow& adapt) {
  const Forwarding& f = *h.forwarding;
  // Hop 1: each token once to the forwarder on each remote host it needs.
  std::vector<size_t> hop1 = sizesOf(f.tokensToForwarder);
  Bytes send(total(hop1) * rowBytes);
  unsigned char* at = send.data();
  for (const auto& tokens : f.tokensToForwarder) {
    for (uint32_t t : tokens) {
      fill(t, at);
      at += rowBytes;
    }
  }
  Bytes heldRows(f.held.size() * rowBytes);
  STRATA_RETURN_IF_ERROR(exchangeRows(h.comm, hop1, send.data(), f.heldFrom, heldRows.data(), rowBytes));
  // Hop 2: inside the host, own and held tokens to each destination.
  std::vector<size_t> hop2 = sizesOf(f.itemsTo);
  send.assign(total(hop2) * rowBytes, 0);
  at = send.data();
  for (int dest = 0; dest < h.nranks; ++dest) {
    for (const ForwardItem& item : f.itemsTo[static_cast<size_t>(dest)]) {
      const int32_t* experts = item.held < 0 ? expertsOf(h, item.token) : f.heldExperts.data() + f.held[static_cast<size_t>(item.held)].expertsAt;
      if (item.held < 0) {
        fill(item.token, at);
      } else {
        std::memcpy(at, heldRows.data() + static_cast<size_t>(item.held) * rowBytes, rowBytes);
      }
      if (adapt) adapt(at, dest, experts);
      at += rowBytes;
    }
  }
  Bytes arrived(h.numRecv * rowBytes), out(h.numRecv * rowBytes);
  STRATA_RETURN_IF_ERROR(exchangeRows(h.comm, hop2, send.data(), f.hop2From, arrived.data(), rowBytes));
  for (size_t i = 0; i < h.numRecv; ++i) std::memcpy(out.data() + f.finalIndex[i] * rowBytes, arrived.data() + i * rowBytes, rowBytes);
  return out;
}

Status directBack(const strataMoeHandle& h, const ReturnFormat& format, const void* rows,
                  const std::function<void(uint32_t, const unsigned char*)>& add) {
  const size_t rowBytes = format.rowBytes();
  std::vector<size_t> back = h.sendRows();
  Bytes recv(total(back) * rowBytes);
  STRATA_RETURN_IF_ERROR(exchangeRows(h.comm, h.recvFrom, rows, back, recv.data(), rowBytes));
  const unsigned char* at = recv.data();
  for (int dest = 0; dest < h.nranks; ++dest) {
    for (uint32_t t : h.routing.tokensTo[static_cast<size_t>(dest)]) {
      add(t, at);
      at += rowBytes;
    }
  }
  return Status::ok();
}

// Adds a returned row into a float32 accumulator of hidden + extra values.
void accumulate(const ReturnFormat& format, const unsigned char* row, float* acc) {
  accumulateRow(format.dtype, row, format.hidden, acc);
  const size_t xBytes = format.hidden * dataTypeSize(format.dtype);
  for (size_t e = 0; e < format.extraFloats; ++e) {
    float v;
    std::memcpy(&v, row + xBytes + e * sizeof(float), sizeof(float));
    acc[format.hidden + e] += v;
  }
}

void storeAccumulated(const ReturnFormat& format, const float* acc, unsigned char* row) {
  storeRow(format.dtype, acc, format.hidden, row);
  const size_t xBytes = format.hidden * dataTypeSize(format.dtype);
  std::memcpy(row + xBytes, acc + format.hidden, format.extraFloats * sizeof(float));
}

Status forwardedBack(const strataMoeHandle& h, const ReturnFormat& format, const void* rows,
                     const std::function<void(uint32_t, const unsigned char*)>& add) {
  const Forwarding& f = *h.forwarding;
  const size_t rowBytes = format.rowBytes();
  // Hop 2 back: every received row to the rank that passed it on.
  Bytes send(h.numRecv * rowBytes);
  for (size_t i = 0; i < h.numRecv; ++i) {
    std::memcpy(send.data() + i * rowBytes, static_cast<const unsigned char*>(rows) + f.finalIndex[i] * rowBytes, rowBytes);
  }
  std::vector<size_t> hop2 = sizesOf(f.itemsTo);
  Bytes back(total(hop2) * rowBytes);
  STRATA_RETURN_IF_ERROR(exchangeRows(h.comm, f.hop2From, send.data(), hop2, back.data(), rowBytes));
  // Own tokens are done; held ones are summed here, inside the host, before crossing back.
  const size_t width = format.hidden + format.extraFloats;
  std::vector<float> heldSums(f.held.size() * width, 0.0f);
  const unsigned char* at = back.data();
  for (const auto& items : f.itemsTo) {
    for (const ForwardItem& item : items) {
      if (item.held < 0) {
        add(item.token, at);
      } else {
        accumulate(format, at, heldSums.data() + static_cast<size_t>(item.held) * width);
      }
      at += rowBytes;
    }
  }
  // Hop 1 back: one summed row per held token to its source.
  send.assign(f.held.size() * rowBytes, 0);
  for (size_t i = 0; i < f.held.size(); ++i) storeAccumulated(format, heldSums.data() + i * width, send.data() + i * rowBytes);
  std::vector<size_t> hop1 = sizesOf(f.tokensToForwarder);
  back.assign(total(hop1) * rowBytes, 0);
  STRATA_RETURN_IF_ERROR(exchangeRows(h.comm, f.heldFrom, send.data(), hop1, back.data(), rowBytes));
  at = back.data();
  for (const auto& tokens : f.tokensToForwarder) {
    for (uint32_t t : tokens) {
      add(t, at);
      at += rowBytes;
    }
  }
  return Status::ok();
}

}  // namespace

size_t ReturnFormat::rowBytes() const { return hidden * dataTypeSize(dtype) + extraFloats * sizeof(float); }

Result<Bytes> routeOut(const strataMoeHandle& h, size_t rowBytes, const FillRow& fill, const AdaptRow& adapt) {
  return h.forwarding ? forwardedOut(h, rowBytes, fill, adapt) : directOut(h, rowBytes, fill, adapt);
}

Status routeBack(const strataMoeHandle& h, const ReturnFormat& format, const void* rows,
                 const std::function<void(uint32_t, const unsigned char*)>& add) {
  return h.forwarding ? forwardedBack(h, format, rows, add) : directBack(h, format, rows, add);
}

}  // namespace strata::moe
