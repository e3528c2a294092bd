// Seeded randomness with the project's own distributions.
//
// std:: distributions differ between standard library implementations, so
// every distribution here is written out: the same seed gives the same
// numbers on every machine. Floating point uses only IEEE-754 correctly
// rounded operations (+ - * / and frexp/ldexp), never libm's log/exp.
#pragma once

#include <cstdint>

namespace kreplay::sim {

// xoshiro256** seeded through splitmix64. Value type: copy to fork a stream.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  // An independent stream for a sub-component (e.g. one per task), derived
  // from this seed and `stream` without consuming this generator's state.
  Rng Fork(uint64_t stream) const;

  uint64_t NextU64();
  // Uniform in [0, bound) without modulo bias (Lemire). REQUIRES: bound > 0.
  uint64_t Below(uint64_t bound);
  // Uniform integer in [lo, hi]. REQUIRES: lo <= hi.
  int64_t Range(int64_t lo, int64_t hi);
  // Uniform double in [0, 1) with 53 random bits.
  double Uniform();
  bool Bernoulli(double p) { return Uniform() < p; }
  // Exponential with the given mean.
  double Exponential(double mean);
  // Normal(mean, stddev), Marsaglia polar method using our own Log/Sqrt.
  double Normal(double mean, double stddev);
  // Log-normal whose underlying normal has (mu, sigma).
  double LogNormal(double mu, double sigma);

 private:
  uint64_t s_[4];
  uint64_t seed_;
};

// Deterministic natural logarithm and exp built from + - * / only.
// Accurate to ~1e-15 relative; the point is bit-identical results everywhere.
double DetLog(double x);
double DetExp(double x);
double DetSqrt(double x);

}  // namespace kreplay::sim
