// calibrate memory on this host, quickly (small buffers, one repeat): every
// cost measured or derived is positive and the profile it writes reads back
// to the same values. The figures themselves are the host's, not asserted.
#include <gtest/gtest.h>

#include <unistd.h>

#include "workers/models/memory/calibrate/calibrate.h"

namespace kreplay::memory {
namespace {

TEST(CalibrateMemory, MeasuresThisHostIntoAProfileThatReadsBack) {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) GTEST_SKIP() << "needs 2 online CPUs";
  CalibrateOptions o;
  o.name = "test-host";
  o.scratch_dir = ::testing::TempDir();
  o.repeats = 1;
  o.cold_mib = 16;
  o.file_mib = 4;
  o.measure_writeback = false;
  int steps = 0;
  auto p = CalibrateHost(o, [&](const std::string&) { ++steps; });
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_GE(steps, 5);
  for (int64_t c : {p->costs.copy_page_hot, p->costs.copy_page_cold, p->costs.page_fault, p->costs.unmap_pte,
                    p->costs.tlb_flush_local, p->costs.tlb_remote, p->costs.ipi, p->costs.drop_clean_page,
                    p->costs.map_pte, p->costs.alloc_page, p->costs.isolate_pageblock}) {
    EXPECT_GE(c, 1);
  }
  // Costs are clamped to 1 ns, so the loop above cannot fail on its own:
  // the measured (not derived) ones must be above the clamp, and the
  // orderings the mechanisms guarantee by a wide margin must hold (a DRAM
  // copy is many times a cached one; a fault zeroes a page, a minor fault
  // of a cached file page does not).
  for (int64_t measured : {p->costs.copy_page_hot, p->costs.copy_page_cold, p->costs.page_fault,
                           p->costs.unmap_pte, p->costs.map_pte, p->costs.ipi}) {
    EXPECT_GT(measured, 1);
  }
  EXPECT_GT(p->costs.copy_page_cold, p->costs.copy_page_hot);
  EXPECT_GT(p->costs.page_fault, p->costs.map_pte);
  EXPECT_GT(p->mem_bandwidth_mbps, 0);
  EXPECT_EQ(p->cpus, static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)));
  EXPECT_NE(p->source.find("kreplay calibrate memory"), std::string::npos);
  std::string yaml = MemProfileYaml(*p);
  auto back = ParseMemProfileYaml(yaml, "calibrated.yaml");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << yaml;
  EXPECT_EQ(CanonicalMemProfileText(*back), CanonicalMemProfileText(*p));
}

TEST(CalibrateMemory, RefusesBadOptions) {
  CalibrateOptions o;
  o.cpu_b = o.cpu_a;
  EXPECT_FALSE(CalibrateHost(o, nullptr).ok());
  o = CalibrateOptions{};
  o.repeats = 0;
  EXPECT_FALSE(CalibrateHost(o, nullptr).ok());
}

}  // namespace
}  // namespace kreplay::memory
