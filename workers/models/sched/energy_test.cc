#include "workers/models/sched/energy.h"

#include <gtest/gtest.h>

#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

using namespace kreplay::sched::testing;
constexpr int64_t kMs = sim::kMs;

// A hand-made schedule on TC2 (CPUs 0-2 A7, 3-4 A15), 10 ms.
TEST(EnergyMeter, HandComputedScheduleOnTc2) {
  workload::Platform p = Builtin("tc2");
  EnergyMeter m(p, 0, 0);
  m.SetIdle(1, 1, 0);  // A7 CPUs 1, 2 in cluster-sleep; A15 CPUs stay in WFI
  m.SetIdle(2, 1, 0);
  m.SetBusy(0, 0);
  m.SetOpp(0, 7, 2 * kMs);  // A7 to 1 GHz
  m.SetIdle(0, 1, 5 * kMs);
  m.SetIdle(1, 0, 7 * kMs);  // one CPU back in WFI keeps the cluster in WFI
  m.Flush(10 * kMs);
  // Table values (REFERENCE.md section 1, TC2):
  // A7 350 MHz: CPU 187, cluster 2967; 1 GHz: CPU 1024, cluster 4905;
  // A7 cluster idle WFI 25, sleep 10; A15 cluster WFI 70; CPU idle power 0.
  double a7 = (187 + 2967) * 2.0   // 0-2 ms, CPU 0 busy at 350 MHz
              + (1024 + 4905) * 3.0  // 2-5 ms at 1 GHz
              + 10 * 2.0             // 5-7 ms all asleep
              + 25 * 3.0;            // 7-10 ms, CPU 1 in WFI
  double a15 = 70 * 10.0;
  EXPECT_NEAR(m.power_seconds(), (a7 + a15) * 1e-3, 1e-9);
  EXPECT_EQ(m.busy_time(0), 5 * kMs);
  EXPECT_EQ(m.opp_time(0, 0), 2 * kMs);
  EXPECT_EQ(m.opp_time(0, 7), 8 * kMs);
  EXPECT_EQ(m.idle_time(0, 1), 5 * kMs + 10 * kMs + 7 * kMs);  // CPU 0, 2, 1
  EXPECT_EQ(m.idle_time(1, 0), 20 * kMs);
}

// One 10 ms busy task through the whole model on Juno r0, performance
// governor. find_idlest_group() sends the fork to the idle big cluster (its
// load 0 is not beaten by the local group's 0 x imbalance_pct), to its first
// CPU (4); that CPU leaves cluster-sleep (exit 1.2 ms) and runs 10 ms.
TEST(EnergyModel, SingleTaskOnJunoByHand) {
  workload::Platform p = Builtin("juno-r0");
  workload::SchedWorkload w;
  w.tasks.push_back(Task("t", 0, 1, {Runtime(10 * kMs)}));
  auto r = RunSchedSim(p, w, Options(Policy::kCfs, GovernorKind::kPerformance), 1, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& a53 = p.clusters[0];
  const auto& a57 = p.clusters[1];
  const double exit_ms = a57.idle_states.back().exit_latency_ns / 1e6;  // 1.2
  const double run_ms = exit_ms + 10.0;
  EXPECT_NEAR(r->scalars.at("makespan_ms").value, run_ms, 1e-9);
  double power = a57.opps.back().cpu_power + a57.opps.back().cluster_power  // CPU 4 busy, cluster active
                 + a57.idle_states.back().cpu_power                          // CPU 5 asleep
                 + 4 * a53.idle_states.back().cpu_power + a53.idle_states.back().cluster_power;
  EXPECT_NEAR(power, 616 + 64 + 0 + 0 + 17, 1e-9);
  EXPECT_NEAR(r->scalars.at("energy").value, power * run_ms * 1e-3, 1e-9);
  EXPECT_EQ(r->scalars.at("energy").unit, "units");
  EXPECT_NEAR(r->scalars.at("cluster.a53.idle.cluster-sleep.time_ms").value, 4 * run_ms, 1e-9);
  EXPECT_NEAR(r->scalars.at("cluster.a57.opp.1100000.time_ms").value, run_ms, 1e-9);
  EXPECT_EQ(r->scalars.at("migrations_fork").value, 1);
  // The wake-up latency of the fork is the exit latency.
  EXPECT_NEAR(r->scalars.at("wakeup_latency_mean_us").value, exit_ms * 1000, 1e-6);
}

TEST(EnergyModel, MilliwattPlatformsReportJoules) {
  workload::Platform p = Builtin("hikey960");
  workload::SchedWorkload w;
  w.tasks.push_back(Task("t", 0, 1, {Runtime(10 * kMs)}));
  auto r = RunSchedSim(p, w, Options(Policy::kCfs, GovernorKind::kPerformance), 1, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scalars.at("energy").unit, "J");
  // Hikey960 has no idle or cluster power: only the busy A73 at 1571.9 mW for
  // exit (1.6 ms) + 10 ms.
  EXPECT_NEAR(r->scalars.at("energy").value, 1571.9e-3 * 11.6e-3, 1e-9);
}

}  // namespace
}  // namespace kreplay::sched
