#include "workers/models/sched/pelt.h"

#include <algorithm>

#include "services/sim/rng.h"

namespace kreplay::sched::pelt {
namespace {

std::array<uint32_t, kLoadAvgPeriod> MakeYnInv() {
  // As Documentation/scheduler/sched-pelt.c: y = 0.5^(1/32), entry n is
  // (2^32 - 1) * y^n truncated. Deterministic exp/log so every machine gets
  // the same table (pelt_test compares it with the kernel's).
  const double y = sim::DetExp(sim::DetLog(0.5) / kLoadAvgPeriod);
  std::array<uint32_t, kLoadAvgPeriod> t{};
  double yn = 1.0;
  for (int n = 0; n < kLoadAvgPeriod; ++n) {
    t[n] = static_cast<uint32_t>(4294967295.0 * yn);
    yn *= y;
  }
  return t;
}

template <typename T>
void SubPositive(T* v, T d) {
  *v = *v > d ? *v - d : 0;
}

}  // namespace

// Built once at start-up (not a function-local static: DecayLoad() is hot
// and would test the guard on every call).
const std::array<uint32_t, kLoadAvgPeriod> kYnInvTable = MakeYnInv();

const std::array<uint32_t, kLoadAvgPeriod>& YnInv() { return kYnInvTable; }

bool UpdateBlockedEntity(uint64_t now, Avg* se, uint32_t weight) {
  if (!UpdateLoadSum(now, se, 0, 0, false)) return false;
  UpdateLoadAvg(se, weight);
  return true;
}

void Attach(RqAvg* rq, Avg* se, uint32_t weight) {
  uint32_t divider = rq->avg.Divider();
  // Align the entity's decay window with the runqueue's, then rebuild its
  // sums from its averages for that window.
  se->last_update_time = rq->avg.last_update_time;
  se->period_contrib = rq->avg.period_contrib;
  se->util_sum = se->util_avg * divider;
  se->runnable_sum = se->runnable_avg * divider;
  se->load_sum = divider;
  if (weight) se->load_sum = se->load_avg * se->load_sum / weight;
  // enqueue_load_avg()
  rq->avg.load_avg += se->load_avg;
  rq->avg.load_sum += static_cast<uint64_t>(weight) * se->load_sum;
  rq->avg.util_avg += se->util_avg;
  rq->avg.util_sum += se->util_sum;
  rq->avg.runnable_avg += se->runnable_avg;
  rq->avg.runnable_sum += se->runnable_sum;
}

void Detach(RqAvg* rq, const Avg& se, uint32_t weight) {
  // dequeue_load_avg(); every sum is kept no lower than the smallest one its
  // average allows, since rounding can leave an entity's sum above the
  // runqueue's.
  SubPositive(&rq->avg.load_avg, se.load_avg);
  SubPositive(&rq->avg.load_sum, static_cast<uint64_t>(weight) * se.load_sum);
  rq->avg.load_sum = std::max<uint64_t>(rq->avg.load_sum, rq->avg.load_avg * kMinDivider);
  SubPositive(&rq->avg.util_avg, se.util_avg);
  SubPositive(&rq->avg.util_sum, se.util_sum);
  rq->avg.util_sum = std::max<uint32_t>(rq->avg.util_sum, rq->avg.util_avg * kMinDivider);
  SubPositive(&rq->avg.runnable_avg, se.runnable_avg);
  SubPositive(&rq->avg.runnable_sum, se.runnable_sum);
  rq->avg.runnable_sum = std::max<uint64_t>(rq->avg.runnable_sum, rq->avg.runnable_avg * kMinDivider);
}

void InitNewTask(const RqAvg& rq, Avg* se, uint32_t weight, uint32_t cpu_capacity) {
  // init_entity_runnable_average(): a new task starts with its full weight
  // as load so that it is not under-estimated before it has a history.
  *se = Avg{};
  se->load_avg = weight;
  // post_init_entity_util_avg(): a share of the CPU's utilisation in
  // proportion to its weight, at most half of what is left.
  int64_t cap = (static_cast<int64_t>(cpu_capacity) - static_cast<int64_t>(rq.avg.util_avg)) / 2;
  if (cap > 0) {
    if (rq.avg.util_avg != 0) {
      uint64_t u = static_cast<uint64_t>(rq.avg.util_avg) * weight / (rq.avg.load_avg + 1);
      se->util_avg = static_cast<uint32_t>(std::min<uint64_t>(u, static_cast<uint64_t>(cap)));
    } else {
      se->util_avg = static_cast<uint32_t>(cap);
    }
  }
  se->runnable_avg = se->util_avg;
}

void UtilEstEnqueue(RqAvg* rq, const Avg& se) { rq->util_est += se.util_est; }

void UtilEstDequeue(RqAvg* rq, const Avg& se) { SubPositive(&rq->util_est, se.util_est); }

void UtilEstUpdate(Avg* se, bool task_sleep, uint32_t cpu_capacity) {
  // Only a completed activation is a sample; a migration is not.
  if (!task_sleep) return;
  // util_avg has not moved since the task was enqueued: nothing new.
  if (se->util_est_unchanged) return;
  uint32_t ewma = se->util_est;
  const uint32_t dequeued = se->util_avg;
  if (ewma <= dequeued) {
    ewma = dequeued;  // increases are taken at once
  } else if (ewma - dequeued >= kUtilEstMargin) {
    // Overestimation guard: no idle time means no trustworthy sample.
    if (dequeued > cpu_capacity) return;
    // Underestimation guard: the task waited for the CPU.
    if (dequeued + kUtilEstMargin >= se->runnable_avg) {
      // ewma(t) = ewma(t-1) + (util - ewma(t-1)) / 4, in the kernel's order.
      const uint32_t diff = ewma - dequeued;
      ewma = ((ewma << kUtilEstWeightShift) - diff) >> kUtilEstWeightShift;
    }
  }
  se->util_est = ewma;
  se->util_est_unchanged = true;
}

uint32_t CpuUtil(const RqAvg& rq, uint32_t cpu_capacity) {
  uint32_t util = std::max(rq.avg.util_avg, rq.util_est);
  return std::min(util, cpu_capacity);
}

void Clock::EnterIdle(const RqAvg& rq) {
  const uint32_t divider = (kMinDivider << kCapacityShift) - kLoadAvgMax;
  if (rq.avg.util_sum >= divider) lost_idle_time += clock_task - clock_pelt;
}

}  // namespace kreplay::sched::pelt
