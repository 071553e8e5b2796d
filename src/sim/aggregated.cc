#include "src/sim/aggregated.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "src/sim/max_min.h"

namespace strata::sim {
namespace {

// First, middle or last of its siblings (or the only one).
int roleAmong(int index, int count) {
  if (count == 1) return 3;
  return index == 0 ? 0 : index == count - 1 ? 2 : 1;
}

// w flows of one size crossing the same levels, from every class's stage s together.
struct Group {
  Reach reach;
  double bytes;
  double flows;
  bool operator<(const Group& o) const { return std::tie(reach, bytes, flows) < std::tie(o.reach, o.bytes, o.flows); }
  bool operator==(const Group& o) const { return reach == o.reach && bytes == o.bytes && flows == o.flows; }
};

// What one representative does in a stage: the messages it sends and waits for, by reach and
// size, and its local work. Ranks alike in a stage share one profile.
struct RankProfile {
  std::vector<std::pair<Reach, double>> sends, receives;
  double copyBytes = 0;
  double reduceBytes = 0;
  bool operator<(const RankProfile& o) const {
    return std::tie(sends, receives, copyBytes, reduceBytes) < std::tie(o.sends, o.receives, o.copyBytes, o.reduceBytes);
  }
  bool operator==(const RankProfile& o) const { return !(*this < o) && !(o < *this); }
};

struct LockstepStage {
  std::vector<Group> groups;
  std::vector<RankProfile> profiles;  // distinct, sorted
  bool operator<(const LockstepStage& o) const { return std::tie(groups, profiles) < std::tie(o.groups, o.profiles); }

  void add(Reach reach, double bytes, double flows) {
    for (Group& g : groups) {
      if (g.reach == reach && g.bytes == bytes) {
        g.flows += flows;
        return;
      }
    }
    groups.push_back({reach, bytes, flows});
  }
  void addProfile(RankProfile p) {
    std::sort(p.sends.begin(), p.sends.end());
    std::sort(p.receives.begin(), p.receives.end());
    auto at = std::lower_bound(profiles.begin(), profiles.end(), p);
    if (at == profiles.end() || !(*at == p)) profiles.insert(at, std::move(p));
  }
};

// Seconds of one lock-step stage: its groups start after their alpha, share the link classes
// max-min fairly, and a group that finishes leaves its links to the others.
class StageTimer {
 public:
  explicit StageTimer(const Network& net) : net_(net) {
    for (int c = 0; c < kLinkClasses; ++c) capacity_.push_back(net.meanCapacity(static_cast<LinkClass>(c)));
  }

  // When each group's last flow arrives, from the stage's start.
  std::vector<double> groupEnds(const std::vector<Group>& groups) {
    const size_t g = groups.size();
    std::vector<double> ends(g, 0.0);
    std::vector<double> remaining(g), start(g);
    std::vector<char> done(g, 0);
    for (size_t i = 0; i < g; ++i) {
      remaining[i] = groups[i].bytes;
      start[i] = net_.rates().alphaSeconds[static_cast<size_t>(groups[i].reach)];
    }
    double now = 0;
    size_t left = g;
    while (left > 0) {
      std::vector<size_t> active;
      for (size_t i = 0; i < g; ++i) {
        if (!done[i] && start[i] <= now) active.push_back(i);
      }
      std::vector<double> rates = ratesOf(groups, active);
      double next = std::numeric_limits<double>::infinity();
      for (size_t i = 0; i < g; ++i) {
        if (!done[i] && start[i] > now) next = std::min(next, start[i]);
      }
      for (size_t a = 0; a < active.size(); ++a) next = std::min(next, now + remaining[active[a]] / rates[a]);
      for (size_t a = 0; a < active.size(); ++a) {
        const size_t i = active[a];
        remaining[i] -= rates[a] * (next - now);
        if (remaining[i] <= 1e-9 * groups[i].bytes + 1e-6) {
          done[i] = 1;
          --left;
          ends[i] = next;
        }
      }
      now = next;
    }
    return ends;
  }

  // A stage lasts until its slowest rank is done: its copies, then its sends and its receives,
  // each received byte reduced on its core after the last arrival.
  double stageSeconds(const LockstepStage& stage) {
    const std::vector<double> ends = groupEnds(stage.groups);
    auto endOf = [&](Reach reach, double bytes) {
      for (size_t i = 0; i < stage.groups.size(); ++i) {
        if (stage.groups[i].reach == reach && stage.groups[i].bytes == bytes) return ends[i];
      }
      // A sender unlike any representative: the stage's slowest group.
      return ends.empty() ? 0.0 : *std::max_element(ends.begin(), ends.end());
    };
    const NetworkRates& rates = net_.rates();
    double slowest = 0;
    for (const RankProfile& p : stage.profiles) {
      double sent = 0, received = 0;
      for (const auto& [reach, bytes] : p.sends) sent = std::max(sent, endOf(reach, bytes));
      for (const auto& [reach, bytes] : p.receives) received = std::max(received, endOf(reach, bytes));
      const double done = std::max(sent, received + p.reduceBytes / rates.reduceBytesPerSecond);
      slowest = std::max(slowest, p.copyBytes / rates.copyBytesPerSecond + done);
    }
    return slowest;
  }

 private:
  std::vector<double> ratesOf(const std::vector<Group>& groups, const std::vector<size_t>& active) {
    // Flows of each class in use, spread evenly: ceil(w / N) per link on the links in use.
    std::array<double, kLinkClasses> flows{};
    for (size_t i : active) {
      for (LinkClass c : Network::classesOf(groups[i].reach)) flows[static_cast<size_t>(c)] += groups[i].flows;
    }
    std::array<double, kLinkClasses> linksInUse{};
    for (int c = 0; c < kLinkClasses; ++c) {
      const double w = flows[static_cast<size_t>(c)];
      if (w <= 0) continue;
      const double perLink = std::ceil(w / net_.linksOf(static_cast<LinkClass>(c)) - 1e-9);
      linksInUse[static_cast<size_t>(c)] = w / perLink;
    }
    uses_.clear();
    routes_.clear();
    for (size_t i : active) {
      for (LinkClass c : Network::classesOf(groups[i].reach)) {
        uses_.push_back({static_cast<int>(c), groups[i].flows / linksInUse[static_cast<size_t>(c)]});
      }
    }
    size_t at = 0;
    for (size_t i : active) {
      const int count = static_cast<int>(Network::classesOf(groups[i].reach).size());
      routes_.push_back({uses_.data() + at, count});
      at += static_cast<size_t>(count);
    }
    // One link of each class stands for the class: a group's load on it is its flows per link
    // in use, so the solved rate is each of its flows' rate.
    std::vector<double> rates;
    solver_.solve(capacity_, routes_, std::numeric_limits<double>::max(), rates);
    return rates;
  }

  const Network& net_;
  std::vector<double> capacity_;
  std::vector<LinkUse> uses_;
  std::vector<FlowRoute> routes_;
  MaxMinSolver solver_;
};

}  // namespace

RankClasses classifyRanks(const Network& network, const std::vector<int>& ring, bool byIndexInRack) {
  const Hierarchy& h = network.hierarchy();
  const int n = h.nranks();
  std::vector<int> positionOf(static_cast<size_t>(n));
  for (int p = 0; p < n; ++p) positionOf[static_cast<size_t>(ring[static_cast<size_t>(p)])] = p;
  // A rack's index among the racks of its pod, and a pod's among the pods.
  std::vector<int> rackInPod(h.racks().size()), racksSeen(static_cast<size_t>(h.podCount()), 0);
  for (size_t k = 0; k < h.racks().size(); ++k) rackInPod[k] = racksSeen[static_cast<size_t>(h.podOfRack(static_cast<int>(k)))]++;
  std::map<std::vector<int>, int> classOfKey;
  RankClasses classes;
  for (int r = 0; r < n; ++r) {
    const int host = h.hostOf(r), rack = h.rackOf(r), pod = h.podOf(r);
    const int hostsInRack = static_cast<int>(h.racks()[static_cast<size_t>(rack)].hosts.size());
    const int p = positionOf[static_cast<size_t>(r)];
    std::vector<int> key = {
        h.indexInHost(r),
        static_cast<int>(h.hosts()[static_cast<size_t>(host)].ranks.size()),
        byIndexInRack ? h.indexInRack(host) : roleAmong(h.indexInRack(host), hostsInRack),
        byIndexInRack ? rackInPod[static_cast<size_t>(rack)] : roleAmong(rackInPod[static_cast<size_t>(rack)], h.racksInPod(pod)),
        roleAmong(pod, h.podCount()),
        static_cast<int>(network.reach(r, ring[static_cast<size_t>((p + 1) % n)])),
        static_cast<int>(network.reach(r, ring[static_cast<size_t>((p + n - 1) % n)])),
        static_cast<int>(network.reach(r, (r + 1) % n)),
        static_cast<int>(network.reach(r, (r + n - 1) % n)),
    };
    auto [it, isNew] = classOfKey.emplace(std::move(key), static_cast<int>(classes.representative.size()));
    if (isNew) {
      classes.representative.push_back(r);
      classes.members.push_back(0);
    }
    ++classes.members[static_cast<size_t>(it->second)];
  }
  return classes;
}

Result<Outcome> replayAggregated(const Network& network, const RankClasses& classes, const PlanOfRank& planOf) {
  std::vector<LockstepStage> stages;
  for (size_t c = 0; c < classes.representative.size(); ++c) {
    const int rank = classes.representative[c];
    const double members = classes.members[c];
    const Plan plan = planOf(rank);
    if (stages.size() < plan.stages.size()) stages.resize(plan.stages.size());
    for (size_t s = 0; s < plan.stages.size(); ++s) {
      LockstepStage& stage = stages[s];
      RankProfile profile;
      for (const Step& step : plan.stages[s].steps) {
        if (Plan::isWindowStep(step.kind)) {
          return invalidArgument("simulation: plan '" + plan.algorithm +
                                 "' uses peer memory, which the simulator does not model (it models the network)");
        }
        const double bytes = static_cast<double>(step.bytes);
        if (step.kind == StepKind::Copy) profile.copyBytes += bytes;
        if (step.kind == StepKind::RecvReduce) profile.reduceBytes += bytes;
        if (step.kind == StepKind::Send || step.kind == StepKind::SendSignal) {
          stage.add(network.reach(rank, step.peer), bytes, members);
          profile.sends.emplace_back(network.reach(rank, step.peer), bytes);
        } else if (Plan::isReceive(step.kind)) {
          profile.receives.emplace_back(network.reach(step.peer, rank), bytes);
        }
      }
      stage.addProfile(std::move(profile));
    }
  }
  Outcome outcome;
  StageTimer timer(network);
  std::map<LockstepStage, double> secondsOf;
  for (LockstepStage& stage : stages) {
    std::sort(stage.groups.begin(), stage.groups.end());
    auto it = secondsOf.find(stage);
    if (it == secondsOf.end()) {
      it = secondsOf.emplace(stage, timer.stageSeconds(stage)).first;
      outcome.messages += stage.groups.size();
    }
    outcome.seconds += it->second;
    for (const Group& g : stage.groups) {
      for (LinkClass c : Network::classesOf(g.reach)) outcome.bytes[static_cast<size_t>(c)] += g.flows * g.bytes;
    }
  }
  for (int c = 0; c < kLinkClasses; ++c) {
    const LinkClass k = static_cast<LinkClass>(c);
    const double capacity = network.linksOf(k) * network.meanCapacity(k);
    if (capacity <= 0) continue;
    const double busy = outcome.bytes[static_cast<size_t>(c)] / capacity;
    if (busy > outcome.bottleneckBusySeconds) {
      outcome.bottleneckBusySeconds = busy;
      outcome.bottleneck = linkClassName(k);
    }
  }
  finishUtilisation(network, outcome);
  return outcome;
}

}  // namespace strata::sim
