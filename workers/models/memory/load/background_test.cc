// Expectations derived by hand from the kernel's rules (mm/vmscan.c,
// mm/page-writeback.c, mm/workingset.c, mm/gup.c, mm/swap.c, 6.1), each
// derivation next to its assertions; never read back from the model.
// Geometry unless stated: 4 KiB pages, pageblock_order 9, max_order 10.
#include "workers/models/memory/load/background.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

namespace kreplay::memory {
namespace {

using mm::MigrateType;
using mm::Wmark;

mm::Zone MakeZone(uint32_t pages, std::vector<mm::PfnRange> cma = {}, unsigned cpus = 1) {
  mm::ZoneConfig c;
  c.nr_pages = pages;
  c.nr_cpus = cpus;
  c.cma_ranges = std::move(cma);
  c.rules = *mm::MmRulesFor("6.1");
  auto z = mm::Zone::Create(c);
  EXPECT_TRUE(z.ok()) << z.status().ToString();
  return std::move(*z);
}

MemProfile Profile(int cpus = 1) {
  MemProfile p;
  p.name = "test";
  p.cpus = cpus;
  p.costs.page_fault = 1000;
  p.costs.drop_clean_page = 200;
  p.costs.alloc_page = 500;
  p.costs.copy_page_cold = 500;
  p.costs.unmap_pte = 100;
  p.costs.map_pte = 50;
  p.writeback.bandwidth_mbps = 100;  // 4096 B in 40960 ns
  p.writeback.latency_ns = 0;
  return p;
}

StateMix Mix(uint64_t anon, uint64_t clean, uint64_t dirty, uint64_t kernel = 0, uint64_t slab_r = 0) {
  StateMix m;
  m.pages[static_cast<int>(PageKind::kAnon)] = anon;
  m.pages[static_cast<int>(PageKind::kFileClean)] = clean;
  m.pages[static_cast<int>(PageKind::kFileDirty)] = dirty;
  m.pages[static_cast<int>(PageKind::kKernel)] = kernel;
  m.pages[static_cast<int>(PageKind::kSlabReclaimable)] = slab_r;
  return m;
}

PopulateResult Fill(mm::Zone& z, const StateMix& mix, double churn = 0) {
  PopulateOptions o;
  o.seed = 3;
  o.churn = churn;
  auto r = Populate(z, mix, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(*r);
}

std::unique_ptr<Background> Make(mm::Zone& z, sim::Simulator& sim, const BackgroundSpec& spec, uint64_t seed = 1,
                                 const MemProfile& p = Profile()) {
  auto b = Background::Create(z, sim, p, spec, seed);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return std::move(*b);
}

std::vector<uint32_t> PagesOfKind(const mm::Zone& z, PageKind k) {
  std::vector<uint32_t> v;
  for (uint32_t pfn = 0; pfn < z.nr_pages(); ++pfn) {
    mm::PageView pv = z.Page(pfn);
    if (pv.use == mm::PageUse::kAllocated && pv.kind == static_cast<uint8_t>(k)) v.push_back(pfn);
  }
  return v;
}

#define EXPECT_INVARIANTS(z)               \
  do {                                     \
    Status _s = (z).CheckInvariants();     \
    EXPECT_TRUE(_s.ok()) << _s.ToString(); \
  } while (0)

TEST(BackgroundSpec, ValidateNamesTheField) {
  EXPECT_TRUE(BackgroundSpec{}.Validate().ok());
  auto field_of = [](const BackgroundSpec& s) { return s.Validate().message(); };
  BackgroundSpec s;
  s.cache.dirty_ratio = 120;
  EXPECT_NE(field_of(s).find("cache.dirty_ratio"), std::string::npos) << field_of(s);
  s = {};
  s.cache.dirty_background_ratio = -1;
  EXPECT_NE(field_of(s).find("cache.dirty_background_ratio"), std::string::npos);
  s = {};
  s.cache.read_rate = 10;  // reads need a file set
  EXPECT_NE(field_of(s).find("cache.file_pages"), std::string::npos);
  s = {};
  s.anon.fault_rate = -1;
  EXPECT_NE(field_of(s).find("anon.fault_rate"), std::string::npos);
  s = {};
  s.pin.rate = 1;  // pages 0
  EXPECT_NE(field_of(s).find("pin.pages"), std::string::npos);
  s = {};
  s.slab.reclaimable_fraction = 1.5;
  EXPECT_NE(field_of(s).find("slab.reclaimable_fraction"), std::string::npos);
  s = {};
  s.cache.hot_fraction = 0;
  EXPECT_NE(field_of(s).find("cache.hot_fraction"), std::string::npos);
  s = {};
  s.build.anon_pages = 1u << 19;
  EXPECT_NE(field_of(s).find("build.anon_pages"), std::string::npos);
  // Create() checks the spec against the zone and the profile.
  mm::Zone z = MakeZone(4096);
  sim::Simulator sim;
  s = {};
  s.anon.mapped_cpus = 2;
  auto b = Background::Create(z, sim, Profile(), s, 1);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("anon.mapped_cpus"), std::string::npos);
  MemProfile p = Profile();
  p.writeback.bandwidth_mbps = 0;
  b = Background::Create(z, sim, p, BackgroundSpec{}, 1);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("writeback.bandwidth_mbps"), std::string::npos);
}

// kswapd: woken when free pages (CMA ones not counted: alloc_flags 0) fall
// below the low watermark, reclaims 32 pages a round until the zone is at
// the high watermark, each page costing drop_clean_page of kswapd's time.
TEST(Background, KswapdWakesBelowLowAndStopsAtHigh) {
  mm::Zone z = MakeZone(16384);
  PopulateResult init = Fill(z, Mix(0, 12000, 0));
  const uint64_t low = z.WmarkPages(Wmark::kLow), high = z.WmarkPages(Wmark::kHigh);
  // Bring free pages just above low with permanent kernel pages.
  while (z.nr_free_pages() > low + 3 * z.pcp_batch() + 10) {
    auto p = z.GetPageFromFreelist(0, MigrateType::kUnmovable, mm::alloc::kWmarkMin, 0);
    ASSERT_TRUE(p.has_value());
    z.SetKind(*p, static_cast<uint8_t>(PageKind::kKernel));
    init.pfns[static_cast<int>(PageKind::kKernel)].push_back(*p);
  }
  ASSERT_GT(z.nr_free_pages(), low);
  BackgroundSpec s;
  s.anon.working_set_pages = 100000;
  s.anon.fault_rate = 1000;
  s.cache.file_pages = 16384;
  sim::Simulator sim;
  auto b = Make(z, sim, s);
  ASSERT_TRUE(b->Adopt(init).ok());
  b->Start();
  bool saw_stop = false;
  for (sim::Time t = 0; t < 2 * sim::kSec && !saw_stop; t += 100 * sim::kUs) {
    sim.RunUntil(t);
    const bool above_low = z.ZoneWatermarkOk(0, low, 0);
    if (b->stats().kswapd_wakeups == 0) {
      EXPECT_TRUE(above_low) << "below low at " << t << " and kswapd asleep";
    }
    if (b->stats().kswapd_wakeups == 1 && !b->kswapd_running()) {
      saw_stop = true;
      EXPECT_TRUE(z.ZoneWatermarkOk(0, high, 0));
      // It stops at the first round that reaches high: at most one round of
      // 32 and one per-CPU list's worth (pages freed to the pcp list reach
      // the buddy allocator in batches) above it.
      EXPECT_LE(z.nr_free_pages(), high + 32 + z.pcp_high());
      EXPECT_GE(b->stats().kswapd_reclaimed, high - low);
    }
  }
  ASSERT_TRUE(saw_stop);
  EXPECT_EQ(b->stats().kswapd_cpu_ns, static_cast<int64_t>(b->stats().kswapd_reclaimed) * 200);
  EXPECT_EQ(b->stats().direct_reclaim_events, 0u);  // kswapd kept ahead of 1000 faults/s
  EXPECT_EQ(b->stats().alloc_failures, 0u);
  EXPECT_INVARIANTS(z);
}

// Direct reclaim: when kswapd cannot keep up, an allocation that fails at
// the min watermark reclaims SWAP_CLUSTER_MAX pages itself and stalls for
// them; with nothing reclaimable (anonymous memory, no swap) it fails.
TEST(Background, DirectReclaimWhenKswapdFallsBehindAndFailureWithoutCache) {
  mm::Zone z = MakeZone(16384);
  PopulateResult init = Fill(z, Mix(0, 15000, 0));
  BackgroundSpec s;
  s.anon.working_set_pages = 100000;
  s.anon.fault_rate = 100000;  // 10 pages per ms against kswapd's 1 page per 100 us
  s.cache.file_pages = 15000;
  MemProfile p = Profile();
  p.costs.drop_clean_page = 100 * sim::kUs;
  sim::Simulator sim;
  auto b = Make(z, sim, s, 1, p);
  ASSERT_TRUE(b->Adopt(init).ok());
  b->Start();
  sim.RunUntil(50 * sim::kMs);
  const BackgroundStats& st = b->stats();
  EXPECT_GT(st.direct_reclaim_events, 0u);
  EXPECT_EQ(st.direct_stall_ns, static_cast<int64_t>(st.direct_reclaim_pages) * 100 * sim::kUs);
  EXPECT_LE(st.direct_reclaim_pages, 32 * st.direct_reclaim_events);
  EXPECT_EQ(st.alloc_failures, 0u);
  // Run on until the cache is gone: then allocations fail.
  sim.RunUntil(400 * sim::kMs);
  EXPECT_LT(b->pages(PageKind::kFileClean), 100u);
  EXPECT_GT(st.alloc_failures, 0u);
  EXPECT_EQ(b->pages(PageKind::kAnon), st.anon_faults - st.alloc_failures);
  EXPECT_FALSE(z.ZoneWatermarkOk(0, z.WmarkPages(Wmark::kMin), 0));
  EXPECT_INVARIANTS(z);
}

// Free CMA pages do not count for kswapd (zone_watermark_ok(..., 0)): a zone
// whose free memory is nearly all CMA still reclaims, though its total free
// is above the high watermark.
TEST(Background, FreeCmaPagesDoNotKeepKswapdAsleep) {
  mm::Zone z = MakeZone(16384, {{8192, 16384}});
  PopulateResult init;
  const uint64_t low = z.WmarkPages(Wmark::kLow), high = z.WmarkPages(Wmark::kHigh);
  // Clean page cache allocated movable without ALLOC_CMA fills the normal half.
  while (z.nr_free_pages() - z.nr_free_cma_pages() > low / 2) {
    auto p = z.GetPageFromFreelist(0, MigrateType::kMovable, mm::alloc::kWmarkMin, 0);
    if (!p) break;  // at the min watermark, CMA pages not counted
    z.SetKind(*p, static_cast<uint8_t>(PageKind::kFileClean));
    init.pfns[static_cast<int>(PageKind::kFileClean)].push_back(*p);
  }
  ASSERT_TRUE(z.ZoneWatermarkOk(0, high, mm::alloc::kCma));  // counting CMA: plenty
  ASSERT_FALSE(z.ZoneWatermarkOk(0, low, 0));                // kswapd's measure: below low
  BackgroundSpec s;
  s.cache.file_pages = 16384;
  sim::Simulator sim;
  auto b = Make(z, sim, s);
  ASSERT_TRUE(b->Adopt(init).ok());
  b->Start();
  sim.RunUntil(100 * sim::kMs);
  EXPECT_EQ(b->stats().kswapd_wakeups, 1u);
  EXPECT_GT(b->stats().kswapd_reclaimed, 0u);
  EXPECT_FALSE(b->kswapd_running());
  EXPECT_TRUE(z.ZoneWatermarkOk(0, high, 0));
  EXPECT_INVARIANTS(z);
}

// Reclaim takes clean page cache only, oldest first; dirty pages, anonymous
// memory (no swap) and kernel pages stay.
class Recorder : public CleanCache {
 public:
  void Put(uint32_t fidx, sim::Time) override { puts.push_back(fidx); }
  bool Get(uint32_t fidx, sim::Time) override {
    ++gets;
    for (uint32_t f : puts)
      if (f == fidx) return keep;
    return false;
  }
  std::vector<uint32_t> puts;
  int gets = 0;
  bool keep = true;
};

TEST(Background, CleanPageCacheGoesFirstOldestFirstDirtyNeverDropped) {
  mm::Zone z = MakeZone(16384);
  PopulateResult init = Fill(z, Mix(4000, 8000, 1000, 500));
  BackgroundSpec s;
  s.anon.working_set_pages = 12000;
  s.anon.fault_rate = 10000;
  s.cache.file_pages = 9000;
  s.cache.dirty_background_ratio = 50;  // 1000 dirty stay below both limits
  s.cache.dirty_ratio = 60;
  sim::Simulator sim;
  auto b = Make(z, sim, s);
  Recorder rec;
  b->SetCleanCache(&rec);
  ASSERT_TRUE(b->Adopt(init).ok());
  b->Start();
  sim.RunUntil(600 * sim::kMs);  // ~6000 faults: anon grows to ~10000 < 12000, no turnover
  const BackgroundStats& st = b->stats();
  ASSERT_GT(st.evicted, 2000u);  // 6000 new pages, ~2900 free: the rest from the cache
  EXPECT_EQ(st.alloc_failures, 0u);
  EXPECT_EQ(st.freed[static_cast<int>(PageKind::kAnon)], 0u);
  EXPECT_EQ(st.freed[static_cast<int>(PageKind::kKernel)], 0u);
  EXPECT_EQ(st.freed[static_cast<int>(PageKind::kFileDirty)], 0u);
  EXPECT_EQ(b->pages(PageKind::kFileDirty), 1000u);
  EXPECT_EQ(b->pages(PageKind::kKernel), 500u);
  EXPECT_EQ(b->pages(PageKind::kAnon), 4000 + st.anon_faults);
  EXPECT_EQ(st.evicted, st.freed[static_cast<int>(PageKind::kFileClean)]);
  EXPECT_EQ(st.evicted, st.kswapd_reclaimed + st.direct_reclaim_pages);
  EXPECT_EQ(b->pages(PageKind::kFileClean), 8000 - st.evicted);
  // Adopted clean pages took file pages 0..7999 in LRU order: evicted in it.
  ASSERT_EQ(rec.puts.size(), st.evicted);
  for (size_t i = 0; i < rec.puts.size(); ++i) ASSERT_EQ(rec.puts[i], i);
  EXPECT_INVARIANTS(z);
}

// Writeback of D dirty pages at B MB/s takes D * 4096 / B s, plus the
// device latency once (pages stream back to back). D = 1000, B = 100:
// 40960 ns a page, the last done at 40.96 ms + 100 us.
TEST(Background, WritebackStreamsAtTheDeviceBandwidth) {
  mm::Zone z = MakeZone(16384);
  PopulateResult init = Fill(z, Mix(0, 0, 1000));
  BackgroundSpec s;
  s.cache.file_pages = 1000;
  s.cache.dirty_background_ratio = 0;  // over the background threshold at once
  s.cache.writeback_inflight_pages = 64;  // refilled well within 64 * 40.96 us > 100 us
  MemProfile p = Profile();
  p.writeback.latency_ns = 100 * sim::kUs;
  sim::Simulator sim;
  auto b = Make(z, sim, s, 1, p);
  ASSERT_TRUE(b->Adopt(init).ok());
  const auto& dirty = init.pfns[static_cast<int>(PageKind::kFileDirty)];
  b->Start();
  EXPECT_EQ(b->pages(PageKind::kFileWriteback), 64u);
  EXPECT_EQ(b->WritebackDoneAt(dirty[0]), 40960 + 100000);
  EXPECT_EQ(b->WritebackDoneAt(dirty[63]), 64 * 40960 + 100000);
  EXPECT_EQ(z.Page(dirty[64]).kind, static_cast<uint8_t>(PageKind::kFileDirty));
  const sim::Time last = 1000 * 40960 + 100000;
  sim.RunUntil(last - 1);
  EXPECT_EQ(b->stats().writeback_pages, 999u);
  sim.RunUntil(last);
  EXPECT_EQ(b->stats().writeback_pages, 1000u);
  EXPECT_EQ(b->pages(PageKind::kFileClean), 1000u);
  EXPECT_EQ(b->pages(PageKind::kFileDirty) + b->pages(PageKind::kFileWriteback), 0u);
  EXPECT_INVARIANTS(z);
}

// kupdate: below the background threshold, dirty pages are written once
// older than dirty_expire, found by the flusher's tick.
TEST(Background, KupdateWritesExpiredDirtyPages) {
  mm::Zone z = MakeZone(16384);
  PopulateResult init = Fill(z, Mix(0, 0, 10));
  BackgroundSpec s;
  s.cache.file_pages = 10;  // 10 dirty pages are far below 10 % of ~16000
  sim::Simulator sim;
  auto b = Make(z, sim, s);
  ASSERT_TRUE(b->Adopt(init).ok());
  b->Start();
  // Ticks at 5, 10, ..., 30 s; dirtied at 0, expired at 30 s: written at
  // the 30 s tick, done 10 * 40960 ns later.
  sim.RunUntil(30 * sim::kSec - 1);
  EXPECT_EQ(b->stats().writeback_started, 0u);
  sim.RunUntil(30 * sim::kSec + 10 * 40960);
  EXPECT_EQ(b->stats().writeback_pages, 10u);
}

// balance_dirty_pages(): a writer faster than the device waits at the
// dirty limit; dirty + writeback never passes it.
TEST(Background, WritersThrottleAtTheDirtyLimit) {
  mm::Zone z = MakeZone(16384);
  BackgroundSpec s;
  s.cache.file_pages = 4000;
  s.cache.write_rate = 100000;  // 40x the device's 2441 pages/s
  sim::Simulator sim;
  MemProfile p = Profile();
  p.writeback.bandwidth_mbps = 10;
  auto b = Make(z, sim, s, 1, p);
  b->Start();
  for (sim::Time t = 0; t <= sim::kSec; t += sim::kMs) {
    sim.RunUntil(t);
    const uint64_t d = b->pages(PageKind::kFileDirty) + b->pages(PageKind::kFileWriteback);
    ASSERT_LE(d, b->DirtyThresholds().second + z.pcp_batch()) << t;
  }
  EXPECT_GT(b->stats().dirty_throttles, 0u);
  EXPECT_GT(b->stats().dirty_throttle_ns, 100 * sim::kMs);
  // Pages dirtied are bounded by the device: at most the limit plus what it
  // wrote back in a second (2441 pages at 10 MB/s).
  EXPECT_LE(b->stats().writeback_pages, 2442u);
  EXPECT_LE(b->stats().writeback_started + b->pages(PageKind::kFileDirty), b->DirtyThresholds().second + 2442 + z.pcp_batch());
}

// A refault is a miss on a page that was evicted (a shadow entry), not a
// first read; a CleanCache that kept the page serves it.
TEST(Background, RefaultsOnlyForEvictedPages) {
  mm::Zone z = MakeZone(16384);
  BackgroundSpec s;
  s.cache.file_pages = 10;
  s.cache.read_rate = 10000;
  sim::Simulator sim;
  auto b = Make(z, sim, s);
  Recorder rec;
  b->SetCleanCache(&rec);
  b->Start();
  sim.RunUntil(100 * sim::kMs);  // ~1000 reads of 10 pages: all resident
  EXPECT_EQ(b->pages(PageKind::kFileClean), 10u);
  EXPECT_EQ(b->stats().refaults, 0u);
  EXPECT_EQ(b->stats().read_hits, b->stats().file_reads - 10);
  // The allocator drops three (after draining the LRU batches, as
  // alloc_contig_range() does), then the readers come back.
  b->DrainLruBatches(sim.Now());
  std::vector<uint32_t> clean = PagesOfKind(z, PageKind::kFileClean);
  ASSERT_EQ(clean.size(), 10u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_LE(b->RefHeldUntil(clean[i], sim.Now()), sim.Now());
    b->Dropped(clean[i], sim.Now());
    z.FreePages(clean[i], 0, 0);
  }
  EXPECT_EQ(b->pages(PageKind::kFileClean), 7u);
  sim.RunUntil(200 * sim::kMs);
  EXPECT_EQ(b->pages(PageKind::kFileClean), 10u);
  EXPECT_EQ(b->stats().refaults, 3u);
  EXPECT_EQ(b->stats().refaults_cleancache, 3u);
  EXPECT_EQ(rec.puts.size(), 3u);
  EXPECT_INVARIANTS(z);
}

// In-flight reads hold a reference for latency + 4 KiB at the bandwidth;
// pages in a per-CPU LRU batch are held until drained.
TEST(Background, ReadIoAndLruBatchesHoldReferences) {
  mm::Zone z = MakeZone(16384);
  BackgroundSpec s;
  s.cache.file_pages = 10;
  s.cache.read_rate = 10000;
  MemProfile p = Profile();
  p.writeback.latency_ns = sim::kSec;
  sim::Simulator sim;
  auto b = Make(z, sim, s, 1, p);
  b->Start();
  sim.RunUntil(100 * sim::kMs);
  std::vector<uint32_t> clean = PagesOfKind(z, PageKind::kFileClean);
  ASSERT_EQ(clean.size(), 10u);
  // 10 pages added, fewer than PAGEVEC_SIZE (15): all still in the batch.
  for (uint32_t pfn : clean) EXPECT_EQ(b->RefHeldUntil(pfn, sim.Now()), sim::kTimeMax);
  b->DrainLruBatches(sim.Now());
  for (uint32_t pfn : clean) {
    const sim::Time until = b->RefHeldUntil(pfn, sim.Now());
    EXPECT_GT(until, sim::kSec);  // read at t in (0, 100 ms], held to t + 1 s + 40960 ns
    EXPECT_LE(until, 100 * sim::kMs + sim::kSec + 40960);
  }
  sim.RunUntil(2 * sim::kSec);
  b->DrainLruBatches(sim.Now());
  for (uint32_t pfn : PagesOfKind(z, PageKind::kFileClean)) EXPECT_LE(b->RefHeldUntil(pfn, sim.Now()), sim.Now());
}

// FOLL_LONGTERM pins never leave a pinned page in a CMA pageblock
// (check_and_migrate_movable_pages()); short-term pins pin pages in place.
void PinRun(bool longterm, uint64_t* in_cma, uint64_t* migrated, uint64_t* pinned) {
  mm::Zone z = MakeZone(16384, {{8192, 16384}});
  PopulateResult init = Fill(z, Mix(8000, 0, 0));
  uint64_t anon_in_cma = 0;
  for (uint32_t pfn : init.pfns[static_cast<int>(PageKind::kAnon)])
    anon_in_cma += z.PageblockMigratetype(pfn) == MigrateType::kCma;
  ASSERT_GT(anon_in_cma, 2000u);  // CMA-first (5.7+): CMA free > half of free
  BackgroundSpec s;
  s.anon.working_set_pages = 8000;
  s.pin.rate = 100;
  s.pin.pages = 64;
  s.pin.duration = 10 * sim::kSec;
  s.pin.longterm = longterm;
  sim::Simulator sim;
  auto b = Make(z, sim, s);
  ASSERT_TRUE(b->Adopt(init).ok());
  b->Start();
  sim.RunUntil(300 * sim::kMs);
  std::vector<uint32_t> pins = PagesOfKind(z, PageKind::kPinned);
  ASSERT_GT(b->stats().pins, 10u);
  EXPECT_EQ(pins.size(), b->stats().pins * 64);
  EXPECT_EQ(b->stats().pinned_pages, pins.size());
  *in_cma = 0;
  for (uint32_t pfn : pins) {
    *in_cma += z.PageblockMigratetype(pfn) == MigrateType::kCma;
    EXPECT_GT(b->RefHeldUntil(pfn, sim.Now()), 10 * sim::kSec - 1);  // pin end
  }
  *migrated = b->stats().pin_migrated_pages;
  *pinned = pins.size();
  EXPECT_INVARIANTS(z);
}

TEST(Background, LongtermPinsMigrateOutOfCmaShortTermOnesDoNot) {
  uint64_t in_cma, migrated, pinned;
  PinRun(true, &in_cma, &migrated, &pinned);
  EXPECT_EQ(in_cma, 0u);
  EXPECT_GT(migrated, pinned / 10);  // a good share of the working set sat in CMA
  PinRun(false, &in_cma, &migrated, &pinned);
  EXPECT_GT(in_cma, 0u);
  EXPECT_EQ(migrated, 0u);
}

// Migrated(): the record follows the page. A writeback page migrated
// becomes clean at its NEW pfn when the device completes it.
TEST(Background, MigratedWritebackPageCompletesAtItsNewPfn) {
  mm::Zone z = MakeZone(16384);
  PopulateResult init = Fill(z, Mix(0, 0, 10));
  BackgroundSpec s;
  s.cache.file_pages = 10;
  s.cache.dirty_background_ratio = 0;
  MemProfile p = Profile();
  p.writeback.latency_ns = sim::kSec;
  sim::Simulator sim;
  auto b = Make(z, sim, s, 1, p);
  ASSERT_TRUE(b->Adopt(init).ok());
  b->Start();
  const uint32_t old_pfn = init.pfns[static_cast<int>(PageKind::kFileDirty)][0];
  ASSERT_EQ(z.Page(old_pfn).kind, static_cast<uint8_t>(PageKind::kFileWriteback));
  const sim::Time done = b->WritebackDoneAt(old_pfn);
  EXPECT_EQ(done, 40960 + sim::kSec);
  auto np = z.GetPageFromFreelist(0, MigrateType::kMovable, mm::alloc::kCma | mm::alloc::kWmarkMin, 0);
  ASSERT_TRUE(np.has_value());
  b->Migrated(old_pfn, *np, 0);
  z.FreePages(old_pfn, 0, 0);
  EXPECT_EQ(z.Page(*np).kind, static_cast<uint8_t>(PageKind::kFileWriteback));
  EXPECT_EQ(b->WritebackDoneAt(*np), done);
  sim.RunUntil(2 * sim::kSec);
  EXPECT_EQ(z.Page(*np).kind, static_cast<uint8_t>(PageKind::kFileClean));
  EXPECT_EQ(z.Page(*np).use, mm::PageUse::kAllocated);
  EXPECT_EQ(b->pages(PageKind::kFileClean), 10u);
  // A clean page migrated, then dropped at its new pfn.
  b->DrainLruBatches(sim.Now());
  auto np2 = z.GetPageFromFreelist(0, MigrateType::kMovable, mm::alloc::kCma | mm::alloc::kWmarkMin, 0);
  b->Migrated(*np, *np2, sim.Now());
  z.FreePages(*np, 0, 0);
  b->Dropped(*np2, sim.Now());
  z.FreePages(*np2, 0, 0);
  EXPECT_EQ(b->pages(PageKind::kFileClean), 9u);
  EXPECT_INVARIANTS(z);
}

// A process's anonymous page migrated is freed at its new pfn when the
// process exits; working-set pages likewise when turnover frees them.
TEST(Background, MigratedAnonPagesAreFreedAtTheirNewPfn) {
  mm::Zone z = MakeZone(16384, {{8192, 16384}});
  PopulateResult init = Fill(z, Mix(50, 0, 0));
  BackgroundSpec s;
  s.build.spawn_rate = 1000;
  s.build.anon_pages = 16;
  s.build.kernel_pages = 2;
  s.build.file_reads = 0;
  s.build.mean_lifetime = 10 * sim::kMs;
  sim::Simulator sim;
  auto b = Make(z, sim, s);
  ASSERT_TRUE(b->Adopt(init).ok());
  b->Start();
  sim.RunUntil(5 * sim::kMs);
  b->Stop();
  ASSERT_GT(b->stats().processes, 0u);
  b->DrainLruBatches(sim.Now());
  // Move one working-set page and one process page (the first 50 adopted
  // are the working set; the rest belong to processes).
  const uint32_t ws_pfn = init.pfns[static_cast<int>(PageKind::kAnon)][7];
  const auto& adopted = init.pfns[static_cast<int>(PageKind::kAnon)];
  uint32_t proc_pfn = 0;
  for (uint32_t pfn : PagesOfKind(z, PageKind::kAnon)) {
    if (std::find(adopted.begin(), adopted.end(), pfn) == adopted.end()) {
      proc_pfn = pfn;
      break;
    }
  }
  ASSERT_NE(proc_pfn, 0u);
  std::vector<uint32_t> moved;
  for (uint32_t old_pfn : {ws_pfn, proc_pfn}) {
    auto np = z.GetPageFromFreelist(0, MigrateType::kMovable, mm::alloc::kWmarkMin, 0);  // outside CMA
    ASSERT_TRUE(np.has_value());
    EXPECT_EQ(b->RefHeldUntil(old_pfn, sim.Now()), 0);
    b->Migrated(old_pfn, *np, sim.Now());
    z.FreePages(old_pfn, 0, 0);
    moved.push_back(*np);
  }
  sim.Run();  // every process exits
  EXPECT_EQ(b->pages(PageKind::kAnon), 50u);
  EXPECT_EQ(b->pages(PageKind::kKernel), 0u);
  EXPECT_NE(z.Page(moved[1]).use, mm::PageUse::kAllocated);  // freed by the exit
  EXPECT_EQ(z.Page(moved[0]).use, mm::PageUse::kAllocated);  // still in the working set
  EXPECT_EQ(z.Page(moved[0]).kind, static_cast<uint8_t>(PageKind::kAnon));
  EXPECT_INVARIANTS(z);
  // Kernel pages of the processes never sat in CMA blocks (unmovable, no
  // ALLOC_CMA), checked through what was freed: the zone stays consistent.
  EXPECT_EQ(b->stats().freed[static_cast<int>(PageKind::kKernel)],
            b->stats().allocated[static_cast<int>(PageKind::kKernel)]);
}

// si_mem_available(): free - totalreserve + file - min(file / 2, low) +
// reclaimable slab - min(slab / 2, low).
TEST(Background, MemAvailableIsTheKernelEstimate) {
  mm::Zone z = MakeZone(16384, {{12288, 16384}});
  PopulateResult init = Fill(z, Mix(2000, 3000, 400, 300, 200));
  BackgroundSpec s;
  s.cache.file_pages = 4000;
  s.cache.dirty_background_ratio = 50;
  s.cache.dirty_ratio = 60;
  sim::Simulator sim;
  auto b = Make(z, sim, s);
  ASSERT_TRUE(b->Adopt(init).ok());
  MemSample m = b->Sample(0);
  const int64_t low = static_cast<int64_t>(z.WmarkPages(Wmark::kLow));
  const int64_t high = static_cast<int64_t>(z.WmarkPages(Wmark::kHigh));
  // file = 3400 and slab 200: half of each exceeds nothing as low is ~300:
  // 3400 - min(1700, low), 200 - min(100, low) = 100.
  const int64_t expect = static_cast<int64_t>(z.nr_free_pages()) - high + (3400 - std::min<int64_t>(1700, low)) + 100;
  EXPECT_EQ(m.mem_available, static_cast<uint64_t>(expect));
  EXPECT_EQ(m.file, 3400u);
  EXPECT_EQ(m.anon, 2000u);
  EXPECT_EQ(m.free_cma, z.nr_free_cma_pages());
}

// Sanity law: a bigger anonymous working set never reduces reclaim or
// refaults (without swap it only leaves less room for the cache).
TEST(Background, DoublingTheWorkingSetNeverReducesReclaim) {
  for (uint64_t seed : {1, 2, 3}) {
    uint64_t reclaimed[2], refaults[2];
    for (int i = 0; i < 2; ++i) {
      mm::Zone z = MakeZone(16384);
      BackgroundSpec s;
      s.anon.working_set_pages = 2000u << i;
      s.anon.fault_rate = 20000;
      s.cache.file_pages = 20000;  // more than memory: the cache must turn over
      s.cache.read_rate = 20000;
      sim::Simulator sim;
      auto b = Make(z, sim, s, seed);
      b->Start();
      sim.RunUntil(2 * sim::kSec);
      reclaimed[i] = b->stats().kswapd_reclaimed + b->stats().direct_reclaim_pages;
      refaults[i] = b->stats().refaults;
      EXPECT_INVARIANTS(z);
    }
    EXPECT_GE(reclaimed[1], reclaimed[0]) << seed;
    EXPECT_GE(refaults[1], refaults[0]) << seed;
    EXPECT_GT(refaults[0], 0u) << seed;
  }
}

BackgroundSpec MixedSpec() {
  BackgroundSpec s;
  s.anon.working_set_pages = 3000;
  s.anon.fault_rate = 5000;
  s.anon.mapped_cpus = 2;
  s.cache.file_pages = 30000;
  s.cache.read_rate = 20000;
  s.cache.write_rate = 1000;
  s.cache.hot_fraction = 0.2;
  s.cache.hot_access = 0.8;
  s.build.spawn_rate = 50;
  s.build.anon_pages = 64;
  s.build.kernel_pages = 4;
  s.build.file_reads = 16;
  s.pin.rate = 5;
  s.pin.pages = 32;
  s.pin.duration = 200 * sim::kMs;
  s.slab.rate = 500;
  s.sample_interval = 100 * sim::kMs;
  return s;
}

BackgroundStats RunMixed(uint64_t seed, std::vector<MemSample>* samples = nullptr) {
  mm::Zone z = MakeZone(16384, {{12288, 16384}}, 2);
  PopulateResult init = Fill(z, Mix(2000, 6000, 300, 300, 200), 1.0);
  sim::Simulator sim;
  auto b = Make(z, sim, MixedSpec(), seed, Profile(2));
  EXPECT_TRUE(b->Adopt(init).ok());
  b->Start();
  sim.RunUntil(2 * sim::kSec);
  EXPECT_INVARIANTS(z);
  if (samples) *samples = b->samples();
  return b->stats();
}

TEST(Background, SameSeedSameStatsDifferentSeedDifferent) {
  std::vector<MemSample> s1, s2;
  BackgroundStats a = RunMixed(42, &s1), b = RunMixed(42, &s2), c = RunMixed(43);
  EXPECT_TRUE(a == b);
  ASSERT_EQ(s1.size(), 21u);  // 0, 100 ms, ..., 2 s
  for (size_t i = 0; i < s1.size(); ++i) EXPECT_EQ(s1[i].mem_available, s2[i].mem_available);
  EXPECT_FALSE(a == c);
  // The mix did what it says.
  EXPECT_GT(a.processes, 50u);
  EXPECT_GT(a.pins, 3u);
  EXPECT_GT(a.writeback_pages, 0u);
  EXPECT_GT(a.refaults, 0u);
  EXPECT_GT(a.slab_allocs, 500u);
}

// The indexes stay within the family's budget: <= 12 bytes per zone page in
// a full zone (with a file set as large as memory).
TEST(Background, MemoryBudgetPerPage) {
  const uint32_t n = 262144;  // 1 GiB
  mm::Zone z = MakeZone(n, {{n - 32768, n}}, 2);
  PopulateResult init = Fill(z, Mix(60000, 150000, 10000, 10000, 5000));
  BackgroundSpec s = MixedSpec();
  s.anon.working_set_pages = 80000;
  s.cache.file_pages = n;
  s.cache.read_rate = 50000;
  sim::Simulator sim;
  auto b = Make(z, sim, s, 7, Profile(2));
  ASSERT_TRUE(b->Adopt(init).ok());
  b->Start();
  sim.RunUntil(3 * sim::kSec);
  const double per_page = static_cast<double>(b->MemoryBytes()) / n;
  std::printf("background indexes: %.3f bytes per zone page (file set = zone size), zone core %.3f\n", per_page,
              z.BytesPerPage());
  EXPECT_LE(per_page, 12.0);
  EXPECT_LE(z.nr_free_pages(), z.WmarkPages(Wmark::kHigh) * 4);  // the zone is full
  EXPECT_INVARIANTS(z);
}

}  // namespace
}  // namespace kreplay::memory
