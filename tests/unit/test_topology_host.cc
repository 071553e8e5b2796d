// Host topology from hwloc XML fixtures: device counts, link classes between devices, GPU -> NIC
// pairing; and discovery on this machine.
#include <gtest/gtest.h>

#include "topology/gpu_ring.h"
#include "topology/hwloc_discovery.h"
#include "topology/nvml_links.h"
#include "topology/rank_device.h"

namespace {

const std::string kFixtures = STRATA_FIXTURES_DIR "/hwloc/";
using strata::LinkClass;

strata::HostTopology load(const std::string& name) {
  auto host = strata::discoverHostTopology(kFixtures + name);
  EXPECT_TRUE(host.ok()) << host.status().message();
  return host.ok() ? host.value() : strata::HostTopology{};
}

class HostTopologyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!strata::haveHwloc()) GTEST_SKIP() << "built without hwloc (libhwloc-dev)";
  }
};

TEST_F(HostTopologyTest, DualSocketEightGpuServer) {
  strata::HostTopology host = load("dgx_8gpu.xml");
  EXPECT_EQ(host.packages, 2);
  EXPECT_EQ(host.numaNodes, 2);
  ASSERT_EQ(host.gpus.size(), 8u);
  ASSERT_EQ(host.nics.size(), 4u);
  EXPECT_EQ(host.nics[0].name, "mlx5_0");  // OpenFabrics name preferred to ib0
  EXPECT_EQ(host.gpus[0].name, "GPU0 (cuda0)");
  EXPECT_EQ(host.gpus[0].numaNode, 0);
  EXPECT_EQ(host.gpus[7].numaNode, 1);
  EXPECT_EQ(host.gpus[5].package, 1);
  EXPECT_GT(host.gpus[0].pciLinkGBps, 60.0);
  const auto& g = host.gpus;
  EXPECT_EQ(strata::classifyLink(host, g[0], g[0]), LinkClass::Same);
  EXPECT_EQ(strata::classifyLink(host, g[0], g[1]), LinkClass::PcieSwitch);    // one leaf switch
  EXPECT_EQ(strata::classifyLink(host, g[0], g[2]), LinkClass::PcieSwitches);  // two leaves, one top switch
  EXPECT_EQ(strata::classifyLink(host, g[0], g[4]), LinkClass::CrossSocket);
  EXPECT_EQ(strata::classifyLink(host, g[1], host.nics[0]), LinkClass::PcieSwitch);
  EXPECT_EQ(strata::classifyLink(host, g[1], host.nics[1]), LinkClass::PcieSwitches);
  // Each GPU pairs with the NIC on its own leaf switch.
  EXPECT_EQ(strata::nearestNics(host), (std::vector<int>{0, 0, 1, 1, 2, 2, 3, 3}));
  EXPECT_EQ(host.summary(), "2 packages, 2 NUMA nodes, 8 cores, 8 GPUs, 4 NICs");
}

TEST_F(HostTopologyTest, NvLinkOutranksPcie) {
  strata::HostTopology host = load("dgx_8gpu.xml");
  strata::NvLinkMap nvlinks;
  nvlinks.pairs = {{0, 4, 25.0, false}};
  EXPECT_EQ(strata::classifyLink(host, host.gpus[0], host.gpus[4], nvlinks), LinkClass::NvLink);
  EXPECT_EQ(strata::classifyLink(host, host.gpus[4], host.gpus[0], nvlinks), LinkClass::NvLink);
  EXPECT_EQ(strata::classifyLink(host, host.gpus[1], host.gpus[4], nvlinks), LinkClass::CrossSocket);
}

// hwloc's NVLinkBandwidth distances (fixtures from make_fixtures.py, in the shape hwloc's NVML
// backend exports): direct links, NVSwitch fabrics and POWER's GPU-CPU links.
TEST_F(HostTopologyTest, NvLinkFromHwlocDistancesHybridCubeMesh) {
  strata::HostTopology host = load("dgx1_8gpu.xml");
  ASSERT_EQ(host.gpus.size(), 8u);
  ASSERT_EQ(host.nvlinks.pairs.size(), 16u);  // two fully joined quads (6 + 6) and 4 between them
  const strata::NvLinkPair* p = host.nvlinks.find(3, 7);
  ASSERT_NE(p, nullptr);
  EXPECT_DOUBLE_EQ(p->gbps, 25.0);
  EXPECT_FALSE(p->viaSwitch);
  EXPECT_FALSE(host.nvlinks.connected(0, 5));
  EXPECT_EQ(host.nvlinks.switches, 0);
  strata::NvLinkDiscovery nv = strata::discoverNvLinks(host);  // hwloc's answer wins over NVML
  EXPECT_EQ(nv.map.pairs.size(), 16u);
  EXPECT_NE(nv.note.find("hwloc NVLinkBandwidth"), std::string::npos) << nv.note;
  EXPECT_EQ(strata::classifyLink(host, host.gpus[0], host.gpus[4], nv.map), LinkClass::NvLink);
  EXPECT_EQ(strata::classifyLink(host, host.gpus[0], host.gpus[5], nv.map), LinkClass::CrossSocket);
  // PCIe order crosses the sockets on 3-4 and 7-0, neither an NVLink; the GPU ring uses NVLink
  // for every hop.
  EXPECT_EQ(strata::gpusInPcieOrder(host), (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  std::vector<int> ring = strata::gpuRingOrder(host, nv.map);
  ASSERT_EQ(ring.size(), 8u);
  EXPECT_EQ(ring.front(), 0);
  for (size_t i = 0; i < ring.size(); ++i) {
    EXPECT_TRUE(nv.map.connected(ring[i], ring[(i + 1) % ring.size()])) << "hop " << ring[i] << "-" << ring[(i + 1) % 8];
  }
  // A rank's place in the host ring follows that order.
  for (int local = 0; local < 8; ++local) {
    strata::RankDevice d = strata::chooseRankDevice(host, local, nv.map);
    EXPECT_EQ(ring[static_cast<size_t>(d.localOrder)], d.gpu);
  }
}

TEST_F(HostTopologyTest, NvLinkThroughNvSwitchFabrics) {
  strata::HostTopology host = load("dgx2_16gpu.xml");
  ASSERT_EQ(host.gpus.size(), 16u);
  EXPECT_EQ(host.nvlinks.switches, 12);
  // Every pair joined: on one board through its 6 switches (6 x 25 GB/s), across boards through
  // the trunks between matching switches (one fabric).
  ASSERT_EQ(host.nvlinks.pairs.size(), 120u);
  for (const strata::NvLinkPair& p : host.nvlinks.pairs) {
    EXPECT_TRUE(p.viaSwitch);
    EXPECT_DOUBLE_EQ(p.gbps, 150.0) << p.a << "-" << p.b;
  }
  EXPECT_NE(host.nvlinkNote.find("through 12 NVSwitches"), std::string::npos) << host.nvlinkNote;
  EXPECT_EQ(strata::classifyLink(host, host.gpus[0], host.gpus[15], host.nvlinks), LinkClass::NvLink);
  EXPECT_EQ(strata::gpuRingOrder(host, host.nvlinks), strata::gpusInPcieOrder(host));  // any order is all NVLink
}

TEST_F(HostTopologyTest, NvLinkPairsAndCpuLinksOnPower) {
  strata::HostTopology host = load("power8_4gpu.xml");
  ASSERT_EQ(host.gpus.size(), 4u);
  ASSERT_EQ(host.nvlinks.pairs.size(), 2u);  // the GPUs of each socket; links to the CPUs are not GPU pairs
  EXPECT_TRUE(host.nvlinks.connected(0, 1));
  EXPECT_TRUE(host.nvlinks.connected(2, 3));
  EXPECT_FALSE(host.nvlinks.connected(1, 2));
  EXPECT_DOUBLE_EQ(host.nvlinks.find(0, 1)->gbps, 40.0);
  EXPECT_NE(host.nvlinkNote.find("4 GPU-CPU links"), std::string::npos) << host.nvlinkNote;
  EXPECT_EQ(strata::gpuRingOrder(host, host.nvlinks), (std::vector<int>{0, 1, 2, 3}));
}

TEST_F(HostTopologyTest, NoNvLinkMatrixLeavesPcieOrder) {
  strata::HostTopology host = load("dgx_8gpu.xml");
  EXPECT_TRUE(host.nvlinks.empty());
  EXPECT_TRUE(host.nvlinkNote.empty());
  EXPECT_EQ(strata::gpuRingOrder(host, host.nvlinks), strata::gpusInPcieOrder(host));
}

TEST_F(HostTopologyTest, FourGpuPcieServerWithOneNic) {
  strata::HostTopology host = load("pcie_4gpu.xml");
  ASSERT_EQ(host.gpus.size(), 4u);
  ASSERT_EQ(host.nics.size(), 1u);
  const auto& g = host.gpus;
  EXPECT_EQ(strata::classifyLink(host, g[0], g[1]), LinkClass::HostBridge);  // root ports of one host bridge
  EXPECT_EQ(strata::classifyLink(host, g[2], g[3]), LinkClass::PcieSwitch);
  EXPECT_EQ(strata::classifyLink(host, g[0], g[2]), LinkClass::HostBridge);  // two host bridges, one socket
  EXPECT_EQ(strata::classifyLink(host, g[3], host.nics[0]), LinkClass::PcieSwitch);
  EXPECT_EQ(strata::nearestNics(host), (std::vector<int>{0, 0, 0, 0}));
}

TEST_F(HostTopologyTest, CpuOnlyDualSocketHost) {
  strata::HostTopology host = load("cpu_only.xml");
  EXPECT_EQ(host.packages, 2);
  EXPECT_EQ(host.numaNodes, 2);
  EXPECT_EQ(host.cores, 8);
  EXPECT_TRUE(host.gpus.empty());
  ASSERT_EQ(host.nics.size(), 1u);
  EXPECT_EQ(host.nics[0].name, "eno1");
  EXPECT_EQ(host.nics[0].numaNode, 0);
  ASSERT_EQ(host.numaCpusets.size(), 2u);
  EXPECT_EQ(host.numaCpusets[1], "0x000000f0");
  EXPECT_TRUE(strata::nearestNics(host).empty());
}

TEST_F(HostTopologyTest, ThisMachinesExport) {
  strata::HostTopology host = load("this_vm.xml");
  EXPECT_EQ(host.packages, 1);
  EXPECT_EQ(host.cores, 2);
  EXPECT_TRUE(host.gpus.empty());
  ASSERT_EQ(host.nics.size(), 1u);
  EXPECT_EQ(host.nics[0].name, "eth0");
}

TEST_F(HostTopologyTest, LiveDiscoveryAndNvmlAbsence) {
  auto host = strata::discoverHostTopology("");
  ASSERT_TRUE(host.ok()) << host.status().message();
  EXPECT_GE(host.value().pus, 1);
  EXPECT_EQ(host.value().source, "hwloc (this host)");
  strata::NvLinkDiscovery nv = strata::discoverNvLinks(load("dgx_8gpu.xml"));
  EXPECT_FALSE(nv.note.empty());  // on a machine without NVML: "not available: PCIe only"
}

TEST_F(HostTopologyTest, BadXmlIsAnErrorNamingTheFile) {
  auto host = strata::discoverHostTopology(kFixtures + "no-such.xml");
  ASSERT_FALSE(host.ok());
  EXPECT_NE(host.status().message().find("no-such.xml"), std::string::npos);
}

}  // namespace
