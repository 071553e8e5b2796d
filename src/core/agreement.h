// Rounds that make every rank of a call know that every other rank agreed to it, for calls whose
// data alone does not (core/call_tag.h). A rank that completes an allreduce has, through the
// chain of checked frames its result depends on, heard from every rank; a broadcast's root, a
// gather's leaves, an all-to-all-v with empty blocks or the sender of a point-to-point message
// has not, so a mismatch seen by someone else would leave it with success. These rounds close
// that gap: a rank that saw a mismatch stops, and its silence fails everyone who waits on it.
#pragma once

#include <vector>

#include "src/algorithms/collective.h"
#include "src/algorithms/plan.h"

namespace strata {

// Whether a collective needs the agreement rounds (its result does not depend on every rank).
bool needsAgreement(CollectiveKind kind);

// Dissemination rounds of header-only signals: ceil(log2 n) stages, after which every rank has
// heard, through checked frames, from every rank. Cost: ceil(log2 n)·alpha.
void appendAgreement(Plan& plan, int rank, int nranks);

// Point-to-point: one stage in which each pair that exchanged data acknowledges each other, after
// both checked what they received. Cost: one alpha, overlapped across peers.
void appendAcknowledgements(Plan& plan, const std::vector<int>& peers);

}  // namespace strata
