// Direct compaction, the high-order allocation path and alloc_contig_pages(),
// with every expectation worked out by hand from the 6.1 rules
// (mm/compaction.c, mm/page_alloc.c) and written beside its assertions.
//
// Geometry: 8192 pages = 16 pageblocks of 512 (pageblock_order 9),
// max_order 10, 2 CPUs, min_free_kbytes 256, so (__setup_per_zone_wmarks())
// min = 256 KiB / 4 KiB = 64 pages, low = 64 + max(64 / 4, 8192 * 10 /
// 10000) = 80, high = 64 + 2 * 16 = 96. compact_gap(4) = 32,
// compact_gap(3) = 16.
//
// Costs (TestProfile(), cma/contig_test_util.h): scan_pfn 1, alloc_page 10;
// an anonymous page mapped on one CPU migrates for alloc 10 + unmap 20 +
// flush (3 local + 30 remote) + map 5 + copy 50 = 118.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "workers/models/memory/cma/contig_test_util.h"
#include "workers/models/memory/compaction/compaction.h"
#include "workers/models/memory/state/page_state.h"

namespace kreplay::memory {
namespace {

using mm::MigrateType;
constexpr uint32_t kPages = 8192;
constexpr uint32_t kBlock = 512;
constexpr uint32_t kLastBlock = 15 * kBlock;  // 7680
using testutil::kMigrateAnon;
using testutil::TestProfile;

class FakeUsers final : public PageUsers {
 public:
  explicit FakeUsers(mm::Zone* z) : z_(z) {}
  std::map<uint32_t, sim::Time> ref_until;
  std::vector<uint32_t> reclaimable;  // clean page cache DirectReclaim() frees, in order
  int writeback_waits = 0;

  sim::Time RefHeldUntil(uint32_t pfn, sim::Time) const override {
    auto it = ref_until.find(pfn);
    return it == ref_until.end() ? 0 : it->second;
  }
  sim::Time WritebackDoneAt(uint32_t) const override {
    ADD_FAILURE() << "compaction never waits for writeback";
    return 0;
  }
  unsigned MappedCpus(uint32_t pfn) const override {
    const auto k = static_cast<PageKind>(z_->Page(pfn).kind);
    return k == PageKind::kAnon || k == PageKind::kPinned ? 1 : 0;
  }
  void DrainLruBatches(sim::Time) override {}
  void Migrated(uint32_t o, uint32_t n, sim::Time) override {
    z_->SetKind(n, z_->Page(o).kind);
    z_->SetKind(o, 0);
  }
  void Dropped(uint32_t pfn, sim::Time) override { z_->SetKind(pfn, 0); }
  ReclaimOutcome DirectReclaim(uint64_t nr, sim::Time) override {
    ReclaimOutcome r;
    while (r.freed < nr && !reclaimable.empty()) {
      const uint32_t p = reclaimable.back();
      reclaimable.pop_back();
      z_->SetKind(p, 0);
      z_->FreePages(p, 0, 0);
      ++r.freed;
    }
    return r;
  }

 private:
  mm::Zone* z_;
};

// What each PFN holds; kUnused is a free page.
using Layout = std::vector<PageKind>;

Layout AllKernel() { return Layout(kPages, PageKind::kKernel); }

// Block 0: even pages anonymous, odd pages free (256 order-0 free pages
// that cannot merge).
void FragmentedFirstBlock(Layout& l) {
  for (uint32_t p = 0; p < kBlock; ++p) l[p] = p % 2 ? PageKind::kUnused : PageKind::kAnon;
}
// The last block as migration targets for stride 1 (MIGRATE_SYNC_LIGHT):
// in each 8 pages, [0,4) kernel and [4,8) free: 64 free order-2 blocks, 256
// pages, each found after 4 failed steps (5 steps per block). Its first
// page is not free, so suitable_migration_target() accepts it.
void Order2Targets(Layout& l) {
  for (uint32_t p = kLastBlock; p < kPages; ++p) l[p] = (p % 8) < 4 ? PageKind::kKernel : PageKind::kUnused;
}
// The last block as targets for async's stride of 32: in each 32 pages,
// [0,8) free (an order-3 block on the stride) and [8,32) kernel.
void Order3Targets(Layout& l) {
  for (uint32_t p = kLastBlock; p < kPages; ++p) l[p] = (p % 32) < 8 ? PageKind::kUnused : PageKind::kKernel;
}

// A zone holding `layout`: every page is allocated movable first, then the
// free ones are freed and the per-CPU lists drained, so free pages merge as
// their alignment allows. Kernel pages keep the MOVABLE allocation record
// (compaction goes by PageLRU, i.e. the kind); the PFNs in `unmovable` are
// reallocated UNMOVABLE one at a time (each the only free page, so the
// fallback steals exactly it without claiming its pageblock), which is what
// has_unmovable_pages() sees. All pageblocks stay MOVABLE.
struct Rig {
  explicit Rig(const Layout& layout, const std::vector<uint32_t>& unmovable = {}) {
    mm::ZoneConfig c;
    c.nr_pages = kPages;
    c.nr_cpus = 2;
    c.min_free_kbytes = 256;
    c.rules = *mm::MmRulesFor("6.1");
    zone = std::make_unique<mm::Zone>(*mm::Zone::Create(c));
    std::vector<bool> held(kPages, false);
    while (auto p = zone->Rmqueue(0, MigrateType::kMovable, mm::alloc::kCma, 0)) held[*p] = true;
    for (uint32_t p = 0; p < kPages; ++p) EXPECT_TRUE(held[p]) << p;
    for (uint32_t p : unmovable) {
      zone->FreePages(p, 0, 0);
      zone->DrainAllPages();
      EXPECT_EQ(zone->Rmqueue(0, MigrateType::kUnmovable, 0, 0), p);
    }
    for (uint32_t p = 0; p < kPages; ++p) {
      if (layout[p] == PageKind::kUnused) {
        zone->FreePages(p, 0, 0);
      } else {
        zone->SetKind(p, static_cast<uint8_t>(layout[p]));
      }
    }
    zone->DrainAllPages();
    zone->ClearWatermarkBoost();  // the unmovable steals boosted it
    users = std::make_unique<FakeUsers>(zone.get());
    env.zone = zone.get();
    env.users = users.get();
    env.costs = ContigCosts::FromProfile(TestProfile());
    env.rules = ContigRules::For(c.rules);
  }
  HighOrderOutcome Alloc(uint64_t pages, GfpRetry retry = GfpRetry::kDefault,
                         MigrateType mt = MigrateType::kUnmovable) {
    HighOrderRequest r;
    r.pages = pages;
    r.migratetype = mt;
    r.retry = retry;
    return AllocPagesHighOrder(env, r, 0, &defer, &stats);
  }
  CompactOutcome Compact(unsigned order, CompactPriority prio, MigrateType mt) {
    CompactRequest r;
    r.order = order;
    r.migratetype = mt;
    r.priority = prio;
    r.alloc_flags = mm::AllocFlagsCma(mt, mm::alloc::kWmarkMin);
    return CompactZoneOrder(env, r, 0, &stats);
  }
  PageKind Kind(uint32_t p) const { return static_cast<PageKind>(zone->Page(p).kind); }
  uint64_t CountKind(uint32_t from, uint32_t to, PageKind k) const {
    uint64_t n = 0;
    for (uint32_t p = from; p < to; ++p) n += zone->Page(p).use == mm::PageUse::kAllocated && Kind(p) == k;
    return n;
  }
  bool AnyFreeBlockFrom(unsigned order) const {
    for (unsigned o = order; o <= zone->config().max_order; ++o) {
      if (zone->nr_free(o)) return true;
    }
    return false;
  }
  std::unique_ptr<mm::Zone> zone;
  std::unique_ptr<FakeUsers> users;
  ContigEnv env;
  CompactDefer defer;
  CompactionStats stats;
};

Layout OddFree(uint32_t n) {  // PFNs 1, 3, ..., 2n-1 free, the rest kernel
  Layout l = AllKernel();
  for (uint32_t i = 0; i < n; ++i) l[2 * i + 1] = PageKind::kUnused;
  return l;
}

TEST(CompactionTest, GeometryAndWatermarks) {
  Rig r(AllKernel());
  EXPECT_EQ(r.zone->WmarkPages(mm::Wmark::kMin), 64u);
  EXPECT_EQ(r.zone->WmarkPages(mm::Wmark::kLow), 80u);
  EXPECT_EQ(r.zone->WmarkPages(mm::Wmark::kHigh), 96u);
  EXPECT_EQ(r.zone->nr_free_pages(), 0u);
  EXPECT_EQ(FragmentationIndex(*r.zone, 4), 0);  // nothing free
  for (uint32_t p = 0; p < kPages; p += kBlock) EXPECT_EQ(r.zone->PageblockMigratetype(p), MigrateType::kMovable);
}

// __compaction_suitable(): the order-0 check is __zone_watermark_ok(0,
// mark + compact_gap, ALLOC_CMA), which fails when free <= mark + gap.
// Order 4 is costly: low (80) + 32 = 112; order 3 is not: min (64) + 16 =
// 80. n isolated order-0 pages: no block of the order, so the first check
// (watermark already met) fails; the fragmentation index for order 4 is
// 1000 - (1000 + n * 1000 / 16) / n: n = 113 gives 1000 - 8062 / 113 =
// 1000 - 71 = 929 > 500, so fragmentation is the cause and compaction may run.
TEST(CompactionTest, SuitableNeedsFreePagesAboveTheMarkPlusTheGap) {
  Rig at112(OddFree(112));
  EXPECT_EQ(CompactionSuitable(*at112.zone, 4, mm::alloc::kWmarkMin), CompactResult::kSkipped);
  EXPECT_EQ(CompactionSuitable(*at112.zone, 3, mm::alloc::kWmarkMin), CompactResult::kContinue);  // 112 > 80
  Rig at113(OddFree(113));
  EXPECT_EQ(FragmentationIndex(*at113.zone, 4), 929);
  EXPECT_EQ(CompactionSuitable(*at113.zone, 4, mm::alloc::kWmarkMin), CompactResult::kContinue);
  Rig at80(OddFree(80));
  EXPECT_EQ(CompactionSuitable(*at80.zone, 3, mm::alloc::kWmarkMin), CompactResult::kSkipped);
  Rig at81(OddFree(81));
  EXPECT_EQ(CompactionSuitable(*at81.zone, 3, mm::alloc::kWmarkMin), CompactResult::kContinue);
}

// Fifteen free order-3 blocks (120 pages, > 112): for order 4 the index is
// 1000 - (1000 + 120 * 1000 / 16) / 15 = 1000 - 8500 / 15 = 1000 - 566 =
// 434, within [0, 500]: lack of memory, not fragmentation -> skipped. For
// order 3 the watermark is met already (a block exists, 120 - 7 > 64).
TEST(CompactionTest, FragmentationIndexSkipsCostlyOrdersShortOfMemory) {
  Layout l = AllKernel();
  for (uint32_t k = 0; k < 15; ++k) {
    for (uint32_t p = 16 * k + 8; p < 16 * k + 16; ++p) l[p] = PageKind::kUnused;
  }
  Rig r(l);
  EXPECT_EQ(r.zone->nr_free(3), 15u);
  EXPECT_EQ(FragmentationIndex(*r.zone, 4), 434);
  EXPECT_EQ(FragmentationIndex(*r.zone, 3), -1000);
  EXPECT_EQ(CompactionSuitable(*r.zone, 4, mm::alloc::kWmarkMin), CompactResult::kSkipped);
  EXPECT_EQ(CompactionSuitable(*r.zone, 3, mm::alloc::kWmarkMin), CompactResult::kSuccess);
}

// With compaction skipped the slow path has nothing to gain:
//  - __GFP_NORETRY, costly: async compaction SKIPPED -> nopage at once, no
//    reclaim, no stall (a skipped compaction is not counted).
//  - default GFP_KERNEL, costly: async SKIPPED, reclaim (nothing to
//    reclaim), SYNC_LIGHT SKIPPED, then "costly without
//    __GFP_RETRY_MAYFAIL" -> nopage.
//  - __GFP_RETRY_MAYFAIL: should_reclaim_retry() fails (no order-4 block
//    even counting reclaimable pages), should_compact_retry() needs reclaim
//    progress; no OOM kill for costly orders -> nopage.
TEST(CompactionTest, SkippedCompactionEndsTheSlowPathPerGfp) {
  {
    Rig r(OddFree(112));
    const HighOrderOutcome o = r.Alloc(16, GfpRetry::kNoRetry);
    EXPECT_FALSE(o.pfn);
    EXPECT_EQ(o.failure, HighOrderFailure::kNoPage);
    EXPECT_EQ(o.last_compact, CompactResult::kSkipped);
    EXPECT_EQ(r.stats.allocstall, 0u);
    EXPECT_EQ(r.stats.compact_stall, 0u);
    EXPECT_EQ(r.stats.compact_runs, 1u);
    // Fast path, slow path at min, one compaction of no work: 2 x alloc_page.
    EXPECT_EQ(o.end, 20);
  }
  {
    Rig r(OddFree(112));
    const HighOrderOutcome o = r.Alloc(16);
    EXPECT_EQ(o.failure, HighOrderFailure::kNoPage);
    EXPECT_EQ(r.stats.allocstall, 1u);
    EXPECT_EQ(r.stats.compact_runs, 2u);
    EXPECT_EQ(r.stats.results[static_cast<int>(CompactResult::kSkipped)], 2u);
    EXPECT_EQ(r.stats.compact_stall, 0u);
  }
  {
    Rig r(OddFree(112));
    const HighOrderOutcome o = r.Alloc(16, GfpRetry::kRetryMayFail);
    EXPECT_EQ(o.failure, HighOrderFailure::kNoPage);
    EXPECT_EQ(r.stats.allocstall, 1u);
    EXPECT_TRUE(r.zone->CheckInvariants().ok());
  }
}

// The central case: a GFP_KERNEL (UNMOVABLE) order-4 request on a zone
// whose free memory is 256 isolated pages in block 0 (even pages anonymous)
// and 64 order-2 blocks in block 15; blocks 1-14 hold kernel memory. No
// order >= 4 block exists, so the allocation cannot succeed without
// compaction.
//
// compaction_suitable(): free 512 > low 80 + 32; fragmentation index
// 1000 - (1000 + 512000 / 16) / 320 blocks = 1000 - 103 = 897 > 500.
//
// 1. Fast path (low) and slow path (min) fail. Costly -> async compaction
//    (COMPACT_PRIO_ASYNC): for an UNMOVABLE request it only scans UNMOVABLE
//    pageblocks; all are MOVABLE, so the migrate scanner walks to the free
//    scanner's pageblock (7680) without scanning: COMPACT_COMPLETE. A
//    stall, then a failure (no page).
// 2. Retry: min fails, direct reclaim frees nothing, then SYNC_LIGHT
//    (DEF_COMPACT_PRIORITY): not deferred (defer_shift 0).
//    Migrate scanner, block 0, batches of COMPACT_CLUSTER_MAX = 32:
//    batch 1 scans 0..62 (63 PFNs) taking the 32 even pages; batches 2-8
//    each start on the previous batch's last odd PFN (now the tail of a
//    merged free block: isolation fails) and scan 64 PFNs; after each batch
//    the scanner has left the order-4 block it migrated from, so the local
//    pcp drain lets the freed pages merge (and rescan stays false). Then
//    511 (a tail of the order-9 block now at 0): 1 PFN. 63 + 7 * 64 + 1 =
//    512 scanned, 8 * 32 = 256 migrated.
//    Free scanner (stride 1) from 7680: per 8 pages, 4 kernel pages and one
//    order-2 block: 5 steps for 4 pages, 8 blocks per batch: 40 steps, 64
//    blocks and 320 steps in all; the last batch ends exactly at the zone
//    end. No free page is left to release.
//    At migrate_pfn 512 (pageblock aligned) __compact_finished() finds the
//    order-9 MOVABLE block at 0, a fallback an UNMOVABLE request can steal
//    (order >= pageblock_order): COMPACT_SUCCESS.
// 3. get_page_from_freelist() steals block 0 whole (it becomes UNMOVABLE)
//    and returns PFN 0.
// Time: 5 freelist attempts (fast, min, after async, loop min, after sync)
// x 10 + 512 + 320 scan steps + 64 free blocks x 10 + 256 x 118.
TEST(CompactionTest, CompactionFormsTheOrder4BlockAnUnmovableRequestNeeds) {
  Layout l = AllKernel();
  FragmentedFirstBlock(l);
  Order2Targets(l);
  Rig r(l);
  EXPECT_EQ(r.zone->nr_free_pages(), 512u);
  EXPECT_FALSE(r.AnyFreeBlockFrom(4));
  EXPECT_FALSE(r.zone->ZoneWatermarkOk(4, r.zone->WmarkPages(mm::Wmark::kMin), 0));
  EXPECT_EQ(FragmentationIndex(*r.zone, 4), 897);

  const HighOrderOutcome o = r.Alloc(16);
  ASSERT_TRUE(o.pfn);
  EXPECT_EQ(*o.pfn, 0u);
  EXPECT_EQ(o.order, 4u);
  EXPECT_EQ(o.nr_pages, 16u);
  EXPECT_EQ(o.failure, HighOrderFailure::kNone);
  EXPECT_EQ(o.last_compact, CompactResult::kSuccess);
  EXPECT_EQ(r.stats.compact_stall, 2u);
  EXPECT_EQ(r.stats.compact_fail, 1u);
  EXPECT_EQ(r.stats.compact_success, 1u);
  EXPECT_EQ(r.stats.results[static_cast<int>(CompactResult::kComplete)], 1u);
  EXPECT_EQ(r.stats.results[static_cast<int>(CompactResult::kSuccess)], 1u);
  EXPECT_EQ(r.stats.compact_runs, 2u);
  EXPECT_EQ(r.stats.allocstall, 1u);
  EXPECT_EQ(r.stats.compact_migrate_scanned, 512u);
  EXPECT_EQ(r.stats.compact_free_scanned, 320u);
  EXPECT_EQ(r.stats.compact_isolated, 512u);  // 256 by each scanner
  EXPECT_EQ(r.stats.pgmigrate_success, 256u);
  EXPECT_EQ(r.stats.pgmigrate_fail, 0u);
  EXPECT_EQ(o.end, 5 * 10 + 512 + 320 + 64 * 10 + 256 * kMigrateAnon);
  EXPECT_EQ(r.stats.cpu_ns, o.end);
  // The anonymous pages now fill block 15's former free pages.
  EXPECT_EQ(r.CountKind(0, kBlock, PageKind::kAnon), 0u);
  EXPECT_EQ(r.CountKind(kLastBlock, kPages, PageKind::kAnon), 256u);
  EXPECT_EQ(r.zone->PageblockMigratetype(0), MigrateType::kUnmovable);
  EXPECT_EQ(r.zone->Page(0).use, mm::PageUse::kAllocated);
  EXPECT_EQ(r.zone->Page(0).order, 4);
  // compaction_defer_reset(alloc_success): order_failed = order + 1.
  EXPECT_EQ(r.defer.defer_shift, 0u);
  EXPECT_EQ(r.defer.order_failed, 5);
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
  FreeHighOrder(*r.zone, o, 0);
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
}

// An unmovable (kernel) page in every order-4 block of block 0, and kernel
// memory in every other pageblock: compaction migrates all 224 anonymous
// pages (7 per 16-page block, 7 batches of 32) yet can form nothing above
// order 3, runs until the scanners meet (COMPACT_COMPLETE) and the
// allocation fails. The sanity law: the allocator never succeeds where no
// free block of the order exists after compaction.
// A second request right after: SYNC_LIGHT's COMPLETE deferred compaction
// (defer_shift 1), so the async attempt is DEFERRED (considered 1 < 2, a
// stall and a failure without a run); the SYNC_LIGHT one (considered 2)
// runs again and defers further (defer_shift 2).
TEST(CompactionTest, UnmovablePagesEverywhereMakeCompactionAndAllocationFail) {
  Layout l = AllKernel();
  for (uint32_t p = 0; p < kBlock; ++p) {
    l[p] = p % 2 ? PageKind::kUnused : (p % 16 == 0 ? PageKind::kKernel : PageKind::kAnon);
  }
  Order2Targets(l);
  Rig r(l);
  EXPECT_EQ(r.CountKind(0, kBlock, PageKind::kAnon), 224u);
  const HighOrderOutcome o = r.Alloc(16);
  EXPECT_FALSE(o.pfn);
  EXPECT_EQ(o.failure, HighOrderFailure::kNoPage);
  EXPECT_EQ(o.last_compact, CompactResult::kComplete);
  EXPECT_EQ(r.stats.pgmigrate_success, 224u);
  EXPECT_EQ(r.stats.compact_stall, 2u);
  EXPECT_EQ(r.stats.compact_fail, 2u);
  EXPECT_EQ(r.stats.compact_success, 0u);
  EXPECT_FALSE(r.AnyFreeBlockFrom(4));
  EXPECT_EQ(r.CountKind(0, kBlock, PageKind::kKernel), 32u);
  EXPECT_EQ(r.defer.defer_shift, 1u);
  EXPECT_TRUE(r.zone->CheckInvariants().ok());

  const uint64_t runs = r.stats.compact_runs;
  const HighOrderOutcome again = r.Alloc(16);
  EXPECT_EQ(again.failure, HighOrderFailure::kNoPage);
  EXPECT_EQ(r.stats.results[static_cast<int>(CompactResult::kDeferred)], 1u);
  EXPECT_EQ(r.stats.compact_runs, runs + 1);
  EXPECT_EQ(r.stats.compact_stall, 4u);
  EXPECT_EQ(r.defer.defer_shift, 2u);
  EXPECT_FALSE(r.AnyFreeBlockFrom(4));
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
}

// Writeback pages: isolate_migratepages_block() runs with
// ISOLATE_ASYNC_MIGRATE in MIGRATE_ASYNC and in MIGRATE_SYNC_LIGHT (direct
// compaction never uses MIGRATE_SYNC), so a page under writeback is never
// isolated and never waited for. Layout: [0,32) even pages anonymous except
// PFN 2 (writeback), odd pages free; block 15 has an order-3 free block at
// each 32-page step; the rest is kernel memory. Free: 16 + 128 = 144 > 112;
// index 1000 - (1000 + 9000) / 32 = 688 > 500. A MOVABLE order-4 request.
//
// MIGRATE_ASYNC (skip_on_failure per 16-page block): block [0,16): 0 is
// taken, 1 free, 2 fails -> the block is dropped (0 put back) and the scan
// jumps to 16 (3 steps); [16,32): 8 pages taken, 16 steps, then migrated.
// The free scanner's first step (7680, stride 32) takes an order-3 block:
// 8 targets, 1 step. The drain merges [16,32) into an order-4 block. The
// rest of block 0 is kernel memory: one step per 16-page block, 30 steps;
// at 512 the order-4 MOVABLE block ends it: COMPACT_SUCCESS.
// Time: 49 + 1 scan steps, 1 free block (10), 8 migrations.
//
// MIGRATE_SYNC_LIGHT: the writeback page fails but the other 15 anonymous
// pages are taken; the scan covers all 512 PFNs of block 0. The free
// scanner (stride 1) takes the order-3 blocks at 7680 and 7712 (1 + 24 + 1
// steps) for 15 pages; 1 target is left and released. After the drain
// [16,32) is an order-4 block: COMPACT_SUCCESS.
// Time: 512 + 26 scan steps, 2 free blocks, 15 migrations, 1 release.
TEST(CompactionTest, WritebackPagesAreSkippedByAsyncAndSyncLight) {
  Layout l = AllKernel();
  for (uint32_t p = 0; p < 32; ++p) l[p] = p % 2 ? PageKind::kUnused : PageKind::kAnon;
  l[2] = PageKind::kFileWriteback;
  Order3Targets(l);
  {
    Rig r(l);
    const CompactOutcome o = r.Compact(4, CompactPriority::kAsync, MigrateType::kMovable);
    EXPECT_EQ(o.result, CompactResult::kSuccess);
    EXPECT_EQ(r.stats.pgmigrate_success, 8u);
    EXPECT_EQ(r.stats.compact_migrate_scanned, 49u);
    EXPECT_EQ(r.stats.compact_free_scanned, 1u);
    EXPECT_EQ(o.end, 49 + 1 + 10 + 8 * kMigrateAnon);
    EXPECT_EQ(r.Kind(2), PageKind::kFileWriteback);
    EXPECT_EQ(r.CountKind(0, 16, PageKind::kAnon), 7u);  // block [0,16) left alone
    EXPECT_EQ(r.zone->Page(16).use, mm::PageUse::kBuddy);
    EXPECT_EQ(r.zone->Page(16).order, 4);
    EXPECT_TRUE(r.zone->CheckInvariants().ok());
  }
  {
    Rig r(l);
    const CompactOutcome o = r.Compact(4, CompactPriority::kSyncLight, MigrateType::kMovable);
    EXPECT_EQ(o.result, CompactResult::kSuccess);
    EXPECT_EQ(r.stats.pgmigrate_success, 15u);
    EXPECT_EQ(r.stats.compact_migrate_scanned, 512u);
    EXPECT_EQ(r.stats.compact_free_scanned, 26u);
    EXPECT_EQ(o.end, 512 + 26 + 2 * 10 + 15 * kMigrateAnon + 10);
    EXPECT_EQ(r.Kind(2), PageKind::kFileWriteback);
    EXPECT_EQ(r.CountKind(0, 32, PageKind::kAnon), 0u);
    EXPECT_EQ(r.zone->Page(16).use, mm::PageUse::kBuddy);
    EXPECT_EQ(r.zone->Page(16).order, 4);
    EXPECT_TRUE(r.zone->CheckInvariants().ok());
  }
}

// A pinned anonymous page (an extra reference) is not isolated
// (page_count() > page_mapcount()); in SYNC_LIGHT the others still move,
// and the pinned one stays where it was.
TEST(CompactionTest, PinnedAnonymousPageStaysPut) {
  Layout l = AllKernel();
  for (uint32_t p = 0; p < 32; ++p) l[p] = p % 2 ? PageKind::kUnused : PageKind::kAnon;
  l[2] = PageKind::kPinned;
  Order3Targets(l);
  Rig r(l);
  r.users->ref_until[2] = sim::kTimeMax;
  const CompactOutcome o = r.Compact(4, CompactPriority::kSyncLight, MigrateType::kMovable);
  EXPECT_EQ(o.result, CompactResult::kSuccess);  // [16,32) as in the writeback case
  EXPECT_EQ(r.stats.pgmigrate_success, 15u);
  EXPECT_EQ(r.Kind(2), PageKind::kPinned);
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
}

// The scanners meet: kernel memory everywhere but a free order-2 block per
// 8 pages in block 15 (no migration source at all). SYNC_LIGHT walks every
// pageblock below the free scanner (15 x 512 PFNs) and finds nothing:
// COMPACT_COMPLETE with no page migrated or isolated.
TEST(CompactionTest, ScannersMeetGivesComplete) {
  Layout l = AllKernel();
  Order2Targets(l);
  Rig r(l);
  const CompactOutcome o = r.Compact(4, CompactPriority::kSyncLight, MigrateType::kUnmovable);
  EXPECT_EQ(o.result, CompactResult::kComplete);
  EXPECT_EQ(r.stats.compact_migrate_scanned, 15u * kBlock);
  EXPECT_EQ(r.stats.compact_free_scanned, 0u);
  EXPECT_EQ(r.stats.compact_isolated, 0u);
  EXPECT_EQ(o.end, 15 * kBlock);
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
}

// alloc_contig_pages(1536): above 2^10 pages, so not the buddy path.
// Candidates start at ALIGN(0, 1536) = 0 and step 1536: [0,1536) holds an
// UNMOVABLE page at PFN 100, so alloc_contig_range() fails its isolation
// (has_unmovable_pages()); [1536,3072) holds 8 anonymous pages, which are
// migrated out: success at 1536 after 2 attempts. pfn_range_valid_contig()
// reads 1536 PFNs per candidate.
TEST(CompactionTest, AllocContigPagesSkipsARangeWithAnUnmovablePage) {
  Layout l(kPages, PageKind::kUnused);
  l[100] = PageKind::kKernel;
  for (uint32_t p = 2000; p < 2008; ++p) l[p] = PageKind::kAnon;
  Rig r(l, {100});
  EXPECT_EQ(r.zone->Page(100).migratetype, MigrateType::kUnmovable);
  const HighOrderOutcome o = r.Alloc(1536);
  ASSERT_TRUE(o.pfn);
  EXPECT_EQ(*o.pfn, 1536u);
  EXPECT_TRUE(o.contig);
  EXPECT_EQ(o.nr_pages, 1536u);
  EXPECT_EQ(r.stats.contig_candidates, 2u);
  EXPECT_EQ(r.stats.contig.attempts, 2u);
  EXPECT_EQ(r.stats.contig.pages_migrated, 8u);
  EXPECT_EQ(r.stats.cpu_ns, 2 * 1536);
  for (uint32_t p = 1536; p < 3072; ++p) {
    ASSERT_EQ(r.zone->Page(p).use, mm::PageUse::kAllocated) << p;
    ASSERT_EQ(r.zone->Page(p).order, 0) << p;
  }
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
  FreeHighOrder(*r.zone, o, 0);
  r.zone->DrainAllPages();
  EXPECT_EQ(r.zone->nr_free_pages(), kPages - 9u);  // the kernel page and the 8 anonymous ones
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
}

// Every candidate holds an unmovable page: no range.
TEST(CompactionTest, AllocContigPagesFailsWhenEveryCandidateIsBlocked) {
  Layout l(kPages, PageKind::kUnused);
  const std::vector<uint32_t> unmovable = {100, 1600, 3100, 4700, 6200};
  for (uint32_t p : unmovable) l[p] = PageKind::kKernel;
  Rig r(l, unmovable);
  const HighOrderOutcome o = r.Alloc(1536);
  EXPECT_FALSE(o.pfn);
  EXPECT_EQ(o.failure, HighOrderFailure::kNoContigRange);
  EXPECT_EQ(r.stats.contig_candidates, 5u);  // 0, 1536, 3072, 4608, 6144; 7680 + 1536 > 8192
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
}

// Direct reclaim that frees pages: a non-costly (order 2) UNMOVABLE request
// on a zone with nothing free but 64 clean page-cache pages the reclaim
// can drop. Fast and min attempts fail (no free page at all); async
// compaction is skipped (0 free pages <= 64 + 8); reclaim frees
// SWAP_CLUSTER_MAX = 32 pages (max(32, 1 << 2)), still below min, and the
// drain does not help; SYNC_LIGHT is skipped again. Order 2 is not costly,
// so should_reclaim_retry(): progress resets the loop count; the pages
// reclaimable (32 left) plus free (32) = 64 are not above min 64 -> no;
// should_compact_retry(): SKIPPED -> compaction_zonelist_suitable():
// 32 / 2 + 32 = 48 <= 64 + 8 -> no. Then the kernel would OOM-kill.
TEST(CompactionTest, NonCostlyRequestEndsWhereTheKernelWouldOomKill) {
  Layout l = AllKernel();
  for (uint32_t p = 1000; p < 1064; ++p) l[p] = PageKind::kFileClean;
  Rig r(l);
  for (uint32_t p = 1000; p < 1064; ++p) r.users->reclaimable.push_back(p);
  const HighOrderOutcome o = r.Alloc(4);
  EXPECT_FALSE(o.pfn);
  EXPECT_EQ(o.failure, HighOrderFailure::kOomKill);
  EXPECT_EQ(r.stats.pages_reclaimed, 32u);
  EXPECT_EQ(r.stats.allocstall, 1u);
  EXPECT_TRUE(r.zone->CheckInvariants().ok());
}

// Same inputs, same outcome, counters, clock and page placement.
TEST(CompactionTest, Deterministic) {
  Layout l = AllKernel();
  FragmentedFirstBlock(l);
  Order2Targets(l);
  Rig a(l), b(l);
  const HighOrderOutcome oa = a.Alloc(16), ob = b.Alloc(16);
  EXPECT_EQ(oa.pfn, ob.pfn);
  EXPECT_EQ(oa.end, ob.end);
  EXPECT_EQ(a.stats.compact_migrate_scanned, b.stats.compact_migrate_scanned);
  EXPECT_EQ(a.stats.compact_free_scanned, b.stats.compact_free_scanned);
  EXPECT_EQ(a.stats.cpu_ns, b.stats.cpu_ns);
  for (uint32_t p = 0; p < kPages; ++p) {
    ASSERT_EQ(a.zone->Page(p).use, b.zone->Page(p).use) << p;
    ASSERT_EQ(a.zone->Page(p).kind, b.zone->Page(p).kind) << p;
  }
}

}  // namespace
}  // namespace kreplay::memory
