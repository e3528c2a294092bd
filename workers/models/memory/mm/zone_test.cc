// Expectations derived by hand from the kernel rules (6.1 mm/page_alloc.c
// and mm/page_isolation.c unless the test names another release); each
// derivation is written next to its assertions. Geometry unless stated:
// pageblock_order 9 (512 pages), max_order 10 (1024 pages), 4 KiB pages.
#include "workers/models/memory/mm/zone.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace kreplay::mm {
namespace {

using MT = MigrateType;

ZoneConfig Config(uint32_t nr_pages, const char* version = "6.1", unsigned cpus = 1) {
  ZoneConfig c;
  c.nr_pages = nr_pages;
  c.nr_cpus = cpus;
  auto r = MmRulesFor(version);
  EXPECT_TRUE(r.ok());
  c.rules = *r;
  return c;
}

Zone Make(const ZoneConfig& c) {
  auto z = Zone::Create(c);
  EXPECT_TRUE(z.ok()) << z.status().ToString();
  return std::move(z).value();
}

std::vector<uint32_t> Seq(uint32_t from, uint32_t step, int n) {
  std::vector<uint32_t> v;
  for (int i = 0; i < n; ++i) v.push_back(from + step * i);
  return v;
}

#define EXPECT_INVARIANTS(z)                              \
  do {                                                    \
    Status _s = (z).CheckInvariants();                    \
    EXPECT_TRUE(_s.ok()) << _s.ToString();                \
  } while (0)

TEST(ZoneTest, CreateValidatesNamingTheField) {
  ZoneConfig c = Config(4096);
  c.pageblock_order = 11;
  auto z = Zone::Create(c);
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("pageblock_order"), std::string::npos);
  c = Config(4096);
  c.cma_ranges = {{100, 612}};
  z = Zone::Create(c);
  ASSERT_FALSE(z.ok());
  EXPECT_NE(z.status().message().find("cma_ranges[0]"), std::string::npos);
  c = Config(0);
  EXPECT_FALSE(Zone::Create(c).ok());
}

TEST(ZoneTest, FreshZoneIsMaxOrderBlocksInPfnOrder) {
  // memblock_free_all() frees everything to the tails: 4096 pages are four
  // order-10 MOVABLE blocks 0, 1024, 2048, 3072, nothing else.
  Zone z = Make(Config(4096));
  EXPECT_EQ(z.nr_free_pages(), 4096u);
  EXPECT_EQ(z.FreeListPfns(10, MT::kMovable), Seq(0, 1024, 4));
  for (unsigned o = 0; o < 10; ++o) EXPECT_EQ(z.nr_free(o), 0u) << o;
  EXPECT_FALSE(z.mobility_disabled());  // 4096 >= 512 * MIGRATE_TYPES (3072)
  EXPECT_INVARIANTS(z);
  // A zone that is not a multiple of max-order blocks ends in smaller ones:
  // 4096 + 512 + 8 pages -> order 10 x4, order 9 at 4096, order 3 at 4608.
  Zone odd = Make(Config(4096 + 512 + 8));
  EXPECT_EQ(odd.FreeListPfns(9, MT::kMovable), std::vector<uint32_t>{4096});
  EXPECT_EQ(odd.FreeListPfns(3, MT::kMovable), std::vector<uint32_t>{4608});
  EXPECT_INVARIANTS(odd);
}

TEST(ZoneTest, SplitLeavesUpperHalvesAndFreeMergesBack) {
  // A movable order-0 request without ALLOC_CMA skips the pcp lists
  // (rmqueue()) and takes the head of the order-10 list, pfn 0. expand()
  // puts the upper halves back: 512 at order 9, 256 at 8, ..., 1 at 0.
  Zone z = Make(Config(4096));
  auto p = z.Rmqueue(0, MT::kMovable, 0, 0);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 0u);
  for (unsigned o = 0; o <= 9; ++o) {
    EXPECT_EQ(z.FreeListPfns(o, MT::kMovable), std::vector<uint32_t>{1u << o}) << o;
  }
  EXPECT_EQ(z.nr_free(10), 3u);
  EXPECT_EQ(z.nr_free_pages(), 4095u);
  EXPECT_EQ(z.counters().splits, 10u);
  EXPECT_INVARIANTS(z);

  // The second order-0 page is the order-0 list's head, pfn 1 (buddy of 0).
  auto q = z.Rmqueue(0, MT::kMovable, 0, 0);
  ASSERT_TRUE(q);
  EXPECT_EQ(*q, 1u);
  // Freeing 1 while its buddy 0 (= 1 ^ 1) is allocated cannot merge.
  z.FreePages(1, 0, 0);  // order 0: onto the pcp list
  EXPECT_EQ(z.pcp_count(0), 1u);
  z.DrainAllPages();
  EXPECT_EQ(z.FreeListPfns(0, MT::kMovable), std::vector<uint32_t>{1});
  // Freeing 0 merges ten times (0+1, 0+2, 0+4, ... 0+512) into order 10.
  const uint64_t merges = z.counters().merges;
  z.FreePages(0, 0, 0);
  z.DrainAllPages();
  EXPECT_EQ(z.counters().merges - merges, 10u);
  for (unsigned o = 0; o <= 9; ++o) EXPECT_EQ(z.nr_free(o), 0u) << o;
  // At order 10, buddy_merge_likely() is false (order >= MAX_ORDER - 2):
  // the merged block goes to the head.
  EXPECT_EQ(z.FreeListPfns(10, MT::kMovable), Seq(0, 1024, 4));
  EXPECT_EQ(z.nr_free_pages(), 4096u);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, BuddyMergeLikelyPutsTheBlockAtTheTail) {
  // Six buddy-path order-0 allocations from a fresh zone: 0 (split of the
  // order-10 block), 1, 2 (split of the order-1 block at 2; 3 stays), 3,
  // 4 (split of the order-2 block at 4: 6 at order 1 and 5 stay), 5.
  Zone z = Make(Config(4096));
  for (uint32_t i = 0; i < 6; ++i) ASSERT_EQ(*z.Rmqueue(0, MT::kMovable, 0, 0), i);
  ASSERT_EQ(z.FreeListPfns(1, MT::kMovable), std::vector<uint32_t>{6});
  // Free 1: buddy 0 is busy; the order-1 block holding it (0) has buddy 2
  // at order 1, not free -> merge unlikely -> head.
  z.FreePages(1, 0, 0);
  z.DrainAllPages();
  // Free 5: buddy 4 busy; its order-1 block (4) has buddy 6, a free order-1
  // block -> merge likely -> tail.
  z.FreePages(5, 0, 0);
  z.DrainAllPages();
  // Free 3: buddy 2 busy; order-1 block 2 has buddy 0 (busy) -> head.
  z.FreePages(3, 0, 0);
  z.DrainAllPages();
  EXPECT_EQ(z.FreeListPfns(0, MT::kMovable), (std::vector<uint32_t>{3, 1, 5}));
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, NoMergeBetweenCmaAndMovableAtPageblockOrder) {
  // Pageblock 1 (512..1023) is CMA. Freeing pageblock 0 (MOVABLE, order 9)
  // and then pageblock 1 (CMA, order 9): buddies at order 9 >= pageblock
  // order, different types, CMA not mergeable -> no merge (5.18+).
  ZoneConfig c = Config(4096);
  c.cma_ranges = {{512, 1024}};
  Zone z = Make(c);
  EXPECT_EQ(z.FreeListPfns(9, MT::kMovable), std::vector<uint32_t>{0});
  EXPECT_EQ(z.FreeListPfns(9, MT::kCma), std::vector<uint32_t>{512});
  EXPECT_EQ(z.nr_free(10), 3u);
  EXPECT_EQ(z.nr_free_cma_pages(), 512u);
  EXPECT_INVARIANTS(z);
  // Below pageblock order the rule does not apply: within the CMA block
  // pages merge as usual (split and merge back at order 9).
  auto p = z.Rmqueue(4, MT::kMovable, alloc::kCma, 0);  // CMA-first: 512 CMA > 4096 / 2? no -> MOVABLE
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 0u);
  z.FreePages(*p, 4, 0);
  EXPECT_EQ(z.FreeListPfns(9, MT::kMovable), std::vector<uint32_t>{0});
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, BeforeV518CmaAndMovableMergeAtPageblockOrder) {
  // 5.17: only ISOLATE blocks are kept apart (and only while the zone has
  // one), so the CMA pageblock freed second merges with the MOVABLE one and
  // the order-10 block lands on the CMA list (the freeing page's type):
  // the accounting hazard that pre-5.19 MAX_ORDER-aligned CMA areas avoid.
  ZoneConfig c = Config(4096, "5.17");
  c.cma_ranges = {{512, 1024}};
  Zone z = Make(c);
  EXPECT_EQ(z.nr_free(9), 0u);
  EXPECT_EQ(z.FreeListPfns(10, MT::kCma), std::vector<uint32_t>{0});
  EXPECT_EQ(z.nr_free_cma_pages(), 512u);  // counted when freed, not when merged
  EXPECT_FALSE(z.CheckInvariants().ok());  // 1024 pages on the CMA list
}

TEST(ZoneTest, UnmovableFallbackStealsTheLargestBlockWhole) {
  // Only MOVABLE blocks are free. __rmqueue_fallback() searches from order
  // 10 down: the first fallback of UNMOVABLE with a free block is MOVABLE
  // at order 10 (RECLAIMABLE is empty). Order 10 >= pageblock_order: the
  // whole block changes type (change_pageblock_range(): pageblocks 0 and 1)
  // and goes to the UNMOVABLE list; the retry splits it from pfn 0.
  Zone z = Make(Config(4096));
  auto p = z.Rmqueue(4, MT::kUnmovable, 0, 0);  // order 4: not on pcp lists
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 0u);
  EXPECT_EQ(z.PageblockMigratetype(0), MT::kUnmovable);
  EXPECT_EQ(z.PageblockMigratetype(512), MT::kUnmovable);
  EXPECT_EQ(z.PageblockMigratetype(1024), MT::kMovable);
  EXPECT_EQ(z.counters().fallbacks, 1u);
  EXPECT_EQ(z.counters().pageblocks_claimed, 1u);
  for (unsigned o = 4; o <= 9; ++o) EXPECT_EQ(z.FreeListPfns(o, MT::kUnmovable), std::vector<uint32_t>{1u << o});
  EXPECT_EQ(z.FreeListPfns(10, MT::kMovable), Seq(1024, 1024, 3));
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, StealClaimsTheBlockOnlyWithHalfFreeOrAlike) {
  // Fill 4096 pages with 32 MOVABLE order-7 blocks (0, 128, ...): every
  // split hands out the lowest block, so they come out in PFN order.
  Zone z = Make(Config(4096));
  for (uint32_t i = 0; i < 32; ++i) ASSERT_EQ(*z.Rmqueue(7, MT::kMovable, 0, 0), i * 128);
  EXPECT_EQ(z.nr_free_pages(), 0u);

  // Free 512 (pageblock 1). An UNMOVABLE order-7 request finds it at order
  // 7 (orders 10..8 are empty); UNMOVABLE can always steal, so the whole
  // block's free pages move: free = 128, movable = 384 (640, 768, 896),
  // alike = 512 - (128 + 384) = 0. 128 < 256: pageblock stays MOVABLE.
  z.FreePages(512, 7, 0);
  auto a = z.Rmqueue(7, MT::kUnmovable, 0, 0);
  ASSERT_TRUE(a);
  EXPECT_EQ(*a, 512u);
  EXPECT_EQ(z.PageblockMigratetype(512), MT::kMovable);
  EXPECT_EQ(z.counters().pageblocks_claimed, 0u);

  // Free 640. Now free = 128, movable = 256 (768, 896) and the unmovable
  // page at 512 is alike (neither free nor movable, in a MOVABLE block):
  // alike = 512 - (128 + 256) = 128; 128 + 128 >= 256 -> claimed.
  z.FreePages(640, 7, 0);
  auto b = z.Rmqueue(7, MT::kUnmovable, 0, 0);
  ASSERT_TRUE(b);
  EXPECT_EQ(*b, 640u);
  EXPECT_EQ(z.PageblockMigratetype(512), MT::kUnmovable);
  EXPECT_EQ(z.counters().pageblocks_claimed, 1u);
  EXPECT_EQ(z.counters().fallbacks, 2u);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, ReclaimableAndUnmovableStartsCanAlwaysSteal) {
  for (MT start : {MT::kReclaimable, MT::kUnmovable}) {
    SCOPED_TRACE(MigrateTypeName(start));
    // Fill 4096 pages with 512 MOVABLE order-3 blocks, free 1024 and 1040
    // (their buddies 1032 and 1048 are busy: no merge). Drained in freeing
    // order, each goes to the head (the order-4 buddy of its order-4 block
    // is busy): MOVABLE order-3 list [1040, 1024].
    Zone z = Make(Config(4096));
    for (uint32_t i = 0; i < 512; ++i) ASSERT_EQ(*z.Rmqueue(3, MT::kMovable, 0, 0), i * 8);
    z.FreePages(1024, 3, 0);  // order 3: pcp list, drained below
    z.FreePages(1040, 3, 0);
    z.DrainAllPages();
    ASSERT_EQ(z.FreeListPfns(3, MT::kMovable), (std::vector<uint32_t>{1040, 1024}));
    // RECLAIMABLE (or UNMOVABLE) order 3: pcp refill of one block
    // (batch for 4096 pages: 4 / 4 = 1, 2^0 - 1 = 0 -> max(1, 0) = 1). __rmqueue_fallback() finds
    // MOVABLE at order 3; can_steal_fallback(3, start) is true for the
    // start type alone (3 < 9 / 2), so steal_suitable_fallback() moves all
    // free pages of pageblock 2, in PFN order, to the start type's list tail
    // ([1024, 1040]): free = 16, movable = 496, alike = 512 - 512 = 0 <
    // 256, the pageblock stays MOVABLE. The retry takes the head, 1024.
    auto p = z.Rmqueue(3, start, 0, 0);
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, 1024u);
    EXPECT_EQ(z.FreeListPfns(3, MT::kMovable), std::vector<uint32_t>{});
    EXPECT_EQ(z.FreeListPfns(3, start), std::vector<uint32_t>{1040});
    EXPECT_EQ(z.PageblockMigratetype(1024), MT::kMovable);
    EXPECT_EQ(z.counters().pageblocks_claimed, 0u);
    EXPECT_INVARIANTS(z);
  }
}

TEST(ZoneTest, MovableThatCannotClaimTakesTheSmallestBlock) {
  // Four UNMOVABLE order-10 allocations steal every block (pageblocks all
  // UNMOVABLE). Split the first into order-0 pages and free 8..15 (merge
  // to order 3 at 8) and 2..3 (order 1 at 2): the only free blocks.
  Zone z = Make(Config(4096));
  for (uint32_t i = 0; i < 4; ++i) ASSERT_EQ(*z.Rmqueue(10, MT::kUnmovable, 0, 0), i * 1024);
  z.SplitPage(0, 10);
  for (uint32_t p : {8, 9, 10, 11, 12, 13, 14, 15, 2, 3}) z.FreePages(p, 0, 0);
  z.DrainAllPages();
  ASSERT_EQ(z.FreeListPfns(3, MT::kUnmovable), std::vector<uint32_t>{8});
  ASSERT_EQ(z.FreeListPfns(1, MT::kUnmovable), std::vector<uint32_t>{2});
  // MOVABLE order 0 (no ALLOC_CMA: straight to the buddy). Largest first
  // finds UNMOVABLE at order 3; can_steal_fallback(3, MOVABLE) is false
  // (3 < 9/2 = 4) and 3 > 0, so find_smallest: order 1 at 2. Not stealable:
  // only that block moves to MOVABLE; the retry splits it: 2 is returned,
  // 3 goes to the MOVABLE order-0 list.
  auto p = z.Rmqueue(0, MT::kMovable, 0, 0);
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 2u);
  EXPECT_EQ(z.FreeListPfns(0, MT::kMovable), std::vector<uint32_t>{3});
  EXPECT_EQ(z.FreeListPfns(3, MT::kUnmovable), std::vector<uint32_t>{8});
  EXPECT_EQ(z.PageblockMigratetype(0), MT::kUnmovable);
  EXPECT_EQ(z.counters().pageblocks_claimed, 4u);  // only the four order-10 steals
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, CmaIsNeverAFallbackTarget) {
  // All memory CMA: an UNMOVABLE request has no list it may use (the
  // fallbacks are RECLAIMABLE and MOVABLE only) and fails; a movable one
  // with ALLOC_CMA gets CMA pages.
  ZoneConfig c = Config(4096);
  c.cma_ranges = {{0, 4096}};
  Zone z = Make(c);
  EXPECT_FALSE(z.Rmqueue(4, MT::kUnmovable, 0, 0));
  EXPECT_FALSE(z.Rmqueue(0, MT::kUnmovable, 0, 0));
  EXPECT_FALSE(z.Rmqueue(4, MT::kMovable, 0, 0));  // movable without ALLOC_CMA
  auto p = z.Rmqueue(4, MT::kMovable, alloc::kCma, 0);
  ASSERT_TRUE(p);
  EXPECT_EQ(z.PageblockMigratetype(*p), MT::kCma);
  EXPECT_EQ(z.nr_free_cma_pages(), 4096u - 16);
  EXPECT_EQ(z.counters().fallbacks, 0u);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, CmaFirstWhenMoreThanHalfOfFreeIsCma) {
  // 8192 pages, upper half CMA: free 8192, CMA 4096. 4096 > 8192 / 2 is
  // false: the first movable order-4 request is served from MOVABLE (pfn
  // 0). Then free = 8176, CMA 4096 > 4088: the next comes from CMA (4096).
  ZoneConfig c = Config(8192);
  c.cma_ranges = {{4096, 8192}};
  Zone z = Make(c);
  EXPECT_EQ(*z.Rmqueue(4, MT::kMovable, alloc::kCma, 0), 0u);
  EXPECT_EQ(*z.Rmqueue(4, MT::kMovable, alloc::kCma, 0), 4096u);
  // Now free = 8160, CMA = 4080 = 8160 / 2: not more than half -> MOVABLE.
  EXPECT_EQ(*z.Rmqueue(4, MT::kMovable, alloc::kCma, 0), 16u);
  // Unmovable requests never get CMA pages (and steal MOVABLE instead).
  auto u = z.Rmqueue(4, MT::kUnmovable, 0, 0);
  ASSERT_TRUE(u);
  EXPECT_LT(*u, 4096u);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, BeforeV57CmaOnlyOnceMovableIsEmpty) {
  // 5.4: no CMA-first rule. Movable order-4 requests take MOVABLE blocks
  // (0, 16, ... 4080) until the MOVABLE lists are empty; only then
  // __rmqueue_cma_fallback(). The fallback steal is not reached first:
  // CMA is tried before __rmqueue_fallback().
  ZoneConfig c = Config(8192, "5.4");
  c.cma_ranges = {{4096, 8192}};
  Zone z = Make(c);
  for (uint32_t i = 0; i < 256; ++i) ASSERT_EQ(*z.Rmqueue(4, MT::kMovable, alloc::kCma, 0), i * 16) << i;
  EXPECT_EQ(*z.Rmqueue(4, MT::kMovable, alloc::kCma, 0), 4096u);
  EXPECT_EQ(z.counters().fallbacks, 0u);
  // Unmovable: nothing non-CMA is free, and CMA is no fallback: fails.
  EXPECT_FALSE(z.Rmqueue(4, MT::kUnmovable, 0, 0));
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, WatermarksFromMinFreeKbytes) {
  // 8192 pages = 32768 KiB: min_free_kbytes = int_sqrt(32768 * 16) =
  // int_sqrt(524288) = 724 (724^2 = 524176). pages_min = 724 >> 2 = 181.
  // gap = max(181 >> 2 = 45, 8192 * 10 / 10000 = 8) = 45:
  // low = 226, high = 271.
  Zone z = Make(Config(8192));
  EXPECT_EQ(z.min_free_kbytes(), 724);
  EXPECT_EQ(z.WmarkPages(Wmark::kMin), 181u);
  EXPECT_EQ(z.WmarkPages(Wmark::kLow), 226u);
  EXPECT_EQ(z.WmarkPages(Wmark::kHigh), 271u);
  // 8 GiB = 2 Mi pages: int_sqrt(8388608 * 16) = 11585 -> min 2896;
  // gap = max(724, 2097152 * 10 / 10000 = 2097) = 2097: low 4993, high 7090.
  ZoneConfig big = Config(2u << 20);
  Zone b = Make(big);
  EXPECT_EQ(b.min_free_kbytes(), 11585);
  EXPECT_EQ(b.WmarkPages(Wmark::kLow), 4993u);
  EXPECT_EQ(b.WmarkPages(Wmark::kHigh), 7090u);
  // The clamp: 1 TiB of lowmem gives int_sqrt(2^30 * 16) = 131072 KiB,
  // above 5.4's 65536 cap and below 6.1's 262144 (checked on the rule, not
  // on a 256 Mi-page zone).
  EXPECT_EQ(MmRulesFor("5.4")->min_free_kbytes_max, 65536);
}

TEST(ZoneTest, WatermarkWithAndWithoutAllocCma) {
  // 8192 pages, 1024..8191 CMA. Take the one MOVABLE order-10 block
  // (without ALLOC_CMA). Free: 7168, all CMA. For a caller without
  // ALLOC_CMA: 7168 - (0 + 0 + 7168) = 0 <= low 226 -> fail; with ALLOC_CMA:
  // 7168 > 226 -> pass.
  ZoneConfig c = Config(8192);
  c.cma_ranges = {{1024, 8192}};
  Zone z = Make(c);
  ASSERT_EQ(*z.Rmqueue(10, MT::kMovable, 0, 0), 0u);
  const uint64_t low = z.WmarkPages(Wmark::kLow);
  EXPECT_FALSE(z.ZoneWatermarkOk(0, low, alloc::kWmarkLow));
  EXPECT_TRUE(z.ZoneWatermarkOk(0, low, alloc::kWmarkLow | alloc::kCma));
  EXPECT_FALSE(z.ZoneWatermarkFast(0, low, alloc::kWmarkLow));
  EXPECT_TRUE(z.ZoneWatermarkFast(0, low, alloc::kWmarkLow | alloc::kCma));
  // get_page_from_freelist() refuses the unmovable request on the watermark
  // (it would fail anyway) and serves the movable one.
  EXPECT_FALSE(z.GetPageFromFreelist(0, MT::kUnmovable, alloc::kWmarkLow, 0));
  EXPECT_TRUE(z.GetPageFromFreelist(0, MT::kMovable, AllocFlagsCma(MT::kMovable, alloc::kWmarkLow), 0));
}

TEST(ZoneTest, HighOrderWatermarkNeedsABlockOnAUsableList) {
  // 8192 pages, 0..1023 CMA. Take every non-CMA page as order 0 (movable
  // without ALLOC_CMA never touches CMA), then free every other one: 3584
  // isolated order-0 MOVABLE blocks + the order-10 CMA block free.
  ZoneConfig c = Config(8192);
  c.cma_ranges = {{0, 1024}};
  Zone z = Make(c);
  for (uint32_t i = 0; i < 7168; ++i) ASSERT_TRUE(z.Rmqueue(0, MT::kMovable, 0, 0));
  for (uint32_t p = 1024; p < 8192; p += 2) z.FreePages(p, 0, 0);
  z.DrainAllPages();
  ASSERT_EQ(z.nr_free(0), 3584u);
  ASSERT_EQ(z.nr_free_pages(), 3584u + 1024);
  // Order 4 without ALLOC_CMA: free - (15 + 1024) = 3569 > 226 passes the
  // order-0 part, but no order >= 4 block is on a PCP-type list (the only
  // one is CMA): fail. With ALLOC_CMA the CMA order-10 block counts: pass.
  const uint64_t low = z.WmarkPages(Wmark::kLow);
  EXPECT_TRUE(z.ZoneWatermarkOk(0, low, 0));
  EXPECT_FALSE(z.ZoneWatermarkOk(4, low, 0));
  EXPECT_TRUE(z.ZoneWatermarkOk(4, low, alloc::kCma));
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, AllocHighAndHarderLowerTheMark) {
  // Fresh 8192-page zone: free = 8192, nothing unusable at order 0.
  Zone z = Make(Config(8192));
  EXPECT_FALSE(z.ZoneWatermarkOk(0, 8192, 0));                    // 8192 <= 8192
  EXPECT_TRUE(z.ZoneWatermarkOk(0, 8191, 0));
  EXPECT_TRUE(z.ZoneWatermarkOk(0, 8192, alloc::kHigh));          // min 4096
  EXPECT_FALSE(z.ZoneWatermarkOk(0, 16384, alloc::kHigh));        // min 8192
  EXPECT_TRUE(z.ZoneWatermarkOk(0, 16384, alloc::kHigh | alloc::kHarder));  // 8192 - 2048
  EXPECT_TRUE(z.ZoneWatermarkOk(0, 10000, alloc::kHarder));       // 10000 - 2500 = 7500
  EXPECT_FALSE(z.ZoneWatermarkOk(0, 11000, alloc::kHarder));      // 11000 - 2750 = 8250
  EXPECT_TRUE(z.ZoneWatermarkOk(0, 16000, alloc::kHarder | alloc::kOom));  // 16000 - 8000
  // Order 1 subtracts (1 << 1) - 1 = 1: free 8191 vs mark 8191 fails.
  EXPECT_FALSE(z.ZoneWatermarkOk(1, 8191, 0));
  EXPECT_TRUE(z.ZoneWatermarkOk(1, 8190, 0));
}

TEST(ZoneTest, HighatomicReserveIsUnusableWithoutAllocHarder) {
  // An order-1 ALLOC_HARDER success reserves its pageblock
  // (reserve_highatomic_pageblock(): limit 8192 / 100 + 512 = 593 pages,
  // 0 reserved so far, block MOVABLE and mergeable -> HIGHATOMIC, +512).
  Zone z = Make(Config(8192));
  auto p = z.GetPageFromFreelist(1, MT::kUnmovable, alloc::kWmarkLow | alloc::kHarder, 0);
  ASSERT_TRUE(p);
  EXPECT_EQ(z.nr_reserved_highatomic(), 512u);
  EXPECT_EQ(z.PageblockMigratetype(*p), MT::kHighAtomic);
  const uint64_t free = z.nr_free_pages();
  // Without ALLOC_HARDER the 512 reserved pages are unusable.
  EXPECT_TRUE(z.ZoneWatermarkOk(0, free - 513, 0));
  EXPECT_FALSE(z.ZoneWatermarkOk(0, free - 512, 0));
  // With it they count (and the mark drops by a quarter).
  EXPECT_TRUE(z.ZoneWatermarkOk(0, free - 1, alloc::kHarder));
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, PcpRefillTakesABatchAndDrainsAboveHigh) {
  // 65536 pages, 2 CPUs. zone_batchsize(): min(65536 >> 10 = 64, 256) / 4
  // = 16; rounddown_pow_of_two(16 + 8) - 1 = 15. Watermarks: int_sqrt(
  // 262144 * 16) = 2048 KiB -> min 512, gap max(128, 65) = 128, low 640.
  // zone_highsize(): max(640 / 2, 15 * 4) = 320.
  Zone z = Make(Config(65536, "6.1", 2));
  EXPECT_EQ(z.pcp_batch(), 15u);
  EXPECT_EQ(z.pcp_high(), 320u);
  // The first UNMOVABLE order-0 request refills 15 pages (steal of the
  // order-10 block at 0, handed out 0, 1, ..., 14 in PFN order by expand()
  // and queued at the list tail), and takes the head: 0.
  EXPECT_EQ(*z.Rmqueue(0, MT::kUnmovable, 0, 0), 0u);
  EXPECT_EQ(z.pcp_count(0), 14u);
  EXPECT_EQ(z.nr_free_pages(), 65536u - 15);
  EXPECT_EQ(z.counters().pcp_refills, 1u);
  for (uint32_t i = 1; i < 15; ++i) EXPECT_EQ(*z.Rmqueue(0, MT::kUnmovable, 0, 0), i);
  EXPECT_EQ(z.counters().pcp_refills, 1u);
  EXPECT_EQ(*z.Rmqueue(0, MT::kUnmovable, 0, 0), 15u);  // refill 15..29
  EXPECT_EQ(z.counters().pcp_refills, 2u);
  // 16 pages out: 0..15. Free them on CPU 1 (below high: they stay there),
  // then drain: back in the buddy they merge to the order-10 block at 0,
  // now on the UNMOVABLE list (its pageblocks were claimed).
  for (uint32_t i = 0; i < 16; ++i) z.FreePages(i, 0, 1);
  EXPECT_EQ(z.pcp_count(1), 16u);
  z.DrainAllPages();
  EXPECT_EQ(z.pcp_count(0), 0u);
  EXPECT_EQ(z.nr_free_pages(), 65536u);
  EXPECT_EQ(z.FreeListPfns(10, MT::kUnmovable), std::vector<uint32_t>{0});
  EXPECT_EQ(z.free_list_length(10, MT::kMovable), 63u);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, PcpDrainScalesWithFreeFactor) {
  // Same zone. 400 pages allocated on CPU 0 (27 refills of 15: 405 taken,
  // 5 left), freed on CPU 1. nr_pcp_free(): at count 320 drain
  // clamp(15 << free_factor, 15, 305) and free_factor++ while below 305:
  // free #320 -> 15 (ff 0 -> 1), count 305; #335 -> 30 (ff 2), 290;
  // #365 -> 60 (ff 3), 260; #400 ends at 260 + 35 = 295.
  Zone z = Make(Config(65536, "6.1", 2));
  std::vector<uint32_t> pages;
  for (int i = 0; i < 400; ++i) pages.push_back(*z.Rmqueue(0, MT::kUnmovable, 0, 0));
  EXPECT_EQ(z.counters().pcp_refills, 27u);
  EXPECT_EQ(z.pcp_count(0), 5u);
  for (uint32_t p : pages) z.FreePages(p, 0, 1);
  EXPECT_EQ(z.counters().pcp_drains, 3u);
  EXPECT_EQ(z.pcp_count(1), 295u);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, PcpBeforeV514DrainsABatchAtSixTimesBatch) {
  // 5.4: zone_batchsize() caps at 512 KiB: min(64, 128) / 4 = 16 -> 15;
  // high = 6 * 15 = 90; each drain frees one batch (15). 100 frees on CPU
  // 1: drain at #90 (-> 75), then 85 at the end.
  Zone z = Make(Config(65536, "5.4", 2));
  EXPECT_EQ(z.pcp_batch(), 15u);
  EXPECT_EQ(z.pcp_high(), 90u);
  std::vector<uint32_t> pages;
  for (int i = 0; i < 100; ++i) pages.push_back(*z.Rmqueue(0, MT::kUnmovable, 0, 0));
  for (uint32_t p : pages) z.FreePages(p, 0, 1);
  EXPECT_EQ(z.counters().pcp_drains, 1u);
  EXPECT_EQ(z.pcp_count(1), 85u);
  // Order 1 is not a pcp order before 5.13: straight to the buddy.
  auto p = z.Rmqueue(1, MT::kUnmovable, 0, 1);
  ASSERT_TRUE(p);
  const uint64_t refills = z.counters().pcp_refills;
  z.FreePages(*p, 1, 1);
  EXPECT_EQ(z.pcp_count(1), 85u);
  EXPECT_EQ(z.counters().pcp_refills, refills);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, IsolationRefusesUnmovablePages) {
  // An UNMOVABLE order-4 allocation steals the order-10 block at 0 and sits
  // at pfn 0: has_unmovable_pages() finds it in pageblock 0. Pageblock 1 is
  // all free; pageblock 2 holds a MOVABLE allocation, which migration can
  // move: both isolate.
  Zone z = Make(Config(8192));
  ASSERT_EQ(*z.Rmqueue(4, MT::kUnmovable, 0, 0), 0u);
  ASSERT_EQ(*z.Rmqueue(4, MT::kMovable, 0, 0), 1024u);
  EXPECT_EQ(z.HasUnmovablePages(0, MT::kMovable), std::optional<uint32_t>(0));
  EXPECT_FALSE(z.SetMigratetypeIsolate(0, MT::kMovable));
  EXPECT_EQ(z.PageblockMigratetype(0), MT::kUnmovable);
  EXPECT_TRUE(z.SetMigratetypeIsolate(512, MT::kMovable));
  EXPECT_TRUE(z.SetMigratetypeIsolate(1024, MT::kMovable));
  EXPECT_FALSE(z.SetMigratetypeIsolate(1024, MT::kMovable));  // already isolated: -EBUSY
  EXPECT_EQ(z.nr_isolate_pageblock(), 2u);
  // A range fails as a whole: an UNMOVABLE order-10 request steals the
  // next MOVABLE order-10 block, 2048 (pageblocks 4, 5). Isolating
  // [1536, 2560) isolates pageblock 3 (a free order-9 block), fails on 4,
  // and undoes 3.
  ASSERT_EQ(*z.Rmqueue(10, MT::kUnmovable, 0, 0), 2048u);
  EXPECT_FALSE(z.StartIsolatePageRange(1536, 2560, MT::kMovable));
  EXPECT_EQ(z.PageblockMigratetype(1536), MT::kMovable);
  EXPECT_EQ(z.FreeListPfns(9, MT::kMovable), std::vector<uint32_t>{1536});
  EXPECT_EQ(z.nr_isolate_pageblock(), 2u);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, IsolatedFreePagesAreNotAllocatableUntilUndone) {
  // Isolating [0, 1024) moves the free order-10 block at 0 to the ISOLATE
  // list and out of NR_FREE_PAGES (8192 -> 7168). Seven order-10 requests
  // get 1024..7168; the eighth fails though 1024 pages are free.
  Zone z = Make(Config(8192));
  ASSERT_TRUE(z.StartIsolatePageRange(0, 1024, MT::kMovable));
  EXPECT_EQ(z.FreeListPfns(10, MT::kIsolate), std::vector<uint32_t>{0});
  EXPECT_EQ(z.nr_free_pages(), 7168u);
  for (uint32_t i = 1; i < 8; ++i) EXPECT_EQ(*z.Rmqueue(10, MT::kMovable, 0, 0), i * 1024);
  EXPECT_FALSE(z.Rmqueue(10, MT::kMovable, 0, 0));
  EXPECT_INVARIANTS(z);
  // unset_migratetype_isolate(): moved back to MOVABLE, counted again,
  // allocatable.
  z.UndoIsolatePageRange(0, 1024, MT::kMovable);
  EXPECT_EQ(z.nr_free_pages(), 1024u);
  EXPECT_EQ(z.nr_isolate_pageblock(), 0u);
  EXPECT_EQ(*z.Rmqueue(10, MT::kMovable, 0, 0), 0u);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, TestPagesIsolatedNeedsPcpPagesDrained) {
  // A movable page (ALLOC_CMA: pcp path, batch 1 for 8192 pages) at 0 is
  // freed to CPU 0's list. Isolation passes (pcp pages have refcount 0) but
  // test_pages_isolated() does not: page 0 is not a buddy page. After
  // drain_all_pages() the page goes to the ISOLATE list (the pageblock was
  // isolated since it was queued) and merges back to order 10 there.
  Zone z = Make(Config(8192));
  ASSERT_EQ(*z.Rmqueue(0, MT::kMovable, alloc::kCma, 0), 0u);
  z.FreePages(0, 0, 0);
  ASSERT_EQ(z.pcp_count(0), 1u);
  ASSERT_TRUE(z.StartIsolatePageRange(0, 1024, MT::kMovable));
  EXPECT_EQ(z.nr_free_pages(), 7168u);
  EXPECT_FALSE(z.TestPagesIsolated(0, 1024));
  z.DrainAllPages();
  EXPECT_TRUE(z.TestPagesIsolated(0, 1024));
  EXPECT_EQ(z.FreeListPfns(10, MT::kIsolate), std::vector<uint32_t>{0});
  EXPECT_EQ(z.nr_free_pages(), 7168u);
  EXPECT_FALSE(z.TestPagesIsolated(0, 2048));  // pageblocks 2, 3 not isolated
  z.UndoIsolatePageRange(0, 1024, MT::kMovable);
  EXPECT_EQ(z.nr_free_pages(), 8192u);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, TakingAFreeRangeAndFreeingItBackRestoresTheFreeLists) {
  // alloc_contig_range() on [1024, 2048): isolate, take (every page an
  // allocated order-0 page), free back (free_contig_range(): order 0 via
  // free_unref_page(), which sends ISOLATE pages straight to the buddy, so
  // they merge on the ISOLATE list), undo. The order-10 block returns to
  // the MOVABLE list's tail (move_freepages_block() moves to the tail).
  Zone z = Make(Config(8192));
  ASSERT_TRUE(z.StartIsolatePageRange(1024, 2048, MT::kMovable));
  ASSERT_TRUE(z.TestPagesIsolated(1024, 2048));
  auto outer = z.IsolateFreepagesRange(1024, 2048);
  ASSERT_TRUE(outer);
  EXPECT_EQ(*outer, 2048u);
  for (uint32_t p = 1024; p < 2048; p += 97) {
    EXPECT_EQ(z.Page(p).use, PageUse::kAllocated);
    EXPECT_EQ(z.Page(p).order, 0);
  }
  EXPECT_EQ(z.nr_free_pages(), 7168u);
  EXPECT_INVARIANTS(z);
  z.FreeContigRange(1024, 1024, 0);
  EXPECT_EQ(z.pcp_count(0), 0u);
  EXPECT_EQ(z.FreeListPfns(10, MT::kIsolate), std::vector<uint32_t>{1024});
  z.UndoIsolatePageRange(1024, 2048, MT::kMovable);
  EXPECT_EQ(z.FreeListPfns(10, MT::kMovable), (std::vector<uint32_t>{0, 2048, 3072, 4096, 5120, 6144, 7168, 1024}));
  EXPECT_EQ(z.nr_free_pages(), 8192u);
  for (unsigned o = 0; o < 10; ++o) EXPECT_EQ(z.nr_free(o), 0u);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, IsolateFreepagesRangeIsStrict) {
  // One allocated page in the range: nothing is taken.
  Zone z = Make(Config(8192));
  ASSERT_EQ(*z.Rmqueue(0, MT::kMovable, 0, 0), 0u);
  const uint64_t free = z.nr_free_pages();
  EXPECT_FALSE(z.IsolateFreepagesRange(0, 1024));
  EXPECT_EQ(z.nr_free_pages(), free);
  // Outside an isolated block __isolate_free_page() obeys the min
  // watermark: with 8191 free and min 181, taking [1024, 2048) passes.
  auto outer = z.IsolateFreepagesRange(1024, 2048);
  ASSERT_TRUE(outer);
  EXPECT_EQ(z.nr_free_pages(), free - 1024);
  EXPECT_INVARIANTS(z);
}

TEST(ZoneTest, PageEventsCountListOperations) {
  // A buddy-path order-0 allocation from a fresh order-10 block: one
  // removal (the order-10 block) + ten insertions (upper halves) = 11.
  Zone z = Make(Config(4096));
  ASSERT_TRUE(z.Rmqueue(0, MT::kMovable, 0, 0));
  EXPECT_EQ(z.counters().page_events, 11u);
  EXPECT_EQ(z.counters().buddy_list_ops, 11u);
  // Freeing it: one pcp insertion; the drain: one pcp removal, ten merges
  // (ten removals) and one insertion = 1 + 1 + 10 + 1 = 13 more.
  z.FreePages(0, 0, 0);
  z.DrainAllPages();
  EXPECT_EQ(z.counters().page_events, 24u);
  EXPECT_EQ(z.counters().pcp_list_ops, 2u);
}

TEST(ZoneTest, CoreStateStaysWithinSixteenBytesPerPage) {
  Zone z = Make(Config(1u << 20, "6.1", 8));  // 4 GiB
  EXPECT_LE(z.BytesPerPage(), 16.1);
  EXPECT_GE(z.BytesPerPage(), 16.0);
}

TEST(ZoneTest, BlockHeadAndCallerFields) {
  Zone z = Make(Config(4096));
  ASSERT_EQ(*z.Rmqueue(5, MT::kMovable, 0, 0), 0u);
  EXPECT_EQ(z.BlockHead(17), 0u);   // inside the allocated order-5 block
  EXPECT_EQ(z.BlockHead(32), 32u);  // the free order-5 upper half
  EXPECT_EQ(z.BlockHead(100), 64u); // inside the free order-6 block at 64
  z.SetKind(0, 7);
  z.SetAux(0, 123456);
  EXPECT_EQ(z.Page(0).kind, 7);
  EXPECT_EQ(z.Page(0).aux, 123456u);
  EXPECT_EQ(z.Page(0).use, PageUse::kAllocated);
  EXPECT_EQ(z.Page(0).migratetype, MT::kMovable);
  EXPECT_EQ(z.Page(17).use, PageUse::kTail);
}

}  // namespace
}  // namespace kreplay::mm

namespace kreplay::mm {
namespace {

// split_free_page() as isolate_single_pageblock() uses it: isolating the
// second pageblock of a free order-10 block at 0 moves nothing (its first
// page is a tail); splitting the block at 512 leaves an order-9 MOVABLE
// block at 0 and an order-9 ISOLATE block at 512, which the merge guard
// keeps apart, and 512 pages fewer free.
TEST(ZoneSplitTest, SplitFreePageAtAnIsolatedPageblock) {
  ZoneConfig c;
  c.nr_pages = 2048;
  c.rules = *MmRulesFor("6.1");
  Zone z = *Zone::Create(c);
  const uint64_t free0 = z.nr_free_pages();
  ASSERT_EQ(z.Page(0).use, PageUse::kBuddy);
  ASSERT_EQ(z.Page(0).order, 10);
  ASSERT_TRUE(z.SetMigratetypeIsolate(512, MigrateType::kMovable));
  EXPECT_EQ(z.nr_free_pages(), free0);
  z.SplitFreePage(0, 10, 512);
  EXPECT_EQ(z.Page(0).order, 9);
  EXPECT_EQ(z.Page(0).migratetype, MigrateType::kMovable);
  EXPECT_EQ(z.Page(512).order, 9);
  EXPECT_EQ(z.Page(512).migratetype, MigrateType::kIsolate);
  EXPECT_EQ(z.nr_free_pages(), free0 - 512);
  EXPECT_TRUE(z.CheckInvariants().ok()) << z.CheckInvariants().ToString();
  // Undone, the halves merge again.
  z.UnsetMigratetypeIsolate(512, MigrateType::kMovable);
  EXPECT_EQ(z.Page(0).order, 10);
  EXPECT_EQ(z.nr_free_pages(), free0);
  EXPECT_TRUE(z.CheckInvariants().ok());
}

}  // namespace
}  // namespace kreplay::mm
