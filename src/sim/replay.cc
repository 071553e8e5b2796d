#include "src/sim/replay.h"

#include <algorithm>
#include <deque>
#include <limits>
#include <queue>
#include <unordered_map>

#include "src/sim/max_min.h"
#include "src/sim/token_buckets.h"

namespace strata::sim {

namespace {

struct Message {
  int src = 0, dst = 0;
  double bytes = 0;
  Path path;  // the links it crosses
  bool reduces = false;
  bool released = false;  // the sender's step is done (what is left fits the send buffer)
  double receiveReady = -1, arrived = -1;
};

// One step of a rank's stage that waits on a message.
struct Wait {
  int message = 0;
  bool isSend = false;
};

struct RankStages {
  std::vector<size_t> first;  // per stage, its waits start at waits[first[s]]; first.back() = waits.size()
  std::vector<Wait> waits;
  std::vector<double> copyBytes;  // per stage
  std::vector<int> copies;        // per stage
};

struct RankState {
  size_t stage = 0;
  int pending = 0;
  double coreFree = 0;
  double finished = -1;
};

enum class EventKind : uint8_t { FlowStarts, StepDone };

struct Event {
  double time;
  uint64_t order;  // ties resolve in the order events were made: deterministic
  EventKind kind;
  int subject;  // message (FlowStarts) or rank (StepDone)
  bool operator>(const Event& o) const { return time != o.time ? time > o.time : order > o.order; }
};

class Replay {
 public:
  Replay(const Network& network, std::vector<Message> messages, std::vector<RankStages> ranks)
      : net_(network), messages_(std::move(messages)), stages_(std::move(ranks)), state_(stages_.size()),
        remaining_(messages_.size(), 0.0), linkBytes_(static_cast<size_t>(network.linkCount()), 0.0), buckets_(network),
        throughput_(static_cast<size_t>(network.linkCount()), 0.0) {}

  Result<Outcome> run() {
    for (size_t r = 0; r < stages_.size(); ++r) startStage(static_cast<int>(r), 0.0);
    while (true) {
      if (ratesStale_) solveRates();
      double next = std::numeric_limits<double>::infinity();
      const double buffer = net_.rates().sendBufferBytes;
      for (size_t i = 0; i < active_.size(); ++i) {
        const double left = remaining_[static_cast<size_t>(active_[i])];
        next = std::min(next, now_ + left / rates_[i]);
        if (!messages_[static_cast<size_t>(active_[i])].released) next = std::min(next, now_ + (left - buffer) / rates_[i]);
      }
      if (!events_.empty()) next = std::min(next, events_.top().time);
      if (buckets_.enabled() && !active_.empty()) next = std::min(next, now_ + buckets_.secondsUntilFlip(throughput_));
      if (next == std::numeric_limits<double>::infinity()) break;
      advanceTo(next);
      while (!events_.empty() && events_.top().time <= now_) {
        Event e = events_.top();
        events_.pop();
        if (e.kind == EventKind::FlowStarts) {
          startFlow(e.subject);
        } else {
          stepDone(e.subject);
        }
      }
    }
    Outcome outcome;
    outcome.exact = true;
    for (size_t r = 0; r < state_.size(); ++r) {
      if (state_[r].finished < 0) {
        return internalError("simulated plans deadlock: rank " + std::to_string(r) + " never finishes its stage " +
                             std::to_string(state_[r].stage));
      }
      outcome.seconds = std::max(outcome.seconds, state_[r].finished);
    }
    outcome.messages = messages_.size();
    for (int link = 0; link < net_.linkCount(); ++link) {
      const double bytes = linkBytes_[static_cast<size_t>(link)];
      outcome.bytes[static_cast<size_t>(net_.classOf(link))] += bytes;
      const double busy = bytes / net_.capacity(link);
      if (busy > outcome.bottleneckBusySeconds) {
        outcome.bottleneckBusySeconds = busy;
        outcome.bottleneck = net_.describe(link);
      }
    }
    finishUtilisation(net_, outcome);
    return outcome;
  }

 private:
  void schedule(double time, EventKind kind, int subject) { events_.push({time, order_++, kind, subject}); }

  void startStage(int rank, double time) {
    RankState& st = state_[static_cast<size_t>(rank)];
    const RankStages& rs = stages_[static_cast<size_t>(rank)];
    if (st.stage + 1 >= rs.first.size()) {
      st.finished = time;
      return;
    }
    const size_t s = st.stage;
    // Copies come first in a stage; transfers leave once they are done.
    const double ready = time + rs.copyBytes[s] / net_.rates().copyBytesPerSecond;
    st.coreFree = std::max(st.coreFree, ready);
    st.pending = static_cast<int>(rs.first[s + 1] - rs.first[s]) + rs.copies[s];
    if (st.pending == 0) {
      st.pending = 1;
      schedule(time, EventKind::StepDone, rank);
      return;
    }
    for (int c = 0; c < rs.copies[s]; ++c) schedule(ready, EventKind::StepDone, rank);
    for (size_t w = rs.first[s]; w < rs.first[s + 1]; ++w) {
      const Wait& wait = rs.waits[w];
      Message& m = messages_[static_cast<size_t>(wait.message)];
      if (wait.isSend) {
        // A message that fits the send buffer is handed over at once; its alpha is the wire's.
        if (m.bytes <= net_.rates().sendBufferBytes) {
          m.released = true;
          schedule(ready, EventKind::StepDone, rank);
        }
        schedule(ready + net_.alphaSeconds(m.src, m.dst), EventKind::FlowStarts, wait.message);
      } else {
        m.receiveReady = ready;
        if (m.arrived >= 0) finishReceive(m);
      }
    }
  }

  void stepDone(int rank) {
    RankState& st = state_[static_cast<size_t>(rank)];
    if (--st.pending > 0) return;
    ++st.stage;
    startStage(rank, now_);
  }

  // A pair's messages share one byte stream (a socket, a FIFO): they arrive in order, one after
  // another, never side by side. The head of each pair's queue is the one that moves.
  void startFlow(int id) {
    const Message& m = messages_[static_cast<size_t>(id)];
    std::deque<int>& queue = streams_[pairKey(m.src, m.dst)];
    queue.push_back(id);
    if (queue.size() == 1) moveHead(queue);
  }

  void moveHead(std::deque<int>& queue) {
    while (!queue.empty()) {
      const int id = queue.front();
      if (messages_[static_cast<size_t>(id)].bytes > 0) {
        remaining_[static_cast<size_t>(id)] = messages_[static_cast<size_t>(id)].bytes;
        active_.push_back(id);
        ratesStale_ = true;
        return;
      }
      queue.pop_front();
      arrive(id);
    }
  }

  void arrive(int id) {
    Message& m = messages_[static_cast<size_t>(id)];
    m.arrived = now_;
    for (int i = 0; i < m.path.count; ++i) linkBytes_[static_cast<size_t>(m.path.links[static_cast<size_t>(i)])] += m.bytes;
    if (!m.released) release(m);
    if (m.receiveReady >= 0) finishReceive(m);
  }

  // A message of non-zero size has fully arrived: the next of its stream moves.
  void arriveAndAdvance(int id) {
    const Message& m = messages_[static_cast<size_t>(id)];
    std::deque<int>& queue = streams_[pairKey(m.src, m.dst)];
    queue.pop_front();
    arrive(id);
    moveHead(queue);
  }

  uint64_t pairKey(int from, int to) const {
    return static_cast<uint64_t>(from) * static_cast<uint64_t>(stages_.size()) + static_cast<uint64_t>(to);
  }

  void release(Message& m) {
    m.released = true;
    schedule(now_, EventKind::StepDone, m.src);
  }

  // Both the message and its receiver are there: a reduction waits for the receiver's core.
  void finishReceive(const Message& m) {
    const double from = std::max(m.arrived, m.receiveReady);
    if (!m.reduces) {
      schedule(from, EventKind::StepDone, m.dst);
      return;
    }
    RankState& st = state_[static_cast<size_t>(m.dst)];
    st.coreFree = std::max(st.coreFree, from) + m.bytes / net_.rates().reduceBytesPerSecond;
    schedule(st.coreFree, EventKind::StepDone, m.dst);
  }

  void advanceTo(double time) {
    const double dt = time - now_;
    now_ = time;
    if (buckets_.enabled() && buckets_.advance(dt, throughput_)) ratesStale_ = true;
    std::vector<int> arrived;
    size_t keep = 0;
    for (size_t i = 0; i < active_.size(); ++i) {
      const int id = active_[i];
      double& left = remaining_[static_cast<size_t>(id)];
      left -= rates_[i] * dt;
      Message& m = messages_[static_cast<size_t>(id)];
      if (!m.released && left <= net_.rates().sendBufferBytes + 1e-9 * m.bytes + 1e-6) release(m);
      if (left <= 1e-9 * m.bytes + 1e-6) {
        arrived.push_back(id);
      } else {
        rates_[keep] = rates_[i];
        active_[keep++] = id;
      }
    }
    active_.resize(keep);
    rates_.resize(keep);
    if (!arrived.empty()) ratesStale_ = true;
    for (int id : arrived) arriveAndAdvance(id);
  }

  void solveRates() {
    uses_.clear();
    routes_.clear();
    for (int id : active_) {
      const Path& p = messages_[static_cast<size_t>(id)].path;
      for (int i = 0; i < p.count; ++i) uses_.push_back({p.links[static_cast<size_t>(i)], 1.0});
    }
    size_t at = 0;  // uses_ is complete: its data no longer moves
    for (int id : active_) {
      const int count = messages_[static_cast<size_t>(id)].path.count;
      routes_.push_back({uses_.data() + at, count});
      at += static_cast<size_t>(count);
    }
    solver_.solve(buckets_.enabled() ? buckets_.capacities() : net_.capacities(), routes_, std::numeric_limits<double>::max(), rates_);
    ratesStale_ = false;
    if (buckets_.enabled()) {
      throughput_.assign(static_cast<size_t>(net_.linkCount()), 0.0);
      for (size_t i = 0; i < routes_.size(); ++i) {
        for (int u = 0; u < routes_[i].count; ++u) throughput_[static_cast<size_t>(routes_[i].uses[u].link)] += rates_[i];
      }
    }
  }

  const Network& net_;
  std::vector<Message> messages_;
  std::vector<RankStages> stages_;
  std::vector<RankState> state_;
  std::vector<double> remaining_;
  std::vector<double> linkBytes_;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  uint64_t order_ = 0;
  double now_ = 0;
  std::vector<int> active_;
  std::unordered_map<uint64_t, std::deque<int>> streams_;  // per (sender, receiver): started, not arrived
  std::vector<double> rates_;
  bool ratesStale_ = false;
  std::vector<LinkUse> uses_;
  std::vector<FlowRoute> routes_;
  MaxMinSolver solver_;
  TokenBuckets buckets_;
  std::vector<double> throughput_;  // per link, at the current rates (token buckets)
};

}  // namespace

Result<Outcome> replayExactly(const Network& network, const std::vector<Plan>& plans) {
  const int n = static_cast<int>(plans.size());
  if (n != network.hierarchy().nranks()) {
    return invalidArgument("simulation: " + std::to_string(n) + " plans for a network of " +
                           std::to_string(network.hierarchy().nranks()) + " ranks");
  }
  std::vector<Message> messages;
  std::vector<RankStages> ranks(static_cast<size_t>(n));
  // Sends to each (sender, receiver) pair in plan order; the k-th receive of the pair takes the k-th.
  std::unordered_map<uint64_t, std::vector<int>> sendsOfPair;
  std::unordered_map<uint64_t, size_t> receivedOfPair;
  auto pairKey = [n](int from, int to) { return static_cast<uint64_t>(from) * static_cast<uint64_t>(n) + static_cast<uint64_t>(to); };
  for (int r = 0; r < n; ++r) {
    for (const Stage& stage : plans[static_cast<size_t>(r)].stages) {
      for (const Step& step : stage.steps) {
        if (Plan::isWindowStep(step.kind)) {
          return invalidArgument("simulation: plan '" + plans[static_cast<size_t>(r)].algorithm +
                                 "' uses peer memory, which the simulator does not model (it models the network)");
        }
        if (step.kind != StepKind::Send && step.kind != StepKind::SendSignal) continue;
        if (step.peer < 0 || step.peer >= n || step.peer == r) {
          return invalidArgument("simulation: rank " + std::to_string(r) + " sends to rank " + std::to_string(step.peer));
        }
        sendsOfPair[pairKey(r, step.peer)].push_back(static_cast<int>(messages.size()));
        messages.push_back({r, step.peer, static_cast<double>(step.bytes), network.path(r, step.peer)});
      }
    }
  }
  for (int r = 0; r < n; ++r) {
    RankStages& rs = ranks[static_cast<size_t>(r)];
    std::unordered_map<uint64_t, size_t> sentOfPair;
    for (const Stage& stage : plans[static_cast<size_t>(r)].stages) {
      rs.first.push_back(rs.waits.size());
      rs.copyBytes.push_back(0);
      rs.copies.push_back(0);
      for (const Step& step : stage.steps) {
        if (step.kind == StepKind::Copy) {
          rs.copyBytes.back() += static_cast<double>(step.bytes);
          ++rs.copies.back();
        } else if (step.kind == StepKind::Send || step.kind == StepKind::SendSignal) {
          const uint64_t key = pairKey(r, step.peer);
          rs.waits.push_back({sendsOfPair[key][sentOfPair[key]++], true});
        } else if (Plan::isReceive(step.kind)) {
          if (step.peer < 0 || step.peer >= n) {
            return invalidArgument("simulation: rank " + std::to_string(r) + " receives from rank " + std::to_string(step.peer));
          }
          const uint64_t key = pairKey(step.peer, r);
          auto it = sendsOfPair.find(key);
          size_t& k = receivedOfPair[key];
          if (it == sendsOfPair.end() || k >= it->second.size()) {
            return invalidArgument("simulation: rank " + std::to_string(r) + " receives a message rank " +
                                   std::to_string(step.peer) + " never sends");
          }
          Message& m = messages[static_cast<size_t>(it->second[k++])];
          if (m.bytes != static_cast<double>(step.bytes)) {
            return invalidArgument("simulation: rank " + std::to_string(step.peer) + " sends " + std::to_string(m.bytes) +
                                   " bytes where rank " + std::to_string(r) + " receives " + std::to_string(step.bytes));
          }
          m.reduces = step.kind == StepKind::RecvReduce;
          rs.waits.push_back({static_cast<int>(&m - messages.data()), false});
        }
      }
    }
    rs.first.push_back(rs.waits.size());
  }
  for (const auto& [key, sends] : sendsOfPair) {
    auto it = receivedOfPair.find(key);
    if (it == receivedOfPair.end() || it->second != sends.size()) {
      return invalidArgument("simulation: rank " + std::to_string(key / static_cast<uint64_t>(n)) + " sends a message rank " +
                             std::to_string(key % static_cast<uint64_t>(n)) + " never receives");
    }
  }
  return Replay(network, std::move(messages), std::move(ranks)).run();
}

}  // namespace strata::sim
