// alloc_contig_range() and cma_alloc(), with expectations worked out by hand
// from the 6.1 steps (mm/page_alloc.c, mm/migrate.c, mm/cma.c) and the
// round costs of TestProfile(); each derivation is written beside its
// assertions. Geometry: 8192 pages, pageblock_order 9 (512), max_order 10
// (1024), a CMA range [6144, 8192), 2 CPUs.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "workers/models/memory/cma/cma_alloc.h"
#include "workers/models/memory/cma/contig.h"
#include "workers/models/memory/cma/contig_test_util.h"
#include "workers/models/memory/state/page_state.h"

namespace kreplay::memory {
namespace {

using mm::MigrateType;
constexpr uint32_t kPages = 8192;
constexpr uint32_t kCma = 6144;
constexpr sim::Time kForever = sim::kTimeMax;

using testutil::kMigrateAnon;
using testutil::TestProfile;  // costs: contig_test_util.h

// Isolating two pageblocks (a 1024-page range) and the three cross-CPU
// rounds of 5.13+ (drain_all_pages, expedited RCU, lru_add_drain_all).
constexpr sim::Duration kIsolate2 = 2 * 1024;
constexpr sim::Duration kDrains = 3 * 100;

class FakeUsers final : public PageUsers {
 public:
  explicit FakeUsers(mm::Zone* z) : z_(z) {}
  std::map<uint32_t, sim::Time> ref_until, wb_done;
  std::vector<std::pair<uint32_t, uint32_t>> moves;
  std::vector<uint32_t> dropped;
  int lru_drains = 0;

  sim::Time RefHeldUntil(uint32_t pfn, sim::Time) const override {
    auto it = ref_until.find(pfn);
    return it == ref_until.end() ? 0 : it->second;
  }
  sim::Time WritebackDoneAt(uint32_t pfn) const override { return wb_done.at(pfn); }
  unsigned MappedCpus(uint32_t pfn) const override {
    const auto k = static_cast<PageKind>(z_->Page(pfn).kind);
    return k == PageKind::kAnon || k == PageKind::kPinned ? 1 : 0;  // page cache is unmapped here
  }
  void DrainLruBatches(sim::Time) override { ++lru_drains; }
  void Migrated(uint32_t o, uint32_t n, sim::Time) override {
    z_->SetKind(n, z_->Page(o).kind);
    z_->SetKind(o, 0);
    moves.push_back({o, n});
    if (auto it = ref_until.find(o); it != ref_until.end()) {
      ref_until[n] = it->second;
      ref_until.erase(it);
    }
  }
  void Dropped(uint32_t pfn, sim::Time) override {
    z_->SetKind(pfn, 0);
    dropped.push_back(pfn);
  }
  ReclaimOutcome DirectReclaim(uint64_t, sim::Time) override { return {}; }

 private:
  mm::Zone* z_;
};

// A zone whose CMA pages hold `contents` and are otherwise free, and whose
// other pages are all free: every page is allocated movable first, then
// the ones not listed are freed and the per-CPU lists drained, so the free
// pages merge into the buddy blocks their alignment allows.
struct Rig {
  explicit Rig(const std::map<uint32_t, PageKind>& contents, const char* version = "6.1") {
    mm::ZoneConfig c;
    c.nr_pages = kPages;
    c.nr_cpus = 2;
    c.cma_ranges = {{kCma, kPages}};
    c.rules = *mm::MmRulesFor(version);
    zone = std::make_unique<mm::Zone>(*mm::Zone::Create(c));
    std::vector<bool> held(kPages, false);
    while (auto p = zone->Rmqueue(0, MigrateType::kMovable, mm::alloc::kCma, 0)) held[*p] = true;
    for (uint32_t p = 0; p < kPages; ++p) {
      EXPECT_TRUE(held[p]) << p;
      if (auto it = contents.find(p); it != contents.end()) {
        zone->SetKind(p, static_cast<uint8_t>(it->second));
      } else {
        zone->FreePages(p, 0, 0);
      }
    }
    zone->DrainAllPages();
    users = std::make_unique<FakeUsers>(zone.get());
    env.zone = zone.get();
    env.users = users.get();
    env.costs = ContigCosts::FromProfile(TestProfile());
    env.rules = ContigRules::For(c.rules);
  }
  ContigOutcome Alloc(uint32_t start, uint32_t end, sim::Time now = 0) {
    ContigRequest r;
    r.start = start;
    r.end = end;
    return AllocContigRange(env, r, now, &stats);
  }
  std::unique_ptr<mm::Zone> zone;
  std::unique_ptr<FakeUsers> users;
  ContigEnv env;
  ContigStats stats;
};

std::map<uint32_t, PageKind> Pages(uint32_t from, int n, PageKind k) {
  std::map<uint32_t, PageKind> m;
  for (int i = 0; i < n; ++i) m[from + i] = k;
  return m;
}

void ExpectRangeAllocated(const mm::Zone& z, uint32_t start, uint32_t end) {
  for (uint32_t p = start; p < end; ++p) {
    const mm::PageView v = z.Page(p);
    ASSERT_EQ(v.use, mm::PageUse::kAllocated) << p;
    ASSERT_EQ(v.order, 0) << p;
  }
}

TEST(ContigTest, CostsAreDerivedFromTheProfile) {
  const ContigCosts c = ContigCosts::FromProfile(TestProfile());
  EXPECT_EQ(c.scan_pfn, 1);       // 1024 / (2 x 512)
  EXPECT_EQ(c.cross_cpu, 100);    // one round trip on the clock
  EXPECT_EQ(c.cross_cpu_cpu, 100);  // x (2 - 1) CPUs
  EXPECT_EQ(c.Flush(0), 0);       // an unmapped page has no TLB entry
  EXPECT_EQ(c.Flush(1), 33);
  EXPECT_EQ(c.Flush(4), 33);      // only one other CPU exists
  MemProfile arm = TestProfile();
  arm.cpus = 4;
  arm.tlb = TlbFlush::kBroadcast;
  EXPECT_EQ(ContigCosts::FromProfile(arm).Flush(4), 33);  // one broadcast TLBI
  arm.tlb = TlbFlush::kIpi;
  EXPECT_EQ(ContigCosts::FromProfile(arm).Flush(4), 3 + 3 * 30);  // IPIs to the 3 others
}

// Before 5.19 the isolation covers MAX_ORDER_NR_PAGES-aligned blocks, from
// 5.19 pageblocks.
TEST(ContigTest, IsolationGranuleFollowsTheRelease) {
  Rig r({});
  EXPECT_EQ(IsolationGranule(*r.zone, ContigRules::For(*mm::MmRulesFor("5.18"))), 1024u);
  EXPECT_EQ(IsolationGranule(*r.zone, ContigRules::For(*mm::MmRulesFor("6.1"))), 512u);
  mm::ZoneConfig c;
  c.nr_pages = 4096;
  c.pageblock_order = 10;
  c.max_order = 10;
  c.rules = *mm::MmRulesFor("6.1");
  auto arm = *mm::Zone::Create(c);
  EXPECT_EQ(IsolationGranule(arm, ContigRules::For(c.rules)), 1024u);
  EXPECT_FALSE(ContigRules::For(*mm::MmRulesFor("5.18")).pageblock_granule);
  EXPECT_TRUE(ContigRules::For(*mm::MmRulesFor("5.19")).pageblock_granule);
  EXPECT_FALSE(ContigRules::For(*mm::MmRulesFor("5.12")).lru_cache_disable);
  EXPECT_TRUE(ContigRules::For(*mm::MmRulesFor("5.13")).lru_cache_disable);
}

// A free range: isolate 2 pageblocks (2048); isolate_single_pageblock()'s
// scan at the range end, from ALIGN_DOWN(7168 - 512, 1024) = 6144 to 7168
// (5.19+; at the start the scan is empty), steps over the free order-10
// block (1); 3 cross-CPU rounds (300); the migrate scan's one step over the
// same block (1); then test_pages_isolated() and isolate_freepages_range()
// each pass over 1024 struct pages. Below, that end scan takes as many
// steps as the migrate scan (the same blocks, before migration).
TEST(ContigTest, FreeRangeCostsIsolationDrainsAndTwoPasses) {
  Rig r({});
  const ContigOutcome o = r.Alloc(kCma, kCma + 1024, 1000);
  EXPECT_EQ(o.failure, ContigFailure::kNone);
  EXPECT_EQ(o.end, 1000 + kIsolate2 + 1 + kDrains + 1 + 2 * 1024);
  EXPECT_EQ(r.stats.cpu_ns, kIsolate2 + 1 + kDrains + 1 + 2 * 1024);
  EXPECT_EQ(r.stats.pageblocks_isolated, 2u);
  EXPECT_EQ(r.users->lru_drains, 1);
  ExpectRangeAllocated(*r.zone, kCma, kCma + 1024);
  EXPECT_EQ(r.zone->PageblockMigratetype(kCma), MigrateType::kCma);  // isolation undone
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
  r.zone->FreeContigRange(kCma, 1024, 0);
  r.zone->DrainAllPages();
  EXPECT_EQ(r.zone->nr_free_cma_pages(), 2048u);
}

// Eight anonymous pages at the range start: the scan visits them (8) and
// the seven free blocks after them (orders 3..9 from 6152 to 7168); each
// is migrated at kMigrateAnon, to a page outside the range.
TEST(ContigTest, AnonymousPagesAreMigratedOut) {
  Rig r(Pages(kCma, 8, PageKind::kAnon));
  const ContigOutcome o = r.Alloc(kCma, kCma + 1024);
  ASSERT_EQ(o.failure, ContigFailure::kNone);
  EXPECT_EQ(o.end, kIsolate2 + 15 + kDrains + 15 + 8 * kMigrateAnon + 2 * 1024);
  EXPECT_EQ(r.stats.pages_migrated, 8u);
  EXPECT_EQ(r.stats.bytes_copied, 8u * 4096);
  ASSERT_EQ(r.users->moves.size(), 8u);
  for (auto [from, to] : r.users->moves) {
    EXPECT_TRUE(to < kCma || to >= kCma + 1024) << to;
    EXPECT_EQ(static_cast<PageKind>(r.zone->Page(to).kind), PageKind::kAnon);
  }
  ExpectRangeAllocated(*r.zone, kCma, kCma + 1024);
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
}

// reclaim_clean_pages_from_list(): clean page cache is dropped (7 ns each,
// unmapped), never copied.
TEST(ContigTest, CleanPageCacheIsDroppedNotMigrated) {
  Rig r(Pages(kCma, 8, PageKind::kFileClean));
  const ContigOutcome o = r.Alloc(kCma, kCma + 1024);
  ASSERT_EQ(o.failure, ContigFailure::kNone);
  EXPECT_EQ(r.stats.pages_dropped, 8u);
  EXPECT_EQ(r.stats.pages_migrated, 0u);
  EXPECT_EQ(r.users->dropped.size(), 8u);
  EXPECT_EQ(o.end, kIsolate2 + 15 + kDrains + 15 + 8 * 7 + 2 * 1024);
}

// A pinned anonymous page is skipped by isolate_migratepages_block(); the
// others are migrated, then test_pages_isolated() fails on it (-EBUSY).
TEST(ContigTest, PinnedAnonymousPageFailsTheRangeAfterTheOthersMoved) {
  auto pages = Pages(kCma, 8, PageKind::kAnon);
  Rig r(pages);
  r.users->ref_until[kCma + 3] = kForever;
  const ContigOutcome o = r.Alloc(kCma, kCma + 1024);
  EXPECT_EQ(o.failure, ContigFailure::kPinned);
  EXPECT_EQ(o.failed_pfn, kCma + 3);
  EXPECT_EQ(r.stats.pages_migrated, 7u);
  EXPECT_EQ(r.stats.pages_skipped_pinned, 1u);
  EXPECT_EQ(r.stats.migrate_retries, 0u);  // never isolated, never tried
  // test_pages_isolated() passes over the 1024 pages; no isolate_freepages_range().
  EXPECT_EQ(o.end, kIsolate2 + 15 + kDrains + 15 + 7 * kMigrateAnon + 1024);
  EXPECT_EQ(r.zone->PageblockMigratetype(kCma), MigrateType::kCma);
  EXPECT_EQ(r.zone->Page(kCma + 3).use, mm::PageUse::kAllocated);
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
}

// A dirty page-cache page with a reference migration cannot account for:
// isolated, then -EAGAIN on each of migrate_pages()' 10 passes, in each of
// the 5 tries (++tries == 5 stops): 50 retries of alloc_page (10 ns; an
// unmapped page has nothing to unmap), then -EBUSY. The scan: the page and
// the free blocks 6145 (order 0), 6146 (1), 6148 (2), ... 6656 (9): 11 steps.
TEST(ContigTest, FiveTriesOfTenPassesThenBusy) {
  Rig r(Pages(kCma, 1, PageKind::kFileDirty));
  r.users->ref_until[kCma] = kForever;
  const ContigOutcome o = r.Alloc(kCma, kCma + 1024);
  EXPECT_EQ(o.failure, ContigFailure::kPinned);
  EXPECT_EQ(r.stats.migrate_retries, 50u);
  EXPECT_EQ(o.end, kIsolate2 + 11 + kDrains + 11 + 50 * 10 + 1024);
}

// The same page with a reference that goes away: retries happen every
// 10 ns from t0 + 10 (t0: the clock when migration starts), so a
// reference held until t0 + 255 fails 25 checks and the 26th migrates it.
TEST(ContigTest, ATransientReferenceEndsWithinTheRetries) {
  const sim::Time t0 = kIsolate2 + 11 + kDrains + 11;
  Rig r(Pages(kCma, 1, PageKind::kFileDirty));
  r.users->ref_until[kCma] = t0 + 255;
  const ContigOutcome o = r.Alloc(kCma, kCma + 1024);
  EXPECT_EQ(o.failure, ContigFailure::kNone);
  EXPECT_EQ(r.stats.migrate_retries, 25u);
  EXPECT_EQ(r.stats.pages_migrated, 1u);
  EXPECT_EQ(o.end, t0 + 26 * 10 + 50 + 2 * 1024);  // the 26th alloc, then the copy
}

// MIGRATE_SYNC waits for writeback, then migrates (no unmap: page cache
// is not mapped here).
TEST(ContigTest, WritebackIsWaitedFor) {
  Rig r(Pages(kCma, 1, PageKind::kFileWriteback));
  r.users->wb_done[kCma] = 1'000'000;
  const ContigOutcome o = r.Alloc(kCma, kCma + 1024);
  ASSERT_EQ(o.failure, ContigFailure::kNone);
  EXPECT_EQ(r.stats.pages_waited_writeback, 1u);
  EXPECT_EQ(r.stats.writeback_wait_ns, 1'000'000 - (kIsolate2 + 11 + kDrains + 11));
  EXPECT_EQ(o.end, 1'000'000 + 10 + 50 + 2 * 1024);
  EXPECT_EQ(r.stats.cpu_ns, o.end - r.stats.writeback_wait_ns);  // waiting is not CPU time
}

// An unmovable page in the second pageblock of a movable range fails
// start_isolate_page_range() at once: two pageblocks examined, nothing
// migrated, the first block back to MOVABLE.
TEST(ContigTest, UnmovablePageFailsIsolationFast) {
  Rig r(Pages(0, 0, PageKind::kAnon));
  // Take every free page outside CMA except PFN 700, then allocate it
  // unmovable: the only free non-CMA page, stolen by __rmqueue_fallback().
  std::vector<uint32_t> taken;
  while (auto p = r.zone->Rmqueue(0, MigrateType::kMovable, 0, 0)) taken.push_back(*p);
  for (uint32_t p : taken)
    if (p == 700) r.zone->FreePages(p, 0, 0);
  r.zone->DrainAllPages();
  auto u = r.zone->Rmqueue(0, MigrateType::kUnmovable, 0, 0);
  ASSERT_TRUE(u.has_value());
  ASSERT_EQ(*u, 700u);
  r.zone->SetKind(700, static_cast<uint8_t>(PageKind::kKernel));
  for (uint32_t p : taken)
    if (p != 700) r.zone->FreePages(p, 0, 0);
  r.zone->DrainAllPages();
  ContigRequest req;
  req.start = 0;
  req.end = 1024;
  req.migratetype = MigrateType::kMovable;
  const ContigOutcome o = AllocContigRange(r.env, req, 0, &r.stats);
  EXPECT_EQ(o.failure, ContigFailure::kUnmovable);
  EXPECT_EQ(o.failed_pfn, 700u);
  EXPECT_EQ(o.end, 2 * 1024);
  EXPECT_EQ(r.stats.pages_migrated, 0u);
  EXPECT_EQ(r.zone->PageblockMigratetype(0), MigrateType::kMovable);
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
}

// 5.19+: a request for the first pageblock of a free order-10 block
// isolates that pageblock only; isolate_single_pageblock() splits the
// block at its end (512), so the second half stays free on the CMA list
// while the first half is taken. Before 5.19 the whole MAX_ORDER block is
// isolated and returned to the CMA list afterwards.
TEST(ContigTest, StraddlingFreePageIsSplitFrom519) {
  for (const char* v : {"5.18", "5.19"}) {
    Rig r({}, v);
    const uint64_t free_before = r.zone->nr_free_pages();
    const ContigOutcome o = r.Alloc(kCma, kCma + 512);
    ASSERT_EQ(o.failure, ContigFailure::kNone) << v;
    EXPECT_EQ(r.stats.pageblocks_isolated, std::string(v) == "5.19" ? 1u : 2u) << v;
    ExpectRangeAllocated(*r.zone, kCma, kCma + 512);
    EXPECT_EQ(r.zone->nr_free_pages(), free_before - 512) << v;
    EXPECT_EQ(r.zone->Page(kCma + 512).use, mm::PageUse::kBuddy) << v;
    EXPECT_EQ(r.zone->PageblockMigratetype(kCma + 512), MigrateType::kCma) << v;
    EXPECT_TRUE(r.zone->CheckInvariants().ok()) << v;
  }
}

// ---------------------------------------------------------------- cma_alloc

void RunToEnd(CmaAllocation& a, const ContigEnv& env, CmaMutex& m, ContigStats* st, sim::Time now) {
  for (std::optional<sim::Time> next = now; next; next = a.Step(env, m, *next, st)) {
  }
}

CmaAreaState Area(uint32_t base, uint64_t count) { return CmaAreaState{"reserved", CmaBitmap(base, count, 0)}; }

// mainline cma_alloc(): the pinned candidate at bit 0 fails (-EBUSY), the
// search goes on from bitmap_no + mask + 1, the alignment capped at
// CONFIG_CMA_ALIGNMENT (order 8: mask 255): bit 256, whose range
// [6400, 7424) does not hold the pinned page and succeeds.
TEST(CmaAllocTest, BusyRangeRetriesAtTheNextAlignedCandidate) {
  Rig r(Pages(kCma, 8, PageKind::kAnon));
  r.users->ref_until[kCma + 3] = kForever;
  CmaAreaState area = Area(kCma, 2048);
  CmaMutex m;
  CmaAllocation a(&area, {.count = 1024, .align = 10}, CmaVariant{}, 0);
  RunToEnd(a, r.env, m, &r.stats, 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a.pfn(), kCma + 256);
  EXPECT_EQ(a.busy_retries(), 1u);
  EXPECT_EQ(a.attempts(), 2u);
  EXPECT_EQ(area.bitmap.used_bits(), 1024u);  // the failed candidate's bits were cleared
  EXPECT_EQ(area.alloc_pages_success, 1024u);
  EXPECT_EQ(m.free_at, a.finished_at());
  CmaRelease(*r.zone, area, *a.pfn(), 1024, 0);
  EXPECT_EQ(area.bitmap.used_bits(), 0u);
}

// The alignment is capped at CONFIG_CMA_ALIGNMENT: order 12 searches as 8.
TEST(CmaAllocTest, AlignmentIsCapped) {
  Rig r({});
  CmaAreaState area = Area(kCma, 2048);
  area.bitmap.Set(0, 1);
  CmaMutex m;
  CmaAllocation a(&area, {.count = 16, .align = 12}, CmaVariant{}, 0);
  RunToEnd(a, r.env, m, &r.stats, 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a.pfn(), kCma + 256);
}

// One candidate (the whole area) pinned: mainline gives up after the one
// attempt; Android sleeps 100 ms and sweeps again, 5 times.
TEST(CmaAllocTest, AndroidSleepsShowInTheLatency) {
  for (bool android : {false, true}) {
    Rig r(Pages(kCma, 8, PageKind::kAnon));
    r.users->ref_until[kCma] = kForever;
    CmaAreaState area = Area(kCma, 1024);
    CmaMutex m;
    CmaVariant v;
    v.android_retries = android;
    CmaAllocation a(&area, {.count = 1024, .align = 10}, v, 0);
    RunToEnd(a, r.env, m, &r.stats, 0);
    EXPECT_FALSE(a.ok());
    EXPECT_EQ(a.failure(), CmaFailure::kPinned);
    EXPECT_EQ(a.attempts(), android ? 6u : 1u);
    EXPECT_EQ(a.sweeps(), android ? 5u : 0u);
    if (android) {
      EXPECT_GE(a.finished_at(), 5 * 100 * sim::kMs);
      EXPECT_LT(a.finished_at(), 5 * 100 * sim::kMs + sim::kMs);
    } else {
      EXPECT_LT(a.finished_at(), sim::kMs);
    }
    EXPECT_EQ(area.alloc_pages_fail, 1024u);
  }
}

// A pin released at 250 ms: attempts at ~0, ~100, ~200 ms fail, the one
// after the third sleep (~300 ms) succeeds.
TEST(CmaAllocTest, AndroidSucceedsOnceThePinGoes) {
  Rig r(Pages(kCma, 8, PageKind::kAnon));
  r.users->ref_until[kCma] = 250 * sim::kMs;
  CmaAreaState area = Area(kCma, 1024);
  CmaMutex m;
  CmaAllocation a(&area, {.count = 1024, .align = 10}, CmaVariant{.android_retries = true}, 0);
  RunToEnd(a, r.env, m, &r.stats, 0);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.sweeps(), 3u);
  EXPECT_EQ(a.attempts(), 4u);
  EXPECT_GE(a.finished_at(), 300 * sim::kMs);
  EXPECT_LT(a.finished_at(), 301 * sim::kMs);
}

// A caller killed at its deadline: the sweep loop stops before sleeping.
TEST(CmaAllocTest, DeadlineEndsAndroidRetries) {
  Rig r(Pages(kCma, 8, PageKind::kAnon));
  r.users->ref_until[kCma] = kForever;
  CmaAreaState area = Area(kCma, 1024);
  CmaMutex m;
  CmaAllocation a(&area, {.count = 1024, .align = 10, .deadline = 150 * sim::kMs},
                  CmaVariant{.android_retries = true}, 0);
  RunToEnd(a, r.env, m, &r.stats, 0);
  EXPECT_EQ(a.failure(), CmaFailure::kTimeout);
  EXPECT_EQ(a.sweeps(), 2u);  // slept at ~0 and ~100 ms; at ~200 ms the signal is pending
}

// cma_mutex: a second call that found its range while the first runs
// waits for it; its attempt starts when the first one's ends.
TEST(CmaAllocTest, CallsSerializeOnCmaMutex) {
  Rig r({});
  CmaAreaState area = Area(kCma, 2048);
  CmaMutex m;
  CmaAllocation a(&area, {.count = 1024, .align = 10}, CmaVariant{}, 0);
  CmaAllocation b(&area, {.count = 1024, .align = 10}, CmaVariant{}, 0);
  auto na = a.Step(r.env, m, 0, &r.stats);
  EXPECT_FALSE(na.has_value());
  auto nb = b.Step(r.env, m, 0, &r.stats);
  ASSERT_TRUE(nb.has_value());
  EXPECT_EQ(*nb, a.finished_at());
  EXPECT_FALSE(b.Step(r.env, m, *nb, &r.stats).has_value());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b.pfn(), kCma + 1024);
  // One after the other, the same work but for the end scan of a's range
  // (one step; b's range ends at the zone's end, where there is none).
  EXPECT_EQ(b.finished_at() - a.finished_at(), a.finished_at() - 1);
}

TEST(CmaAllocTest, NoRangeWhenTheAreaIsFull) {
  Rig r({});
  CmaAreaState area = Area(kCma, 2048);
  area.bitmap.Set(0, 2048);
  CmaMutex m;
  CmaAllocation a(&area, {.count = 1}, CmaVariant{.android_retries = true}, 0);
  RunToEnd(a, r.env, m, &r.stats, 0);
  EXPECT_EQ(a.failure(), CmaFailure::kNoRange);
  EXPECT_EQ(a.sweeps(), 0u);  // no -EBUSY: Android does not sleep either
}

TEST(CmaAllocTest, PlaceCmaAreasTopDown) {
  std::vector<CmaArea> areas = {{"a", 1024, 0}, {"b", 2048, 2}};
  auto placed = PlaceCmaAreas(areas, 8192 + 100, 1024);
  ASSERT_TRUE(placed.ok()) << placed.status().ToString();
  EXPECT_EQ((*placed)[0].base_pfn(), 7168u);
  EXPECT_EQ((*placed)[1].base_pfn(), 5120u);
  EXPECT_EQ((*placed)[1].bitmap.order_per_bit(), 2u);
  areas[0].pages = 1000;
  auto bad = PlaceCmaAreas(areas, 8192, 1024);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("cma_areas[0] (a)"), std::string::npos);
  areas[0].pages = 1024 * 9;
  EXPECT_FALSE(PlaceCmaAreas(areas, 8192, 1024).ok());
}

// ------------------------------------------------------------ sanity laws

// More dirty or pinned pages never make the allocation faster. Steps of a
// few pages are not monotone, in the kernel as here: pages freed by a
// migration batch merge with the free block after them, and the scanner,
// resuming inside that block, steps over its tail PFN by PFN
// (isolate_migratepages_block() skips only a PageBuddy head by its order),
// which can cost more than a few more copies. Growing by 4x it holds.
TEST(ContigLaws, MoreDirtyPagesNeverFaster) {
  sim::Time prev = 0;
  for (int n : {0, 1, 4, 16, 64, 256, 1024}) {
    Rig r(Pages(kCma, n, PageKind::kFileDirty));
    const ContigOutcome o = r.Alloc(kCma, kCma + 1024);
    ASSERT_EQ(o.failure, ContigFailure::kNone);
    EXPECT_GE(o.end, prev) << n;
    prev = o.end;
  }
}

TEST(ContigLaws, MorePinnedCandidatesNeverFaster) {
  sim::Time prev = 0;
  for (int pinned = 0; pinned <= 2; ++pinned) {
    // Candidates of 512 pages at 6144, 6656, ..., 16 anonymous pages at
    // the start of the first two; pin the first page of the first `pinned`.
    auto pages = Pages(kCma, 16, PageKind::kAnon);
    pages.merge(Pages(kCma + 512, 16, PageKind::kAnon));
    Rig r(pages);
    for (int i = 0; i < pinned; ++i) r.users->ref_until[kCma + 512 * i] = kForever;
    CmaAreaState area = Area(kCma, 2048);
    CmaMutex m;
    CmaAllocation a(&area, {.count = 512, .align = 9}, CmaVariant{}, 0);
    RunToEnd(a, r.env, m, &r.stats, 0);
    ASSERT_TRUE(a.ok()) << pinned;
    EXPECT_GE(a.finished_at(), prev) << pinned;
    prev = a.finished_at();
  }
}

}  // namespace
}  // namespace kreplay::memory
