#include "services/sim/histogram.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "services/sim/rng.h"

namespace kreplay::sim {
namespace {

TEST(Histogram, BucketBoundsTileTheLine) {
  Histogram h;
  for (size_t i = 0; i < 3000; ++i) {
    EXPECT_EQ(h.IndexOf(h.LowerBound(i)), i);
    EXPECT_EQ(h.IndexOf(h.UpperBound(i)), i);
    EXPECT_EQ(h.UpperBound(i) + 1, h.LowerBound(i + 1));
  }
}

TEST(Histogram, RelativeErrorBounded) {
  Histogram h;
  for (int64_t v : {int64_t{300}, int64_t{1000}, int64_t{123456}, int64_t{987654321}, int64_t{1} << 50}) {
    size_t i = h.IndexOf(v);
    double width = static_cast<double>(h.UpperBound(i) - h.LowerBound(i) + 1);
    EXPECT_LE(width / static_cast<double>(v), 1.0 / 128);
  }
}

TEST(Histogram, PercentilesOfExactRange) {
  Histogram h;
  for (int v = 1; v <= 100; ++v) h.Record(v);
  EXPECT_EQ(h.Percentile(0.5), 50);
  EXPECT_EQ(h.Percentile(0.99), 99);
  EXPECT_EQ(h.Percentile(1.0), 100);
  EXPECT_EQ(h.min(), 1);
  EXPECT_EQ(h.count(), 100u);
  EXPECT_EQ(h.sum(), 5050);
}

// Percentile() against the definition applied to the raw sample: the value
// of nearest rank ceil(q * N), reported as its bucket's midpoint clamped to
// [min, max]. Covers both scan directions (ranks below and above N / 2).
TEST(Histogram, PercentilesMatchNearestRankOfRawSample) {
  Rng r(17);
  for (int n : {1, 2, 3, 10, 999, 5000}) {
    Histogram h;
    std::vector<int64_t> raw;
    for (int i = 0; i < n; ++i) {
      int64_t v = static_cast<int64_t>(r.Exponential(5e4)) + (i % 7 == 0 ? 3000000 : 0);
      raw.push_back(v);
      h.Record(v);
    }
    std::sort(raw.begin(), raw.end());
    // buckets() runs to the highest bucket used, whatever capacity is held.
    EXPECT_EQ(h.buckets().size(), h.IndexOf(raw.back()) + 1);
    for (double q : {0.01, 0.25, 0.5, 0.5001, 0.75, 0.9, 0.99, 0.999}) {
      uint64_t rank = static_cast<uint64_t>(std::ceil(q * n));
      if (rank == 0) rank = 1;
      int64_t v = raw[rank - 1];
      size_t b = h.IndexOf(v);
      int64_t want = std::clamp(h.LowerBound(b) + (h.UpperBound(b) - h.LowerBound(b)) / 2, raw.front(), raw.back());
      EXPECT_EQ(h.Percentile(q), want) << "n=" << n << " q=" << q;
    }
  }
}

TEST(Histogram, MergeIsExactAndOrderFree) {
  Rng r(9);
  Histogram all, a, b, c;
  for (int i = 0; i < 30000; ++i) {
    int64_t v = static_cast<int64_t>(r.Exponential(1e6));
    all.Record(v);
    (i % 3 == 0 ? a : i % 3 == 1 ? b : c).Record(v);
  }
  Histogram abc = a;
  abc.Merge(b);
  abc.Merge(c);
  Histogram cba = c;
  cba.Merge(b);
  cba.Merge(a);
  EXPECT_TRUE(abc == all);
  EXPECT_TRUE(cba == all);
  EXPECT_EQ(abc.Percentile(0.99), all.Percentile(0.99));
}

TEST(Histogram, RoundTripThroughParts) {
  Histogram h;
  for (int v : {0, 5, 5, 1000, 70000}) h.Record(v);
  std::vector<uint32_t> idx;
  std::vector<uint64_t> cnt;
  for (size_t i = 0; i < h.buckets().size(); ++i)
    if (h.buckets()[i]) {
      idx.push_back(static_cast<uint32_t>(i));
      cnt.push_back(h.buckets()[i]);
    }
  Histogram back = Histogram::FromParts(h.sub_bucket_bits(), idx, cnt, h.min(), h.max(), h.sum());
  EXPECT_TRUE(back == h);
}

}  // namespace
}  // namespace kreplay::sim
