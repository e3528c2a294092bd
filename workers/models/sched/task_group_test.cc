// Group scheduling arithmetic against calc_group_shares() and
// update_tg_load_avg() in kernel/sched/fair.c, with the examples its own
// comments give.
#include "workers/models/sched/task_group.h"

#include <gtest/gtest.h>

namespace kreplay::sched {
namespace {

TEST(TaskGroup, WholeGroupOnOneCpuGetsItsShares) {
  // The UP case of the comment above calc_group_shares(): all the group's
  // load is here, so its entity weighs tg->shares.
  EXPECT_EQ(CalcGroupShares(2048, 1024, 1024, 1024, 1024), 2048u);
  EXPECT_EQ(CalcGroupShares(512, 3 * 1024, 0, 0, 0), 512u);
}

TEST(TaskGroup, SharesSplitByWhereTheLoadIs) {
  // Load 1024 here out of 4096 in all: a quarter of the shares.
  EXPECT_EQ(CalcGroupShares(1024, 1024, 1024, 4096, 1024), 256u);
  // The stale contribution of this CPU is replaced by its current load.
  EXPECT_EQ(CalcGroupShares(1024, 2048, 0, 4096, 1024), 1024u * 2048 / (4096 - 1024 + 2048));
}

TEST(TaskGroup, SharesAreClamped) {
  // The comment's example: tg->shares 15*1024 over 8 CPUs with one task each
  // gives 1920 per CPU, above MIN_SHARES; an idle CPU gets MIN_SHARES (2).
  EXPECT_EQ(CalcGroupShares(15 * 1024, 1024, 1024, 8 * 1024, 1024), 1920u);
  EXPECT_EQ(CalcGroupShares(1024, 0, 0, 8 * 1024, 0), 2u);
  // Never above tg->shares.
  EXPECT_EQ(CalcGroupShares(100, 1 << 20, 0, 0, 0), 100u);
}

TEST(TaskGroup, TgLoadMovesOnlyPastOneSixtyFourth) {
  TgLoad tg;
  uint64_t contrib = 0;
  EXPECT_TRUE(UpdateTgLoadAvg(&tg, &contrib, 640));
  EXPECT_EQ(tg.load_avg, 640);
  EXPECT_FALSE(UpdateTgLoadAvg(&tg, &contrib, 650));  // 10 <= 640/64
  EXPECT_EQ(tg.load_avg, 640);
  EXPECT_TRUE(UpdateTgLoadAvg(&tg, &contrib, 651));
  EXPECT_EQ(tg.load_avg, 651);
  EXPECT_TRUE(UpdateTgLoadAvg(&tg, &contrib, 0));
  EXPECT_EQ(tg.load_avg, 0);
}

TEST(TaskGroup, TreeFromTheWorkload) {
  workload::SchedWorkload w;
  w.groups = {{"/a", 2048}, {"/a/b", 512}, {"/c", 1024}};
  w.tasks.resize(3);
  w.tasks[0].group = "/a/b";
  w.tasks[2].group = "/c";
  auto t = GroupTree::Build(w);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 4);
  EXPECT_EQ(t->node(2).path, "/a/b");
  EXPECT_EQ(t->node(2).parent, 1);
  EXPECT_EQ(t->node(2).depth, 2);
  EXPECT_EQ(t->group_of_task(0), 2);
  EXPECT_EQ(t->group_of_task(1), 0);
  EXPECT_EQ(t->group_of_task(2), 3);
  w.groups = {{"/a/b", 512}};
  EXPECT_NE(GroupTree::Build(w).status().ToString().find("parent group '/a' is not listed"), std::string::npos);
  w.groups = {{"/a", 2048}, {"/a/b", 512}, {"/c", 1024}};
  w.tasks[1].group = "/zz";
  EXPECT_NE(GroupTree::Build(w).status().ToString().find("tasks[1] ().group: '/zz' is not in"), std::string::npos);
}

}  // namespace
}  // namespace kreplay::sched
