#include "workers/models/sched/governor.h"

#include <gtest/gtest.h>

#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

// Juno r0 A53: 450/575/700/775/850 MHz, capacity 447 at the top.
TEST(Governor, OndemandJumpsUpAndScalesDown) {
  workload::Cluster c = testing::Builtin("juno-r0").clusters[0];
  GovernorParams g;
  EXPECT_EQ(OndemandTarget(c, g, 0, 81), 4);
  EXPECT_EQ(OndemandTarget(c, g, 4, 75), 4);  // between 70 and 80: hold
  // 60 % at 850 MHz -> 60 * 850 / 70 = 728.6 MHz -> 775 MHz.
  EXPECT_EQ(OndemandTarget(c, g, 4, 60), 3);
  EXPECT_EQ(OndemandTarget(c, g, 4, 10), 0);
}

TEST(Governor, InteractiveAndSchedutil) {
  workload::Cluster c = testing::Builtin("juno-r0").clusters[0];
  GovernorParams g;
  // 50 % at 850 MHz / target 90 % -> 472 MHz -> 575 MHz.
  EXPECT_EQ(InteractiveTarget(c, g, 4, 50), 1);
  EXPECT_EQ(InteractiveTarget(c, g, 0, 99), 4);
  // util 300 of 447: 1.25 * 850 * 300 / 447 = 713 MHz -> 775 MHz.
  EXPECT_EQ(SchedutilTarget(c, 300), 3);
  EXPECT_EQ(SchedutilTarget(c, 0), 0);
  EXPECT_EQ(SchedutilTarget(c, 447), 4);
  GovernorKind k;
  EXPECT_TRUE(ParseGovernor("schedutil", &k));
  EXPECT_EQ(k, GovernorKind::kSchedutil);
  EXPECT_FALSE(ParseGovernor("conservative", &k));
}

}  // namespace
}  // namespace kreplay::sched
