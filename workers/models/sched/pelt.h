// Internal to the scheduler models: mainline per-entity load tracking (PELT)
// for the mainline (6.x) base, in the kernel's integer arithmetic. Not the
// LSK 3.10 signal HMP reads (load_avg.h): that one is unweighted, counts
// waiting time and is never capacity-scaled; do not mix the two.
//
// Mirrors kernel/sched/pelt.c and pelt.h (v6.8+):
// - decay_load(), __accumulate_pelt_segments(), accumulate_sum(),
//   ___update_load_sum(), ___update_load_avg() and get_pelt_divider();
// - __update_load_avg_se() / _blocked_se() / _cfs_rq() (what counts as load,
//   runnable and running for a task and for a CPU's cfs_rq);
// - update_rq_clock_pelt() / update_idle_rq_clock_pelt() / rq_clock_pelt():
//   time runs slower at lower capacity and frequency and is synced back to
//   the task clock when the CPU idles (frequency and capacity invariance);
// and from kernel/sched/fair.c (v6.8+): attach_entity_load_avg(),
// detach_entity_load_avg(), post_init_entity_util_avg(),
// util_est_enqueue()/util_est_dequeue()/util_est_update() (one EWMA per task,
// UTIL_EST_WEIGHT_SHIFT 2, UTIL_EST_MARGIN 1 %), task_util_est().
//
// Time is in ns; as in the kernel, PELT counts 1024-ns units and 1024-unit
// periods, y^32 = 1/2, LOAD_AVG_MAX 47742. The y^n table is derived at
// construction exactly as Documentation/scheduler/sched-pelt.c generates
// the kernel's runnable_avg_yN_inv[] (the test checks every entry).
// Simplified: no group entities (propagation of group sums), no RT/DL/IRQ
// or hardware-pressure signals, no CONFIG_CFS_BANDWIDTH throttled clock;
// util_est as in v6.8+ (before 6.8 a second "enqueued" field also counted).
// Value types; not thread-safe.
#pragma once

#include <array>
#include <cstdint>

namespace kreplay::sched::pelt {

inline constexpr int kLoadAvgPeriod = 32;       // LOAD_AVG_PERIOD
inline constexpr uint32_t kLoadAvgMax = 47742;  // LOAD_AVG_MAX
inline constexpr uint32_t kMinDivider = kLoadAvgMax - 1024;  // PELT_MIN_DIVIDER
inline constexpr int kCapacityShift = 10;       // SCHED_CAPACITY_SHIFT
inline constexpr uint32_t kCapacityScale = 1u << kCapacityShift;
inline constexpr uint32_t kUtilEstMargin = kCapacityScale / 100;  // UTIL_EST_MARGIN
inline constexpr int kUtilEstWeightShift = 2;                      // UTIL_EST_WEIGHT_SHIFT

// runnable_avg_yN_inv[]: y^n * (2^32 - 1), truncated, for n < 32.
const std::array<uint32_t, kLoadAvgPeriod>& YnInv();
// decay_load(): val * y^n in the kernel's fixed point (0 beyond 63 half-lives).
uint64_t DecayLoad(uint64_t val, uint64_t n);

// struct sched_avg.
struct Avg {
  uint64_t last_update_time = 0;  // ns, a multiple of 1024 after the first update
  uint64_t load_sum = 0;
  uint64_t runnable_sum = 0;
  uint32_t util_sum = 0;
  uint32_t period_contrib = 0;  // units into the current period
  uint64_t load_avg = 0;
  uint64_t runnable_avg = 0;
  uint32_t util_avg = 0;
  uint32_t util_est = 0;  // EWMA, task entities only (the UNCHANGED flag is util_est_unchanged)
  bool util_est_unchanged = false;  // UTIL_AVG_UNCHANGED: util_avg not updated since enqueue

  uint32_t Divider() const { return kMinDivider + period_contrib; }  // get_pelt_divider()
};

// ___update_load_sum(): true if a period boundary was crossed (the *_avg
// must then be refreshed with UpdateLoadAvg()).
bool UpdateLoadSum(uint64_t now, Avg* sa, uint64_t load, uint64_t runnable, bool running);
// ___update_load_avg().
void UpdateLoadAvg(Avg* sa, uint64_t load);

// __update_load_avg_se(): a task entity; `on_rq` it counts as load and
// runnable, `running` (it is its cfs_rq's curr) as utilisation. `weight` is
// its scale_load_down()'d weight (1024 at nice 0). Clears util_est_unchanged
// when util_avg changed (cfs_se_util_change()).
bool UpdateEntity(uint64_t now, Avg* se, uint32_t weight, bool on_rq, bool running);
// __update_load_avg_blocked_se(): a sleeping task, for time it was blocked.
bool UpdateBlockedEntity(uint64_t now, Avg* se, uint32_t weight);

// A CPU's cfs_rq signal with the sums of its attached entities.
struct RqAvg {
  Avg avg;
  uint32_t util_est = 0;  // sum of enqueued tasks' util_est (cfs_rq->avg.util_est)
};
// __update_load_avg_cfs_rq(): `load` the sum of queued weights
// (scale_load_down), `h_nr_runnable` runnable tasks, `curr` a task running.
bool UpdateRq(uint64_t now, RqAvg* rq, uint64_t load, uint32_t h_nr_runnable, bool curr);

// attach_entity_load_avg(): `se` joins `rq` (fork, wake-up migration);
// aligns it to the rq's clock position and adds its averages and sums.
void Attach(RqAvg* rq, Avg* se, uint32_t weight);
// detach_entity_load_avg(): `se` leaves `rq` (migration); removes its
// averages, keeping the rq's sums no lower than avg * PELT_MIN_DIVIDER.
void Detach(RqAvg* rq, const Avg& se, uint32_t weight);

// post_init_entity_util_avg(): a new task's initial util_avg from the
// runqueue it forks onto, capped to half the CPU's spare capacity.
// init_entity_runnable_average() gives it load_avg = weight first.
void InitNewTask(const RqAvg& rq, Avg* se, uint32_t weight, uint32_t cpu_capacity);

// util_est_enqueue() / util_est_dequeue(): the rq's sum of task estimates.
void UtilEstEnqueue(RqAvg* rq, const Avg& se);
void UtilEstDequeue(RqAvg* rq, const Avg& se);
// util_est_update(): at a dequeue; only when the task sleeps (`task_sleep`),
// refreshes the task's EWMA from its util_avg (jumps up at once, decays by
// 1/4 of the difference, skips within 1 % or when the task could not get the
// CPU it wanted: util + margin < runnable_avg, or util > capacity).
void UtilEstUpdate(Avg* se, bool task_sleep, uint32_t cpu_capacity);
// task_util_est(): max(util_avg, util_est).
inline uint32_t TaskUtilEst(const Avg& se) { return se.util_avg > se.util_est ? se.util_avg : se.util_est; }
// cpu_util() for the fair class without a task moving: max(util_avg,
// util_est) of the rq, capped at the CPU's capacity.
uint32_t CpuUtil(const RqAvg& rq, uint32_t cpu_capacity);

// rq->clock_pelt and lost_idle_time for one CPU.
struct Clock {
  uint64_t clock_pelt = 0;
  uint64_t lost_idle_time = 0;
  uint64_t clock_task = 0;

  // update_rq_clock_pelt(): the task clock moved to `now`; while busy, PELT
  // time advances by delta * cpu_capacity/1024 * freq_capacity/1024 (each
  // step truncated, cap_scale()); while idle it is synced to the task clock.
  void Advance(uint64_t now, bool idle, uint32_t cpu_capacity, uint32_t freq_capacity);
  // update_idle_rq_clock_pelt(): called as the CPU goes idle; if the rq's
  // util_sum says it was always running there was no idle time to steal and
  // the gap is booked as lost.
  void EnterIdle(const RqAvg& rq);
  // rq_clock_pelt(): the time PELT signals of this CPU are updated to.
  uint64_t Now() const { return clock_pelt - lost_idle_time; }
};

// --- The hot paths, inline: the mainline core calls them on most events.
// (Definitions of the functions declared above.)

// runnable_avg_yN_inv[] (YnInv()'s table).
extern const std::array<uint32_t, kLoadAvgPeriod> kYnInvTable;

namespace internal {
// mul_u64_u32_shr(a, b, 32).
__extension__ using U128 = unsigned __int128;  // __extension__: no -Wpedantic warning
inline uint64_t MulShr32(uint64_t a, uint32_t b) {
  return static_cast<uint64_t>((static_cast<U128>(a) * b) >> 32);
}

// ceil(2^64 / get_pelt_divider()) for each period_contrib (0..1023; no
// divider is a power of two, so UINT64_MAX / d + 1 is that ceiling).
inline constexpr std::array<uint64_t, 1024> kDividerReciprocal = [] {
  std::array<uint64_t, 1024> t{};
  for (uint32_t pc = 0; pc < 1024; ++pc) t[pc] = UINT64_MAX / (kMinDivider + pc) + 1;
  return t;
}();

// n / (PELT_MIN_DIVIDER + period_contrib), exactly: the high half of n times
// the rounded-up reciprocal m. With d = the divider and e = m * d - 2^64
// (0 < e < d < 2^16), n * m / 2^64 = n / d + n * e / (d * 2^64), and the
// second term moves no quotient across an integer while n * e < 2^64, i.e.
// for any n < 2^48 (a task's sums stay below 2^33, a CPU's below 2^48
// unless thousands of nice -20 tasks share it; larger n divide). One
// multiply instead of a division: ___update_load_avg() does three per
// crossed period for every task and runqueue update (measured: 3 divisions
// 5.0 ns, 3 multiplies 1.6 ns, throughput on the dev VM's Zen 4).
inline uint64_t DivByDivider(uint64_t n, uint32_t period_contrib) {
  if (n >> 48) [[unlikely]] return n / (kMinDivider + period_contrib);
  return static_cast<uint64_t>((static_cast<U128>(n) * kDividerReciprocal[period_contrib]) >> 64);
}

// y^n for one n, as decay_load() splits it: 2^-(n/32) (a shift) times
// y^(n%32) (a runnable_avg_yN_inv[] entry); beyond 63 half-lives anything
// decays to 0 (factor 0). accumulate_sum() decays three sums and two
// segments by the same n: the split is made once.
struct Decay {
  uint32_t shift = 0;
  uint32_t factor = 0;
  uint64_t Apply(uint64_t val) const { return MulShr32(val >> shift, factor); }
};
inline Decay DecayOf(uint64_t n) {
  if (n > static_cast<uint64_t>(kLoadAvgPeriod) * 63) return Decay{0, 0};
  return Decay{static_cast<uint32_t>(n / kLoadAvgPeriod), kYnInvTable[n % kLoadAvgPeriod]};
}
}  // namespace internal

inline uint64_t DecayLoad(uint64_t val, uint64_t n) { return internal::DecayOf(n).Apply(val); }

namespace internal {
// __accumulate_pelt_segments(): d1 decayed over the periods, the full
// periods in between, d3 undecayed; `d` is DecayOf(periods).
inline uint32_t AccumulateSegments(Decay d, uint32_t d1, uint32_t d3) {
  uint32_t c1 = static_cast<uint32_t>(d.Apply(d1));
  uint32_t c2 = kLoadAvgMax - static_cast<uint32_t>(d.Apply(kLoadAvgMax)) - 1024;
  return c1 + c2 + d3;
}

// accumulate_sum(): returns the number of periods crossed.
inline uint64_t AccumulateSum(uint64_t delta, Avg* sa, uint64_t load, uint64_t runnable, bool running) {
  uint32_t contrib = static_cast<uint32_t>(delta);  // no period crossed: delta < 1024
  delta += sa->period_contrib;
  uint64_t periods = delta / 1024;
  if (periods) {
    const Decay d = DecayOf(periods);
    sa->load_sum = d.Apply(sa->load_sum);
    sa->runnable_sum = d.Apply(sa->runnable_sum);
    sa->util_sum = static_cast<uint32_t>(d.Apply(sa->util_sum));
    delta %= 1024;
    // Only needed with load: without it runnable and running are 0 too.
    if (load) contrib = AccumulateSegments(d, 1024 - sa->period_contrib, static_cast<uint32_t>(delta));
  }
  sa->period_contrib = static_cast<uint32_t>(delta);
  if (load) sa->load_sum += load * contrib;
  if (runnable) sa->runnable_sum += (runnable * contrib) << kCapacityShift;
  if (running) sa->util_sum += contrib << kCapacityShift;
  return periods;
}

}  // namespace internal

inline bool UpdateLoadSum(uint64_t now, Avg* sa, uint64_t load, uint64_t runnable, bool running) {
  if (now < sa->last_update_time) {  // time going backwards: resync
    sa->last_update_time = now;
    return false;
  }
  uint64_t delta = (now - sa->last_update_time) >> 10;  // 1024-ns units
  if (!delta) return false;
  sa->last_update_time += delta << 10;
  // running and runnable are subsets of load.
  if (!load) {
    runnable = 0;
    running = false;
  }
  return internal::AccumulateSum(delta, sa, load, runnable, running) != 0;
}

inline void UpdateLoadAvg(Avg* sa, uint64_t load) {
  const uint32_t pc = sa->period_contrib;
  sa->load_avg = internal::DivByDivider(load * sa->load_sum, pc);
  sa->runnable_avg = internal::DivByDivider(sa->runnable_sum, pc);
  sa->util_avg = static_cast<uint32_t>(internal::DivByDivider(sa->util_sum, pc));
}

inline bool UpdateEntity(uint64_t now, Avg* se, uint32_t weight, bool on_rq, bool running) {
  if (!UpdateLoadSum(now, se, on_rq ? 1 : 0, on_rq ? 1 : 0, running)) return false;
  UpdateLoadAvg(se, weight);
  se->util_est_unchanged = false;  // cfs_se_util_change()
  return true;
}

inline bool UpdateRq(uint64_t now, RqAvg* rq, uint64_t load, uint32_t h_nr_runnable, bool curr) {
  if (!UpdateLoadSum(now, &rq->avg, load, h_nr_runnable, curr)) return false;
  UpdateLoadAvg(&rq->avg, 1);
  return true;
}

inline void Clock::Advance(uint64_t now, bool idle, uint32_t cpu_capacity, uint32_t freq_capacity) {
  uint64_t delta = now > clock_task ? now - clock_task : 0;
  clock_task = now;
  if (idle) {
    clock_pelt = clock_task;
    return;
  }
  // cap_scale() twice: capacity first, then frequency, each truncated.
  delta = (delta * cpu_capacity) >> kCapacityShift;
  delta = (delta * freq_capacity) >> kCapacityShift;
  clock_pelt += delta;
}

}  // namespace kreplay::sched::pelt
