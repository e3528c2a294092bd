// Page kinds and Populate(): the mix is reached exactly, through the
// allocator, with the kernel's placement rules visible in the result.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "workers/models/memory/state/page_state.h"

namespace kreplay::memory {
namespace {

mm::Zone MakeZone(uint64_t pages, std::vector<mm::PfnRange> cma = {}) {
  mm::ZoneConfig c;
  c.nr_pages = pages;
  c.pageblock_order = 9;
  c.max_order = 10;
  c.nr_cpus = 2;
  c.cma_ranges = std::move(cma);
  c.rules = *mm::MmRulesFor("6.1");
  auto z = mm::Zone::Create(c);
  EXPECT_TRUE(z.ok()) << z.status().ToString();
  return std::move(*z);
}

StateMix Mix(uint64_t anon, uint64_t clean, uint64_t dirty, uint64_t slab_r, uint64_t kernel, uint64_t pinned) {
  StateMix m;
  m.pages[static_cast<int>(PageKind::kAnon)] = anon;
  m.pages[static_cast<int>(PageKind::kFileClean)] = clean;
  m.pages[static_cast<int>(PageKind::kFileDirty)] = dirty;
  m.pages[static_cast<int>(PageKind::kSlabReclaimable)] = slab_r;
  m.pages[static_cast<int>(PageKind::kKernel)] = kernel;
  m.pages[static_cast<int>(PageKind::kPinned)] = pinned;
  return m;
}

TEST(PageState, KindsAllocateWithTheirMigratetype) {
  EXPECT_EQ(KindMigratetype(PageKind::kAnon), mm::MigrateType::kMovable);
  EXPECT_EQ(KindMigratetype(PageKind::kFileDirty), mm::MigrateType::kMovable);
  EXPECT_EQ(KindMigratetype(PageKind::kPinned), mm::MigrateType::kMovable);  // pinned after allocation
  EXPECT_EQ(KindMigratetype(PageKind::kSlabReclaimable), mm::MigrateType::kReclaimable);
  EXPECT_EQ(KindMigratetype(PageKind::kKernel), mm::MigrateType::kUnmovable);
  EXPECT_STREQ(PageKindName(PageKind::kFileWriteback), "file_writeback");
}

// 256 MiB (65536 pages) with a 32 MiB CMA range at the top: the mix is held
// exactly, every page carries its kind, and no unmovable or reclaimable
// page sits in a CMA pageblock (CMA blocks only ever take movable
// allocations: __rmqueue_cma_fallback() is reached with ALLOC_CMA alone).
TEST(PageState, PopulateHoldsTheMixAndKeepsKernelPagesOutOfCma) {
  mm::Zone z = MakeZone(65536, {{65536 - 8192, 65536}});
  StateMix mix = Mix(20000, 15000, 1000, 3000, 4000, 500);
  PopulateOptions o;
  o.seed = 7;
  o.churn = 1.5;
  auto r = Populate(z, mix, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(z.CheckInvariants().ok());
  for (int k = 0; k < kPageKinds; ++k) {
    ASSERT_EQ(r->pfns[k].size(), mix.pages[k]) << PageKindName(static_cast<PageKind>(k));
    for (uint32_t pfn : r->pfns[k]) {
      mm::PageView v = z.Page(pfn);
      ASSERT_EQ(v.use, mm::PageUse::kAllocated);
      ASSERT_EQ(v.kind, k);
      ASSERT_EQ(v.migratetype, KindMigratetype(static_cast<PageKind>(k)));
      if (k == static_cast<int>(PageKind::kKernel) || k == static_cast<int>(PageKind::kSlabReclaimable)) {
        ASSERT_NE(z.PageblockMigratetype(pfn), mm::MigrateType::kCma) << pfn;
      }
    }
  }
  EXPECT_GT(r->allocations, mix.total());  // the churn
  EXPECT_EQ(z.nr_free_pages() + mix.total() + z.pcp_count(0) + z.pcp_count(1), 65536u);
}

TEST(PageState, SameSeedSamePagesOtherSeedOthers) {
  StateMix mix = Mix(3000, 2000, 0, 200, 300, 0);
  auto run = [&](uint64_t seed) {
    mm::Zone z = MakeZone(16384);
    PopulateOptions o;
    o.seed = seed;
    return Populate(z, mix, o)->pfns;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
}

TEST(PageState, RefusesAMixAboveTheMinWatermark) {
  mm::Zone z = MakeZone(16384);
  auto r = Populate(z, Mix(16384, 0, 0, 0, 0, 0), PopulateOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("do not fit above the min watermark"), std::string::npos);
}

// The development host's /proc/zoneinfo (services/memtrace/testdata): node 0
// manages the sum of its zones' "managed" pages; the
// kinds are its per-node counters over that, scaled to the zone.
TEST(PageState, MixFromTheHostsZoneInfo) {
  std::ifstream in(std::string(KREPLAY_MEMTRACE_TESTDATA) + "/zoneinfo-6.18-x86.txt");
  std::stringstream ss;
  ss << in.rdbuf();
  auto zi = memtrace::ParseZoneInfo(ss.str(), "zoneinfo");
  ASSERT_TRUE(zi.ok());
  int64_t managed = 0;
  for (const auto& zn : zi->zones) managed += zn.Get("managed");
  const uint64_t pages = 1 << 20;
  auto mix = MixFromZoneInfo(*zi, pages);
  ASSERT_TRUE(mix.ok()) << mix.status().ToString();
  auto scaled = [&](double n) { return static_cast<uint64_t>(std::llround(n / static_cast<double>(managed) * pages)); };
  // nr_anon_pages 117571 + nr_shmem 2576; nr_file_pages 492413 - nr_dirty
  // 14331 - nr_writeback 0 - shmem; nr_slab_reclaimable 77019;
  // nr_slab_unreclaimable 11669 + nr_page_table_pages 868 + 2304 KiB / 4.
  EXPECT_EQ(mix->pages[static_cast<int>(PageKind::kAnon)], scaled(117571 + 2576));
  EXPECT_EQ(mix->pages[static_cast<int>(PageKind::kFileClean)], scaled(492413 - 14331 - 0 - 2576));
  EXPECT_EQ(mix->pages[static_cast<int>(PageKind::kFileDirty)], scaled(14331));
  EXPECT_EQ(mix->pages[static_cast<int>(PageKind::kSlabReclaimable)], scaled(77019));
  EXPECT_EQ(mix->pages[static_cast<int>(PageKind::kKernel)], scaled(11669 + 868 + 576));
  memtrace::ZoneInfo empty;
  EXPECT_FALSE(MixFromZoneInfo(empty, pages).ok());
}

}  // namespace
}  // namespace kreplay::memory
