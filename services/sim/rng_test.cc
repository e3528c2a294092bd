#include "services/sim/rng.h"

#include <gtest/gtest.h>

#include <cmath>

namespace kreplay::sim {
namespace {

TEST(Rng, SameSeedSameStream) {
  Rng a(7), b(7), c(8);
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.NextU64();
    EXPECT_EQ(x, b.NextU64());
    (void)c;
  }
  EXPECT_NE(Rng(7).NextU64(), Rng(8).NextU64());
}

TEST(Rng, PinnedFirstValues) {
  // Pinned so that a change to the generator (which would silently change
  // every result) fails here first. Seed 0 through splitmix64 + xoshiro256**.
  Rng r(0);
  uint64_t first = r.NextU64();
  Rng again(0);
  EXPECT_EQ(first, again.NextU64());
  EXPECT_EQ(first, 0x99EC5F36CB75F2B4ull);
}

TEST(Rng, ForkIsIndependentOfParentState) {
  Rng a(42);
  Rng f1 = a.Fork(3);
  a.NextU64();
  Rng f2 = a.Fork(3);
  EXPECT_EQ(f1.NextU64(), f2.NextU64());
  EXPECT_NE(Rng(42).Fork(3).NextU64(), Rng(42).Fork(4).NextU64());
}

TEST(Rng, BelowIsInRangeAndRoughlyUniform) {
  Rng r(1);
  int counts[10] = {};
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = r.Below(10);
    ASSERT_LT(v, 10u);
    counts[v]++;
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

TEST(Rng, ExponentialMean) {
  Rng r(2);
  double sum = 0;
  for (int i = 0; i < 200000; ++i) sum += r.Exponential(5.0);
  EXPECT_NEAR(sum / 200000, 5.0, 0.05);
}

TEST(Rng, NormalMoments) {
  Rng r(3);
  double s = 0, s2 = 0;
  const int n = 200000;
  for (int i = 0; i < n; ++i) {
    double x = r.Normal(1.0, 2.0);
    s += x;
    s2 += x * x;
  }
  double mean = s / n;
  EXPECT_NEAR(mean, 1.0, 0.02);
  EXPECT_NEAR(std::sqrt(s2 / n - mean * mean), 2.0, 0.02);
}

TEST(DetMath, MatchesLibmClosely) {
  for (double x : {1e-300, 1e-5, 0.3, 1.0, 2.0, 10.0, 12345.678, 1e300}) {
    EXPECT_NEAR(DetLog(x), std::log(x), 1e-13 * std::fabs(std::log(x)) + 1e-15) << x;
  }
  for (double x : {-700.0, -3.0, -0.5, 0.0, 0.25, 1.0, 5.0, 300.0}) {
    EXPECT_NEAR(DetExp(x) / std::exp(x), 1.0, 1e-13) << x;
  }
}

}  // namespace
}  // namespace kreplay::sim
