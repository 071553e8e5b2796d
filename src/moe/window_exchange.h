// Row exchanges through the peer-memory windows, when every rank is on one host: a sender copies
// the rows meant for other ranks straight from where they lie (the caller's token-ordered input,
// or a packed buffer) into its window, a window half at a time, and each receiver copies its rows
// out of the senders' windows. A row makes one trip through shared memory instead of the pack
// and the two copies of a FIFO (into the ring, out of it); rows to the rank itself are copied
// once, or left where they are. Where the ranks may read each other's memory, rows skip the
// windows too (planSingleCopyRowExchange).
#pragma once

#include <cstddef>
#include <vector>

#include "src/common/function_ref.h"
#include "src/algorithms/plan.h"

namespace strata::moe {

struct WindowExchange {
  int rank = 0;
  // rows[s][d]: rows rank s sends rank d, for every pair (the same on every rank); `reversed`:
  // the exchange runs the other way (rank d sends rows[s][d] rows to rank s).
  const std::vector<std::vector<size_t>>* rows = nullptr;
  bool reversed = false;
  size_t rowBytes = 0;
  size_t halfBytes = 0;  // one window half: the rows of one chunk
  bool copySelf = true;  // false: this rank's rows to itself stay in the send buffer
};

// Byte offset of the i-th row to `dest` in kSendBuffer, or of the i-th row from `source` in
// kRecvBuffer.
using RowOffset = FunctionRef<size_t(int rank, size_t i)>;

// Byte offset of the i-th row rank `sender` sends rank `dest`, in that sender's kSendBuffer.
using SenderOffset = FunctionRef<size_t(int sender, int dest, size_t i)>;

// Whether rows of this size can go through windows of this half size.
inline bool fitsWindows(size_t rowBytes, size_t halfBytes) { return rowBytes > 0 && rowBytes <= halfBytes; }

// The plan: every rank runs the same number of window operations (chunks, at least one), set by
// the longest sender; each chunk is written, published, read by its receivers and released. In
// the first chunk every rank checks every peer's tag, whether it reads rows from it or not.
Plan planWindowRowExchange(const WindowExchange& exchange, RowOffset sendOffset, RowOffset recvOffset);

// The single-copy plan, where every rank can read every other's memory (PeerWindows::singleCopy):
// one window operation whatever the row count. Every rank publishes where its send buffer lies,
// reads the rows meant for it straight from each sender's buffer (a run of consecutive rows is
// one piece; one system call per sender), releases, and waits until every rank has read its
// rows before the call returns. halfBytes is not used.
Plan planSingleCopyRowExchange(const WindowExchange& exchange, SenderOffset senderOffset, RowOffset recvOffset);

}  // namespace strata::moe
