#include "services/stats/stats.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace kreplay::stats {
namespace {

const double kPi = std::acos(-1.0);

// Closed forms used as independent references (libm, not the code under test):
// df 1 is the Cauchy distribution, df 2 and df 3 have elementary CDFs.
double CauchyCdf(double t) { return 0.5 + std::atan(t) / kPi; }
double T2Cdf(double t) { return 0.5 + t / (2 * std::sqrt(2 + t * t)); }
double T3Cdf(double t) {
  double th = std::atan(t / std::sqrt(3.0));
  return 0.5 + (th + std::sin(th) * std::cos(th)) / kPi;
}

TEST(StudentT, QuantileMatchesTables) {
  // Two-sided 95 % critical values from standard t tables.
  EXPECT_NEAR(StudentTQuantile(0.975, 1), 12.706, 5e-4);
  EXPECT_NEAR(StudentTQuantile(0.975, 4), 2.776, 5e-4);
  EXPECT_NEAR(StudentTQuantile(0.975, 9), 2.262, 5e-4);
  EXPECT_NEAR(StudentTQuantile(0.975, 30), 2.042, 5e-4);
  EXPECT_NEAR(StudentTQuantile(0.975, 1e9), 1.960, 5e-4);
  EXPECT_NEAR(StudentTQuantile(0.995, 10), 3.169, 5e-4);
  EXPECT_NEAR(StudentTQuantile(0.95, 120), 1.658, 5e-4);
  EXPECT_NEAR(StudentTQuantile(0.025, 9), -2.262, 5e-4);
  EXPECT_EQ(StudentTQuantile(0.5, 3), 0.0);
}

TEST(StudentT, QuantileMatchesClosedForms) {
  for (double p : {0.6, 0.9, 0.975, 0.999, 0.9999999, 0.01, 1e-9}) {
    // df 1: t = tan(pi (p - 1/2)) = -1 / tan(pi p), written with the tail
    // probability so that the reference itself keeps its digits.
    double t1 = p < 0.5 ? -1 / std::tan(kPi * p) : 1 / std::tan(kPi * (1 - p));
    EXPECT_NEAR(StudentTQuantile(p, 1), t1, 1e-9 * std::fabs(t1)) << p;
    // df 2: t = (2p - 1) / sqrt(2 p (1 - p)).
    double t2 = (2 * p - 1) / std::sqrt(2 * p * (1 - p));
    EXPECT_NEAR(StudentTQuantile(p, 2), t2, 1e-9 * std::fabs(t2)) << p;
  }
  // Normal limit, known to 15 digits.
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.999), 3.090232306167814, 1e-11);
}

TEST(StudentT, CdfMatchesClosedForms) {
  for (double t : {-50.0, -3.0, -1.0, -0.1, 0.0, 0.3, 1.0, 2.5, 12.706, 1e4}) {
    EXPECT_NEAR(StudentTCdf(t, 1), CauchyCdf(t), 1e-13) << t;
    EXPECT_NEAR(StudentTCdf(t, 2), T2Cdf(t), 1e-13) << t;
    EXPECT_NEAR(StudentTCdf(t, 3), T3Cdf(t), 1e-13) << t;
  }
  // Far tail keeps relative accuracy: P(T <= -t) = atan(1/t) / pi for df 1.
  double tail = StudentTCdf(-1e6, 1);
  EXPECT_NEAR(tail, std::atan(1e-6) / kPi, 1e-12 * tail);
  // Normal: Phi(1) = 0.841344746068543.
  EXPECT_NEAR(NormalCdf(1.0), 0.841344746068543, 1e-14);
  EXPECT_NEAR(NormalCdf(-3.0), 0.00134989803163009, 1e-16);
  // t with df 1e15 is the normal to within ~1e-16.
  EXPECT_NEAR(StudentTCdf(1.0, 1e15), 0.841344746068543, 1e-14);
  // The continued fraction (df <= 1e6) and the normal expansion (above)
  // agree where they meet.
  // where they meet (the CDF itself moves by ~2.7e-13 between the two df).
  EXPECT_NEAR(StudentTCdf(2.0, 0.999999e6), StudentTCdf(2.0, 1.000001e6), 1e-12);
  EXPECT_NEAR(StudentTCdf(-2.0, 0.999999e6), StudentTCdf(-2.0, 1.000001e6), 1e-12);
  // Second-order expansion vs the continued fraction at df 3e4, where both
  // are accurate to ~1e-12: F(-2) = Phi(-2) + phi(2) (10/(4 df) + 114/(96 df^2)).
  const double phi2 = std::exp(-2.0) / std::sqrt(2 * kPi);
  const double df = 3e4;
  EXPECT_NEAR(StudentTCdf(-2.0, df), 0.0227501319481792 + phi2 * (10 / (4 * df) + 114 / (96 * df * df)), 1e-13);
}

TEST(StudentT, QuantileInvertsCdfForNonIntegerDf) {
  for (double df : {0.5, 3.7, 57.3, 1e5, 5e6, 5e7}) {
    for (double p : {0.001, 0.2, 0.8, 0.975}) {
      double t = StudentTQuantile(p, df);
      EXPECT_NEAR(StudentTCdf(t, df), p, 1e-12) << df << " " << p;
    }
  }
  // Monotone in df: heavier tails for fewer degrees of freedom.
  EXPECT_GT(StudentTQuantile(0.975, 3.5), StudentTQuantile(0.975, 4));
  EXPECT_GT(StudentTQuantile(0.975, 4), StudentTQuantile(0.975, 4.5));
}

TEST(Summarize, MeanStddevAndInterval) {
  std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  Summary s = Summarize(v);
  EXPECT_EQ(s.n, 8u);
  EXPECT_DOUBLE_EQ(s.mean, 5.0);
  EXPECT_NEAR(s.stddev, std::sqrt(32.0 / 7.0), 1e-15);
  // t(0.975, 7) = 2.364624251592785 (tables give 2.365).
  EXPECT_NEAR(s.ci_half_width, 2.364624251592785 * std::sqrt(32.0 / 7.0) / std::sqrt(8.0), 1e-9);
  EXPECT_EQ(s.min, 2);
  EXPECT_EQ(s.max, 9);

  Summary one = Summarize(std::vector<double>{3.5});
  EXPECT_EQ(one.mean, 3.5);
  EXPECT_EQ(one.stddev, 0);
  EXPECT_TRUE(std::isinf(one.ci_half_width));
  EXPECT_EQ(Summarize(std::vector<double>{}).n, 0u);
  // Equal values: exactly zero spread even where the sum is inexact.
  Summary same = Summarize(std::vector<double>{0.1, 0.1, 0.1});
  EXPECT_EQ(same.mean, 0.1);
  EXPECT_EQ(same.stddev, 0);
  EXPECT_EQ(same.ci_half_width, 0);
}

TEST(ComparePaired, HandComputedExample) {
  // Differences {1, 2, 1, 2}: mean 1.5, sd sqrt(1/3), se sqrt(1/3)/2,
  // t = 1.5 / se = 3 sqrt(3), df 3.
  std::vector<double> ref = {10, 12, 14, 16};
  std::vector<double> cand = {11, 14, 15, 18};
  auto r = ComparePaired(ref, cand);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const double se = std::sqrt(1.0 / 3.0) / 2;
  EXPECT_EQ(r->n, 4u);
  EXPECT_DOUBLE_EQ(r->reference_mean, 13);
  EXPECT_DOUBLE_EQ(r->candidate_mean, 14.5);
  EXPECT_DOUBLE_EQ(r->mean_diff, 1.5);
  EXPECT_NEAR(r->t, 3 * std::sqrt(3.0), 1e-12);
  EXPECT_NEAR(r->p_value, 2 * (1 - T3Cdf(3 * std::sqrt(3.0))), 1e-12);
  // t(0.975, 3) = 3.182446305284263.
  EXPECT_NEAR(r->ci_low, 1.5 - 3.182446305284263 * se, 1e-9);
  EXPECT_NEAR(r->ci_high, 1.5 + 3.182446305284263 * se, 1e-9);
  EXPECT_NEAR(r->rel_change_pct, 1.5 / 13 * 100, 1e-12);
  EXPECT_NEAR(r->rel_ci_low_pct, r->ci_low / 13 * 100, 1e-12);
}

TEST(ComparePaired, EdgeCases) {
  std::vector<double> a = {1.5, 2.5, 3.5};
  auto same = ComparePaired(a, a);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->p_value, 1);
  EXPECT_EQ(same->ci_low, 0);
  EXPECT_EQ(same->ci_high, 0);
  EXPECT_EQ(same->rel_change_pct, 0);

  std::vector<double> shifted = {2.5, 3.5, 4.5};
  auto shift = ComparePaired(a, shifted);
  ASSERT_TRUE(shift.ok());
  EXPECT_EQ(shift->p_value, 0);
  EXPECT_EQ(shift->mean_diff, 1);
  EXPECT_EQ(shift->ci_low, 1);
  EXPECT_EQ(shift->ci_high, 1);
  EXPECT_NEAR(shift->rel_change_pct, 100.0 / 2.5, 1e-12);

  auto single = ComparePaired(std::vector<double>{1}, std::vector<double>{2});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->p_value, 1);
  EXPECT_TRUE(std::isinf(single->ci_high));

  auto zero_ref = ComparePaired(std::vector<double>{0, 0}, std::vector<double>{1, 3});
  ASSERT_TRUE(zero_ref.ok());
  EXPECT_TRUE(std::isnan(zero_ref->rel_change_pct));

  EXPECT_FALSE(ComparePaired(std::vector<double>{1, 2}, std::vector<double>{1}).ok());
  EXPECT_FALSE(ComparePaired(std::vector<double>{}, std::vector<double>{}).ok());
  EXPECT_FALSE(
      ComparePaired(std::vector<double>{1, std::numeric_limits<double>::quiet_NaN()}, std::vector<double>{1, 2}).ok());
  EXPECT_FALSE(ComparePaired(a, a, 1.0).ok());
}

TEST(ComparePaired, NoiseGivesLargePValue) {
  // Differences {+1, -1, +1, -1, 0}: mean 0 -> t = 0, p = 1.
  auto r = ComparePaired(std::vector<double>{5, 5, 5, 5, 5}, std::vector<double>{6, 4, 6, 4, 5});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->mean_diff, 0);
  EXPECT_NEAR(r->p_value, 1, 1e-15);
  EXPECT_LT(r->ci_low, 0);
  EXPECT_GT(r->ci_high, 0);
}

TEST(CompareWelch, DegreesOfFreedomAndSymmetry) {
  std::vector<double> x = {1, 2, 3, 4};        // mean 2.5, var 5/3
  std::vector<double> y = {2, 4, 6, 8, 10, 12}; // mean 7, var 14
  auto r = CompareWelch(x, y);
  ASSERT_TRUE(r.ok());
  double a = (5.0 / 3) / 4, b = 14.0 / 6;
  EXPECT_DOUBLE_EQ(r->mean_diff, 4.5);
  EXPECT_NEAR(r->df, (a + b) * (a + b) / (a * a / 3 + b * b / 5), 1e-12);
  EXPECT_NEAR(r->t, 4.5 / std::sqrt(a + b), 1e-12);
  EXPECT_NEAR(r->p_value, 2 * (1 - StudentTCdf(r->t, r->df)), 1e-12);
  auto back = CompareWelch(y, x);
  ASSERT_TRUE(back.ok());
  EXPECT_DOUBLE_EQ(back->p_value, r->p_value);
  EXPECT_DOUBLE_EQ(back->ci_low, -r->ci_high);

  auto flat = CompareWelch(std::vector<double>{1, 1}, std::vector<double>{2, 2});
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->p_value, 0);
  EXPECT_FALSE(CompareWelch(std::vector<double>{1}, y).ok());
}

TEST(Stats, Deterministic) {
  std::vector<double> ref = {1.1, 2.3, 0.7, 4.2, 3.3};
  std::vector<double> cand = {1.4, 2.2, 1.0, 4.9, 3.1};
  auto a = ComparePaired(ref, cand);
  auto b = ComparePaired(ref, cand);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->p_value, b->p_value);
  EXPECT_EQ(a->ci_low, b->ci_low);
}

}  // namespace
}  // namespace kreplay::stats
