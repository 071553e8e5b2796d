#include "src/sim/aggregated.h"

#include <algorithm>
#include <map>

#include "src/sim/stage_rates.h"

namespace strata::sim {
namespace {

// One step of a representative's stage that moves a message.
struct ClassStep {
  StepKind kind;
  int peerClass;
  Reach reach;
  double bytes;
};

struct ClassStage {
  double copyBytes = 0;
  std::vector<ClassStep> steps;
};

// The representatives' stages, and what every stage index's flows take on the links.
struct Schedule {
  std::vector<std::vector<ClassStage>> stagesOf;  // by class, then stage
  // Which send a receive takes. When class q's representative sends to ranks of class c exactly
  // as many messages as c's representative takes from ranks of q, the k-th taken is the k-th sent
  // (sendStagesTo[q][c]: the stage of each, in order), as on a real stream. Otherwise (classes split
  // ranks by role, not by who sends to them: q's representative sends to a rank of another class
  // in the same role) the message left in the first of q's stages that send over that reach
  // (sendStages[q][reach], each stage once), not yet matched and not before ours: plans pair a
  // receive with a send of the same stage (rings, tiers, recursive doubling) or a later one.
  std::vector<std::map<int, std::vector<int>>> sendStagesTo;
  std::vector<std::map<int, size_t>> receivesFrom;  // by receiving class, then sending class
  std::vector<std::array<std::vector<int>, kReaches>> sendStages;
  const std::vector<int>* pairedSends(size_t from, size_t to) const {
    auto sent = sendStagesTo[from].find(static_cast<int>(to));
    auto taken = receivesFrom[to].find(static_cast<int>(from));
    if (sent == sendStagesTo[from].end() || taken == receivesFrom[to].end()) return nullptr;
    return sent->second.size() == taken->second ? &sent->second : nullptr;
  }
  std::vector<StageGroups> groupsOf;                 // by stage index
  std::array<double, kLinkClasses> bytes{};          // every rank's messages, per link class
  std::vector<std::vector<double>> transferSeconds;  // by stage index, per group: without alpha
};

Result<Schedule> schedule(const Network& network, const RankClasses& classes, const PlanOfRank& planOf) {
  const size_t classCount = classes.representative.size();
  Schedule out;
  out.stagesOf.resize(classCount);
  out.sendStages.resize(classCount);
  out.sendStagesTo.resize(classCount);
  out.receivesFrom.resize(classCount);
  for (size_t c = 0; c < classCount; ++c) {
    const int rank = classes.representative[c];
    const Plan plan = planOf(rank);
    if (out.groupsOf.size() < plan.stages.size()) out.groupsOf.resize(plan.stages.size());
    std::vector<ClassStage>& stages = out.stagesOf[c];
    stages.resize(plan.stages.size());
    for (size_t s = 0; s < plan.stages.size(); ++s) {
      // Messages to one peer follow each other on its stream: together they are one flow on the
      // links at a time, so each counts for its share of the class's flows.
      std::map<int, int> sendsToPeer;
      for (const Step& step : plan.stages[s].steps) {
        if (step.kind == StepKind::Send || step.kind == StepKind::SendSignal) ++sendsToPeer[step.peer];
      }
      for (const Step& step : plan.stages[s].steps) {
        if (Plan::isWindowStep(step.kind)) {
          return invalidArgument("simulation: plan '" + plan.algorithm +
                                 "' uses peer memory, which the simulator does not model (it models the network)");
        }
        const double bytes = static_cast<double>(step.bytes);
        if (step.kind == StepKind::Copy) {
          stages[s].copyBytes += bytes;
          continue;
        }
        const int peerClass = classes.classOf[static_cast<size_t>(step.peer)];
        const Reach reach = network.reach(rank, step.peer);
        stages[s].steps.push_back({step.kind, peerClass, reach, bytes});
        if (step.kind == StepKind::Send || step.kind == StepKind::SendSignal) {
          out.groupsOf[s].add(reach, bytes, classes.members[c] / sendsToPeer[step.peer]);
          for (LinkClass k : Network::classesOf(reach)) out.bytes[static_cast<size_t>(k)] += classes.members[c] * bytes;
          std::vector<int>& when = out.sendStages[c][static_cast<size_t>(reach)];
          if (when.empty() || when.back() != static_cast<int>(s)) when.push_back(static_cast<int>(s));
          out.sendStagesTo[c][peerClass].push_back(static_cast<int>(s));
        } else if (Plan::isReceive(step.kind)) {
          ++out.receivesFrom[c][peerClass];
        }
      }
    }
  }
  StageTimer timer(network);
  std::map<StageGroups, std::vector<double>> solved;
  const NetworkRates& rates = network.rates();
  for (StageGroups& stage : out.groupsOf) {
    std::sort(stage.groups.begin(), stage.groups.end());
    auto it = solved.find(stage);
    if (it == solved.end()) {
      std::vector<double> seconds = timer.groupEnds(stage.groups);
      for (size_t g = 0; g < seconds.size(); ++g) {
        seconds[g] = std::max(0.0, seconds[g] - rates.alphaSeconds[static_cast<size_t>(stage.groups[g].reach)]);
      }
      it = solved.emplace(stage, std::move(seconds)).first;
    }
    out.transferSeconds.push_back(it->second);
  }
  return out;
}

// Seconds a message of this reach and size takes on the links in stage s (without its alpha).
double transferOf(const Schedule& schedule, size_t s, Reach reach, double bytes) {
  const std::vector<Group>& groups = schedule.groupsOf[s].groups;
  for (size_t g = 0; g < groups.size(); ++g) {
    if (groups[g].reach == reach && groups[g].bytes == bytes) return schedule.transferSeconds[s][g];
  }
  return -1;
}

// Which of the sender's sending stages (`when`, ascending) a message taken in stage s left in:
// the first not yet matched that is not before s. Plans pair a receive with a send of the same
// stage (rings, tiers, recursive doubling) or a later one (a tree's child sends chunk s one stage
// after its parent takes it); a sending stage before s was meant for another rank of the class.
size_t matchSend(const std::vector<int>& when, size_t firstUnmatched, size_t s) {
  if (firstUnmatched >= when.size()) return when.size();
  return static_cast<size_t>(std::lower_bound(when.begin() + static_cast<long>(firstUnmatched), when.end(), static_cast<int>(s)) -
                             when.begin());
}

}  // namespace

Result<Outcome> replayAggregated(const Network& network, const RankClasses& classes, const PlanOfRank& planOf) {
  auto built = schedule(network, classes, planOf);
  if (!built.ok()) return built.status();
  const Schedule& sched = built.value();
  const NetworkRates& rates = network.rates();
  const size_t classCount = classes.representative.size();
  // start[c][s]: when class c's stage s starts (known once its stage s-1 has been timed).
  std::vector<std::vector<double>> start(classCount);
  std::vector<size_t> next(classCount, 0);  // the next stage of each class to time
  std::vector<double> coreFree(classCount, 0.0);
  // Per receiving class, per stream: messages taken so far, and when the last one arrived (a
  // stream's messages arrive one after another). Streams: one per sending class paired message
  // by message, else one per (sending class, reach) (Schedule::pairedSends).
  // Kept per class as a short list: a class takes messages from a few streams, and thousands of
  // classes (trees on thousands of hosts) would make a dense table quadratic.
  struct StreamState {
    size_t id;
    size_t taken = 0;
    double lastArrival = 0;
  };
  std::vector<std::vector<StreamState>> streamsOf(classCount);
  auto stateOf = [&](size_t c, size_t id) -> StreamState& {
    for (StreamState& st : streamsOf[c]) {
      if (st.id == id) return st;
    }
    return streamsOf[c].emplace_back(StreamState{id});
  };
  struct Match {
    size_t stream;
    long senderStage;  // -1: no send to pair with
    size_t takenAfter;
  };
  // The stream a receive of class c takes from: per sending class where the messages pair one
  // by one (Schedule::pairedSends), else per (sending class, reach).
  auto streamOf = [&](size_t c, const ClassStep& step) {
    const size_t q = static_cast<size_t>(step.peerClass);
    return sched.pairedSends(q, c) != nullptr ? classCount * kReaches + q : q * kReaches + static_cast<size_t>(step.reach);
  };
  // The sends that class c's receives of stage s take, in the stage's order (several receives
  // from one stream in a stage take its next messages one after another).
  auto matchesOf = [&](size_t c, size_t s) {
    std::vector<Match> matches;
    std::vector<std::pair<size_t, size_t>> takenHere;  // stream, receives of this stage so far
    for (const ClassStep& step : sched.stagesOf[c][s].steps) {
      if (!Plan::isReceive(step.kind)) continue;
      const size_t q = static_cast<size_t>(step.peerClass), stream = streamOf(c, step);
      size_t extra = 0;
      auto here = std::find_if(takenHere.begin(), takenHere.end(), [&](const auto& t) { return t.first == stream; });
      if (here == takenHere.end()) {
        takenHere.emplace_back(stream, 1);
      } else {
        extra = here->second++;
      }
      if (const std::vector<int>* sent = sched.pairedSends(q, c)) {
        const size_t k = stateOf(c, stream).taken + extra;
        matches.push_back({stream, k < sent->size() ? (*sent)[k] : -1L, k + 1});
      } else {
        const std::vector<int>& when = sched.sendStages[q][static_cast<size_t>(step.reach)];
        const size_t k = matchSend(when, stateOf(c, stream).taken, s);
        matches.push_back({stream, k < when.size() ? static_cast<long>(when[k]) : -1L, k + 1});
      }
    }
    return matches;
  };
  for (size_t c = 0; c < classCount; ++c) {
    start[c].assign(sched.stagesOf[c].size() + 1, -1.0);
    start[c][0] = 0;
  }
  // Time the stages whose messages' senders have reached their sending stage; repeat until every
  // class is done or none can go on (plans that wait on each other).
  Outcome outcome;
  // A sender's stage not timed yet, which the class must wait for (unless it may guess).
  auto blocked = [&](const Match& m, const ClassStep& step) {
    return m.senderStage >= 0 && start[static_cast<size_t>(step.peerClass)][static_cast<size_t>(m.senderStage)] < 0;
  };
  // When every class waits, some class is pairing a receive with the wrong send: its class does
  // not tell apart a role that matters there (trees, whose ranks' stages shift where they have no
  // chunk to pass, and whose inner nodes the classes lump with leaves). The class that waits since
  // the earliest time goes on as if those messages left when its stage started. Counted in the
  // outcome (strata-sim prints it); a genuine deadlock of the plans shows in the exact replay.
  long guessing = -1;
  bool progressed = true;
  while (true) {
    if (!progressed) {
      guessing = -1;
      for (size_t c = 0; c < classCount; ++c) {
        if (next[c] >= sched.stagesOf[c].size()) continue;
        if (guessing < 0 || start[c][next[c]] < start[static_cast<size_t>(guessing)][next[static_cast<size_t>(guessing)]]) {
          guessing = static_cast<long>(c);
        }
      }
      if (guessing < 0) break;
      ++outcome.guessedStages;
    }
    progressed = false;
    for (size_t c = 0; c < classCount; ++c) {
      const std::vector<ClassStage>& stages = sched.stagesOf[c];
      while (next[c] < stages.size()) {
        const size_t s = next[c];
        const ClassStage& stage = stages[s];
        // When each sending class's message of this stage left: its stage must be timed.
        std::vector<Match> matches = matchesOf(c, s);
        bool ready = true;
        size_t r = 0;
        for (const ClassStep& step : stage.steps) {
          if (Plan::isReceive(step.kind) && blocked(matches[r++], step) && guessing != static_cast<long>(c)) ready = false;
        }
        if (!ready) break;
        const double begin = start[c][s] + stage.copyBytes / rates.copyBytesPerSecond;
        double end = begin;
        coreFree[c] = std::max(coreFree[c], begin);
        size_t received = 0;
        for (const ClassStep& step : stage.steps) {
          const double alpha = rates.alphaSeconds[static_cast<size_t>(step.reach)];
          if (step.kind == StepKind::Send || step.kind == StepKind::SendSignal) {
            if (step.bytes > rates.sendBufferBytes) {
              const double transfer = std::max(0.0, transferOf(sched, s, step.reach, step.bytes));
              end = std::max(end, begin + alpha + transfer * (1 - rates.sendBufferBytes / step.bytes));
            }
            continue;
          }
          if (!Plan::isReceive(step.kind)) continue;
          const size_t q = static_cast<size_t>(step.peerClass);
          Match& m = matches[received++];
          if (blocked(m, step)) m.senderStage = -1;  // guessed: leaves as we start
          const size_t stream = m.stream;
          // The sender's stage, or ours when its representative never sends such a message (a
          // role the classes do not tell apart): then it is taken to leave as we arrive.
          const size_t sent = m.senderStage >= 0 ? static_cast<size_t>(m.senderStage) : s;
          // It leaves once the sender's copies of that stage are done.
          const double leaves =
              m.senderStage >= 0 ? start[q][sent] + sched.stagesOf[q][sent].copyBytes / rates.copyBytesPerSecond : begin;
          double transfer = transferOf(sched, sent, step.reach, step.bytes);
          if (transfer < 0) transfer = std::max(0.0, transferOf(sched, s, step.reach, step.bytes));
          StreamState& state = stateOf(c, stream);
          const double arrives = std::max(leaves + alpha, state.lastArrival) + transfer;
          state.lastArrival = arrives;
          double done = std::max(arrives, begin);
          if (step.kind == StepKind::RecvReduce) {
            coreFree[c] = std::max(coreFree[c], done) + step.bytes / rates.reduceBytesPerSecond;
            done = coreFree[c];
          }
          end = std::max(end, done);
        }
        for (const Match& m : matches) {
          if (m.senderStage >= 0) stateOf(c, m.stream).taken = std::max(stateOf(c, m.stream).taken, m.takenAfter);
        }
        start[c][s + 1] = end;
        ++next[c];
        progressed = true;
        if (guessing == static_cast<long>(c)) {
          guessing = -1;
          break;
        }
      }
    }
  }
  // The loop above ends only when every class has timed its last stage.
  for (size_t c = 0; c < classCount; ++c) {
    outcome.seconds = std::max(outcome.seconds, start[c].back());
  }
  for (const StageGroups& stage : sched.groupsOf) outcome.messages += stage.groups.size();
  outcome.bytes = sched.bytes;
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
