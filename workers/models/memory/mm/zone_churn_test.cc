// Randomized churn over every public operation, checking the zone's
// invariants after each step: each PFN in exactly one block, free counts
// equal to list contents, NR_FREE_CMA_PAGES equal to the free pages in CMA
// pageblocks, and our own record of what is allocated equal to the zone's.
#include <gtest/gtest.h>

#include <vector>

#include "services/sim/rng.h"
#include "workers/models/memory/mm/zone.h"

namespace kreplay::mm {
namespace {

using MT = MigrateType;

struct Held {
  uint32_t pfn;
  unsigned order;
};

class ChurnTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ChurnTest, InvariantsHoldAfterEveryStep) {
  ZoneConfig c;
  c.nr_pages = 16384;  // 64 MiB
  c.nr_cpus = 4;
  // MAX_ORDER aligned, as CMA areas were before 5.19 (and must be for the
  // pre-5.18 merge rule to keep CMA accounting right).
  c.cma_ranges = {{8192, 12288}};
  c.rules = *MmRulesFor(GetParam());
  auto made = Zone::Create(c);
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  Zone z = std::move(made).value();
  sim::Rng rng(20261211);

  std::vector<Held> held;
  std::vector<uint32_t> contig;  // start PFNs of taken 1024-page ranges
  auto in_cma = [&](uint32_t pfn) { return pfn >= 8192 && pfn < 12288; };
  uint64_t successes = 0, isolations = 0;

  for (int step = 0; step < 2500; ++step) {
    const uint64_t op = rng.Below(100);
    const unsigned cpu = static_cast<unsigned>(rng.Below(c.nr_cpus));
    if (op < 45) {
      const uint64_t r = rng.Below(100);
      const unsigned order = r < 55 ? 0 : r < 80 ? static_cast<unsigned>(1 + rng.Below(3))
                                                 : static_cast<unsigned>(4 + rng.Below(7));
      const uint64_t m = rng.Below(10);
      const MT mt = m < 6 ? MT::kMovable : m < 9 ? MT::kUnmovable : MT::kReclaimable;
      uint32_t flags = AllocFlagsCma(mt, alloc::kWmarkMin);
      if (rng.Below(20) == 0) flags |= alloc::kHarder;
      if (rng.Below(10) == 0) flags |= alloc::kNoFragment;
      auto p = rng.Below(2) ? z.GetPageFromFreelist(order, mt, flags, cpu) : z.Rmqueue(order, mt, flags, cpu);
      if (p) {
        ++successes;
        ASSERT_EQ(*p % (1u << order), 0u);
        // Unmovable and reclaimable pages never come from CMA.
        if (mt != MT::kMovable) {
          ASSERT_FALSE(in_cma(*p)) << "step " << step;
        }
        held.push_back({*p, order});
        z.SetKind(*p, static_cast<uint8_t>(step));
      }
    } else if (op < 80) {
      if (held.empty()) continue;
      const size_t i = rng.Below(held.size());
      z.FreePages(held[i].pfn, held[i].order, cpu);
      held[i] = held.back();
      held.pop_back();
    } else if (op < 84) {
      if (rng.Below(2)) z.DrainPages(cpu); else z.DrainAllPages();
    } else if (op < 88) {
      if (held.empty()) continue;
      const size_t i = rng.Below(held.size());
      const Held h = held[i];
      if (h.order == 0 || h.order > 6) continue;
      z.SplitPage(h.pfn, h.order);
      held[i] = {h.pfn, 0};
      for (uint32_t k = 1; k < (1u << h.order); ++k) held.push_back({h.pfn + k, 0});
    } else if (op < 94) {
      // alloc_contig_range() over one MAX_ORDER block, without migration:
      // it succeeds only where everything is already free.
      const uint32_t start = static_cast<uint32_t>(rng.Below(16)) * 1024;
      bool taken = false;
      for (uint32_t s : contig) taken |= s == start;
      if (taken) continue;
      const MT mt = in_cma(start) ? MT::kCma : MT::kMovable;
      if (!z.StartIsolatePageRange(start, start + 1024, mt)) continue;
      ++isolations;
      z.DrainAllPages();
      if (z.TestPagesIsolated(start, start + 1024)) {
        auto outer = z.IsolateFreepagesRange(start, start + 1024);
        ASSERT_TRUE(outer) << "step " << step;
        ASSERT_EQ(*outer, start + 1024);
        contig.push_back(start);
      } else {
        z.UndoIsolatePageRange(start, start + 1024, mt);
      }
    } else if (op < 98) {
      if (contig.empty()) continue;
      const size_t i = rng.Below(contig.size());
      const uint32_t start = contig[i];
      z.FreeContigRange(start, 1024, cpu);
      z.UndoIsolatePageRange(start, start + 1024, in_cma(start) ? MT::kCma : MT::kMovable);
      contig[i] = contig.back();
      contig.pop_back();
    } else {
      z.ClearWatermarkBoost();
    }
    Status s = z.CheckInvariants();
    ASSERT_TRUE(s.ok()) << "step " << step << " op " << op << ": " << s.ToString();
    for (size_t i = 0; i < held.size(); i += 1 + held.size() / 16) {
      const PageView v = z.Page(held[i].pfn);
      ASSERT_EQ(v.use, PageUse::kAllocated) << "step " << step;
      ASSERT_EQ(v.order, held[i].order) << "step " << step;
    }
  }
  EXPECT_GT(successes, 500u);
  EXPECT_GT(isolations, 10u);
  EXPECT_GT(z.counters().fallbacks, 0u);

  // Give everything back: every page is free again and counted.
  for (const Held& h : held) z.FreePages(h.pfn, h.order, 0);
  for (uint32_t start : contig) {
    z.FreeContigRange(start, 1024, 1);
    z.UndoIsolatePageRange(start, start + 1024, in_cma(start) ? MT::kCma : MT::kMovable);
  }
  z.DrainAllPages();
  Status s = z.CheckInvariants();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(z.nr_free_pages(), 16384u);
  EXPECT_EQ(z.nr_free_cma_pages(), 4096u);
  EXPECT_EQ(z.nr_isolate_pageblock(), 0u);
}

INSTANTIATE_TEST_SUITE_P(Releases, ChurnTest, ::testing::Values("5.4", "5.10", "5.17", "6.1"),
                         [](const auto& param_info) {
                           std::string s = param_info.param;
                           for (char& ch : s) if (ch == '.') ch = '_';
                           return "v" + s;
                         });

}  // namespace
}  // namespace kreplay::mm
