// Mainline PELT checked against the kernel's own constants, the curve
// Documentation/scheduler/schedutil.rst describes (y^32 = 1/2) and the rules
// of fair.c; expectations are computed here from those rules.
#include "workers/models/sched/pelt.h"

#include <cmath>

#include <gtest/gtest.h>

namespace kreplay::sched::pelt {
namespace {

constexpr uint64_t kPeriodNs = 1024 * 1024;  // one PELT period (1024 x 1024 ns)

// The table Documentation/scheduler/sched-pelt generates into
// kernel/sched/sched-pelt.h (runnable_avg_yN_inv[]).
constexpr uint32_t kKernelYnInv[32] = {
    0xffffffff, 0xfa83b2da, 0xf5257d14, 0xefe4b99a, 0xeac0c6e6, 0xe5b906e6, 0xe0ccdeeb, 0xdbfbb796,
    0xd744fcc9, 0xd2a81d91, 0xce248c14, 0xc9b9bd85, 0xc5672a10, 0xc12c4cc9, 0xbd08a39e, 0xb8fbaf46,
    0xb504f333, 0xb123f581, 0xad583ee9, 0xa9a15ab4, 0xa5fed6a9, 0xa2704302, 0x9ef5325f, 0x9b8d39b9,
    0x9837f050, 0x94f4efa8, 0x91c3d373, 0x8ea4398a, 0x8b95c1e3, 0x88980e80, 0x85aac367, 0x82cd8698,
};

TEST(Pelt, DecayTableIsTheKernels) {
  for (int n = 0; n < 32; ++n) EXPECT_EQ(YnInv()[n], kKernelYnInv[n]) << "n=" << n;
}

TEST(Pelt, DivisionByTheDividerIsExact) {
  // ___update_load_avg()'s divisions by reciprocal: every divider, around
  // each multiple of it, at the top of the exact range and past it.
  for (uint32_t pc = 0; pc < 1024; ++pc) {
    const uint64_t d = kMinDivider + pc;
    for (uint64_t n : {uint64_t{0}, uint64_t{1}, d - 1, d, d + 1, 1000 * d - 1, 1000 * d, (uint64_t{1} << 32) - 1,
                       uint64_t{1} << 32, (uint64_t{1} << 48) / d * d - 1, (uint64_t{1} << 48) / d * d,
                       (uint64_t{1} << 48) - 1, uint64_t{1} << 48, UINT64_MAX}) {
      ASSERT_EQ(internal::DivByDivider(n, pc), n / d) << "n=" << n << " pc=" << pc;
    }
  }
}

TEST(Pelt, LoadAvgMaxIsTheConvergedSeries) {
  // sched-pelt.c calc_converged_max(): max = max * y + 1024 in the same
  // fixed point until it stops changing.
  uint64_t max = 1024, last = 0;
  while (max != last) {
    last = max;
    max = ((max * kKernelYnInv[1]) >> 32) + 1024;
  }
  EXPECT_EQ(max, kLoadAvgMax);
}

TEST(Pelt, DecayLoadHalvesEvery32Periods) {
  EXPECT_EQ(DecayLoad(1 << 20, 32), (1u << 19) - 1);  // y^32 = 1/2, truncated by the table's 2^32 - 1
  EXPECT_EQ(DecayLoad(1 << 20, 64), (1u << 18) - 1);
  EXPECT_EQ(DecayLoad(12345, 32 * 63 + 1), 0u);  // beyond 63 half-lives
  EXPECT_EQ(DecayLoad(1000, 0), 999u);            // y^0 is (2^32 - 1) / 2^32
}

// Runs an entity from `now` for `ns`, updating every `step` ns. The *_avg
// move only when a period boundary is crossed (___update_load_avg() runs
// then), so the default step divides a period.
uint64_t RunFor(Avg* se, uint64_t now, uint64_t ns, bool running, uint64_t step = kPeriodNs / 16) {
  for (uint64_t t = step; t <= ns; t += step) UpdateEntity(now + t, se, 1024, running, running);
  return now + ns;
}

// util after running p periods from nothing: 1024 (1 - y^p).
double Ramp(double periods) { return 1024.0 * (1.0 - std::pow(0.5, periods / 32.0)); }

TEST(Pelt, UtilRampsAsTheGeometricSeries) {
  // schedutil.rst / REFERENCE: from idle, continuous running reaches 512 in
  // 32 periods (~33.5 ms), ~700 in ~53 ms and ~819 in ~74 ms.
  Avg se;
  uint64_t now = RunFor(&se, 0, 32 * kPeriodNs, true);
  EXPECT_NEAR(se.util_avg, Ramp(32), 3.0);
  EXPECT_NEAR(se.util_avg, 512, 3.0);
  now = RunFor(&se, now, 21 * kPeriodNs, true);
  EXPECT_NEAR(se.util_avg, Ramp(53), 3.0);
  now = RunFor(&se, now, 21 * kPeriodNs, true);
  EXPECT_NEAR(se.util_avg, Ramp(74), 3.0);
  EXPECT_NEAR(se.util_avg, 819, 5.0);
  // Long enough to saturate, then 32 periods asleep halve it.
  now = RunFor(&se, now, 1000 * kPeriodNs, true);
  EXPECT_GE(se.util_avg, 1000u);
  uint32_t full = se.util_avg;
  for (uint64_t t = kPeriodNs; t <= 32 * kPeriodNs; t += kPeriodNs) UpdateBlockedEntity(now + t, &se, 1024);
  EXPECT_NEAR(se.util_avg, full / 2.0, 3.0);
}

TEST(Pelt, SubUnitUpdatesDoNotMoveTheSignal) {
  // ___update_load_sum(): less than 1024 ns since the last update is no time.
  Avg se;
  RunFor(&se, 0, 5 * kPeriodNs, true);
  Avg before = se;
  EXPECT_FALSE(UpdateEntity(se.last_update_time + 1023, &se, 1024, true, true));
  EXPECT_EQ(se.util_sum, before.util_sum);
  EXPECT_EQ(se.last_update_time, before.last_update_time);
}

TEST(Pelt, LoadIsWeightedUtilIsNot) {
  // load_avg = weight * load_sum / divider; util ignores the weight.
  Avg a, b;
  for (uint64_t t = 100'000; t <= 40 * kPeriodNs; t += 100'000) {
    UpdateEntity(t, &a, 1024, true, true);
    UpdateEntity(t, &b, 335, true, true);  // nice 5
  }
  EXPECT_EQ(a.util_avg, b.util_avg);
  EXPECT_NEAR(static_cast<double>(b.load_avg) / a.load_avg, 335.0 / 1024.0, 0.01);
  // A runnable task that waits contributes load and runnable, not util.
  Avg w;
  for (uint64_t t = 100'000; t <= 40 * kPeriodNs; t += 100'000) UpdateEntity(t, &w, 1024, true, false);
  EXPECT_EQ(w.util_avg, 0u);
  EXPECT_EQ(w.runnable_avg, a.runnable_avg);
}

// A periodic task: `busy_wall` ns of running per `period` ns, on a CPU whose
// capacity x frequency scale is `scale`/1024; PELT time comes from Clock.
uint32_t PeriodicUtil(uint64_t busy_wall, uint64_t period, uint32_t scale, int periods) {
  Clock clock;
  Avg se;
  uint64_t now = 0;
  for (int i = 0; i < periods; ++i) {
    for (uint64_t t = 0; t < busy_wall; t += 50'000) {
      now += 50'000;
      clock.Advance(now, false, 1024, scale);
      UpdateEntity(clock.Now(), &se, 1024, true, true);
    }
    RqAvg rq;  // the CPU's sum says it was not always busy: no lost idle time
    clock.EnterIdle(rq);
    now += period - busy_wall;
    clock.Advance(now, true, 1024, scale);
    UpdateBlockedEntity(clock.Now(), &se, 1024);
  }
  return se.util_avg;
}

TEST(Pelt, ClockPeltMakesUtilFrequencyInvariant) {
  // update_rq_clock_pelt(): the same work takes twice the wall time at half
  // frequency but the same PELT time, so util is (nearly) the same: 2 ms of
  // work every 16 ms is ~1/8 of 1024 either way.
  uint32_t full = PeriodicUtil(2'000'000, 16'000'000, 1024, 200);
  uint32_t half = PeriodicUtil(4'000'000, 16'000'000, 512, 200);
  EXPECT_NEAR(full, 1024.0 / 8, 25.0);
  EXPECT_NEAR(half, full, 0.02 * 1024);
  // Without invariance (scale 1024 while running twice as long) it would be twice as much.
  uint32_t variant = PeriodicUtil(4'000'000, 16'000'000, 1024, 200);
  EXPECT_GT(variant, full + 80);
}

TEST(Pelt, ClockScalesByCapacityThenFrequencyAndSyncsWhenIdle) {
  Clock c;
  c.Advance(10'000'000, false, 512, 512);  // quarter speed
  EXPECT_EQ(c.Now(), 2'500'000u);
  c.Advance(12'000'000, true, 512, 512);  // idle: synced to the task clock
  EXPECT_EQ(c.Now(), 12'000'000u);
  // Always running (util_sum at its maximum): the gap is lost, not stolen.
  RqAvg busy;
  busy.avg.util_sum = (kMinDivider << kCapacityShift);
  c.Advance(22'000'000, false, 1024, 512);  // 10 ms at half speed -> 5 ms
  c.EnterIdle(busy);
  EXPECT_EQ(c.lost_idle_time, 5'000'000u);
  c.Advance(22'000'000, true, 1024, 512);
  EXPECT_EQ(c.Now(), 17'000'000u);
}

TEST(Pelt, NewTaskGetsHalfTheSpareCapacity) {
  // post_init_entity_util_avg()'s own example: on a 1024 CPU successive new
  // tasks get 512, 256, 128, ... while the rq goes 512, 768, 896, ...
  RqAvg rq;
  uint32_t want_task = 512, want_rq = 512;
  for (int i = 0; i < 5; ++i) {
    Avg se;
    InitNewTask(rq, &se, 1024, 1024);
    EXPECT_EQ(se.util_avg, want_task) << "task " << i;
    EXPECT_EQ(se.runnable_avg, se.util_avg);
    EXPECT_EQ(se.load_avg, 1024u);  // init_entity_runnable_average(): full weight
    Attach(&rq, &se, 1024);
    EXPECT_EQ(rq.avg.util_avg, want_rq);
    want_task /= 2;
    want_rq += want_task;
  }
  // A full CPU gives nothing.
  RqAvg full;
  full.avg.util_avg = 1024;
  Avg se;
  InitNewTask(full, &se, 1024, 1024);
  EXPECT_EQ(se.util_avg, 0u);
  // A small CPU caps by its own capacity: (462 - 0) / 2.
  RqAvg empty;
  InitNewTask(empty, &se, 1024, 462);
  EXPECT_EQ(se.util_avg, 231u);
}

TEST(Pelt, AttachAlignsAndDetachRemoves) {
  RqAvg rq;
  UpdateRq(3 * kPeriodNs + 300 * 1024, &rq, 0, 0, false);
  Avg se;
  se.util_avg = 300;
  se.runnable_avg = 300;
  se.load_avg = 600;
  Attach(&rq, &se, 1024);
  // The entity now shares the runqueue's window; sums are avg x divider.
  EXPECT_EQ(se.last_update_time, rq.avg.last_update_time);
  EXPECT_EQ(se.period_contrib, rq.avg.period_contrib);
  EXPECT_EQ(se.util_sum, 300u * (kMinDivider + rq.avg.period_contrib));
  EXPECT_EQ(rq.avg.util_avg, 300u);
  EXPECT_EQ(rq.avg.load_avg, 600u);
  Detach(&rq, se, 1024);
  EXPECT_EQ(rq.avg.util_avg, 0u);
  EXPECT_EQ(rq.avg.util_sum, 0u);
  EXPECT_EQ(rq.avg.load_avg, 0u);
}

TEST(Pelt, UtilEstFollowsTheKernelEwma) {
  Avg se;
  // An increase is taken at once.
  se.util_avg = 400;
  se.runnable_avg = 400;
  UtilEstUpdate(&se, true, 1024);
  EXPECT_EQ(se.util_est, 400u);
  EXPECT_EQ(TaskUtilEst(se), 400u);
  // No new util_avg since: the next dequeue changes nothing.
  se.util_avg = 100;
  se.runnable_avg = 100;
  UtilEstUpdate(&se, true, 1024);
  EXPECT_EQ(se.util_est, 400u);
  // After an update: ewma += (util - ewma) / 4 -> 400 - 300/4 = 325.
  se.util_est_unchanged = false;
  UtilEstUpdate(&se, true, 1024);
  EXPECT_EQ(se.util_est, 325u);
  EXPECT_EQ(TaskUtilEst(se), 325u);  // max(util_avg 100, 325)
  // Within 1 % (10 of 1024) of the EWMA: kept.
  se.util_est_unchanged = false;
  se.util_avg = 320;
  se.runnable_avg = 320;
  UtilEstUpdate(&se, true, 1024);
  EXPECT_EQ(se.util_est, 325u);
  // The task waited for the CPU (runnable well above util): not a sample.
  se.util_est_unchanged = false;
  se.util_avg = 100;
  se.runnable_avg = 300;
  UtilEstUpdate(&se, true, 1024);
  EXPECT_EQ(se.util_est, 325u);
  // A migration (no sleep) is not a sample either.
  se.util_est_unchanged = false;
  se.runnable_avg = 100;
  UtilEstUpdate(&se, false, 1024);
  EXPECT_EQ(se.util_est, 325u);
  // The runqueue's sum follows enqueue and dequeue.
  RqAvg rq;
  UtilEstEnqueue(&rq, se);
  EXPECT_EQ(rq.util_est, 325u);
  rq.avg.util_avg = 200;
  EXPECT_EQ(CpuUtil(rq, 1024), 325u);
  EXPECT_EQ(CpuUtil(rq, 300), 300u);  // capped at the CPU's capacity
  UtilEstDequeue(&rq, se);
  EXPECT_EQ(rq.util_est, 0u);
}

}  // namespace
}  // namespace kreplay::sched::pelt
