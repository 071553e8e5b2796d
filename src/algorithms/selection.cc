#include "src/algorithms/selection.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "src/algorithms/message_work.h"
#include "src/common/strings.h"

namespace strata {
namespace {

// Predictions within 1 % of the cheapest count as a tie: the model is not that precise.
constexpr double kTieTolerance = 0.01;
// Relative difference below which two message-work sums count as equal.
constexpr double kWorkRounding = 1e-9;

std::string normalise(std::string word) {
  std::string out;
  for (char c : word) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    out += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}


const AlgorithmEntry* find(CollectiveKind kind, const std::string& name) {
  for (const AlgorithmEntry& e : algorithmRegistry()) {
    if (e.kind == kind && name == e.name) return &e;
  }
  return nullptr;
}

bool isKnownName(const std::string& name) {
  for (const AlgorithmEntry& e : algorithmRegistry()) {
    if (name == e.name) return true;
  }
  return false;
}

}  // namespace

Result<AlgorithmSelector> AlgorithmSelector::parse(const std::string& spec) {
  AlgorithmSelector selector;
  for (const std::string& rawItem : splitString(spec, ';')) {
    std::string item = normalise(rawItem);
    if (item.empty()) continue;
    std::vector<std::string>* target = &selector.forcedForAll_;
    size_t colon = item.find(':');
    if (colon != std::string::npos) {
      std::string collective = item.substr(0, colon);
      bool known = false;
      for (int k = 0; k <= static_cast<int>(CollectiveKind::Barrier); ++k) {
        if (collective == collectiveName(static_cast<CollectiveKind>(k))) {
          target = &selector.forced_[static_cast<CollectiveKind>(k)];
          known = true;
        }
      }
      if (!known) {
        return invalidArgument("STRATA_ALGO='" + spec + "': '" + collective +
                               "' is not a collective (allreduce, broadcast, reduce, allgather, "
                               "reducescatter, alltoall, alltoallv, gather, scatter, barrier)");
      }
      item = item.substr(colon + 1);
    }
    for (const std::string& name : splitString(item, ',')) {
      if (name.empty()) continue;
      if (!isKnownName(name)) {
        return invalidArgument("STRATA_ALGO='" + spec + "': no algorithm is called '" + name +
                               "'; the algorithms are: " + algorithmNames());
      }
      target->push_back(name);
    }
  }
  return selector;
}

bool AlgorithmSelector::runsHere(const AlgorithmEntry& e, const CollectiveShape& shape, size_t oneShotBytes) {
  switch (e.peerMemory) {
    case PeerMemoryUse::None: return true;
    case PeerMemoryUse::WholeMessage: return shape.bytes() <= oneShotBytes;
    case PeerMemoryUse::Chunked: return shape.windowBytes > 0;
  }
  return false;
}

std::pair<const AlgorithmEntry*, double> AlgorithmSelector::cheapest(const CollectiveShape& shape,
                                                                     const CostContext& cost, size_t oneShotBytes) {
  auto runnable = [&](const AlgorithmEntry& e) { return e.kind == shape.kind && runsHere(e, shape, oneShotBytes); };
  const AlgorithmEntry* only = nullptr;
  int count = 0;
  for (const AlgorithmEntry& e : algorithmRegistry()) {
    if (runnable(e)) {
      only = &e;
      ++count;
    }
  }
  if (count <= 1) return {only, 0.0};  // nothing to weigh (all-to-all-v calls land here every time)
  std::vector<std::pair<const AlgorithmEntry*, double>> candidates;  // and their predicted seconds
  double bestSeconds = std::numeric_limits<double>::infinity();
  for (const AlgorithmEntry& e : algorithmRegistry()) {
    if (!runnable(e)) continue;
    candidates.emplace_back(&e, e.predict(shape, cost));
    bestSeconds = std::min(bestSeconds, candidates.back().second);
  }
  // Predictions this close are a tie under the model: the least per-message work decides, then
  // the registry's order. Every rank computes the same numbers, so every rank picks alike.
  const double tieLimit = bestSeconds * (1 + kTieTolerance);
  const auto tied = std::count_if(candidates.begin(), candidates.end(), [&](const auto& c) { return c.second <= tieLimit; });
  std::pair<const AlgorithmEntry*, double> best{nullptr, 0.0};
  double bestWork = 0;
  for (const auto& [e, seconds] : candidates) {
    if (seconds > tieLimit) continue;
    const double work = tied > 1 ? messageWork(*e, shape, cost) : 0.0;
    // Equal counts summed in another order may differ in the last bits: those stay a tie, which
    // the registry's order breaks.
    if (best.first == nullptr || work < bestWork * (1 - kWorkRounding)) {
      best = {e, seconds};
      bestWork = work;
    }
  }
  return best;
}

const AlgorithmEntry* AlgorithmSelector::choose(const CollectiveShape& shape, const CostContext& cost,
                                                size_t oneShotBytes) const {
  auto preferred = forced_.find(shape.kind);
  for (const auto* list : {preferred != forced_.end() ? &preferred->second : nullptr, &forcedForAll_}) {
    if (list == nullptr) continue;
    for (const std::string& name : *list) {
      const AlgorithmEntry* e = find(shape.kind, name);
      if (e != nullptr && runsHere(*e, shape, oneShotBytes)) return e;
    }
  }
  return cheapest(shape, cost, oneShotBytes).first;
}

}  // namespace strata
