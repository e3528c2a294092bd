// FixedDivisor (sched_core.h): the reciprocal division gives the quotient
// of n / d exactly, below its multiply range's top, at it and above it.
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

#include "services/sim/rng.h"
#include "workers/models/sched/sched_core.h"

namespace kreplay::sched {
namespace {

TEST(FixedDivisor, QuotientsAreExact) {
  // Capacities (1..1024, powers of two among them), ticks (HZ 100..10000),
  // CPU and cluster power sums, and divisors near 2^32 and 2^63.
  const std::vector<uint64_t> divisors = {1,       2,       3,       7,          447,        1000,
                                          1023,    1024,    1025,    100'000,    4'000'000,  10'000'000,
                                          65'536,  88'761,  (uint64_t{1} << 32) - 1, (uint64_t{1} << 32) + 1,
                                          (uint64_t{1} << 63) - 25, uint64_t{1} << 63, UINT64_MAX};
  sim::Rng rng(7);
  for (uint64_t d : divisors) {
    FixedDivisor div(d);
    std::vector<uint64_t> ns = {0, 1, d - 1, d, d + 1, 2 * d - 1, 1000 * d + 999, UINT64_MAX, UINT64_MAX - 1};
    // Around the top of the multiplied range, 2^(64 - bit_width(d)).
    for (int shift : {10, 20, 31, 32, 40, 47, 48, 53, 54, 62, 63}) {
      uint64_t top = uint64_t{1} << shift;
      for (uint64_t n : {top - 1, top, top + 1, top / d * d, top / d * d - 1}) ns.push_back(n);
    }
    for (int i = 0; i < 2000; ++i) ns.push_back(rng.NextU64() >> rng.Below(64));
    for (uint64_t n : ns) ASSERT_EQ(div.Divide(n), n / d) << "n=" << n << " d=" << d;
  }
}

}  // namespace
}  // namespace kreplay::sched
