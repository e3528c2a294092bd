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
  // LOAD_AVG_MAX: the limit of 1024 * sum y^k, k >= 0 (47742 in the kernel's
  // integer arithmetic).
  double max() const { return max_; }

  // Pow(n) and Contrib(n) for n >= 0 as the HMP hot path wants them: looked
  // up (like the kernel's runnable_avg_yN_inv[] and runnable_avg_yN_sum[])
  // in tables filled by Pow()/Contrib() themselves, so both give the same
  // bits. Every n past 64 half-lives has Pow 0, hence one Contrib, so the
  // last entry stands for all of them and the lookup needs no call.
  double PowFast(int64_t n) const { return pow_tab_[n < kTable ? n : kTable - 1]; }
  double ContribFast(int64_t n) const { return contrib_tab_[n < kTable ? n : kTable - 1]; }

 private:
  static constexpr int64_t kTable = 64 * 32 + 2;  // n = 0 .. 2049
  // y^k for k < 32, and 2^-k for k <= 64: y^(32a + b) = 2^-a * y^b, and a
  // product with an exact power of two is exact, so Pow() gives the bits
  // std::ldexp() would without the libm call (the HMP model decays a load
  // average on most state changes).
  double ytab_[32];
  double half_pow_[65];
  double contrib_num_ = 0;  // 1024 * y
  double contrib_den_ = 0;  // 1 - y
  double max_ = 0;
  double pow_tab_[kTable];
  double contrib_tab_[kTable];
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
  void InitHigh(int64_t now_units, const LoadDecay& d);
  void InitZero(int64_t now_units);
  // Accounts the time since the last update with the given state. `scale` is
  // the frequency scale in 1/1024 (1024 = top OPP); it weighs the sums, not
  // the period (scale_load_contrib()).
  void Update(int64_t now_units, bool runnable, bool running, uint32_t scale, const LoadDecay& d) {
    UpdateScaled(now_units, runnable, running, scale / 1024.0, d);
  }
  // Update() with the scale already divided by 1024 (callers that update
  // many averages at one frequency keep it precomputed). Inline: the HMP
  // model calls it about twice per engine event.
  void UpdateScaled(int64_t now_units, bool runnable, bool running, double s, const LoadDecay& d);
  // load_avg_ratio = runnable_sum * 1024 / (period + 1).
  uint32_t LoadRatio() const { return static_cast<uint32_t>(runnable_sum * 1024.0 / (period + 1.0)); }
  // usage_sum * 1024 / (period + 1): running share (CPU utilisation signal).
  uint32_t UsageRatio() const { return static_cast<uint32_t>(usage_sum * 1024.0 / (period + 1.0)); }

 private:
  // Accounts `delta` > 0 units in a state known at compile time.
  template <bool kRunnable, bool kRunning>
  void Accumulate(uint64_t delta, double s, const LoadDecay& d);
};

inline void RunnableAvg::UpdateScaled(int64_t now_units, bool runnable, bool running, double s, const LoadDecay& d) {
  int64_t delta = now_units - last;
  if (delta <= 0) return;
  last = now_units;
  uint64_t left = static_cast<uint64_t>(delta);
  if (runnable) {
    if (running) {
      Accumulate<true, true>(left, s, d);
    } else {
      Accumulate<true, false>(left, s, d);
    }
  } else {
    if (running) {
      Accumulate<false, true>(left, s, d);
    } else {
      Accumulate<false, false>(left, s, d);
    }
  }
}

template <bool kRunnable, bool kRunning>
inline void RunnableAvg::Accumulate(uint64_t left, double s, const LoadDecay& d) {
  // A state that does not count skips its additions. That is exact, not an
  // approximation: the sums are never negative (nor -0.0), so adding the
  // +0.0 that s * 0.0 would give leaves them unchanged bit for bit; and the
  // sums are worked on in locals so the table loads cannot force stores.
  double rsum = runnable_sum, usum = usage_sum, per = period;
  if (left + static_cast<uint64_t>(pos) >= 1024) {
    // Finish the current period, decay, add whole periods, then the remainder.
    int64_t head = 1024 - pos;
    if constexpr (kRunnable) rsum += head * s;
    if constexpr (kRunning) usum += head * s;
    per += head;
    left -= static_cast<uint64_t>(head);
    int64_t periods = static_cast<int64_t>(left >> 10);  // left / 1024
    left &= 1023;
    double decay = d.PowFast(periods + 1);
    rsum *= decay;
    usum *= decay;
    per *= decay;
    double contrib = d.ContribFast(periods);
    if constexpr (kRunnable) rsum += contrib * s;
    if constexpr (kRunning) usum += contrib * s;
    per += contrib;
    pos = 0;
  }
  int64_t rest = static_cast<int64_t>(left);
  if constexpr (kRunnable) rsum += rest * s;
  if constexpr (kRunning) usum += rest * s;
  per += rest;
  pos += static_cast<int32_t>(rest);
  runnable_sum = rsum;
  usage_sum = usum;
  period = per;
}

// Converts ns to the tracker's scaled units for a given load_avg_period_ms.
inline int64_t LoadUnits(int64_t now_ns, int64_t load_avg_period_ms) {
  return ((now_ns >> 10) * 32) / load_avg_period_ms;
}

}  // namespace kreplay::sched
