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

void RunnableAvg::InitHigh(int64_t now_units) {
  // LOAD_AVG_MAX: the limit of 1024 * sum y^k, k >= 0 (47742 in the kernel's
  // integer arithmetic).
  LoadDecay d;
  double max = 1024.0 / (1.0 - d.y());
  runnable_sum = usage_sum = period = max;
  last = now_units;
  pos = 0;
}

void RunnableAvg::InitZero(int64_t now_units) {
  runnable_sum = usage_sum = period = 0;
  last = now_units;
  pos = 0;
}

void RunnableAvg::Update(int64_t now_units, bool runnable, bool running, uint32_t scale, const LoadDecay& d) {
  int64_t delta = now_units - last;
  if (delta <= 0) return;
  last = now_units;
  double s = scale / 1024.0;
  // A state that does not count adds 0.0 rather than being skipped: the sums
  // are never negative, so x + 0.0 == x bit for bit, and the branches this
  // saves are the least predictable in the HMP model.
  double rs = s * static_cast<double>(runnable);
  double us = s * static_cast<double>(running);
  if (delta + pos >= 1024) {
    // Finish the current period, decay, add whole periods, then the remainder.
    int64_t head = 1024 - pos;
    runnable_sum += head * rs;
    usage_sum += head * us;
    period += head;
    delta -= head;
    int64_t periods = delta / 1024;
    delta %= 1024;
    double decay = d.Pow(periods + 1);
    runnable_sum *= decay;
    usage_sum *= decay;
    period *= decay;
    double contrib = d.Contrib(periods);
    runnable_sum += contrib * rs;
    usage_sum += contrib * us;
    period += contrib;
    pos = 0;
  }
  runnable_sum += delta * rs;
  usage_sum += delta * us;
  period += delta;
  pos += static_cast<int32_t>(delta);
}

uint32_t RunnableAvg::LoadRatio() const { return static_cast<uint32_t>(runnable_sum * 1024.0 / (period + 1.0)); }

uint32_t RunnableAvg::UsageRatio() const { return static_cast<uint32_t>(usage_sum * 1024.0 / (period + 1.0)); }

}  // namespace kreplay::sched
