// The RT runqueue against the rules of sched(7) and kernel/sched/rt.c:
// strict priority order, FIFO within a priority, SCHED_RR rotation after
// RR_TIMESLICE (100 ms in ticks), a preempted task keeping its place.
#include "workers/models/sched/rt_rq.h"

#include <vector>

#include <gtest/gtest.h>

namespace kreplay::sched {
namespace {

std::vector<RtEntity> Entities(std::vector<int> rt_priorities, bool rr = false) {
  std::vector<RtEntity> v(rt_priorities.size());
  for (size_t i = 0; i < v.size(); ++i) {
    v[i].id = static_cast<uint32_t>(i);
    v[i].prio = RtPrio(rt_priorities[i]);
    v[i].rr = rr;
  }
  return v;
}

TEST(RtRq, SlicesAreOneHundredMillisecondsInTicks) {
  EXPECT_EQ(RrTimesliceTicks(100), 10);
  EXPECT_EQ(RrTimesliceTicks(250), 25);
  EXPECT_EQ(RrTimesliceTicks(1000), 100);
}

TEST(RtRq, MostUrgentPriorityFirstThenFifo) {
  // sched(7): a higher sched_priority always runs first; equal priorities
  // run in the order they became runnable. rt_priority 99 is kernel prio 0.
  auto e = Entities({10, 50, 10, 99, 1});
  RtRq rq(25);
  for (auto& x : e) rq.Enqueue(&x);
  EXPECT_EQ(rq.nr_running(), 5);
  EXPECT_EQ(rq.highest_prio(), 0);
  std::vector<uint32_t> order;
  while (RtEntity* p = rq.PickNext()) {
    order.push_back(p->id);
    rq.Dequeue(p);
  }
  EXPECT_EQ(order, (std::vector<uint32_t>{3, 1, 0, 2, 4}));
  EXPECT_EQ(rq.highest_prio(), kMaxRtPrio);
  EXPECT_EQ(rq.PickNext(), nullptr);
}

TEST(RtRq, FindFirstWalksInPickOrder) {
  // pick_next_pushable_task()/pick_next_highest_task_rt(): most urgent
  // first, list order within a priority, across both bitmap words (kernel
  // priorities 0..63 and 64..99).
  auto e = Entities({10, 50, 10, 99, 1, 50});
  RtRq rq(25);
  for (auto& x : e) rq.Enqueue(&x);
  std::vector<uint32_t> seen;
  EXPECT_EQ(rq.FindFirst([&](const RtEntity* x) {
    seen.push_back(x->id);
    return false;
  }), nullptr);
  EXPECT_EQ(seen, (std::vector<uint32_t>{3, 1, 5, 0, 2, 4}));
  EXPECT_EQ(rq.FindFirst([](const RtEntity* x) { return x->id != 3 && x->id != 1; })->id, 5u);
  EXPECT_EQ(rq.FindFirst([](const RtEntity* x) { return x->prio > RtPrio(50); })->id, 0u);
}

TEST(RtRq, PreemptedTaskKeepsItsPlace) {
  // The running task stays at the head of its list while a more urgent one
  // runs; when that one blocks, the preempted task resumes before its peers.
  auto e = Entities({20, 20, 60});
  RtRq rq(25);
  rq.Enqueue(&e[0]);
  rq.Enqueue(&e[1]);
  EXPECT_EQ(rq.PickNext(), &e[0]);
  EXPECT_TRUE(RtRq::WakeupPreempt(&e[0], &e[2]));
  rq.Enqueue(&e[2]);
  EXPECT_EQ(rq.PickNext(), &e[2]);
  rq.Dequeue(&e[2]);
  EXPECT_EQ(rq.PickNext(), &e[0]);
}

TEST(RtRq, EqualPriorityDoesNotPreempt) {
  auto e = Entities({30, 30, 29});
  EXPECT_FALSE(RtRq::WakeupPreempt(&e[0], &e[1]));
  EXPECT_FALSE(RtRq::WakeupPreempt(&e[0], &e[2]));
  EXPECT_TRUE(RtRq::WakeupPreempt(&e[2], &e[0]));
}

TEST(RtRq, RoundRobinRotatesAfterItsSliceOnlyWithAPeer) {
  // task_tick_rt(): at HZ 250 a SCHED_RR task gets 25 ticks; the 25th tick
  // refills the slice and moves it behind its peer.
  auto e = Entities({40, 40}, /*rr=*/true);
  RtRq rq(RrTimesliceTicks(250));
  rq.Enqueue(&e[0]);
  rq.Enqueue(&e[1]);
  for (int tick = 1; tick < 25; ++tick) ASSERT_FALSE(rq.Tick(&e[0])) << tick;
  EXPECT_TRUE(rq.Tick(&e[0]));
  EXPECT_EQ(rq.PickNext(), &e[1]);
  EXPECT_EQ(e[0].time_slice, 25);
  // Alone on its list: the slice is refilled but nothing moves.
  rq.Dequeue(&e[1]);
  for (int tick = 1; tick <= 25; ++tick) ASSERT_FALSE(rq.Tick(&e[0])) << tick;
  EXPECT_EQ(e[0].time_slice, 25);
  EXPECT_EQ(rq.PickNext(), &e[0]);
}

TEST(RtRq, FifoNeverRotates) {
  auto e = Entities({40, 40});
  RtRq rq(RrTimesliceTicks(250));
  rq.Enqueue(&e[0]);
  rq.Enqueue(&e[1]);
  for (int tick = 0; tick < 1000; ++tick) ASSERT_FALSE(rq.Tick(&e[0]));
  EXPECT_EQ(rq.PickNext(), &e[0]);
}

TEST(RtRq, RequeueGoesToTheTailAndBitmapTracksBothWords) {
  auto e = Entities({99, 1, 1, 1});  // prio 0 (word 0) and 98 (word 1)
  RtRq rq(10);
  for (auto& x : e) rq.Enqueue(&x);
  rq.Requeue(&e[1]);
  rq.Dequeue(&e[0]);
  EXPECT_EQ(rq.highest_prio(), 98);
  EXPECT_EQ(rq.PickNext(), &e[2]);
  rq.Dequeue(&e[2]);
  EXPECT_EQ(rq.PickNext(), &e[3]);
  rq.Dequeue(&e[3]);
  EXPECT_EQ(rq.PickNext(), &e[1]);
  rq.Dequeue(&e[1]);
  EXPECT_EQ(rq.nr_running(), 0);
  EXPECT_EQ(rq.highest_prio(), kMaxRtPrio);
}

}  // namespace
}  // namespace kreplay::sched
