// Internal to the scheduler models: the per-entity runnable average of Linaro
// LSK 3.10 (kernel/sched/fair.c __update_entity_runnable_avg() with
// CONFIG_SCHED_HMP and CONFIG_HMP_FREQUENCY_INVARIANT_SCALE), which drives
// big.LITTLE MP task placement through load_avg_ratio.
//
// Time is counted as the kernel does, in 1024 ns "us" (now >> 10), in periods
// of 1024 such units (1.048576 ms); each period decays history by y with
// y^32 = 1/2. The LSK `load_avg_period_ms` tunable stretches time by
// 32 / load_avg_period_ms (hmp_variable_scale_convert()), so 32 is neutral.
// Sums are doubles rather than the kernel's u32 so that no rounding hides the
// behaviour under test; the +1 in the ratio's denominator is kept.
#pragma once

#include <cstdint>

namespace kreplay::sched {

// Decay constants, computed once per run from deterministic DetExp/DetLog.
class LoadDecay {
 public:
  LoadDecay();
  // y^n; 0 beyond 64 half-lives (as the kernel's decay_load()).
  double Pow(int64_t n) const;
  // sum_{k=1..n} 1024 * y^k (__compute_runnable_contrib()).
  double Contrib(int64_t n) const;
  double y() const { return ytab_[1]; }

 private:
  // y^k for k < 32, and 2^-k for k <= 64: y^(32a + b) = 2^-a * y^b, and a
  // product with an exact power of two is exact, so Pow() gives the bits
  // std::ldexp() would without the libm call (the HMP model decays a load
  // average on most state changes).
  double ytab_[32];
  double half_pow_[65];
  double contrib_num_ = 0;  // 1024 * y
  double contrib_den_ = 0;  // 1 - y
};

struct RunnableAvg {
  double runnable_sum = 0;  // runnable_avg_sum (running or waiting)
  double usage_sum = 0;     // usage_avg_sum (running only)
  double period = 0;        // runnable_avg_period
  int64_t last = 0;         // last update, in scaled 1024-ns units
  int32_t pos = 0;          // units into the current 1024-unit period

  // A new user task starts with a full history (sched_fork() in LSK sets
  // sum = period = LOAD_AVG_MAX), so it is placed on a big CPU first.
  void InitHigh(int64_t now_units);
  void InitZero(int64_t now_units);
  // Accounts the time since the last update with the given state. `scale` is
  // the frequency scale in 1/1024 (1024 = top OPP); it weighs the sums, not
  // the period (scale_load_contrib()).
  void Update(int64_t now_units, bool runnable, bool running, uint32_t scale, const LoadDecay& d);
  // load_avg_ratio = runnable_sum * 1024 / (period + 1).
  uint32_t LoadRatio() const;
  // usage_sum * 1024 / (period + 1): running share (CPU utilisation signal).
  uint32_t UsageRatio() const;
};

// Converts ns to the tracker's scaled units for a given load_avg_period_ms.
inline int64_t LoadUnits(int64_t now_ns, int64_t load_avg_period_ms) {
  return ((now_ns >> 10) * 32) / load_avg_period_ms;
}

}  // namespace kreplay::sched
