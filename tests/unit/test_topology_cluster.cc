// Rack metadata: topology.conf parsing (good files and a corpus of malformed ones), the other
// placement sources, and the hierarchy built from placements.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <set>

#include "topology/cluster_file.h"
#include "topology/hierarchy.h"
#include "topology/placement.h"

namespace {

const std::string kFixtures = STRATA_FIXTURES_DIR "/topology/";
using Path = std::vector<std::string>;

TEST(ClusterFile, TwoRacksUnderASpine) {
  auto tree = strata::loadSwitchTree(kFixtures + "two_racks.conf");
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  const auto& paths = tree.value().pathOfHost;
  ASSERT_EQ(paths.size(), 4u);
  EXPECT_EQ(paths.at("node01"), (Path{"spine", "leaf1"}));
  EXPECT_EQ(paths.at("node04"), (Path{"spine", "leaf2"}));
  EXPECT_EQ(tree.value().linkSpeed.at("leaf1"), "1000");
}

TEST(ClusterFile, ThreeLevelsAndPaddedHostlists) {
  auto tree = strata::loadSwitchTree(kFixtures + "three_levels.conf");
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  EXPECT_EQ(tree.value().pathOfHost.size(), 40u);
  EXPECT_EQ(tree.value().pathOfHost.at("gpu007"), (Path{"core", "pod1", "r1"}));
  EXPECT_EQ(tree.value().pathOfHost.at("gpu120"), (Path{"core", "pod2", "r4"}));
}

TEST(ClusterFile, CommentsContinuationsAndCase) {
  auto tree = strata::parseSwitchTree("# top\n\n  SWITCHNAME=s1 nOdEs=a[1-2] # trailing\r\nSwitchName=s2 \\\n Nodes=b\n", "inline");
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  EXPECT_EQ(tree.value().pathOfHost.at("a2"), Path{"s1"});
  EXPECT_EQ(tree.value().pathOfHost.at("b"), Path{"s2"});
}

// Slurm's parse_config: an odd number of trailing '\' continues a line and the next line is
// appended as it is (no space added), so a hostlist may be split anywhere; "\#" is a literal
// '#', "\\" a literal '\', and an even number of trailing '\' does not continue.
TEST(ClusterFile, ContinuationsJoinAsSlurmDoes) {
  auto tree = strata::parseSwitchTree("SwitchName=s1 Nodes=a,\\\nb[1-2]\nSwitchName=s\\#2 Nodes=c[0\\\n1-02]\n"
                                      "SwitchName=s3 Nodes=d\\\\\\\\\n",
                                      "inline");
  ASSERT_TRUE(tree.ok()) << tree.status().message();
  const auto& paths = tree.value().pathOfHost;
  EXPECT_EQ(paths.at("a"), Path{"s1"});
  EXPECT_EQ(paths.at("b1"), Path{"s1"});
  EXPECT_EQ(paths.at("b2"), Path{"s1"});
  EXPECT_EQ(paths.at("c01"), Path{"s#2"});
  EXPECT_EQ(paths.at("c02"), Path{"s#2"});
  EXPECT_EQ(paths.at("d\\\\"), Path{"s3"}) << "four '\\' are two escaped ones, not a continuation";
  EXPECT_EQ(paths.size(), 6u);
}

// Hostlists are sized before they are built, and a whole file may list at most 2^18 names: a
// small file that asks for millions is an error, found without allocating them.
TEST(ClusterFile, HostlistExpansionIsBoundedBeforeAllocation) {
  std::string text;
  for (int line = 0; line < 40; ++line) text += "SwitchName=s" + std::to_string(line) + " Nodes=n" + std::to_string(line) + "x[00000-65535]\n";
  ASSERT_LT(text.size(), 1600u);  // about the size of the file the fuzzer found
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  auto tree = strata::parseSwitchTree(text, "big");
  getrusage(RUSAGE_SELF, &after);
  ASSERT_FALSE(tree.ok());
  EXPECT_NE(tree.status().message().find("at most 262144"), std::string::npos) << tree.status().message();
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 256 * 1024) << "KiB of memory grew while refusing the file";
  auto cartesian = strata::parseSwitchTree("SwitchName=s Nodes=n[0-1023][0-1023]\n", "product");
  ASSERT_FALSE(cartesian.ok());
  EXPECT_NE(cartesian.status().message().find("product:1:"), std::string::npos);
}

TEST(ClusterFile, EveryMalformedFileIsAnErrorNamingFileAndLine) {
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kFixtures + "malformed")) {
    ++files;
    auto tree = strata::loadSwitchTree(entry.path().string());
    ASSERT_FALSE(tree.ok()) << entry.path() << " should be rejected";
    EXPECT_EQ(tree.status().code(), strataInvalidArgument);
    EXPECT_NE(tree.status().message().find(entry.path().string() + ":"), std::string::npos) << tree.status().message();
  }
  EXPECT_GE(files, 10);
  EXPECT_FALSE(strata::loadSwitchTree(kFixtures + "no-such-file.conf").ok());
}

TEST(ClusterFile, RandomBytesNeverCrash) {
  std::mt19937 random(7);
  const std::string alphabet = "SwitchNameNodes=[],-0123456789 \\\n#ab";
  for (int i = 0; i < 3000; ++i) {
    std::string text;
    int length = static_cast<int>(random() % 80);
    for (int k = 0; k < length; ++k) text += alphabet[random() % alphabet.size()];
    auto tree = strata::parseSwitchTree(text, "fuzz");
    if (!tree.ok()) {
      EXPECT_EQ(tree.status().code(), strataInvalidArgument);
    }
  }
}

TEST(Placement, SourcesInOrder) {
  strata::PlacementInputs in;
  in.hostname = "node03.cluster";
  in.topologyFile = kFixtures + "two_racks.conf";
  in.rack = "ignored";
  auto fromFile = strata::placeThisHost(in);
  ASSERT_TRUE(fromFile.ok()) << fromFile.status().message();
  EXPECT_EQ(fromFile.value().switches, (Path{"spine", "leaf2"}));

  in.hostname = "stranger";
  auto missing = strata::placeThisHost(in);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing.value().switches, Path{"unlisted-stranger"});
  EXPECT_NE(missing.value().warning.find("not in"), std::string::npos);

  in.topologyFile.clear();
  in.slurmTopologyAddr = "core.pod1.r2.gpu019";
  in.slurmTopologyPattern = "switch.switch.switch.node";
  EXPECT_EQ(strata::placeThisHost(in).value().switches, (Path{"core", "pod1", "r2"}));
  in.slurmTopologyPattern = "switch.node";
  EXPECT_FALSE(strata::placeThisHost(in).ok());
  in.slurmTopologyPattern.clear();
  EXPECT_EQ(strata::placeThisHost(in).value().switches, (Path{"core", "pod1", "r2"}));

  in.slurmTopologyAddr.clear();
  EXPECT_EQ(strata::placeThisHost(in).value().switches, Path{"ignored"});
  in.rack.clear();
  EXPECT_TRUE(strata::placeThisHost(in).value().switches.empty());
  in.rack = "a/b";
  EXPECT_FALSE(strata::placeThisHost(in).ok());
}

// Ranks numbered round-robin over hosts, hosts round-robin over racks: the numbering that
// hurts a ring in rank order.
std::vector<strata::RankPlacement> roundRobin(int racks, int hostsPerRack, int ranksPerHost) {
  int hosts = racks * hostsPerRack;
  std::vector<strata::RankPlacement> placements;
  for (int r = 0; r < hosts * ranksPerHost; ++r) {
    int host = r % hosts;
    int rack = host % racks;
    placements.push_back({"h" + std::to_string(host), "h" + std::to_string(host), {"spine", "rack" + std::to_string(rack)}, 0});
  }
  return placements;
}

TEST(Hierarchy, RoundRobinNumberingGetsAContiguousRing) {
  strata::Hierarchy h(roundRobin(2, 2, 2));
  EXPECT_EQ(h.racks().size(), 2u);
  EXPECT_EQ(h.hosts().size(), 4u);
  EXPECT_EQ(h.switchDepth(), 2);
  EXPECT_EQ(h.describeRing(), "0 4 | 2 6 || 1 5 | 3 7");
  EXPECT_EQ(h.summary(), "2 racks (spine/rack0: 2 hosts, spine/rack1: 2 hosts), 4 hosts, 8 ranks");
  EXPECT_EQ(h.rackOf(5), 1);
  EXPECT_EQ(h.hostOf(6), h.hostOf(2));
}

TEST(Hierarchy, FlatAndLocalOrder) {
  strata::Hierarchy flat = strata::flatHierarchy(3);
  EXPECT_EQ(flat.ring(), (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(flat.switchDepth(), 0);
  std::vector<strata::RankPlacement> p = {{"a", "a", {}, 2}, {"a", "a", {}, 0}, {"a", "a", {}, 1}};
  EXPECT_EQ(strata::Hierarchy(p).ring(), (std::vector<int>{1, 2, 0}));
}

// Property: whatever the numbering, each group of every level (host, rack, higher switch) is one
// contiguous run of the cyclic ring, so the ring crosses each group's boundary exactly twice when
// there are several groups at that level: the minimum possible.
TEST(Hierarchy, AnyNumberingCrossesEachBoundaryTheMinimumNumberOfTimes) {
  std::mt19937 random(2026);
  for (int trial = 0; trial < 300; ++trial) {
    int pods = 1 + static_cast<int>(random() % 2), racksPerPod = 1 + static_cast<int>(random() % 3);
    int hostsPerRack = 1 + static_cast<int>(random() % 3), ranksPerHost = 1 + static_cast<int>(random() % 3);
    std::vector<strata::RankPlacement> places;
    for (int pod = 0; pod < pods; ++pod)
      for (int rack = 0; rack < racksPerPod; ++rack)
        for (int host = 0; host < hostsPerRack; ++host)
          for (int k = 0; k < ranksPerHost; ++k) {
            std::string hostName = "p" + std::to_string(pod) + "r" + std::to_string(rack) + "h" + std::to_string(host);
            places.push_back({hostName, hostName, {"pod" + std::to_string(pod), "rack" + std::to_string(rack)}, 0});
          }
    std::shuffle(places.begin(), places.end(), random);  // a random rank numbering
    strata::Hierarchy h(places);
    const auto& ring = h.ring();
    ASSERT_EQ(ring.size(), places.size());
    ASSERT_EQ(std::set<int>(ring.begin(), ring.end()).size(), ring.size());
    auto keyAt = [&](int level, size_t i) {
      const auto& p = places[static_cast<size_t>(ring[i % ring.size()])];
      if (level == 0) return p.switches[0];
      if (level == 1) return p.switches[0] + "/" + p.switches[1];
      return p.hostKey;
    };
    for (int level = 0; level < 3; ++level) {
      std::set<std::string> groups;
      int crossings = 0;
      for (size_t i = 0; i < ring.size(); ++i) {
        groups.insert(keyAt(level, i));
        if (keyAt(level, i) != keyAt(level, i + 1)) ++crossings;
      }
      int minimum = groups.size() > 1 ? static_cast<int>(groups.size()) : 0;
      ASSERT_EQ(crossings, minimum) << "level " << level << " trial " << trial << ": " << h.describeRing();
    }
  }
}

}  // namespace
