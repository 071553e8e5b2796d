// One MoE routing, agreed by every rank: what this rank sends where (its Routing) and what it
// receives (rows per source rank, each row's local expert ids). Built collectively by
// createHandle; dispatch, combine and their backward passes move data along it.
#pragma once

#include <strata/strata.h>
#include <strata/strata_moe.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/status.h"
#include "moe/moe_routing.h"

struct strataMoeHandle {
  strataComm_t comm = nullptr;
  int rank = 0;
  int nranks = 1;
  strata::moe::Routing routing;
  int expertAlignment = 1;
  std::vector<size_t> recvFrom;          // rows received from each source rank
  size_t numRecv = 0;
  std::vector<int32_t> recvLocalIds;     // [numRecv x topK]: local expert id or -1
  std::vector<size_t> recvPerExpert;     // received pairs per local expert, rounded to alignment

  // Rows this rank sends to each rank (the tokens routed there).
  std::vector<size_t> sendRows() const;
};

namespace strata::moe {

// Collective: routes, then exchanges row counts and expert ids.
Result<strataMoeHandle*> createHandle(const RoutingRequest& request, const strataMoeConfig& config, strataComm_t comm,
                                      const char* function);

// One all-to-all of fixed-size rows: rows[r] rows of rowBytes go to (come from) rank r, packed in
// rank order. The move every MoE operation is built from.
Status exchangeRows(strataComm_t comm, const std::vector<size_t>& sendRows, const void* send,
                    const std::vector<size_t>& recvRows, void* recv, size_t rowBytes);

}  // namespace strata::moe
