#include "src/core/agreement.h"

#include <algorithm>

namespace strata {

bool needsAgreement(CollectiveKind kind) {
  switch (kind) {
    case CollectiveKind::Broadcast:
    case CollectiveKind::Reduce:
    case CollectiveKind::Gather:
    case CollectiveKind::Scatter:
    case CollectiveKind::AllToAllv:
      return true;
    default:
      return false;
  }
}

void appendAgreement(Plan& plan, int rank, int nranks) {
  for (int distance = 1; distance < nranks; distance *= 2) {
    Stage& stage = plan.newStage();
    Plan::sendSignal(stage, modRank(rank + distance, nranks));
    Plan::recvSignal(stage, modRank(rank - distance, nranks));
  }
}

void appendAcknowledgements(Plan& plan, const std::vector<int>& peers) {
  std::vector<int> distinct = peers;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.empty()) return;
  Stage& stage = plan.newStage();
  for (int peer : distinct) {
    Plan::sendSignal(stage, peer);
    Plan::recvSignal(stage, peer);
  }
}

}  // namespace strata
