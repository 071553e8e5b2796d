#include "algorithms/selection.h"

#include <cctype>

namespace strata {
namespace {

constexpr size_t kRecursiveDoublingMaxBytes = 64 * 1024;
// With two ranks recursive doubling is a single exchange and beats one-shot above ~1 KiB
// (measured on shm: 4 KiB 0.45 us against 0.62 us); with more ranks one-shot wins.
constexpr size_t kOneShotMaxBytesForTwoRanks = 1024;
// Above this two-shot beats recursive doubling on shm at every rank count measured (2..8; at
// 64 KiB with 4 ranks 19 against 20 us, with 8 ranks 34 against 54 us at 32 KiB), and the ring
// everywhere (4 ranks, 16 MiB: 4.2-5.3 against 2.5-3.3 GB/s busbw).
constexpr size_t kTwoShotMinBytes = 32 * 1024;

std::string normalise(std::string word) {
  std::string out;
  for (char c : word) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    out += c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
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
  for (const std::string& rawItem : split(spec, ';')) {
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
    for (const std::string& name : split(item, ',')) {
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

const AlgorithmEntry& AlgorithmSelector::choose(const CollectiveShape& shape, int nranks, size_t oneShotBytes) const {
  auto runsHere = [&](const AlgorithmEntry& e) {
    switch (e.peerMemory) {
      case PeerMemoryUse::None: return true;
      case PeerMemoryUse::WholeMessage: return shape.bytes() <= oneShotBytes;
      case PeerMemoryUse::Chunked: return shape.windowBytes > 0;
    }
    return false;
  };
  auto preferred = forced_.find(shape.kind);
  for (const auto* list : {preferred != forced_.end() ? &preferred->second : nullptr, &forcedForAll_}) {
    if (list == nullptr) continue;
    for (const std::string& name : *list) {
      const AlgorithmEntry* e = find(shape.kind, name);
      if (e != nullptr && runsHere(*e)) return *e;
    }
  }
  if (shape.kind == CollectiveKind::AllReduce) {
    bool oneShotPays = nranks > 2 || shape.bytes() <= kOneShotMaxBytesForTwoRanks;
    if (shape.bytes() <= oneShotBytes && oneShotPays) return *find(shape.kind, "one_shot");
    if (shape.windowBytes > 0 && shape.bytes() > kTwoShotMinBytes) return *find(shape.kind, "two_shot");
    return *find(shape.kind, shape.bytes() <= kRecursiveDoublingMaxBytes ? "recursive_doubling" : "ring");
  }
  for (const AlgorithmEntry& e : algorithmRegistry()) {
    if (e.kind == shape.kind) return e;
  }
  return algorithmRegistry().front();  // unreachable: every collective has an algorithm
}

}  // namespace strata
