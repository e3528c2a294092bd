#include "services/sim/rng.h"

#include <cmath>

#include "services/core/status.h"

namespace kreplay::sim {
namespace {

__extension__ typedef unsigned __int128 U128;  // GCC/Clang builtin, for Lemire's method

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

inline uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

Rng::Rng(uint64_t seed) : seed_(seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = SplitMix64(x);
}

Rng Rng::Fork(uint64_t stream) const {
  uint64_t x = seed_ ^ (0xD1B54A32D192ED03ull * (stream + 1));
  return Rng(SplitMix64(x));
}

uint64_t Rng::NextU64() {
  uint64_t result = Rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = Rotl(s_[3], 45);
  return result;
}

uint64_t Rng::Below(uint64_t bound) {
  KREPLAY_CHECK(bound > 0, "Rng::Below(0)");
  U128 m = static_cast<U128>(NextU64()) * bound;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < bound) {
    uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      m = static_cast<U128>(NextU64()) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

int64_t Rng::Range(int64_t lo, int64_t hi) {
  KREPLAY_CHECK(lo <= hi, "Rng::Range lo > hi");
  uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  if (span == UINT64_MAX) return static_cast<int64_t>(NextU64());
  return static_cast<int64_t>(static_cast<uint64_t>(lo) + Below(span + 1));
}

double Rng::Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

double Rng::Exponential(double mean) {
  // 1 - U is in (0, 1], so the log is finite.
  return -mean * DetLog(1.0 - Uniform());
}

double Rng::Normal(double mean, double stddev) {
  double u, v, s;
  do {
    u = 2.0 * Uniform() - 1.0;
    v = 2.0 * Uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  double f = DetSqrt(-2.0 * DetLog(s) / s);
  return mean + stddev * u * f;
}

double Rng::LogNormal(double mu, double sigma) { return DetExp(Normal(mu, sigma)); }

double DetLog(double x) {
  KREPLAY_CHECK(x > 0, "DetLog of non-positive value");
  int e = 0;
  double m = std::frexp(x, &e);  // exact: x = m * 2^e, m in [0.5, 1)
  if (m < 0.70710678118654752) {
    m *= 2.0;
    --e;
  }
  // log(m) = 2 atanh(t), t = (m-1)/(m+1), |t| < 0.172.
  double t = (m - 1.0) / (m + 1.0);
  double t2 = t * t;
  double term = t, sum = 0.0;
  for (int k = 1; k < 40; k += 2) {
    sum += term / k;
    term *= t2;
  }
  constexpr double kLn2 = 0.693147180559945309417;
  return 2.0 * sum + e * kLn2;
}

double DetExp(double x) {
  if (x > 709.0) return HUGE_VAL;
  if (x < -745.0) return 0.0;
  constexpr double kLn2 = 0.693147180559945309417;
  // x = k ln2 + r, |r| <= ln2/2; exp(r) by Taylor series.
  double kf = x / kLn2;
  int k = static_cast<int>(kf < 0 ? kf - 0.5 : kf + 0.5);
  double r = x - k * kLn2;
  double term = 1.0, sum = 1.0;
  for (int n = 1; n < 30; ++n) {
    term *= r / n;
    sum += term;
  }
  return std::ldexp(sum, k);
}

double DetSqrt(double x) {
  // IEEE-754 requires sqrt to be correctly rounded, so std::sqrt is exact
  // everywhere; wrapped for symmetry and to document that.
  return std::sqrt(x);
}

}  // namespace kreplay::sim
