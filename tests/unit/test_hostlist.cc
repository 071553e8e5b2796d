// Slurm hostlist expansion and the Slurm rendezvous (first node, reserved or derived port).
#include <gtest/gtest.h>

#include "src/common/hostlist.h"
#include "src/core/slurm_rendezvous.h"

namespace {

std::vector<std::string> expand(const std::string& text) {
  auto names = strata::expandHostlist(text);
  EXPECT_TRUE(names.ok()) << text << ": " << names.status().message();
  return names.ok() ? names.value() : std::vector<std::string>{};
}

using Names = std::vector<std::string>;

TEST(Hostlist, PlainNamesAndCommas) {
  EXPECT_EQ(expand("node1"), Names{"node1"});
  EXPECT_EQ(expand("a,b.example,c-1"), (Names{"a", "b.example", "c-1"}));
}

TEST(Hostlist, RangesKeepZeroPadding) {
  EXPECT_EQ(expand("node[01-03,20]"), (Names{"node01", "node02", "node03", "node20"}));
  EXPECT_EQ(expand("n[8-11]"), (Names{"n8", "n9", "n10", "n11"}));
  EXPECT_EQ(expand("n[098-101]"), (Names{"n098", "n099", "n100", "n101"}));
  EXPECT_EQ(expand("gpu[7]"), Names{"gpu7"});
}

TEST(Hostlist, SeveralBracketGroupsAndLists) {
  EXPECT_EQ(expand("rack[1-2]-gpu[1-2]"), (Names{"rack1-gpu1", "rack1-gpu2", "rack2-gpu1", "rack2-gpu2"}));
  EXPECT_EQ(expand("login,node[1-2],x[01,03]y"), (Names{"login", "node1", "node2", "x01y", "x03y"}));
  EXPECT_EQ(expand("[1-2]"), (Names{"1", "2"}));
}

TEST(Hostlist, MalformedExpressionsAreErrorsThatSayWhere) {
  for (const char* bad : {"", "a,,b", "a,", ",a", "node[1-", "node1]", "node[a-b]", "node[3-1]", "node[1-2",
                          "n[[1]]", "n[1--2]", "n[]", "n[,1]", "a b", "n[1-99999999999]", "n[0-1023][0-1023][0-1]"}) {
    auto names = strata::expandHostlist(bad);
    ASSERT_FALSE(names.ok()) << "'" << bad << "' should be rejected";
    EXPECT_EQ(names.status().code(), strataInvalidArgument);
    EXPECT_NE(names.status().message().find("hostlist '"), std::string::npos) << names.status().message();
  }
}

strata::LaunchEnvironment slurmEnv(const std::string& nodes) {
  strata::LaunchEnvironment env;
  env.source = "slurm";
  env.slurmNodelist = nodes;
  env.slurmJobId = "4242";
  env.slurmStepId = "3";
  return env;
}

TEST(SlurmRendezvous, FirstNodeAndDerivedPort) {
  auto meet = strata::slurmRendezvous(slurmEnv("gpu[07-09],login"), 1, "gpu08");
  ASSERT_TRUE(meet.ok()) << meet.status().message();
  EXPECT_EQ(meet.value().address, "gpu07");
  EXPECT_EQ(meet.value().port, 21491);  // 20000 + (4242 * 64 + 3) mod 30000, worked out by hand
  EXPECT_GE(meet.value().port, 20000);
  EXPECT_NE(strata::derivedSlurmPort(4242, 3), strata::derivedSlurmPort(4242, 4));
}

TEST(SlurmRendezvous, ReservedPortsWin) {
  auto env = slurmEnv("gpu01");
  env.slurmReservedPorts = "12005-12010";
  auto meet = strata::slurmRendezvous(env, 0, "gpu01.cluster.example");
  ASSERT_TRUE(meet.ok()) << meet.status().message();
  EXPECT_EQ(meet.value().port, 12005);
  env.slurmReservedPorts = "ports";
  EXPECT_FALSE(strata::slurmRendezvous(env, 0, "gpu01").ok());
}

TEST(SlurmRendezvous, TaskZeroOffTheFirstNodeIsAnError) {
  auto meet = strata::slurmRendezvous(slurmEnv("gpu[01-02]"), 0, "gpu02");
  ASSERT_FALSE(meet.ok());
  EXPECT_EQ(meet.status().code(), strataInvalidUsage);
  EXPECT_NE(meet.status().message().find("MASTER_ADDR"), std::string::npos);
}

TEST(SlurmRendezvous, MissingOrBadNodeListIsAnError) {
  EXPECT_FALSE(strata::slurmRendezvous(slurmEnv(""), 1, "x").ok());
  EXPECT_FALSE(strata::slurmRendezvous(slurmEnv("gpu[01-"), 1, "x").ok());
}

}  // namespace
