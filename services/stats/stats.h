// Statistics for study reports: per-variant summaries over seeds and
// seed-paired comparisons against a reference variant.
//
// Everything is computed in the order the caller passes values (callers sort
// by seed), with only + - * / and the project's deterministic log/exp
// (sim::DetLog/DetExp), so the same inputs give bit-identical outputs on every
// machine. All functions are pure and thread-safe.
//
// The Student-t distribution is evaluated through the regularized incomplete
// beta function, I_x(a, b), by its continued fraction (modified Lentz), with
// log-gamma from a Lanczos sum below 10 and Stirling's series above; for df
// above 1e6 a second-order expansion in 1/df around the normal is used.
// Accuracy: ~1e-14 relative for small df, ~1e-11 near df = 1e6.
#pragma once

#include <cstddef>
#include <span>

#include "services/core/status.h"

namespace kreplay::stats {

// P(T <= t) for Student's t with `df` degrees of freedom. REQUIRES: df > 0.
double StudentTCdf(double t, double df);

// The t with StudentTCdf(t, df) == p (bisection to adjacent doubles).
// REQUIRES: 0 < p < 1, df > 0. Example: StudentTQuantile(0.975, 9) = 2.262.
double StudentTQuantile(double p, double df);

// Standard normal CDF and quantile (REQUIRES: 0 < p < 1).
double NormalCdf(double z);
double NormalQuantile(double p);

struct Summary {
  size_t n = 0;
  double mean = 0;
  double stddev = 0;          // sample standard deviation (n - 1); 0 when n < 2
  double ci_half_width = 0;   // t(1 - (1-confidence)/2, n-1) * stddev / sqrt(n);
                              // +infinity when n == 1, 0 when n == 0
  double confidence = 0.95;
  double min = 0;
  double max = 0;
};

// Summary of a sample. An empty sample gives n = 0 and zeros.
// REQUIRES: 0 < confidence < 1; values finite.
Summary Summarize(std::span<const double> values, double confidence = 0.95);

// Candidate vs reference paired by position (same seed at the same index).
struct PairedComparison {
  size_t n = 0;
  double reference_mean = 0;
  double candidate_mean = 0;
  double mean_diff = 0;       // mean of (candidate[i] - reference[i])
  double stddev_diff = 0;     // sample stddev of the differences
  double ci_low = 0;          // confidence interval of mean_diff
  double ci_high = 0;
  double rel_change_pct = 0;  // 100 * mean_diff / |reference_mean|; NaN if the
  double rel_ci_low_pct = 0;  //   reference mean is 0 and mean_diff is not
  double rel_ci_high_pct = 0;
  double t = 0;               // mean_diff / (stddev_diff / sqrt(n)); 0 if undefined
  double p_value = 1;         // two-sided, Student-t with n - 1 df
  double confidence = 0.95;
};

// Paired t-test. Edge cases, defined rather than NaN: all differences exactly
// zero -> p = 1, CI [0, 0]; n >= 2 identical non-zero differences (zero
// variance) -> p = 0, CI [d, d]; n == 1 with a non-zero difference -> p = 1,
// CI (-inf, +inf).
// Errors (InvalidArgument): lengths differ, empty input, non-finite values,
// confidence outside (0, 1).
StatusOr<PairedComparison> ComparePaired(std::span<const double> reference,
                                         std::span<const double> candidate,
                                         double confidence = 0.95);

// Welch's unequal-variance t-test (unpaired samples).
struct WelchComparison {
  double mean_diff = 0;  // mean(candidate) - mean(reference)
  double df = 0;         // Welch-Satterthwaite degrees of freedom
  double t = 0;
  double ci_low = 0;
  double ci_high = 0;
  double p_value = 1;    // two-sided
  double confidence = 0.95;
};

// Errors: fewer than 2 values on either side, non-finite values, confidence
// outside (0, 1). Both variances zero: p = 1 if the means are equal, else 0.
StatusOr<WelchComparison> CompareWelch(std::span<const double> reference,
                                       std::span<const double> candidate,
                                       double confidence = 0.95);

}  // namespace kreplay::stats
