// One memory run end to end on a small machine (64 MiB, a 16 MiB area, the
// x86 profile's costs): the five allocators' defining properties as laws,
// determinism, and errors.
#include <gtest/gtest.h>

#include "services/core/files.h"
#include "workers/models/memory/models/mem_sim.h"

namespace kreplay::memory {
namespace {

MemProfile Small() {
  MemProfile p = *LoadBuiltinMemProfile("x86-server-16g");
  p.pages = 16384;
  p.cma_areas = {{"reserved", 4096, 0}};
  return p;
}

MemWorkload Workload(std::vector<uint64_t> sizes, int per_size, uint64_t seed = 1) {
  ForegroundSpec f;
  f.sizes = std::move(sizes);
  f.per_size = static_cast<uint32_t>(per_size);
  f.rate = 20;
  f.start = 100 * sim::kMs;
  f.hold = 20 * sim::kMs;
  MemWorkload w;
  w.foreground = GenerateForeground(f, sim::Rng(seed));
  w.background = DefaultBackground();
  w.background.anon_working_set.fraction = 0.3;
  w.background.spec.anon.fault_rate = 2000;
  w.background.cache_files.fraction = 0.5;
  w.background.spec.cache.read_rate = 2000;
  w.background.spec.cache.write_rate = 200;
  w.initial = DefaultInitial();
  w.initial.used = 0.8;
  return w;
}

model::Result RunModel(MemVariant v, const MemWorkload& w, uint64_t seed = 1) {
  MemRunConfig c;
  c.variant = v;
  auto r = RunMemory(c, Small(), w, seed);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : model::Result{};
}

double S(const model::Result& r, const std::string& k) { return r.scalars.at(k).value; }

TEST(MemSimTest, CmaMigratesTheAreasMovablePages) {
  const model::Result r = RunModel(MemVariant::kCma, Workload({256, 2048}, 4));
  EXPECT_EQ(S(r, "calls"), 8);
  EXPECT_EQ(S(r, "alloc_success"), 8);
  // 80 % used with the 5.7+ CMA-first rule: the area holds movable pages,
  // which the calls must migrate or drop.
  EXPECT_GT(S(r, "pages_migrated") + S(r, "pages_dropped"), 0);
  EXPECT_GT(S(r, "alloc_latency_p50_ms"), 0);
  EXPECT_EQ(S(r, "reserved_mib"), 0);
}

// Laws: a carve-out's latency is constant; GCMA never migrates a page.
TEST(MemSimTest, CarveoutLatencyIsConstant) {
  const model::Result r = RunModel(MemVariant::kCarveout, Workload({1, 300, 4096}, 3));
  const sim::Histogram& h = r.histograms.at("alloc_latency");
  EXPECT_EQ(h.count(), 9u);
  EXPECT_EQ(h.min(), h.max());
  EXPECT_EQ(S(r, "pages_migrated"), 0);
  EXPECT_EQ(S(r, "reserved_mib"), 16);
}

TEST(MemSimTest, GcmaNeverMigrates) {
  const model::Result r = RunModel(MemVariant::kGcma, Workload({64, 1024, 4096}, 4));
  EXPECT_EQ(S(r, "alloc_success"), 12);
  EXPECT_EQ(S(r, "pages_migrated"), 0);
  EXPECT_EQ(S(r, "bytes_copied"), 0);
}

// A carve-out rounds a call up to a power of two: 4096 pages fit once in a
// 4096-page reservation, 2049 pages (rounded to 4096) too, but not two.
TEST(MemSimTest, CarveoutRoundsUpToAPowerOfTwo) {
  MemWorkload w = Workload({2049}, 2);
  for (auto& c : w.foreground.calls) c.hold = 10 * sim::kSec;  // both held at once
  const model::Result r = RunModel(MemVariant::kCarveout, w);
  EXPECT_EQ(S(r, "alloc_success"), 1);
  EXPECT_EQ(S(r, "fail_no_range"), 1);
}

TEST(MemSimTest, SameSeedSameResultOtherSeedOther) {
  const MemWorkload w = Workload({128, 1024}, 4);
  const model::Result a = RunModel(MemVariant::kCma, w, 5), b = RunModel(MemVariant::kCma, w, 5), c = RunModel(MemVariant::kCma, w, 6);
  EXPECT_EQ(a.scalars, b.scalars);
  EXPECT_EQ(a.sim_events, b.sim_events);
  EXPECT_NE(a.scalars, c.scalars);
}

// Short-term pins sit in the area: Android's sweeps wait them out in 100 ms
// sleeps where mainline gives up or moves on; Android is never faster.
TEST(MemSimTest, AndroidRetriesShortTermPins) {
  MemWorkload w = Workload({4096}, 4);
  w.background.spec.pin.rate = 50;
  w.background.pin_size.bytes = 64 * 4096;
  w.background.spec.pin.duration = 150 * sim::kMs;
  w.background.spec.pin.longterm = false;
  const model::Result m = RunModel(MemVariant::kCma, w), a = RunModel(MemVariant::kCmaAndroid, w);
  EXPECT_GE(S(a, "alloc_success"), S(m, "alloc_success"));
  EXPECT_GE(S(a, "alloc_latency_max_ms"), S(m, "alloc_latency_max_ms"));
}

// Without a reservation small blocks come from the buddy allocator; a
// request above MAX_ORDER goes to alloc_contig_pages(). Nothing is
// reserved.
TEST(MemSimTest, BuddyServesSmallBlocksWithoutAReservation) {
  const model::Result r = RunModel(MemVariant::kBuddy, Workload({1, 16, 2048}, 3));
  EXPECT_EQ(S(r, "reserved_mib"), 0);
  EXPECT_GE(S(r, "alloc_success"), 6);  // orders 0 and 4 at 80 % use
  EXPECT_EQ(S(r, "alloc_success") + S(r, "alloc_fail"), 9);
}

// The host's /proc/pagetypeinfo (services/memtrace/testdata): blocks
// Unmovable 1 + 0 + 71, Movable 7 + 1528 + 3524, Reclaimable 0 + 0 + 181 over
// DMA, DMA32 and Normal, no HighAtomic: (72 + 181) / 5312.
TEST(MemSimTest, MixedBlocksFromAHostsPagetypeinfo) {
  auto text = ReadFile(std::string(KREPLAY_MEMTRACE_TESTDATA) + "/pagetypeinfo-6.18-x86.txt");
  ASSERT_TRUE(text.ok());
  auto pti = memtrace::ParsePageTypeInfo(*text, "pagetypeinfo");
  ASSERT_TRUE(pti.ok()) << pti.status().ToString();
  auto share = MixedBlocksFromPageTypeInfo(*pti);
  ASSERT_TRUE(share.ok());
  EXPECT_DOUBLE_EQ(*share, 253.0 / 5312.0);
}

// A target share picks, from one set of fills, the one that comes closest:
// so a higher target never ends with fewer mixed blocks.
TEST(MemSimTest, MixedBlocksTargetPicksTheChurn) {
  double prev = -1;
  for (double target : {0.0, 0.5, 1.0}) {
    MemWorkload w = Workload({1}, 1);
    w.initial.mixed_blocks = target;
    const model::Result r = RunModel(MemVariant::kCma, w);
    EXPECT_GE(S(r, "initial_mixed_blocks"), prev) << target;
    prev = S(r, "initial_mixed_blocks");
  }
}

TEST(MemSimTest, UnknownAreaIsAnError) {
  MemWorkload w = Workload({1}, 1);
  w.foreground.areas = {"camera"};
  MemRunConfig c;
  auto r = RunMemory(c, Small(), w, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'camera'"), std::string::npos);
  EXPECT_NE(r.status().message().find("reserved"), std::string::npos);
}

}  // namespace
}  // namespace kreplay::memory
