#include "src/moe/moe_route.h"

#include <algorithm>
#include <cstring>

#include "src/common/datatype.h"
#include "src/moe/forwarded_route.h"
#include "src/moe/window_exchange.h"

namespace strata::moe {
namespace {

bool throughWindows(const strataMoeHandle& h, size_t rowBytes) {
  return !h.rowsBetween.empty() && fitsWindows(rowBytes, h.windowHalfBytes);
}

std::vector<size_t> startsOf(const std::vector<size_t>& rows) {
  std::vector<size_t> starts(rows.size(), 0);
  for (size_t r = 1; r < rows.size(); ++r) starts[r] = starts[r - 1] + rows[r - 1];
  return starts;
}

// Single-copy reads pay per piece (the kernel pins the owner's pages piece by piece): packed
// rows are one piece per sender, but the caller's token-ordered rows are as many pieces as runs
// of consecutive tokens (about four rows each with random routing). Measured on 2 ranks, 1024
// tokens, top-2 of 32 experts, dispatch per call: 16-byte rows 74 us read directly against 41
// through the windows, 256-byte 129 against 88, 1 KiB mixed, 2 KiB 476-522 against 511-579,
// 4 KiB 830 against 1055. Every rank decides alike from the row size and the layout.
constexpr size_t kSingleCopyTokenRowBytes = 2048;

bool worthReadingDirectly(SendLayout layout, size_t rowBytes) {
  return layout == SendLayout::Packed || rowBytes >= kSingleCopyTokenRowBytes;
}

// The window plan of a direct exchange (made once per exchange, row size and send layout).
// Out: rows to rank d lie in the send buffer as `layout` says and land in the receive layout;
// back: the receive layout's rows go back to their sources, which get them in tokensTo order
// (rows a rank returns to itself are read where they are).
const Plan& windowPlan(const strataMoeHandle& h, Exchange which, size_t rowBytes, SendLayout layout) {
  return h.plans.get(which, rowBytes, layout, 0, [&] {
    const std::vector<size_t> sendStarts = startsOf(h.sendRows), recvStarts = startsOf(h.recvFrom);
    const bool back = which == Exchange::DirectBack;
    auto sendOffset = [&](int dest, size_t i) {
      if (layout == SendLayout::TokenRows) return h.routing.tokensTo[static_cast<size_t>(dest)][i] * rowBytes;
      return ((back ? recvStarts : sendStarts)[static_cast<size_t>(dest)] + i) * rowBytes;
    };
    auto recvOffset = [&](int source, size_t i) {
      return ((back ? sendStarts : recvStarts)[static_cast<size_t>(source)] + i) * rowBytes;
    };
    WindowExchange x;
    x.rank = h.rank;
    x.rows = &h.rowsBetween;
    x.reversed = back;
    x.rowBytes = rowBytes;
    x.halfBytes = h.windowHalfBytes;
    x.copySelf = !back;
    if (!h.singleCopy || !worthReadingDirectly(layout, rowBytes)) return planWindowRowExchange(x, sendOffset, recvOffset);
    // Where a sender keeps the rows it sends `dest`: out, its tokensTo order in its input
    // (token-ordered, as tokensFrom tells) or packed by destination; back, its receive layout.
    auto senderOffset = [&](int sender, int dest, size_t i) -> size_t {
      if (sender == h.rank) return sendOffset(dest, i);
      const auto s = static_cast<size_t>(sender), d = static_cast<size_t>(dest);
      if (!back && layout == SendLayout::TokenRows) return h.tokensFrom[recvStarts[s] + i] * rowBytes;
      size_t before = 0;
      for (size_t r = 0; r < d; ++r) before += back ? h.rowsBetween[r][s] : h.rowsBetween[s][r];
      return (before + i) * rowBytes;
    };
    return planSingleCopyRowExchange(x, senderOffset, recvOffset);
  });
}

// Direct routes deliver in the receive layout, so the rows can land in `recv` itself.
Status directOutTo(const MoeRun& run, const strataMoeHandle& h, size_t rowBytes, const FillRow& fill, const AdaptRow& adapt, unsigned char* recv) {
  const std::vector<size_t>& rows = h.sendRows;
  unsigned char* send = h.stage(strataMoeHandle::kSend, totalRows(rows) * rowBytes);
  unsigned char* at = send;
  for (int dest = 0; dest < h.nranks; ++dest) {
    for (uint32_t t : h.routing.tokensTo[static_cast<size_t>(dest)]) {
      fill(t, at);
      if (adapt) adapt(at, dest, expertsOf(h, t));
      at += rowBytes;
    }
  }
  if (throughWindows(h, rowBytes)) {
    return runExchange(run, windowPlan(h, Exchange::DirectOut, rowBytes, SendLayout::Packed), Exchange::DirectOut, rowBytes,
                       h.routesFingerprint, send, recv);
  }
  return exchangeRows(run, &h.plans, Exchange::DirectOut, rows, send, h.recvFrom, recv, rowBytes);
}

Result<const unsigned char*> directOut(const MoeRun& run, const strataMoeHandle& h, size_t rowBytes, const FillRow& fill, const AdaptRow& adapt) {
  unsigned char* recv = h.stage(strataMoeHandle::kRecv, h.numRecv * rowBytes);
  STRATA_RETURN_IF_ERROR(directOutTo(run, h, rowBytes, fill, adapt, recv));
  return static_cast<const unsigned char*>(recv);
}

Status directBack(const MoeRun& run, const strataMoeHandle& h, const ReturnFormat& format, const void* rows, AddRow add) {
  const size_t rowBytes = format.rowBytes();
  const std::vector<size_t>& back = h.sendRows;
  unsigned char* recv = h.stage(strataMoeHandle::kRecv, totalRows(back) * rowBytes);
  const bool windows = throughWindows(h, rowBytes);
  if (windows) {
    STRATA_RETURN_IF_ERROR(runExchange(run, windowPlan(h, Exchange::DirectBack, rowBytes, SendLayout::Packed),
                                       Exchange::DirectBack, rowBytes, h.routesFingerprint, rows, recv));
  } else {
    STRATA_RETURN_IF_ERROR(exchangeRows(run, &h.plans, Exchange::DirectBack, h.recvFrom, rows, back, recv, rowBytes));
  }
  const unsigned char* at = recv;
  // Through windows, the rows this rank returns to itself stay where they are.
  const unsigned char* own = static_cast<const unsigned char*>(rows) + rowsBefore(h.recvFrom, static_cast<size_t>(h.rank)) * rowBytes;
  for (int dest = 0; dest < h.nranks; ++dest) {
    const bool inPlace = windows && dest == h.rank;
    for (uint32_t t : h.routing.tokensTo[static_cast<size_t>(dest)]) {
      add(t, inPlace ? own : at);
      if (inPlace) own += rowBytes;
      at += rowBytes;
    }
  }
  return Status::ok();
}

}  // namespace

size_t ReturnFormat::rowBytes() const { return hidden * dataTypeSize(dtype) + extraFloats * sizeof(float); }

Result<const unsigned char*> routeOut(const MoeRun& run, const strataMoeHandle& h, size_t rowBytes, const FillRow& fill,
                                      const AdaptRow& adapt) {
  return h.forwarding ? forwardedOut(run, h, rowBytes, fill, adapt) : directOut(run, h, rowBytes, fill, adapt);
}

Status routeOutInto(const MoeRun& run, const strataMoeHandle& h, size_t rowBytes, const void* tokenRows, void* dst) {
  if (!h.forwarding && throughWindows(h, rowBytes)) {
    return runExchange(run, windowPlan(h, Exchange::DirectOut, rowBytes, SendLayout::TokenRows), Exchange::DirectOut,
                       rowBytes, h.routesFingerprint, tokenRows, dst);
  }
  const auto* source = static_cast<const unsigned char*>(tokenRows);
  auto fill = [&](uint32_t t, unsigned char* row) { std::memcpy(row, source + t * rowBytes, rowBytes); };
  if (!h.forwarding) return directOutTo(run, h, rowBytes, fill, {}, static_cast<unsigned char*>(dst));
  auto rows = forwardedOut(run, h, rowBytes, fill, {});
  if (!rows.ok()) return rows.status();
  if (h.numRecv) std::memcpy(dst, rows.value(), h.numRecv * rowBytes);
  return Status::ok();
}

Status routeBack(const MoeRun& run, const strataMoeHandle& h, const ReturnFormat& format, const void* rows, AddRow add) {
  return h.forwarding ? forwardedBack(run, h, format, rows, add) : directBack(run, h, format, rows, add);
}

}  // namespace strata::moe
