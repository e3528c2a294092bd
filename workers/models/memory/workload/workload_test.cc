// The memory family's workloads: the generated foreground (counts, order,
// arrivals, the DMA alignment), its spec errors, and a recorded trace read
// back as calls, outcomes and background rates. Trace lines are written in
// the kernel's TP_printk layouts (services/memtrace/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "workers/models/memory/workload/foreground.h"
#include "workers/models/memory/workload/from_trace.h"

namespace kreplay::memory {
namespace {

StatusOr<ForegroundSpec> Parse(const std::string& yaml) {
  return ParseForegroundSpec(YAML::Load(yaml), "workloads[0].memory.requests");
}

TEST(ForegroundTest, DmaAlignIsGetOrder) {
  EXPECT_EQ(DmaAlignOrder(1), 0u);
  EXPECT_EQ(DmaAlignOrder(2), 1u);
  EXPECT_EQ(DmaAlignOrder(3), 2u);
  EXPECT_EQ(DmaAlignOrder(16384), 14u);  // 64 MiB
  EXPECT_EQ(DmaAlignOrder(32000), 15u);
}

TEST(ForegroundTest, GeneratesEveryCallWithArrivalsAtTheRate) {
  auto s = Parse("{sizes: [1, 64KiB, 32000], per_size: 4, arrival: {kind: fixed, rate: 10}, start: 2s, hold: 50ms}");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->sizes, (std::vector<uint64_t>{1, 16, 32000}));
  const Foreground f = GenerateForeground(*s, sim::Rng(7));
  ASSERT_EQ(f.calls.size(), 12u);
  std::map<uint64_t, int> count;
  for (size_t i = 0; i < f.calls.size(); ++i) {
    const ContigCall& c = f.calls[i];
    ++count[c.pages];
    EXPECT_EQ(c.at, 2 * sim::kSec + static_cast<sim::Time>(i) * 100 * sim::kMs);  // 10/s fixed
    EXPECT_EQ(c.hold, 50 * sim::kMs);
    EXPECT_EQ(c.align, DmaAlignOrder(c.pages));
  }
  EXPECT_EQ(count, (std::map<uint64_t, int>{{1, 4}, {16, 4}, {32000, 4}}));
  // Shuffled by the seed: the same seed gives the same order, another a different one.
  EXPECT_EQ(GenerateForeground(*s, sim::Rng(7)), f);
  EXPECT_NE(GenerateForeground(*s, sim::Rng(8)).calls, f.calls);
}

TEST(ForegroundTest, AsListedKeepsTheOrderAndPoissonHasTheMean) {
  auto s = Parse("{sizes: [8, 4], per_size: 2000, order: as_listed, arrival: {kind: poisson, rate: 100}, align: 3}");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  const Foreground f = GenerateForeground(*s, sim::Rng(1));
  EXPECT_EQ(f.calls.front().pages, 8u);
  EXPECT_EQ(f.calls.back().pages, 4u);
  EXPECT_EQ(f.calls[1999].pages, 8u);
  EXPECT_EQ(f.calls[2000].pages, 4u);
  EXPECT_EQ(f.calls[5].align, 3u);
  // 3999 exponential gaps of mean 10 ms: the mean is within 5 % (sd 0.16 ms).
  const double mean = static_cast<double>(f.calls.back().at - f.calls.front().at) / 3999.0;
  EXPECT_NEAR(mean, 10e6, 0.5e6);
}

TEST(ForegroundTest, ErrorsNameLineAndField) {
  auto bad = [](const std::string& yaml) {
    auto s = Parse(yaml);
    return s.ok() ? std::string("ok") : std::string(s.status().message());
  };
  EXPECT_EQ(bad("{sizes: [1], colour: red}"), "1: workloads[0].memory.requests.colour: unknown key (allowed: align, area, arrival, hold, order, per_size, sizes, start, timeout)");
  EXPECT_NE(bad("{sizes: []}").find("requests.sizes: must not be empty"), std::string::npos);
  EXPECT_NE(bad("{sizes: [0]}").find("sizes[0]: must be 1 .. 2^32 pages"), std::string::npos);
  EXPECT_NE(bad("{sizes: [12parsecs]}").find("sizes[0]: expected pages"), std::string::npos);
  EXPECT_NE(bad("{sizes: [1], per_size: 1000000, order: as_listed}\n").find("ok"), std::string::npos);
  EXPECT_NE(bad("{sizes: [1, 2], per_size: 1000000}").find("exceeds 1e6 calls"), std::string::npos);
  EXPECT_NE(bad("{sizes: [1], hold: 5 fortnights}").find("requests.hold:"), std::string::npos);
  EXPECT_NE(bad("{sizes: [1], arrival: {kind: bursty, rate: 1}}").find("arrival.kind: unknown 'bursty'"), std::string::npos);
  EXPECT_NE(bad("sizes: [1]\norder: random\n").find("2: workloads[0].memory.requests.order"), std::string::npos);
}

// Two calls by two tasks, interleaved, one retrying once and one failing;
// a release of the first; page events at known rates.
TEST(FromTraceTest, CallsOutcomesHoldsAndRates) {
  const std::string text =
      "# tracer: nop\n"
      "  cam-100 [000] ..... 10.000000: cma_alloc_start: name=reserved count=1024 align=8\n"
      "  dec-200 [001] ..... 10.000100: cma_alloc_start: name=video count=16 align=4\n"
      "  cam-100 [000] ..... 10.000500: cma_alloc_busy_retry: name=reserved pfn=0x8c000 page=00000000a1b2c3d4 count=1024 align=8\n"
      "  dec-200 [001] ..... 10.000900: cma_alloc_finish: name=video pfn=0x9f000 page=0000000000000000 count=16 align=4 errorno=-16\n"
      "  cam-100 [000] ..... 10.002000: cma_alloc_finish: name=reserved pfn=0x8c400 page=00000000a1b2c3d4 count=1024 align=8 errorno=0\n"
      "  cc1-300 [001] ..... 10.500000: mm_page_alloc: page=000000007bf6f3f1 pfn=0x104a52 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE\n"
      "  cc1-300 [001] ..... 10.600000: mm_page_alloc: page=000000007bf6f3f1 pfn=0x104a54 order=2 migratetype=0 gfp_flags=GFP_KERNEL\n"
      "  cc1-300 [001] ..... 10.700000: mm_page_free: page=000000007bf6f3f1 pfn=0x104a54 order=2\n"
      "  cam-100 [000] ..... 12.002000: cma_release: name=reserved pfn=0x8c400 page=00000000a1b2c3d4 count=1024\n";
  auto s = ReadMmTraceText(text, "t.trace");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->foreground.calls.size(), 2u);
  EXPECT_EQ(s->foreground.areas, (std::vector<std::string>{"reserved", "video"}));
  const ContigCall& cam = s->foreground.calls[0];
  EXPECT_EQ(cam.at, 0);
  EXPECT_EQ(cam.pages, 1024u);
  EXPECT_EQ(cam.align, 8u);
  EXPECT_EQ(cam.hold, 2 * sim::kSec);  // released 2 s after it returned
  const ContigCall& dec = s->foreground.calls[1];
  EXPECT_EQ(dec.at, 100 * sim::kUs);
  EXPECT_EQ(dec.area, 1);
  EXPECT_EQ(dec.hold, -1);
  EXPECT_TRUE(s->outcomes[0].ok);
  EXPECT_EQ(s->outcomes[0].latency, 2 * sim::kMs);
  EXPECT_EQ(s->outcomes[0].busy_retries, 1u);
  EXPECT_FALSE(s->outcomes[1].ok);
  EXPECT_EQ(s->outcomes[1].errorno, -16);
  EXPECT_EQ(s->span, 2002 * sim::kMs);
  EXPECT_EQ(s->pages_alloc[1], 1u);
  EXPECT_EQ(s->pages_alloc[0], 4u);
  EXPECT_EQ(s->pages_freed, 4u);
  EXPECT_NEAR(s->PagesAllocPerSec(0), 4 / 2.002, 1e-9);
  const std::string out = FormatMmTraceSummary(*s);
  EXPECT_NE(out.find("2 cma_alloc calls, 1 succeeded (1024 pages), 1 failed, 0 unfinished, 1 busy retries"), std::string::npos) << out;
}

TEST(FromTraceTest, PreFiveThirteenCallsAndBackwardsTime) {
  const std::string text =
      "  cam-100 [001] .... 5.000000: cma_alloc: pfn=8c000 page=ffffea0002300000 count=256 align=8\n"
      "  cam-100 [000] .... 4.999000: cma_alloc: pfn=ffffffffffffffff page=(null) count=256 align=8\n"
      "  cam-100 [000] .... 6.000000: cma_release: pfn=8c000 page=ffffea0002300000 count=256\n";
  auto s = ReadMmTraceText(text, "old.trace");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->foreground.calls.size(), 2u);
  EXPECT_EQ(s->clamped_times, 1u);
  EXPECT_EQ(s->foreground.calls[1].at, 0);  // clamped, never before the previous
  EXPECT_EQ(s->outcomes[0].latency, -1);    // no start event before 5.13
  EXPECT_EQ(s->foreground.calls[0].hold, sim::kSec);
  EXPECT_FALSE(s->outcomes[1].ok);
}

TEST(FromTraceTest, BadLinesNameFileAndLine) {
  auto s = ReadMmTraceText("# x\n  a-1 [000] ..... 1.0: cma_alloc_start: name=x align=0\n", "bad.trace");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("bad.trace:2:"), std::string::npos) << s.status().message();
}

// The trace recorded on the development host (kmem and migrate events, no
// CMA area): no calls, background rates from its page events.
TEST(FromTraceTest, RecordedHostTrace) {
  auto s = ReadMmTrace(std::string(KREPLAY_MEMTRACE_TESTDATA) + "/kmem-migrate-6.18-x86.trace.zst");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->foreground.calls.empty());
  EXPECT_GT(s->events, 3000u);
  EXPECT_GT(s->pages_alloc[0] + s->pages_alloc[1], 0u);
  EXPECT_GT(s->span, 0);
  EXPECT_GT(s->PagesAllocPerSec(1), 0);
}

}  // namespace
}  // namespace kreplay::memory
