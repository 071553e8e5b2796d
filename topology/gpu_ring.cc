#include "gpu_ring.h"

#include <algorithm>
#include <numeric>
#include <tuple>

namespace strata {
namespace {

// A ring's quality: its slowest hop first, then the sum of its hops (link classes, lower better).
struct RingCost {
  int worst = 0;
  int sum = 0;
  bool operator<(const RingCost& o) const { return std::tie(worst, sum) < std::tie(o.worst, o.sum); }
};

class RingSearch {
 public:
  RingSearch(std::vector<int> order, std::vector<std::vector<int>> hop)
      : order_(std::move(order)), hop_(std::move(hop)) {}

  std::vector<int> run() {
    const size_t n = order_.size();
    best_.resize(n);
    std::iota(best_.begin(), best_.end(), 0);  // positions: PCIe order itself
    best_cost_ = costOf(best_);
    std::vector<int> path = {0};
    std::vector<bool> used(n, false);
    used[0] = true;
    extend(path, used, RingCost{});
    std::vector<int> ring;
    for (int i : best_) ring.push_back(order_[static_cast<size_t>(i)]);
    return ring;
  }

 private:
  static constexpr long kBudget = 200000;  // visited partial rings; 8 GPUs need at most 5040 leaves

  RingCost costOf(const std::vector<int>& ring) const {
    RingCost c;
    for (size_t i = 0; i < ring.size(); ++i) add(c, hop(ring[i], ring[(i + 1) % ring.size()]));
    return c;
  }
  int hop(int a, int b) const { return hop_[static_cast<size_t>(a)][static_cast<size_t>(b)]; }
  static void add(RingCost& c, int h) {
    c.worst = std::max(c.worst, h);
    c.sum += h;
  }

  void extend(std::vector<int>& path, std::vector<bool>& used, RingCost cost) {
    if (++visited_ > kBudget) return;
    const size_t n = order_.size();
    // Every hop still to come costs at least the best class (1, NVLink): prune what cannot win.
    RingCost bound = cost;
    bound.sum += static_cast<int>(n - path.size() + 1);
    if (!(bound < best_cost_)) return;
    if (path.size() == n) {
      add(cost, hop(path.back(), path.front()));
      if (cost < best_cost_) {
        best_cost_ = cost;
        best_ = path;
      }
      return;
    }
    for (size_t next = 1; next < n; ++next) {
      if (used[next]) continue;
      RingCost with = cost;
      add(with, hop(path.back(), static_cast<int>(next)));
      used[next] = true;
      path.push_back(static_cast<int>(next));
      extend(path, used, with);
      path.pop_back();
      used[next] = false;
    }
  }

  std::vector<int> order_;             // GPU indices in PCIe order; the search works on positions
  std::vector<std::vector<int>> hop_;  // by position: link class of the hop (1 NVLink .. 5 SYS)
  std::vector<int> best_;
  RingCost best_cost_;
  long visited_ = 0;
};

}  // namespace

std::vector<int> gpusInPcieOrder(const HostTopology& host) {
  std::vector<int> order(host.gpus.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const HostDevice& x = host.gpus[static_cast<size_t>(a)];
    const HostDevice& y = host.gpus[static_cast<size_t>(b)];
    return std::tie(x.package, x.busId) < std::tie(y.package, y.busId);
  });
  return order;
}

std::vector<int> gpuRingOrder(const HostTopology& host, const NvLinkMap& nvlinks) {
  std::vector<int> order = gpusInPcieOrder(host);
  if (nvlinks.empty() || order.size() < 3) return order;
  const size_t n = order.size();
  std::vector<std::vector<int>> hop(n, std::vector<int>(n, 0));
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      const HostDevice& a = host.gpus[static_cast<size_t>(order[i])];
      const HostDevice& b = host.gpus[static_cast<size_t>(order[j])];
      hop[i][j] = static_cast<int>(classifyLink(host, a, b, nvlinks));
    }
  }
  return RingSearch(order, hop).run();
}

}  // namespace strata
