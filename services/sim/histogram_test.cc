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

// Buckets live in pages added on first use. Against a plain dense count per
// bucket: buckets(), percentiles (both scan directions, across pages never
// added) and merges in either order, over values from 0 to 2^48 and several
// resolutions.
TEST(Histogram, PagedStorageMatchesDenseCounts) {
  Rng r(23);
  for (int bits : {2, 5, 8, 12}) {
    for (int n : {1, 7, 300, 4000}) {
      Histogram h(bits), a(bits), b(bits);
      std::vector<uint64_t> dense;
      for (int i = 0; i < n; ++i) {
        int64_t v;
        switch (r.Below(5)) {
          case 0: v = static_cast<int64_t>(r.Below(300)); break;
          case 1: v = static_cast<int64_t>(r.Exponential(2e4)); break;
          case 2: v = static_cast<int64_t>(r.Exponential(5e7)); break;
          case 3: v = static_cast<int64_t>(r.Below(uint64_t{1} << 48)); break;  // sum stays in range
          default: v = -5; break;
        }
        uint64_t count = 1 + r.Below(3);
        h.Record(v, count);
        (i % 2 ? a : b).Record(v, count);
        size_t idx = h.IndexOf(v);
        if (idx >= dense.size()) dense.resize(idx + 1, 0);
        dense[idx] += count;
      }
      EXPECT_EQ(h.buckets(), dense) << "bits=" << bits << " n=" << n;
      Histogram ab = a, ba = b;
      ab.Merge(b);
      ba.Merge(a);
      EXPECT_TRUE(ab == h);
      EXPECT_TRUE(ba == h);
      EXPECT_EQ(ab.buckets(), dense);
      for (double q : {0.001, 0.1, 0.5, 0.5001, 0.9, 0.999}) {
        // Nearest rank over the dense counts, as Percentile() defines it.
        uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(h.count())));
        if (rank == 0) rank = 1;
        size_t i = 0;
        for (uint64_t seen = 0; (seen += dense[i]) < rank;) ++i;
        int64_t want = std::clamp(h.LowerBound(i) + (h.UpperBound(i) - h.LowerBound(i)) / 2, h.min(), h.max());
        EXPECT_EQ(h.Percentile(q), want) << "bits=" << bits << " n=" << n << " q=" << q;
        EXPECT_EQ(ba.Percentile(q), want);
      }
    }
  }
}

TEST(Histogram, EqualityAndPartsIgnoreWhichPagesExist) {
  Histogram a, b;
  a.Record(5);
  a.Record(1'000'000);
  b.Record(1'000'000);
  b.Record(5);
  EXPECT_TRUE(a == b);
  b.Record(70);
  EXPECT_FALSE(a == b);
  // A zero count in the parts still extends buckets(), as it always did.
  Histogram z = Histogram::FromParts(8, {3, 4000}, {2, 0}, 3, 3, 6);
  EXPECT_EQ(z.buckets().size(), 4001u);
  EXPECT_EQ(z.count(), 2u);
  EXPECT_EQ(z.Percentile(0.99), 3);
  Histogram y;
  y.Record(3, 2);
  EXPECT_TRUE(y == z);
  Histogram top;  // the last page there is
  top.Record(INT64_MAX);
  EXPECT_EQ(top.buckets().size(), top.IndexOf(INT64_MAX) + 1);
  EXPECT_EQ(top.Percentile(0.5), INT64_MAX);
  Histogram m;  // merging into an empty histogram, and with itself
  m.Merge(a);
  m.Merge(m);
  EXPECT_EQ(m.count(), 4u);
  EXPECT_EQ(m.buckets()[5], 2u);
}

}  // namespace
}  // namespace kreplay::sim
