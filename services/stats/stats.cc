#include "services/stats/stats.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "services/sim/rng.h"

namespace kreplay::stats {
namespace {

using sim::DetExp;
using sim::DetLog;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kHalfLog2Pi = 0.91893853320467274178;  // ln(2*pi) / 2
constexpr double kSqrt2 = 1.41421356237309504880;
constexpr double kLogSqrtPi = 0.57236494292470008707;    // ln(Gamma(1/2))
// Above this many degrees of freedom Student's t is evaluated by its
// second-order expansion around the normal (error O(t^12/df^3): below 1e-16
// absolute at t = 2, 2e-10 relative at t = 8). Below it the continued
// fraction is used; its error grows with df (about 1e-11 relative near 1e6,
// measured against the expansion), because I_x(df/2, 1/2) amplifies the
// rounding of x by ~df.
constexpr double kNormalDf = 1e6;

// ln(1 + u), accurate also for tiny u (DetLog(1 + u) would lose the digits
// of u that do not fit next to 1): 2 atanh(s) with s = u / (2 + u).
double Log1p(double u) {
  if (u < -0.2 || u > 0.25) return DetLog(1.0 + u);
  double s = u / (2.0 + u);
  double s2 = s * s;
  double term = s, sum = 0;
  for (int k = 1; k < 60; k += 2) {
    double add = term / k;
    sum += add;
    if (add == 0 || std::fabs(add) < 1e-18 * std::fabs(sum)) break;
    term *= s2;
  }
  return 2 * sum;
}

// Stirling's series remainder: lnGamma(x) - [(x - 1/2) ln x - x + ln(2 pi)/2],
// for x >= 10 (truncation error below 1e-17 there).
double StirlingDelta(double x) {
  double r = 1.0 / x;
  double r2 = r * r;
  // Coefficients B_2k / (2k (2k - 1)).
  return r * (1.0 / 12 +
              r2 * (-1.0 / 360 +
                    r2 * (1.0 / 1260 +
                          r2 * (-1.0 / 1680 + r2 * (1.0 / 1188 + r2 * (-691.0 / 360360 + r2 * (1.0 / 156)))))));
}

// ln Gamma(x) for x > 0: Lanczos (g = 7, 9 terms) below 10, Stirling above.
double LogGamma(double x) {
  if (x < 0.5) return LogGamma(x + 1.0) - DetLog(x);  // Gamma(x) = Gamma(x+1)/x
  if (x >= 10) return (x - 0.5) * DetLog(x) - x + kHalfLog2Pi + StirlingDelta(x);
  static constexpr double kC[9] = {0.99999999999980993,  676.5203681218851,     -1259.1392167224028,
                                   771.32342877765313,   -176.61502916214059,   12.507343278686905,
                                   -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7};
  double z = x - 1.0;
  double sum = kC[0];
  for (int i = 1; i < 9; ++i) sum += kC[i] / (z + i);
  double t = z + 7.5;
  return kHalfLog2Pi + (z + 0.5) * DetLog(t) - t + DetLog(sum);
}

// ln B(a, b), without the cancellation of lnGamma(a) - lnGamma(a + b) when
// one argument is large (large df).
double LogBeta(double a, double b) {
  double big = a > b ? a : b;
  double small = a > b ? b : a;
  if (big < 10) return LogGamma(a) + LogGamma(b) - LogGamma(a + b);
  double diff = -(big - 0.5) * Log1p(small / big) - small * DetLog(big + small) + small +
                StirlingDelta(big) - StirlingDelta(big + small);
  return LogGamma(small) + diff;
}

// Continued fraction for I_x(a, b) (DLMF 8.17.22), by the modified Lentz
// method. Converges fast for x < (a + 1) / (a + b + 2).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-16;
  auto guard = [](double v) { return std::fabs(v) < kTiny ? kTiny : v; };
  double c = 1.0;
  double d = 1.0 / guard(1.0 - (a + b) * x / (a + 1.0));
  double h = d;
  for (int m = 1; m <= 1'000'000; ++m) {
    double m2 = 2.0 * m;
    // Even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)).
    double num = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
    d = 1.0 / guard(1.0 + num * d);
    c = guard(1.0 + num / c);
    h *= d * c;
    // Odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
    d = 1.0 / guard(1.0 + num * d);
    c = guard(1.0 + num / c);
    double step = d * c;
    h *= step;
    if (std::fabs(step - 1.0) < kEps) break;
  }
  return h;
}

// Regularized incomplete beta I_x(a, b) given x, y = 1 - x and their logs,
// each computed by the caller without cancellation.
double RegIncBeta(double a, double b, double x, double y, double log_x, double log_y) {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  double front = DetExp(a * log_x + b * log_y - LogBeta(a, b));
  if (x < (a + 1.0) / (a + b + 2.0)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1.0 - front * BetaContinuedFraction(b, a, y) / b;
}

// erfc(x) for x >= 0 via the regularized upper incomplete gamma Q(1/2, x^2).
double ErfcNonNegative(double x) {
  double s = x * x;
  if (s == 0) return 1;
  if (s > 800) return 0;
  double log_front = 0.5 * DetLog(s) - s;  // x^a e^-x with a = 1/2
  if (s < 1.5) {
    // Series: P(a, s) = s^a e^-s / Gamma(a + 1) * sum s^n / ((a+1)...(a+n)).
    double term = 1.0 / 0.5, sum = term;
    for (int n = 1; n < 300; ++n) {
      term *= s / (0.5 + n);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    return 1.0 - DetExp(log_front - kLogSqrtPi) * sum;
  }
  // Continued fraction for Q(a, s) (Lentz), a = 1/2.
  constexpr double kTiny = 1e-300;
  double b = s + 1.0 - 0.5;
  double c = 1.0 / kTiny;
  double d = 1.0 / b;
  double h = d;
  for (int i = 1; i < 1000; ++i) {
    double an = -i * (i - 0.5);
    b += 2.0;
    d = an * d + b;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    double step = d * c;
    h *= step;
    if (std::fabs(step - 1.0) < 1e-16) break;
  }
  return DetExp(log_front - kLogSqrtPi) * h;
}

// P(T > s) for s >= 0: half the two-sided tail I_x(df/2, 1/2), x = df/(df+s^2).
double UpperTail(double s, double df) {
  if (s == 0) return 0.5;
  if (df > kNormalDf) {
    // F(t) = Phi(t) - phi(t) [(t^3 + t) / (4 df) + (3t^7 - 7t^5 - 5t^3 - 3t) / (96 df^2)]
    // + O(1/df^3), from expanding the t density in 1/df and integrating.
    double phi = DetExp(-0.5 * s * s - kHalfLog2Pi);
    double s2 = s * s;
    double g1 = (s2 * s + s) / 4;
    double g2 = s * (((3 * s2 - 7) * s2 - 5) * s2 - 3) / 96;
    return 0.5 * ErfcNonNegative(s / kSqrt2) + phi * (g1 / df + g2 / (df * df));
  }
  double r = (s / std::sqrt(df)) * (s / std::sqrt(df));  // s^2 / df
  if (!std::isfinite(r)) return 0;
  double x = 1.0 / (1.0 + r);
  double y = r / (1.0 + r);
  double log_x = -Log1p(r);
  double log_y = DetLog(r) + log_x;
  return 0.5 * RegIncBeta(df / 2, 0.5, x, y, log_x, log_y);
}

// The s >= 0 with UpperTail(s, df) == q, 0 < q <= 1/2, by bracketing and
// bisection down to adjacent doubles (UpperTail is decreasing).
double InverseUpperTail(double q, double df) {
  double lo = 0, hi = 1;
  while (UpperTail(hi, df) > q) {
    lo = hi;
    hi *= 2;
    if (hi > 1e300) return kInf;
  }
  for (int i = 0; i < 2000; ++i) {
    double mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (UpperTail(mid, df) > q) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo + (hi - lo) / 2;
}

double Mean(std::span<const double> v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

bool AllEqual(std::span<const double> v) {
  for (double x : v) {
    if (x != v[0]) return false;
  }
  return true;
}

// Sample variance (n - 1); exactly 0 when all values are equal.
double Variance(std::span<const double> v, double mean) {
  if (v.size() < 2 || AllEqual(v)) return 0;
  double ss = 0;
  for (double x : v) ss += (x - mean) * (x - mean);
  return ss / static_cast<double>(v.size() - 1);
}

Status CheckInput(std::span<const double> v, const char* what) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) {
      return InvalidArgument(std::string(what) + "[" + std::to_string(i) + "] is not finite");
    }
  }
  return OkStatus();
}

Status CheckConfidence(double c) {
  if (!(c > 0 && c < 1)) return InvalidArgument("confidence must be in (0, 1)");
  return OkStatus();
}

double TwoSidedP(double t, double df) {
  double p = 2 * UpperTail(std::fabs(t), df);
  return p > 1 ? 1 : p;
}

}  // namespace

double StudentTCdf(double t, double df) {
  KREPLAY_CHECK(df > 0, "StudentTCdf: df must be > 0");
  if (std::isnan(t)) return kNaN;
  if (t < 0) return UpperTail(-t, df);
  return 1.0 - UpperTail(t, df);
}

double StudentTQuantile(double p, double df) {
  KREPLAY_CHECK(p > 0 && p < 1, "StudentTQuantile: p must be in (0, 1)");
  KREPLAY_CHECK(df > 0, "StudentTQuantile: df must be > 0");
  if (p == 0.5) return 0;
  // 1 - p is exact for p >= 1/2, so the upper tail keeps its digits.
  if (p > 0.5) return InverseUpperTail(1.0 - p, df);
  return -InverseUpperTail(p, df);
}

double NormalCdf(double z) {
  if (std::isnan(z)) return kNaN;
  if (z < 0) return 0.5 * ErfcNonNegative(-z / kSqrt2);
  return 1.0 - 0.5 * ErfcNonNegative(z / kSqrt2);
}

double NormalQuantile(double p) {
  KREPLAY_CHECK(p > 0 && p < 1, "NormalQuantile: p must be in (0, 1)");
  // The t distribution beyond kNormalDf uses the normal; an infinite df
  // removes the correction term entirely.
  if (p == 0.5) return 0;
  if (p > 0.5) return InverseUpperTail(1.0 - p, kInf);
  return -InverseUpperTail(p, kInf);
}

Summary Summarize(std::span<const double> values, double confidence) {
  KREPLAY_CHECK(confidence > 0 && confidence < 1, "Summarize: confidence must be in (0, 1)");
  Summary s;
  s.confidence = confidence;
  s.n = values.size();
  if (s.n == 0) return s;
  s.mean = AllEqual(values) ? values[0] : Mean(values);
  s.stddev = std::sqrt(Variance(values, s.mean));
  s.min = s.max = values[0];
  for (double x : values) {
    if (x < s.min) s.min = x;
    if (x > s.max) s.max = x;
  }
  if (s.n == 1) {
    s.ci_half_width = kInf;
  } else {
    double tq = StudentTQuantile(1 - (1 - confidence) / 2, static_cast<double>(s.n - 1));
    s.ci_half_width = tq * s.stddev / std::sqrt(static_cast<double>(s.n));
  }
  return s;
}

StatusOr<PairedComparison> ComparePaired(std::span<const double> reference,
                                         std::span<const double> candidate, double confidence) {
  KREPLAY_RETURN_IF_ERROR(CheckConfidence(confidence));
  if (reference.size() != candidate.size()) {
    return InvalidArgument("paired comparison: " + std::to_string(reference.size()) + " reference values but " +
                           std::to_string(candidate.size()) + " candidate values");
  }
  if (reference.empty()) return InvalidArgument("paired comparison: no values");
  KREPLAY_RETURN_IF_ERROR(CheckInput(reference, "reference"));
  KREPLAY_RETURN_IF_ERROR(CheckInput(candidate, "candidate"));
  PairedComparison r;
  r.confidence = confidence;
  r.n = reference.size();
  r.reference_mean = Mean(reference);
  r.candidate_mean = Mean(candidate);
  std::vector<double> d(r.n);
  for (size_t i = 0; i < r.n; ++i) d[i] = candidate[i] - reference[i];
  const bool identical = AllEqual(d);
  r.mean_diff = identical ? d[0] : Mean(d);
  r.stddev_diff = std::sqrt(Variance(d, r.mean_diff));
  if (identical && d[0] == 0) {
    r.p_value = 1;
    r.ci_low = r.ci_high = 0;
  } else if (r.n == 1) {
    r.p_value = 1;
    r.ci_low = -kInf;
    r.ci_high = kInf;
  } else if (identical) {
    r.p_value = 0;
    r.t = r.mean_diff > 0 ? kInf : -kInf;
    r.ci_low = r.ci_high = r.mean_diff;
  } else {
    double df = static_cast<double>(r.n - 1);
    double se = r.stddev_diff / std::sqrt(static_cast<double>(r.n));
    r.t = r.mean_diff / se;
    r.p_value = TwoSidedP(r.t, df);
    double h = StudentTQuantile(1 - (1 - confidence) / 2, df) * se;
    r.ci_low = r.mean_diff - h;
    r.ci_high = r.mean_diff + h;
  }
  auto pct = [&](double v) {
    if (r.reference_mean != 0) return 100.0 * v / std::fabs(r.reference_mean);
    return v == 0 ? 0.0 : kNaN;
  };
  r.rel_change_pct = pct(r.mean_diff);
  r.rel_ci_low_pct = pct(r.ci_low);
  r.rel_ci_high_pct = pct(r.ci_high);
  return r;
}

StatusOr<WelchComparison> CompareWelch(std::span<const double> reference,
                                       std::span<const double> candidate, double confidence) {
  KREPLAY_RETURN_IF_ERROR(CheckConfidence(confidence));
  if (reference.size() < 2 || candidate.size() < 2) {
    return InvalidArgument("Welch test: each sample needs at least 2 values");
  }
  KREPLAY_RETURN_IF_ERROR(CheckInput(reference, "reference"));
  KREPLAY_RETURN_IF_ERROR(CheckInput(candidate, "candidate"));
  WelchComparison r;
  r.confidence = confidence;
  const double n1 = static_cast<double>(reference.size());
  const double n2 = static_cast<double>(candidate.size());
  const double m1 = AllEqual(reference) ? reference[0] : Mean(reference);
  const double m2 = AllEqual(candidate) ? candidate[0] : Mean(candidate);
  const double a = Variance(reference, m1) / n1;
  const double b = Variance(candidate, m2) / n2;
  r.mean_diff = m2 - m1;
  if (a + b == 0) {
    r.df = n1 + n2 - 2;
    r.p_value = r.mean_diff == 0 ? 1 : 0;
    r.t = r.mean_diff == 0 ? 0 : (r.mean_diff > 0 ? kInf : -kInf);
    r.ci_low = r.ci_high = r.mean_diff;
    return r;
  }
  const double se = std::sqrt(a + b);
  r.df = (a + b) * (a + b) / (a * a / (n1 - 1) + b * b / (n2 - 1));
  r.t = r.mean_diff / se;
  r.p_value = TwoSidedP(r.t, r.df);
  double h = StudentTQuantile(1 - (1 - confidence) / 2, r.df) * se;
  r.ci_low = r.mean_diff - h;
  r.ci_high = r.mean_diff + h;
  return r;
}

}  // namespace kreplay::stats
