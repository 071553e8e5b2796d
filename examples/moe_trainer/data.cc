#include "data.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>
#include <stdexcept>

#include "hash.h"

namespace trainer {
namespace {

// splitmix64: a well-mixed 64-bit hash of the batch coordinates.
uint64_t mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

void TextData::split(int seq) {
  const size_t need = static_cast<size_t>(seq) + 1;
  trainEnd_ = text_.size() - text_.size() / 10;
  if (trainEnd_ < need || text_.size() - trainEnd_ < need) {
    throw std::invalid_argument("the text has " + std::to_string(text_.size()) + " bytes; --seq " +
                                std::to_string(seq) + " needs at least " + std::to_string(10 * need) +
                                " (a tenth is held out)");
  }
}

TextData TextData::fromFile(const std::string& path, int seq) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::invalid_argument("--data " + path + ": cannot open it");
  TextData d;
  d.text_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (d.text_.empty()) throw std::invalid_argument("--data " + path + ": the file is empty");
  try {
    d.split(seq);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("--data " + path + ": " + e.what());
  }
  return d;
}

TextData TextData::generated(unsigned long long seed, size_t bytes, int seq) {
  std::mt19937_64 gen(seed ^ 0x5eedda7aull);
  // A vocabulary of invented words, 2-7 letters, the first few short and frequent.
  constexpr int kWords = 160;
  std::vector<std::string> words(kWords);
  const char* letters = "etaoinshrdlucmfwypvbgk";
  for (int w = 0; w < kWords; ++w) {
    const int length = 2 + static_cast<int>(gen() % (w < 20 ? 3 : 6));
    for (int i = 0; i < length; ++i) {
      // Letters skewed toward the front of the list, as in English text.
      const uint64_t a = gen() % 22, b = gen() % 22;
      words[static_cast<size_t>(w)] += letters[std::min(a, b)];
    }
  }
  // Each word has four successors, the first three times as likely as the last.
  std::vector<std::array<int, 4>> next(kWords);
  for (auto& n : next)
    for (int& s : n) s = static_cast<int>(gen() % kWords);
  TextData d;
  d.text_.reserve(bytes + 16);
  int word = 0, inSentence = 0;
  while (d.text_.size() < bytes) {
    const uint64_t r = gen() % 8;
    word = next[static_cast<size_t>(word)][r < 3 ? 0 : r < 5 ? 1 : r < 7 ? 2 : 3];
    std::string w = words[static_cast<size_t>(word)];
    if (inSentence == 0) w[0] = static_cast<char>(w[0] - 'a' + 'A');
    d.text_.insert(d.text_.end(), w.begin(), w.end());
    ++inSentence;
    // Sentences end after 4-11 words, most with a period, some with a question mark.
    if (inSentence >= 4 && gen() % 8 == 0) {
      d.text_.push_back(word % 5 == 0 ? '?' : '.');
      d.text_.push_back(gen() % 4 == 0 ? '\n' : ' ');
      inSentence = 0;
    } else {
      d.text_.push_back(' ');
    }
  }
  d.text_.resize(bytes);
  d.split(seq);
  return d;
}

Batch TextData::windows(int count, int seq, const std::function<size_t(int)>& startOf) const {
  Batch b;
  b.sequences = count;
  b.inputs.resize(static_cast<size_t>(count) * seq);
  b.targets.resize(b.inputs.size());
  for (int i = 0; i < count; ++i) {
    const auto* window = text_.data() + startOf(i);
    std::copy(window, window + seq, b.inputs.begin() + static_cast<long>(i) * seq);
    std::copy(window + 1, window + seq + 1, b.targets.begin() + static_cast<long>(i) * seq);
  }
  return b;
}

Batch TextData::trainBatch(unsigned long long seed, long long step, int globalSequences, int first, int count,
                           int seq) const {
  const size_t starts = trainEnd_ - static_cast<size_t>(seq);  // a window and its next byte fit
  return windows(count, seq, [&](int i) {
    const uint64_t g =
        static_cast<uint64_t>(step) * static_cast<uint64_t>(globalSequences) + static_cast<uint64_t>(first + i);
    return static_cast<size_t>(mix(seed ^ mix(g)) % starts);
  });
}

uint64_t TextData::fingerprint() const { return fnv1a(text_.data(), text_.size()); }

Batch TextData::heldOutBatch(int first, int count, int seq) const {
  const size_t span = text_.size() - trainEnd_ - static_cast<size_t>(seq);
  return windows(count, seq, [&](int i) {
    return trainEnd_ + (static_cast<size_t>(first + i) * 7919u * static_cast<size_t>(seq)) % span;
  });
}

}  // namespace trainer
