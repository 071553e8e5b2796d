// Strata's defaults for UCX's configuration: which UCX_TLS values let the tcp wire run, and that
// the defaults land in the configuration UCX will use, each one giving way to the user's UCX_*
// variable. (Read back with ucp_config_print: UCT settings show among its cached ones.)
#include <gtest/gtest.h>
#include <ucp/api/ucp.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "transports/ucx/ucx_defaults.h"
#include "transports/ucx/ucx_worker.h"

namespace strata {
namespace {

TEST(UcxMayUseTcp, FollowsUcxTls) {
  EXPECT_TRUE(ucxMayUseTcp(nullptr));
  EXPECT_TRUE(ucxMayUseTcp(""));
  EXPECT_TRUE(ucxMayUseTcp("all"));
  EXPECT_TRUE(ucxMayUseTcp("tcp"));
  EXPECT_TRUE(ucxMayUseTcp("sm,tcp"));
  EXPECT_TRUE(ucxMayUseTcp("tcp:aux,rc"));
  EXPECT_TRUE(ucxMayUseTcp("^sm"));
  EXPECT_FALSE(ucxMayUseTcp("sm"));
  EXPECT_FALSE(ucxMayUseTcp("rc,ud"));
  EXPECT_FALSE(ucxMayUseTcp("^tcp"));
  EXPECT_FALSE(ucxMayUseTcp("^sm,tcp"));
  EXPECT_FALSE(ucxMayUseTcp("tcpx"));
}

// The configuration as UCX prints it, after Strata's defaults.
std::string configuredText() {
  ucp_config_t* config = nullptr;
  EXPECT_EQ(ucp_config_read(nullptr, nullptr, &config), UCS_OK);
  std::string failed;
  EXPECT_EQ(applyUcxDefaults(config, &failed), UCS_OK) << failed;
  char* text = nullptr;
  size_t length = 0;
  FILE* stream = open_memstream(&text, &length);
  ucp_config_print(config, stream, "test", static_cast<ucs_config_print_flags_t>(UCS_CONFIG_PRINT_CONFIG));
  std::fclose(stream);
  std::string out(text, length);
  std::free(text);
  ucp_config_release(config);
  return out;
}

class UcxDefaults : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) unsetenv(name);
    setenv("UCX_TLS", "tcp", 1);
  }
  void TearDown() override {
    for (const char* name : kVariables) unsetenv(name);
  }
  static constexpr const char* kVariables[] = {"UCX_TLS", "UCX_TCP_MAX_POLL", "UCX_RNDV_THRESH", "UCX_ZCOPY_THRESH",
                                               "UCX_TCP_TX_SEG_SIZE"};
};

TEST_F(UcxDefaults, TcpPollsOneEventAtATime) {
  EXPECT_NE(configuredText().find("MAX_POLL=1"), std::string::npos);
}

TEST_F(UcxDefaults, WithoutRdmaLargeMessagesRendezvousAndEagerOnesAreCopied) {
  if (hostHasRdmaDevice()) GTEST_SKIP() << "this host has an RDMA device: UCX keeps its own thresholds";
  const std::string text = configuredText();
  EXPECT_NE(text.find("UCX_RNDV_THRESH=256K"), std::string::npos) << text;
  EXPECT_NE(text.find("UCX_ZCOPY_THRESH=inf"), std::string::npos) << text;
  EXPECT_NE(text.find("TX_SEG_SIZE=64k"), std::string::npos) << text;
}

TEST_F(UcxDefaults, TheUsersVariablesWin) {
  setenv("UCX_TCP_MAX_POLL", "4", 1);
  setenv("UCX_ZCOPY_THRESH", "32k", 1);
  setenv("UCX_TCP_TX_SEG_SIZE", "16k", 1);
  const std::string text = configuredText();
  EXPECT_EQ(text.find("MAX_POLL=1"), std::string::npos) << text;
  EXPECT_EQ(text.find("UCX_ZCOPY_THRESH=inf"), std::string::npos) << text;
  EXPECT_EQ(text.find("TX_SEG_SIZE=64k"), std::string::npos) << text;
}

TEST_F(UcxDefaults, NoTcpSettingWhereTcpCannotRun) {
  setenv("UCX_TLS", "sm", 1);
  const std::string text = configuredText();
  EXPECT_EQ(text.find("MAX_POLL="), std::string::npos) << text;
  EXPECT_EQ(text.find("TX_SEG_SIZE="), std::string::npos) << text;
}

}  // namespace
}  // namespace strata
