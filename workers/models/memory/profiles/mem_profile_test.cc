// Memory profiles: the shipped files read, are consistent with the
// derivations their comments state, round-trip through the writer, and bad
// files fail naming the line and field.
#include <gtest/gtest.h>

#include <cmath>

#include "workers/models/memory/profiles/mem_profile.h"

namespace kreplay::memory {
namespace {

TEST(MemProfile, ShippedProfilesReadAndRoundTrip) {
  EXPECT_EQ(BuiltinMemProfileNames(), (std::vector<std::string>{"arm64-phone-8g", "armv7-800m", "x86-server-16g"}));
  for (const std::string& name : BuiltinMemProfileNames()) {
    auto p = LoadBuiltinMemProfile(name);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_EQ(p->name, name);
    EXPECT_FALSE(p->cma_areas.empty()) << name;
    for (const CmaArea& a : p->cma_areas) EXPECT_EQ(a.pages % p->pageblock_pages(), 0u) << name << " " << a.name;
    auto back = ParseMemProfileYaml(MemProfileYaml(*p), name + " (written)");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(CanonicalMemProfileText(*back), CanonicalMemProfileText(*p)) << name;
  }
  EXPECT_EQ(LoadBuiltinMemProfile("nope").status().code(), StatusCode::kNotFound);
}

// The boards: 800 MiB with 256 MiB of CMA and 4 MiB pageblocks on
// 32-bit ARM; 8 GiB with several areas on arm64; 4 KiB pages throughout.
TEST(MemProfile, ShippedGeometry) {
  auto arm = *LoadBuiltinMemProfile("armv7-800m");
  EXPECT_EQ(arm.pages, 800u * 256);
  EXPECT_EQ(arm.cpus, 4);
  EXPECT_EQ(arm.pageblock_order, 10);  // MAX_ORDER - 1 without huge pages
  EXPECT_EQ(arm.max_order, 10);
  EXPECT_EQ(arm.cma_areas[0].pages, 256u * 256);
  EXPECT_EQ(arm.tlb, TlbFlush::kBroadcast);
  auto phone = *LoadBuiltinMemProfile("arm64-phone-8g");
  EXPECT_EQ(phone.pages, 8192u * 256);
  EXPECT_EQ(phone.pageblock_order, 9);
  EXPECT_EQ(phone.cma_areas.size(), 3u);
  auto x86 = *LoadBuiltinMemProfile("x86-server-16g");
  EXPECT_EQ(x86.tlb, TlbFlush::kIpi);
  EXPECT_NE(x86.source.find("kreplay calibrate memory"), std::string::npos);
}

// The estimated profiles' memory-bound costs follow the arithmetic their
// comments state: a cold copy moves 8 KiB at the sustained bandwidth, and
// isolating a pageblock reads its struct pages (64 B) twice.
TEST(MemProfile, EstimatesFollowTheirStatedDerivations) {
  for (const char* name : {"armv7-800m", "arm64-phone-8g"}) {
    auto p = *LoadBuiltinMemProfile(name);
    double bytes_per_ns = p.mem_bandwidth_mbps / 1000.0;
    EXPECT_NEAR(p.costs.copy_page_cold, 8192 / bytes_per_ns, 1.0) << name;
    EXPECT_NEAR(p.costs.isolate_pageblock, 2.0 * p.pageblock_pages() * 64 / bytes_per_ns, 1.0) << name;
  }
  // The ARMv7 board's kernel paths are the measured host's x 6.
  auto arm = *LoadBuiltinMemProfile("armv7-800m");
  auto host = *LoadBuiltinMemProfile("x86-server-16g");
  EXPECT_EQ(arm.costs.page_fault, 6 * host.costs.page_fault);
  EXPECT_EQ(arm.costs.alloc_page, 6 * host.costs.alloc_page);
  EXPECT_EQ(arm.costs.map_pte, 6 * host.costs.map_pte);
}

std::string Minimal(const std::string& extra_or_replace = "") {
  std::string y =
      "name: t\ndescription: d\nsource: s\narch: arm64\nmemory_mib: 64\ncpus: 2\npageblock_order: 9\nmax_order: 10\n"
      "tlb_flush: broadcast\nmem_bandwidth_mbps: 1000\nmin_free_kbytes: 0\nwatermark_scale_factor: 10\n"
      "costs_ns: {copy_page_hot: 1, copy_page_cold: 2, page_fault: 3, unmap_pte: 4, tlb_flush_local: 5, tlb_remote: 6,"
      " ipi: 7, drop_clean_page: 8, map_pte: 9, alloc_page: 10, isolate_pageblock: 11}\n"
      "writeback: {bandwidth_mbps: 10, latency_us: 100}\n";
  return y + extra_or_replace;
}

TEST(MemProfile, ErrorsNameLineAndField) {
  ASSERT_TRUE(ParseMemProfileYaml(Minimal(), "ok.yaml").ok());
  struct Case {
    std::string text;
    std::string want;
  } cases[] = {
      {Minimal("cma_areas:\n  - {name: a, mib: 3, order_per_bit: 0}\n"), "f.yaml:16: cma_areas[0].mib: must be a multiple of the pageblock (2 MiB"},
      {Minimal("cma_areas:\n  - {name: a, mib: 2, order_per_bit: 0}\n  - {name: a, mib: 2, order_per_bit: 0}\n"),
       "cma_areas[1].name: duplicate CMA area 'a'"},
      {Minimal("cma_areas:\n  - {name: a, mib: 64, order_per_bit: 0}\n"), "the CMA areas take all of memory_mib"},
      {"name: t\n", "f.yaml:1: description: missing"},
  };
  for (const Case& c : cases) {
    auto p = ParseMemProfileYaml(c.text, "f.yaml");
    ASSERT_FALSE(p.ok()) << c.want;
    EXPECT_NE(p.status().message().find(c.want), std::string::npos) << p.status().message();
  }
  std::string bad_arch = Minimal();
  bad_arch.replace(bad_arch.find("arch: arm64"), 11, "arch: mips");
  EXPECT_NE(ParseMemProfileYaml(bad_arch, "f.yaml").status().message().find("arch: expected arm, arm64 or x86_64"),
            std::string::npos);
  std::string bad_order = Minimal();
  bad_order.replace(bad_order.find("pageblock_order: 9"), 18, "pageblock_order: 11");
  EXPECT_NE(ParseMemProfileYaml(bad_order, "f.yaml").status().message().find("pageblock_order: out of range [1, 10]"),
            std::string::npos);
  std::string unknown = Minimal();
  unknown.replace(unknown.find("isolate_pageblock: 11"), 21, "isolate_pageblock: 11, warp: 3");
  EXPECT_NE(ParseMemProfileYaml(unknown, "f.yaml").status().message().find("costs_ns.warp: unknown cost"),
            std::string::npos);
  EXPECT_NE(ParseMemProfileYaml("a: [", "f.yaml").status().message().find("f.yaml:"), std::string::npos);
}

}  // namespace
}  // namespace kreplay::memory
