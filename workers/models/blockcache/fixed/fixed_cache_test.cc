#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "workers/models/blockcache/fixed/block_keys.h"
#include "workers/models/blockcache/fixed/fixed_cache.h"
#include "workers/models/blockcache/fixed/fixed_test_util.h"
#include "workers/models/blockcache/fixed/mrc.h"

namespace kreplay::blockcache {
namespace {

using testing::Fixture;
using testing::RefRun;
using workload::BlockOp;
using workload::BlockRequest;
using workload::BlockWorkload;

BlockWorkload SingleBlockReads(const std::string& letters) {
  BlockWorkload w;
  w.volumes = {"v"};
  for (char c : letters) {
    BlockRequest r;
    r.offset = static_cast<uint64_t>(c - 'A') * 4096;
    r.bytes = 4096;
    w.requests.push_back(r);
  }
  return w;
}

TEST(FixedCache, HandWorkedSequence) {
  // A B C A D B E A, worked by hand:
  // LRU 2: no block survives to its reuse -> 8 misses.
  // LRU 3: only the second A hits (D evicts B, B evicts C, E evicts A).
  // FIFO 3: A and B hit (D evicts A, E evicts B; the last A then misses).
  BlockWorkload w = SingleBlockReads("ABCADBEA");
  auto lru2 = SimulateFixedCache(w, FixedPolicy::kLru, 4096, 2).value();
  EXPECT_EQ(lru2.hits, 0u);
  EXPECT_EQ(lru2.misses, 8u);
  auto lru3 = SimulateFixedCache(w, FixedPolicy::kLru, 4096, 3).value();
  EXPECT_EQ(lru3.hits, 1u);
  EXPECT_EQ(lru3.misses, 7u);
  auto fifo3 = SimulateFixedCache(w, FixedPolicy::kFifo, 4096, 3).value();
  EXPECT_EQ(fifo3.hits, 2u);
  EXPECT_EQ(fifo3.misses, 6u);
  EXPECT_EQ(fifo3.requests, 8u);
  EXPECT_EQ(fifo3.block_accesses, 8u);
}

TEST(FixedCache, RequestsSplitIntoBlocksAndVolumesStayApart) {
  BlockWorkload w;
  w.volumes = {"a", "b"};
  // 4096 bytes at offset 2048 touch blocks 0 and 1; the same offset on
  // volume b is a different block; a discard and a flush are not accesses.
  w.requests = {{0, 2048, 4096, 0, 0, BlockOp::kRead},
                {1, 2048, 4096, 1, 0, BlockOp::kWrite},
                {2, 0, 4096, 0, 0, BlockOp::kDiscard},
                {3, 0, 0, 0, 0, BlockOp::kFlush},
                {4, 4096, 512, 1, 0, BlockOp::kRead}};
  auto s = SimulateFixedCache(w, FixedPolicy::kLru, 4096, 100).value();
  EXPECT_EQ(s.requests, 3u);
  EXPECT_EQ(s.ignored_requests, 2u);
  EXPECT_EQ(s.block_accesses, 5u);
  EXPECT_EQ(s.misses, 4u);
  EXPECT_EQ(s.hits, 1u);  // volume b block 1
  EXPECT_EQ(s.read_block_accesses, 3u);
  EXPECT_EQ(s.read_hits, 1u);

  auto keys = BlockKeyMapper::Create(w, 4096).value();
  std::set<uint64_t> seen;
  for (const auto& r : w.requests) {
    if (BlockKeyMapper::IsAccess(r)) keys.ForEachBlock(r, [&](uint64_t k) { seen.insert(k); });
  }
  EXPECT_EQ(seen.size(), 4u);
}

TEST(FixedCache, RejectsBadInput) {
  BlockWorkload w = SingleBlockReads("AB");
  auto bad_bs = SimulateFixedCache(w, FixedPolicy::kLru, 3000, 4);
  ASSERT_FALSE(bad_bs.ok());
  EXPECT_NE(bad_bs.status().message().find("block_size"), std::string::npos);
  w.requests[1].volume = 5;
  auto bad_vol = SimulateFixedCache(w, FixedPolicy::kLru, 4096, 4);
  ASSERT_FALSE(bad_vol.ok());
  EXPECT_NE(bad_vol.status().message().find("requests[1].volume"), std::string::npos);
}

// Golden: LRU and FIFO miss counts on the fixture at several sizes and two
// block sizes equal the plain reference's.
TEST(FixedCacheGolden, MatchesPlainReferenceOnFixture) {
  BlockWorkload w = Fixture();
  for (uint32_t bs : {4096u, 16384u}) {
    for (uint64_t size : {0ull, 1ull, 7ull, 64ull, 150ull, 400ull, 1500ull, 5000ull, 100000ull}) {
      for (bool lru : {true, false}) {
        SCOPED_TRACE(std::to_string(bs) + " " + std::to_string(size) + (lru ? " lru" : " fifo"));
        auto ref = RefRun(w, lru, size, bs);
        auto got = SimulateFixedCache(w, lru ? FixedPolicy::kLru : FixedPolicy::kFifo, bs, size).value();
        EXPECT_EQ(got.requests, ref.requests);
        EXPECT_EQ(got.block_accesses, ref.block_accesses);
        EXPECT_EQ(got.hits, ref.hits);
        EXPECT_EQ(got.misses, ref.misses);
      }
    }
  }
}

uint64_t MrcMisses(const StackDistanceMrc& mrc, uint64_t size) {
  return static_cast<uint64_t>(std::llround(mrc.MissRatio(size) * static_cast<double>(mrc.accesses())));
}

// Golden: the one-pass curve equals a separate LRU simulation at every size
// from 0 to past the footprint.
TEST(MrcGolden, EqualsLruSimulationAtEverySize) {
  BlockWorkload w = Fixture();
  auto keys = BlockKeyMapper::Create(w, 4096).value();
  StackDistanceMrc mrc;
  for (const auto& r : w.requests) {
    if (BlockKeyMapper::IsAccess(r)) keys.ForEachBlock(r, [&](uint64_t k) { mrc.Access(k); });
  }
  const uint64_t distinct = mrc.distinct_blocks();
  ASSERT_GT(distinct, 1000u);
  std::vector<uint64_t> all;
  for (uint64_t size = 0; size <= distinct + 2; ++size) all.push_back(size);
  MissRatioCurve curve = mrc.Curve(all);
  for (uint64_t size = 0; size <= distinct + 2; ++size) {
    auto sim = SimulateFixedCache(w, FixedPolicy::kLru, 4096, size).value();
    ASSERT_EQ(sim.block_accesses, mrc.accesses());
    ASSERT_EQ(static_cast<uint64_t>(std::llround(curve.miss_ratio[size] * static_cast<double>(mrc.accesses()))),
              sim.misses)
        << "size " << size;
  }
  // Independent spot checks against the plain reference too.
  for (uint64_t size : {1ull, 33ull, 777ull}) EXPECT_EQ(MrcMisses(mrc, size), RefRun(w, true, size, 4096).misses);
  // Past the footprint only cold misses remain, one per distinct block.
  EXPECT_EQ(MrcMisses(mrc, distinct), distinct);
}

TEST(Mrc, SizeForHitRatioIsTheSmallestSizeReachingIt) {
  BlockWorkload w = Fixture();
  auto keys = BlockKeyMapper::Create(w, 4096).value();
  StackDistanceMrc mrc;
  for (const auto& r : w.requests) {
    if (BlockKeyMapper::IsAccess(r)) keys.ForEachBlock(r, [&](uint64_t k) { mrc.Access(k); });
  }
  double best = 1 - mrc.MissRatio(mrc.distinct_blocks());
  for (double target : {0.1, 0.3, best - 0.01}) {
    auto size = mrc.SizeForHitRatio(target);
    ASSERT_TRUE(size.has_value()) << target;
    auto at = RefRun(w, true, *size, 4096);
    auto below = RefRun(w, true, *size - 1, 4096);
    EXPECT_GE(static_cast<double>(at.hits) / static_cast<double>(at.block_accesses), target);
    EXPECT_LT(static_cast<double>(below.hits) / static_cast<double>(below.block_accesses), target);
  }
  EXPECT_FALSE(mrc.SizeForHitRatio(best + 0.01).has_value());
  EXPECT_EQ(mrc.SizeForHitRatio(0), 0u);
}

TEST(Mrc, CompactionKeepsDistancesExact) {
  // Far more accesses than the initial 2^16 timestamps, over few keys:
  // compaction runs many times. A cyclic scan over K keys has every reuse at
  // distance K: LRU of K-1 blocks misses everything, K blocks only the cold.
  const uint64_t k = 3000;
  StackDistanceMrc mrc;
  for (int round = 0; round < 100; ++round) {
    for (uint64_t i = 0; i < k; ++i) mrc.Access(i * 7919);
  }
  EXPECT_EQ(MrcMisses(mrc, k - 1), 100 * k);
  EXPECT_EQ(MrcMisses(mrc, k), k);
}

// Zipf(0.9) over n keys by inverse CDF (sim::Rng only: deterministic).
std::vector<uint64_t> ZipfSequence(uint64_t n, int length, uint64_t seed) {
  std::vector<double> cdf(n);
  double sum = 0;
  for (uint64_t i = 0; i < n; ++i) {
    sum += 1.0 / sim::DetExp(0.9 * sim::DetLog(static_cast<double>(i + 1)));
    cdf[i] = sum;
  }
  sim::Rng rng(seed);
  std::vector<uint64_t> out;
  for (int i = 0; i < length; ++i) {
    double u = rng.Uniform() * sum;
    out.push_back(static_cast<uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin()) * 104729 + 11);
  }
  return out;
}

TEST(Mrc, ShardsErrorIsSmallOnZipfAtRateTenPercent) {
  std::vector<uint64_t> seq = ZipfSequence(200000, 2'000'000, 5);
  StackDistanceMrc exact;
  StackDistanceMrc sampled(0.1);
  std::vector<StackDistanceMrc> parts;
  for (int i = 0; i < 4; ++i) parts.emplace_back(0.1, i, 4);
  for (uint64_t k : seq) {
    exact.Access(k);
    sampled.Access(k);
    for (auto& p : parts) p.Access(k);
  }
  EXPECT_NEAR(sampled.sampling_rate(), 0.1, 1e-6);
  // The sample holds ~R of the blocks (not of the accesses: whether the
  // hottest blocks fall in it swings that; SHARDS-adj corrects for it).
  EXPECT_NEAR(static_cast<double>(sampled.distinct_blocks()) / static_cast<double>(exact.distinct_blocks()), 1, 0.05);
  // Sizes from 100 / R blocks: below that the sample holds too few distinct
  // distances (at 10 / R the error here reaches ~0.04, as SHARDS warns).
  std::vector<uint64_t> sizes = CacheSizes(1000, exact.distinct_blocks(), 40, true);
  MissRatioCurve e = exact.Curve(sizes), s = sampled.Curve(sizes);
  double mean_abs = 0, max_abs = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    double err = std::abs(e.miss_ratio[i] - s.miss_ratio[i]);
    mean_abs += err / static_cast<double>(sizes.size());
    max_abs = std::max(max_abs, err);
  }
  EXPECT_LT(mean_abs, 0.01);
  EXPECT_LT(max_abs, 0.02);
  // The sub-sample estimate is of the same order as the real error.
  double estimate = SampledMrcError(parts, sizes);
  EXPECT_GT(estimate, mean_abs / 10);
  EXPECT_LT(estimate, std::max(mean_abs * 10, 0.005));
  // The parts partition the sample.
  uint64_t part_sampled = 0;
  for (const auto& p : parts) part_sampled += p.sampled_accesses();
  EXPECT_EQ(part_sampled, sampled.sampled_accesses());
  std::printf("SHARDS R=0.1 on Zipf(0.9): mean abs error %.5f, max %.5f, estimate %.5f\n", mean_abs, max_abs, estimate);
}

TEST(Mrc, BatchAccessEqualsSingleAccess) {
  std::vector<uint64_t> seq = ZipfSequence(5000, 50000, 9);
  for (double rate : {1.0, 0.3}) {
    StackDistanceMrc one(rate), many(rate);
    for (uint64_t k : seq) one.Access(k);
    many.AccessBatch(seq.data(), 1234);
    many.AccessBatch(seq.data() + 1234, seq.size() - 1234);
    std::vector<uint64_t> sizes = CacheSizes(1, 6000, 50, false);
    EXPECT_EQ(one.Curve(sizes).miss_ratio, many.Curve(sizes).miss_ratio);
    EXPECT_EQ(one.sampled_accesses(), many.sampled_accesses());
  }
}

TEST(Mrc, CacheSizesAreOrderedAndCoverTheRange) {
  auto log = CacheSizes(1, 1000, 4, true);
  EXPECT_EQ(log, (std::vector<uint64_t>{1, 10, 100, 1000}));
  auto lin = CacheSizes(10, 40, 4, false);
  EXPECT_EQ(lin, (std::vector<uint64_t>{10, 20, 30, 40}));
  auto dedup = CacheSizes(1, 3, 10, true);
  EXPECT_EQ(dedup.front(), 1u);
  EXPECT_EQ(dedup.back(), 3u);
  EXPECT_TRUE(std::is_sorted(dedup.begin(), dedup.end()));
  EXPECT_EQ(std::adjacent_find(dedup.begin(), dedup.end()), dedup.end());
}

}  // namespace
}  // namespace kreplay::blockcache
