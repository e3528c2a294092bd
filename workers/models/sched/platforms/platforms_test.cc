#include "workers/models/sched/platforms/platforms.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kreplay::platforms {
namespace {

using ::testing::HasSubstr;

TEST(BuiltinPlatforms, NamesAreSorted) {
  EXPECT_EQ(BuiltinPlatformNames(), (std::vector<std::string>{"hikey960", "juno-r0", "tc2"}));
}

TEST(BuiltinPlatforms, JunoMatchesReferenceTable) {
  auto p = LoadBuiltinPlatform("juno-r0");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->power_unit, "relative");
  ASSERT_EQ(p->clusters.size(), 2u);
  EXPECT_EQ(p->total_cpus(), 6u);
  const auto& little = p->clusters[0];
  const auto& big = p->clusters[1];
  EXPECT_EQ(little.cpus, 4u);
  EXPECT_FALSE(little.big);
  EXPECT_EQ(little.cpu_efficiency, 2048u);
  EXPECT_EQ(big.cpu_efficiency, 3891u);
  EXPECT_TRUE(big.big);
  ASSERT_EQ(little.opps.size(), 5u);
  EXPECT_EQ(little.opps[2].khz, 700000u);
  EXPECT_EQ(little.opps[2].capacity, 368u);
  EXPECT_DOUBLE_EQ(little.opps[2].cpu_power, 61);
  EXPECT_DOUBLE_EQ(little.opps[2].cluster_power, 39);
  EXPECT_EQ(big.opps.back().capacity, 1024u);
  EXPECT_DOUBLE_EQ(big.opps.back().cpu_power, 616);
  // Idle: A53 CPU WFI 6, cluster WFI 56 / sleep 17; DT latencies.
  EXPECT_DOUBLE_EQ(little.idle_states[0].cpu_power, 6);
  EXPECT_DOUBLE_EQ(little.idle_states[0].cluster_power, 56);
  EXPECT_DOUBLE_EQ(little.idle_states.back().cluster_power, 17);
  EXPECT_EQ(little.idle_states[1].exit_latency_ns, 1200000);
  EXPECT_EQ(little.idle_states[1].min_residency_ns, 2000000);
  EXPECT_EQ(little.idle_states[2].min_residency_ns, 2500000);
}

TEST(BuiltinPlatforms, Tc2AndHikey) {
  auto tc2 = LoadBuiltinPlatform("tc2");
  ASSERT_TRUE(tc2.ok()) << tc2.status().ToString();
  EXPECT_EQ(tc2->total_cpus(), 5u);
  EXPECT_EQ(tc2->clusters[0].opps.size(), 8u);
  EXPECT_DOUBLE_EQ(tc2->clusters[1].opps.back().cluster_power, 15200);
  EXPECT_EQ(tc2->clusters[1].idle_states.back().exit_latency_ns, 700000);
  EXPECT_EQ(tc2->clusters[0].idle_states.back().exit_latency_ns, 500000);
  auto hk = LoadBuiltinPlatform("hikey960");
  ASSERT_TRUE(hk.ok()) << hk.status().ToString();
  EXPECT_EQ(hk->power_unit, "mW");
  // P = C * V^2 * f: A73 at 2362 MHz, 1.10 V, C = 550 -> 1571.9 mW.
  EXPECT_NEAR(hk->clusters[1].opps.back().cpu_power, 550 * 1.1 * 1.1 * 2362 / 1000.0, 0.05);
}

TEST(BuiltinPlatforms, UnknownNameListsKnownOnes) {
  auto r = BuiltinPlatformYaml("exynos");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(r.status().message(), HasSubstr("juno-r0"));
}

constexpr char kValid[] = R"(name: tiny
description: test
power_unit: mW
source: hand-written
clusters:
  - name: little
    core: cortex-a7
    cpus: 2
    capacity: 512
    cpu_efficiency: 2048
    big: false
    dvfs_transition_ns: 100000
    opps:
      - {khz: 500000, capacity: 256, cpu_power: 10, cluster_power: 5}
      - {khz: 1000000, capacity: 512, cpu_power: 30, cluster_power: 8}
    idle_states:
      - {name: wfi, cpu_power: 1, cluster_power: 2, exit_latency_ns: 1000, min_residency_ns: 1000}
  - name: big
    core: cortex-a15
    cpus: 1
    capacity: 1024
    cpu_efficiency: 3891
    big: true
    dvfs_transition_ns: 100000
    opps:
      - {khz: 1000000, capacity: 1024, cpu_power: 100, cluster_power: 20}
    idle_states:
      - {name: wfi, cpu_power: 1, cluster_power: 2, exit_latency_ns: 1000, min_residency_ns: 1000}
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  return s.replace(pos, from.size(), to);
}

TEST(ParsePlatformYaml, ValidDocument) {
  auto p = ParsePlatformYaml(kValid, "tiny.yaml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->total_cpus(), 3u);
  EXPECT_EQ(p->clusters[0].opps[1].khz, 1000000u);
  EXPECT_EQ(p->clusters[1].dvfs_transition_ns, 100000);
}

struct BadCase {
  std::string from, to, expect;
};

TEST(ParsePlatformYaml, InvalidDocumentsNameFileLineAndField) {
  const BadCase cases[] = {
      {"{khz: 1000000, capacity: 512,", "{khz: fast, capacity: 512,", "tiny.yaml:15: clusters[0].opps[1].khz: expected an integer"},
      {"{khz: 1000000, capacity: 512,", "{khz: 400000, capacity: 512,", "clusters[0].opps[1].khz: OPPs must be in ascending"},
      {"capacity: 1024\n", "capacity: 2048\n", "clusters[1].capacity: out of range [1, 1024]"},
      {"capacity: 1024\n", "capacity: 900\n", "top OPP capacity 1024 differs"},
      {"cpus: 2", "cpus: 0", "tiny.yaml:8: clusters[0].cpus: out of range"},
      {"power_unit: mW", "power_unit: watts", "power_unit: expected 'mW' or 'relative'"},
      {"    big: false\n", "    big: maybe\n", "clusters[0].big: expected true or false"},
      {"source: hand-written\n", "", "source: missing"},
      {"cpu_power: 10,", "cpu_power: -3,", "clusters[0].opps[0].cpu_power: must be a finite non-negative"},
  };
  for (const auto& c : cases) {
    auto p = ParsePlatformYaml(Replace(kValid, c.from, c.to), "tiny.yaml");
    ASSERT_FALSE(p.ok()) << c.expect;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(p.status().message(), HasSubstr(c.expect));
  }
}

TEST(ParsePlatformYaml, BiggestClusterMustBe1024) {
  std::string doc = Replace(Replace(kValid, "capacity: 1024\n", "capacity: 1000\n"), "capacity: 1024, cpu_power: 100",
                            "capacity: 1000, cpu_power: 100");
  auto p = ParsePlatformYaml(doc, "tiny.yaml");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("biggest cluster must have capacity 1024"));
}

TEST(ParsePlatformYaml, SyntaxErrorHasLine) {
  auto p = ParsePlatformYaml("name: [unclosed\n", "bad.yaml");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(), HasSubstr("bad.yaml:"));
}

}  // namespace
TEST(PlatformsTest, CanonicalPlatformText) {
  workload::Platform p;
  p.name = "soc";
  p.description = "a";
  p.power_unit = "mW";
  workload::Cluster c;
  c.name = "little";
  c.cpus = 2;
  c.opps.push_back({500000, 512, 0.1, 20});
  c.idle_states.push_back({"wfi", 1, 2, 3, 4});
  p.clusters.push_back(c);
  const std::string text = CanonicalPlatformText(p);
  EXPECT_THAT(text, HasSubstr("platform name=3:soc power_unit=2:mW clusters=1\n"));
  EXPECT_THAT(text, HasSubstr("opp khz=500000 capacity=512 cpu_power=0.1 cluster_power=20\n"));
  EXPECT_THAT(text, HasSubstr("idle name=3:wfi cpu_power=1 cluster_power=2 exit_latency_ns=3 min_residency_ns=4\n"));
  workload::Platform doc = p;
  doc.description = "other words";
  doc.source = "elsewhere";
  EXPECT_EQ(CanonicalPlatformText(doc), text);  // documentation only
  workload::Platform power = p;
  power.clusters[0].opps[0].cpu_power = 0.1000000000000001;
  EXPECT_NE(CanonicalPlatformText(power), text);  // round-trip precision
}

}  // namespace kreplay::platforms
