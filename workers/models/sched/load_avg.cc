#include "workers/models/sched/load_avg.h"

#include <cmath>

#include "services/sim/rng.h"

namespace kreplay::sched {

LoadDecay::LoadDecay() {
  // y = 2^(-1/32), from the project's deterministic log/exp so every machine
  // gets the same bits.
  double y = sim::DetExp(sim::DetLog(0.5) / 32.0);
  ytab_[0] = 1.0;
  for (int i = 1; i < 32; ++i) ytab_[i] = ytab_[i - 1] * y;
  for (int i = 0; i <= 64; ++i) half_pow_[i] = std::ldexp(1.0, -i);
  contrib_num_ = 1024.0 * ytab_[1];
  contrib_den_ = 1.0 - ytab_[1];
  max_ = 1024.0 / (1.0 - ytab_[1]);
  for (int64_t n = 0; n < kTable; ++n) {
    pow_tab_[n] = Pow(n);
    contrib_tab_[n] = Contrib(n);
  }
}

double LoadDecay::Pow(int64_t n) const {
  // One rarely taken branch for both n < 0 (1.0) and n > 64 * 32 (0.0).
  if (static_cast<uint64_t>(n) > 64 * 32) return n < 0 ? 1.0 : 0.0;
  // y^(32a + b) = 2^-a * y^b; both ways of scaling by 2^-a are exact.
  uint64_t u = static_cast<uint64_t>(n);
  return ytab_[u % 32] * half_pow_[u / 32];
}

double LoadDecay::Contrib(int64_t n) const {
  // n <= 0 needs no branch: Pow() is then exactly 1.0 and the result 0.0.
  // Geometric series 1024 * (y + ... + y^n) in closed form, evaluated in the
  // same order as 1024.0 * y * (1.0 - y^n) / (1.0 - y).
  return contrib_num_ * (1.0 - Pow(n)) / contrib_den_;
}

void RunnableAvg::InitHigh(int64_t now_units) { InitHigh(now_units, LoadDecay()); }

void RunnableAvg::InitHigh(int64_t now_units, const LoadDecay& d) {
  runnable_sum = usage_sum = period = d.max();
  last = now_units;
  pos = 0;
}

void RunnableAvg::InitZero(int64_t now_units) {
  runnable_sum = usage_sum = period = 0;
  last = now_units;
  pos = 0;
}

}  // namespace kreplay::sched
