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
}

double LoadDecay::Pow(int64_t n) const {
  if (n <= 0) return 1.0;
  if (n > 64 * 32) return 0.0;
  // y^(32a + b) = 2^-a * y^b; ldexp is exact.
  return std::ldexp(ytab_[n % 32], -static_cast<int>(n / 32));
}

double LoadDecay::Contrib(int64_t n) const {
  if (n <= 0) return 0.0;
  double y = ytab_[1];
  // Geometric series 1024 * (y + ... + y^n) in closed form.
  return 1024.0 * y * (1.0 - Pow(n)) / (1.0 - y);
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
  if (delta + pos >= 1024) {
    // Finish the current period, decay, add whole periods, then the remainder.
    int64_t head = 1024 - pos;
    if (runnable) runnable_sum += head * s;
    if (running) usage_sum += head * s;
    period += head;
    delta -= head;
    int64_t periods = delta / 1024;
    delta %= 1024;
    double decay = d.Pow(periods + 1);
    runnable_sum *= decay;
    usage_sum *= decay;
    period *= decay;
    double contrib = d.Contrib(periods);
    if (runnable) runnable_sum += contrib * s;
    if (running) usage_sum += contrib * s;
    period += contrib;
    pos = 0;
  }
  if (runnable) runnable_sum += delta * s;
  if (running) usage_sum += delta * s;
  period += delta;
  pos += static_cast<int32_t>(delta);
}

uint32_t RunnableAvg::LoadRatio() const { return static_cast<uint32_t>(runnable_sum * 1024.0 / (period + 1.0)); }

uint32_t RunnableAvg::UsageRatio() const { return static_cast<uint32_t>(usage_sum * 1024.0 / (period + 1.0)); }

}  // namespace kreplay::sched
