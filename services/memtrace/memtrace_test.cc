// The memory trace readers against the layouts the kernel has printed
// (lines written here in each TP_printk format, with the version named)
// and against files recorded on a real host (testdata/README.md).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "services/memtrace/ftrace_text.h"
#include "services/memtrace/mm_events.h"
#include "services/memtrace/procfs.h"
#include "services/sim/rng.h"

namespace kreplay::memtrace {
namespace {

const std::string kData = KREPLAY_MEMTRACE_TESTDATA;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

FtraceLine Line(std::string_view text) {
  FtraceLine l;
  auto k = ParseFtraceLine(text, &l);
  EXPECT_TRUE(k.ok()) << text << ": " << k.status().ToString();
  EXPECT_EQ(*k, LineKind::kEvent) << text;
  return l;
}

MmEvent Event(std::string_view text) {
  FtraceLine l = Line(text);
  auto e = DecodeMmEvent(l);
  EXPECT_TRUE(e.ok()) << text << ": " << e.status().ToString();
  EXPECT_TRUE(e.ok() && e->has_value()) << text;
  return e.ok() && e->has_value() ? **e : MmEvent{};
}

// --- the line format

TEST(FtraceText, KernelTraceLines) {
  // 5.15+: 8-wide pid field, five flag characters, microseconds.
  FtraceLine a = Line("            bash-20410   [001] ..... 21947.946847: mm_page_alloc: page=000000007bf6f3f1 pfn=0x104a52 "
                      "order=0 migratetype=0 gfp_flags=GFP_KERNEL_ACCOUNT|__GFP_ZERO|__GFP_COMP");
  EXPECT_EQ(a.comm, "bash");
  EXPECT_EQ(a.pid, 20410);
  EXPECT_EQ(a.cpu, 1);
  EXPECT_EQ(a.ts_ns, 21947946847000);
  EXPECT_EQ(a.event, "mm_page_alloc");
  EXPECT_EQ(a.body.substr(0, 22), "page=000000007bf6f3f1 ");
  // Before 5.15: four flags, 5-wide pid; a comm with a dash and a colon.
  FtraceLine b = Line("   kworker/u16:3-1234  [002] d..1  1234.567890: mm_page_free: page=ffffea0000123400 pfn=4660 order=0");
  EXPECT_EQ(b.comm, "kworker/u16:3");
  EXPECT_EQ(b.pid, 1234);
  EXPECT_EQ(b.cpu, 2);
  // The record-tgid column, a comm with a space and a dash, ns timestamps.
  FtraceLine c = Line("  Web Content-a-4321    (   4300) [007] ....1    99.000000001: cma_alloc_start: name=linux,cma count=256 align=8");
  EXPECT_EQ(c.comm, "Web Content-a");
  EXPECT_EQ(c.pid, 4321);
  EXPECT_EQ(c.cpu, 7);
  EXPECT_EQ(c.ts_ns, 99000000001);
  EXPECT_EQ(c.body, "name=linux,cma count=256 align=8");
  // irq-info off: no flags column; a raw counter clock.
  FtraceLine d = Line("          <idle>-0       [000]  123456789: mm_page_free: page=0000000000000000 pfn=0x1 order=0");
  EXPECT_EQ(d.comm, "<idle>");
  EXPECT_EQ(d.ts_ns, 123456789);
  // trace-cmd report: 5-wide pid, no flags, the event name padded.
  FtraceLine e = Line("   kworker/u16:3-1234  [002]  1234.567890: mm_page_alloc:        page=0x1 pfn=0x12345 order=0 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE");
  EXPECT_EQ(e.event, "mm_page_alloc");
  EXPECT_EQ(e.body.substr(0, 8), "page=0x1");
}

TEST(FtraceText, SkipsHeadersAndRejectsOtherText) {
  FtraceLine l;
  for (const char* skip : {"", "   ", "# tracer: nop", "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION",
                           "cpus=2", "CPU:1 [LOST 42 EVENTS]", "##### CPU 3 buffer started ####"}) {
    auto k = ParseFtraceLine(skip, &l);
    ASSERT_TRUE(k.ok()) << skip;
    EXPECT_EQ(*k, LineKind::kSkip) << skip;
  }
  for (const char* bad : {"hello world", "bash-1 [001] ..... notatime: mm_page_free: x",
                          "bash [001] ..... 1.000001: mm_page_free: x", "bash-1 [001] ..... 1.000001 mm_page_free",
                          "bash-1 [001] ....... 1.000001: mm_page_free: pfn=1"}) {
    EXPECT_FALSE(ParseFtraceLine(bad, &l).ok()) << bad;
  }
}

// --- CMA events, each layout (services/memtrace/README.md lists the sources)

TEST(MmEvents, CmaBefore513) {
  // cma_alloc: "pfn=%lx page=%p count=%u align=%u": hex without 0x.
  MmEvent ok = Event("  cam-100 [000] .... 5.000000: cma_alloc: pfn=8c000 page=ffffea0002300000 count=256 align=8");
  EXPECT_EQ(ok.type, MmEventType::kCmaAlloc);
  EXPECT_FALSE(ok.failed);
  EXPECT_EQ(ok.pfn, 0x8c000u);
  EXPECT_EQ(ok.count, 256u);
  EXPECT_EQ(ok.align, 8u);
  EXPECT_EQ(ok.area, "");
  // Failure: pfn -1 (64- and 32-bit) and a NULL page.
  EXPECT_TRUE(Event("  cam-100 [000] .... 5.1: cma_alloc: pfn=ffffffffffffffff page=(null) count=256 align=8").failed);
  EXPECT_TRUE(Event("  cam-100 [000] .... 5.1: cma_alloc: pfn=ffffffff page=  (null) count=4 align=0").failed);
  MmEvent rel = Event("  cam-100 [000] .... 6.0: cma_release: pfn=8c000 page=ffffea0002300000 count=256");
  EXPECT_EQ(rel.type, MmEventType::kCmaRelease);
  EXPECT_EQ(rel.pfn, 0x8c000u);
}

TEST(MmEvents, Cma513To62) {
  MmEvent start = Event("  cam-100 [000] ..... 5.0: cma_alloc_start: name=reserved count=1024 align=8");
  EXPECT_EQ(start.type, MmEventType::kCmaAllocStart);
  EXPECT_EQ(start.area, "reserved");
  EXPECT_EQ(start.count, 1024u);
  // 5.13: pfn=%lx (no 0x); failure is a NULL page.
  MmEvent fin = Event("  cam-100 [000] ..... 5.2: cma_alloc_finish: name=reserved pfn=8c400 page=00000000a1b2c3d4 count=1024 align=8");
  EXPECT_EQ(fin.pfn, 0x8c400u);
  EXPECT_FALSE(fin.failed);
  EXPECT_FALSE(fin.errorno.has_value());
  EXPECT_TRUE(Event("  cam-100 [000] ..... 5.2: cma_alloc_finish: name=reserved pfn=8c400 page=0000000000000000 count=1024 align=8").failed);
  // 5.14+: 0x%lx.
  MmEvent retry = Event("  cam-100 [000] ..... 5.1: cma_alloc_busy_retry: name=reserved pfn=0x8c000 page=00000000a1b2c3d4 count=1024 align=8");
  EXPECT_EQ(retry.type, MmEventType::kCmaAllocBusyRetry);
  EXPECT_EQ(retry.pfn, 0x8c000u);
  EXPECT_FALSE(retry.failed);
  MmEvent rel = Event("  cam-100 [000] ..... 7.0: cma_release: name=reserved pfn=0x8c400 page=00000000a1b2c3d4 count=1024");
  EXPECT_EQ(rel.count, 1024u);
}

TEST(MmEvents, Cma63ErrornoAnd618Counts) {
  MmEvent ok = Event("  cam-100 [000] ..... 5.2: cma_alloc_finish: name=linux,cma pfn=0x8c400 page=00000000a1b2c3d4 count=16 align=4 errorno=0");
  ASSERT_TRUE(ok.errorno.has_value());
  EXPECT_EQ(*ok.errorno, 0);
  EXPECT_FALSE(ok.failed);
  EXPECT_EQ(ok.area, "linux,cma");
  MmEvent busy = Event("  cam-100 [000] ..... 5.2: cma_alloc_finish: name=linux,cma pfn=0x8c400 page=0000000000000000 count=16 align=4 errorno=-16");
  EXPECT_TRUE(busy.failed);
  EXPECT_EQ(*busy.errorno, -16);  // -EBUSY
  MmEvent start = Event("  cam-100 [000] ..... 5.0: cma_alloc_start: name=reserved request_count=4 available_count=8096 total_count=8192 align=0");
  EXPECT_EQ(start.count, 4u);
}

TEST(MmEvents, AndroidCmaAllocInfo) {
  MmEvent ok = Event("  cam-100 [003] ..... 5.0: cma_alloc_info: name=linux,cma pfn=0x9f000 count=256 align=8 nr_migrated=200 "
                     "nr_reclaimed=40 nr_mapped=150 err_iso=0 err_mig=0 err_test=0");
  EXPECT_EQ(ok.type, MmEventType::kCmaAllocInfo);
  EXPECT_FALSE(ok.failed);
  EXPECT_EQ(ok.nr_migrated, 200u);
  EXPECT_EQ(ok.nr_reclaimed, 40u);
  EXPECT_EQ(ok.nr_mapped, 150u);
  MmEvent bad = Event("  cam-100 [003] ..... 5.0: cma_alloc_info: name=linux,cma pfn=0xffffffffffffffff count=256 align=8 "
                      "nr_migrated=10 nr_reclaimed=0 nr_mapped=3 err_iso=0 err_mig=1 err_test=2");
  EXPECT_TRUE(bad.failed);
  EXPECT_EQ(bad.err_mig, 1u);
  EXPECT_EQ(bad.err_test, 2u);
}

// --- kmem and migrate

TEST(MmEvents, KmemBeforeAndAfter514) {
  MmEvent a510 = Event("  a-1 [000] d..1 1.0: mm_page_alloc: page=ffffea0000123400 pfn=4660 order=2 migratetype=1 gfp_flags=GFP_HIGHUSER_MOVABLE");
  EXPECT_EQ(a510.pfn, 4660u);  // %lu before 5.14
  EXPECT_EQ(a510.order, 2);
  EXPECT_EQ(a510.migratetype, kMtMovable);
  EXPECT_EQ(a510.gfp, "GFP_HIGHUSER_MOVABLE");
  MmEvent a6 = Event("  a-1 [000] ..... 1.0: mm_page_alloc: page=000000007bf6f3f1 pfn=0x104a52 order=0 migratetype=0 gfp_flags=GFP_KERNEL");
  EXPECT_EQ(a6.pfn, 0x104a52u);
  EXPECT_FALSE(a6.failed);
  // A failed allocation: NULL page, pfn printed as 0.
  EXPECT_TRUE(Event("  a-1 [000] ..... 1.0: mm_page_alloc: page=(null) pfn=0 order=9 migratetype=1 gfp_flags=GFP_TRANSHUGE").failed);
  MmEvent f = Event("  a-1 [000] ..... 1.0: mm_page_free: page=000000007bf6f3f1 pfn=0x104a52 order=3");
  EXPECT_EQ(f.type, MmEventType::kPageFree);
  EXPECT_EQ(f.order, 3);
  // The 3.x-era "cold=" field is ignored.
  MmEvent fb = Event("  a-1 [000] d..1 1.0: mm_page_free_batched: page=ffffea0000123400 pfn=4660 order=0 cold=1");
  EXPECT_EQ(fb.type, MmEventType::kPageFreeBatched);
  EXPECT_EQ(fb.order, 0);
  MmEvent x = Event("  a-1 [000] ..... 1.0: mm_page_alloc_extfrag: page=000000007bf6f3f1 pfn=0x104a00 alloc_order=0 fallback_order=9 "
                    "pageblock_order=9 alloc_migratetype=0 fallback_migratetype=1 fragmenting=0 change_ownership=1");
  EXPECT_EQ(x.order, 0);
  EXPECT_EQ(x.fallback_order, 9);
  EXPECT_EQ(x.migratetype, kMtUnmovable);
  EXPECT_EQ(x.fallback_migratetype, kMtMovable);
  EXPECT_TRUE(x.change_ownership);
  MmEvent z = Event("  a-1 [000] ..... 1.0: mm_page_alloc_zone_locked: page=000000007bf6f3f1 pfn=0x104a00 order=0 migratetype=1 percpu_refill=1");
  EXPECT_TRUE(z.percpu_refill);
  MmEvent d = Event("  a-1 [000] ..... 1.0: mm_page_pcpu_drain: page=000000007bf6f3f1 pfn=0x104a00 order=0 migratetype=1");
  EXPECT_EQ(d.type, MmEventType::kPagePcpuDrain);
}

TEST(MmEvents, MigrateLayouts) {
  MmEvent m58 = Event("  a-1 [000] .... 1.0: mm_migrate_pages: nr_succeeded=10 nr_failed=2 mode=MIGRATE_SYNC reason=cma");
  EXPECT_EQ(m58.succeeded, 10u);
  EXPECT_EQ(m58.failed_pages, 2u);
  EXPECT_EQ(m58.reason, "cma");
  MmEvent m59 = Event("  a-1 [000] .... 1.0: mm_migrate_pages: nr_succeeded=10 nr_failed=0 nr_thp_succeeded=1 nr_thp_failed=0 "
                      "nr_thp_split=0 mode=MIGRATE_SYNC reason=contig_range");
  EXPECT_EQ(m59.thp_succeeded, 1u);
  EXPECT_EQ(m59.reason, "contig_range");
  MmEvent m67 = Event("  a-1 [000] ..... 1.0: mm_migrate_pages: nr_succeeded=1 nr_failed=0 nr_thp_succeeded=0 nr_thp_failed=0 "
                      "nr_thp_split=0 nr_split=3 mode=MIGRATE_SYNC reason=compaction");
  EXPECT_EQ(m67.split, 3u);
  EXPECT_EQ(m67.mode, "MIGRATE_SYNC");
  MmEvent s = Event("  a-1 [000] ..... 1.0: mm_migrate_pages_start: mode=MIGRATE_ASYNC reason=compaction");
  EXPECT_EQ(s.type, MmEventType::kMigratePagesStart);
}

TEST(MmEvents, ErrorsNameTheEventAndKey) {
  auto bad = [](std::string_view text) {
    FtraceLine l = Line(text);
    auto e = DecodeMmEvent(l);
    EXPECT_FALSE(e.ok()) << text;
    return e.ok() ? std::string() : e.status().message();
  };
  EXPECT_NE(bad("  a-1 [000] ..... 1.0: cma_alloc_start: name=x align=0").find("cma_alloc_start: no 'count='"), std::string::npos);
  EXPECT_NE(bad("  a-1 [000] ..... 1.0: mm_page_free: page=0 pfn=0xzz order=0").find("bad pfn"), std::string::npos);
  EXPECT_NE(bad("  a-1 [000] ..... 1.0: mm_page_alloc: page=1 pfn=0x1 order=x migratetype=0 gfp_flags=none").find("bad order"),
            std::string::npos);
  // Other tracepoints are not errors: skipped.
  FtraceLine l = Line("  a-1 [000] ..... 1.0: sched_switch: prev_comm=a prev_pid=1");
  auto e = DecodeMmEvent(l);
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(e->has_value());
}

// A kmem/migrate trace recorded on this project's development host
// (Linux 6.18, x86-64; testdata/README.md): header, 177 allocations, 2811
// frees, 71 migrate_pages_start/migrate_pages pairs from compaction.
TEST(MmTraceReader, RecordedHostTrace) {
  auto r = MmTraceReader::Open(kData + "/kmem-migrate-6.18-x86.trace.zst");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::map<MmEventType, int> n;
  MmEvent ev;
  std::map<int, int64_t> last_ts;
  uint64_t migrated = 0;
  for (;;) {
    auto more = (*r)->Next(&ev);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    ++n[ev.type];
    EXPECT_GE(ev.ts_ns, last_ts[ev.cpu]);  // per CPU, time moves forward
    last_ts[ev.cpu] = ev.ts_ns;
    if (ev.type == MmEventType::kMigratePages) {
      EXPECT_EQ(ev.reason, "compaction");
      migrated += ev.succeeded;
    }
  }
  EXPECT_EQ(n[MmEventType::kPageAlloc], 177);
  EXPECT_EQ(n[MmEventType::kPageFree], 2811);
  EXPECT_EQ(n[MmEventType::kMigratePagesStart], 71);
  EXPECT_EQ(n[MmEventType::kMigratePages], 71);
  EXPECT_GT(migrated, 0u);
  EXPECT_EQ((*r)->stats().skipped_lines, 12u);  // the 12 '#' header lines
}

TEST(MmTraceReader, ErrorsCarryFileAndLine) {
  auto r = MmTraceReader::FromString(
      "# tracer: nop\n  a-1 [000] ..... 1.0: mm_page_free: page=0 pfn=0x1 order=0\n  garbage line\n", "t.trace");
  MmEvent ev;
  auto first = r->Next(&ev);
  ASSERT_TRUE(first.ok() && *first);
  auto second = r->Next(&ev);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message().substr(0, 10), "t.trace:3:");
}

// Random junk, truncations and bit flips of the recorded trace end in an
// error or the end of input, never a crash (run under ASan/UBSan in CI).
TEST(MmTraceReader, SurvivesDamagedInput) {
  std::string text = Slurp(kData + "/pagetypeinfo-6.18-x86.txt") + Slurp(kData + "/zoneinfo-6.18-x86.txt");
  text += "  a-1 [000] ..... 1.0: cma_alloc_finish: name=r pfn=0x1 page=0 count=1 align=0 errorno=0\n"
          "  b-2 (   2) [001] d..1. 2.000001: mm_page_alloc: page=(null) pfn=0 order=9 migratetype=1 gfp_flags=none\n"
          "  c-3 [000] .... 3.5: mm_migrate_pages: nr_succeeded=1 nr_failed=0 mode=MIGRATE_SYNC reason=contig_range\n";
  sim::Rng rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string t = text.substr(0, rng.Range(0, static_cast<int64_t>(text.size())));
    for (int k = 0; k < 5 && !t.empty(); ++k) t[rng.Range(0, static_cast<int64_t>(t.size()) - 1)] ^= static_cast<char>(1 << rng.Range(0, 7));
    auto r = MmTraceReader::FromString(t, "fuzz");
    MmEvent ev;
    for (int guard = 0; guard < 100000; ++guard) {
      auto more = r->Next(&ev);
      if (!more.ok() || !*more) break;
    }
    (void)ParsePageTypeInfo(t, "fuzz");
    (void)ParseZoneInfo(t, "fuzz");
  }
}

// --- /proc files recorded on the same host (4.4+ column order, no CMA)

TEST(ProcFs, RecordedPageTypeInfo) {
  auto p = ParsePageTypeInfo(Slurp(kData + "/pagetypeinfo-6.18-x86.txt"), "pagetypeinfo");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->pageblock_order, 9);
  EXPECT_EQ(p->pages_per_block, 512u);
  EXPECT_EQ(p->orders, 11);
  ASSERT_EQ(p->free.size(), 15u);  // 3 zones x 5 types
  const auto& movable = p->free[11];  // Normal, Movable
  EXPECT_EQ(movable.zone, "Normal");
  EXPECT_EQ(movable.type, "Movable");
  EXPECT_EQ(movable.free[0], 22882u);
  EXPECT_EQ(movable.free[10], 608u);
  EXPECT_EQ(p->block_types, (std::vector<std::string>{"Unmovable", "Movable", "Reclaimable", "HighAtomic", "Isolate"}));
  ASSERT_EQ(p->blocks.size(), 3u);
  EXPECT_EQ(p->blocks[2].zone, "Normal");
  EXPECT_EQ(p->blocks[2].blocks, (std::vector<uint64_t>{71, 3524, 181, 0, 0}));
}

// An arm64 board with CMA, in 5.4+'s format (counts capped at 100000).
TEST(ProcFs, PageTypeInfoWithCmaAndCappedCounts) {
  const char* text =
      "Page block order: 9\n"
      "Pages per block:  512\n"
      "\n"
      "Free pages count per migrate type at order       0      1      2      3      4      5      6      7      8      9     10 \n"
      "Node    0, zone   Normal, type    Unmovable    120     40     10      3      2      1      0      0      0      0      0 \n"
      "Node    0, zone   Normal, type      Movable >100000  5000   2000    900    400    100     50     20     10      5      2 \n"
      "Node    0, zone   Normal, type  Reclaimable     30      5      0      0      0      0      0      0      0      0      0 \n"
      "Node    0, zone   Normal, type   HighAtomic      0      0      0      0      0      0      0      0      0      0      0 \n"
      "Node    0, zone   Normal, type          CMA    512    256    128     64     32     16      8      4      2      1     60 \n"
      "Node    0, zone   Normal, type      Isolate      0      0      0      0      0      0      0      0      0      0      0 \n"
      "\n"
      "Number of blocks type     Unmovable      Movable  Reclaimable   HighAtomic          CMA      Isolate \n"
      "Node 0, zone   Normal          200         3600          100            0          128            0 \n";
  auto p = ParsePageTypeInfo(text, "board");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_TRUE(p->free[1].capped);
  EXPECT_EQ(p->free[1].free[0], 100000u);
  EXPECT_EQ(p->free[4].type, "CMA");
  EXPECT_EQ(p->free[4].free[10], 60u);
  EXPECT_EQ(p->blocks[0].blocks[4], 128u);
  auto bad = ParsePageTypeInfo("Page block order: 9\nPages per block:  256\n", "x");
  EXPECT_FALSE(bad.ok());
  auto worse = ParsePageTypeInfo("Page block order: 9\nPages per block:  512\nFree pages count per migrate type at order 0 1\n"
                                 "Node 0, zone Normal, type Movable 1\n", "y");
  ASSERT_FALSE(worse.ok());
  EXPECT_EQ(worse.status().message(), "y:4: expected 2 counts, found 1");
}

TEST(ProcFs, RecordedZoneInfo) {
  auto z = ParseZoneInfo(Slurp(kData + "/zoneinfo-6.18-x86.txt"), "zoneinfo");
  ASSERT_TRUE(z.ok()) << z.status().ToString();
  const ZoneInfo::Zone* normal = nullptr;
  for (const auto& zn : z->zones)
    if (zn.name == "Normal") normal = &zn;
  ASSERT_NE(normal, nullptr);
  EXPECT_EQ(normal->Get("pages free"), 1190094);
  EXPECT_EQ(normal->Get("min"), 12053);
  EXPECT_EQ(normal->Get("low"), 15066);
  EXPECT_EQ(normal->Get("high"), 18079);
  EXPECT_EQ(normal->Get("managed"), 1933312);
  EXPECT_EQ(normal->Get("cma"), 0);
  EXPECT_EQ(normal->protection, (std::vector<int64_t>{0, 0, 0, 0, 0}));
  EXPECT_TRUE(normal->populated());
  EXPECT_EQ(z->node_stats.at(0).at("nr_dirty"), 14331);
  EXPECT_EQ(z->node_stats.at(0).at("nr_anon_pages"), 117571);
  EXPECT_FALSE(ParseZoneInfo("hello\n", "x").ok());
}

}  // namespace
}  // namespace kreplay::memtrace
