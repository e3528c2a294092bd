// Memory profiles: the machine a memory study runs on (a `platforms:` entry
// of the memory family), as shipped YAML files (compiled in) or user files.
//
// A profile holds what the models read: the amount of RAM in 4 KiB pages,
// the buddy geometry (pageblock_order, max_order), the CPU count and how the
// architecture shoots down TLB entries, the watermark tunables, the CMA
// areas, and the costs of the primitives the allocator and migration are
// made of, in ns. Costs come from `kreplay calibrate memory` on a host (the
// `source` says so) or from first principles stated in the file; never
// from published end-to-end CMA latencies.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "services/core/status.h"

namespace kreplay::memory {

// How a TLB entry of a page mapped on other CPUs is invalidated:
// kIpi: an IPI to every other CPU in the mm's cpumask (x86
// flush_tlb_mm_range()); kBroadcast: a broadcast TLBI instruction that the
// interconnect delivers (arm64 __flush_tlb_range(), ARMv7 with the MP
// extensions), one cost whatever the CPU count.
enum class TlbFlush { kIpi, kBroadcast };

struct CmaArea {
  std::string name;            // as the kernel names it ("reserved", "linux,cma", ...)
  uint64_t pages = 0;          // a multiple of the pageblock
  uint32_t order_per_bit = 0;  // cma->order_per_bit: the bitmap's granule is 2^order_per_bit pages
};

// Costs of the primitives, ns per operation.
struct MemCosts {
  int64_t copy_page_hot = 0;      // copy_highpage() of a 4 KiB page whose source is cached
  int64_t copy_page_cold = 0;     // ... from DRAM to DRAM
  int64_t page_fault = 0;         // an anonymous fault with a zeroed page (refaults of the background)
  int64_t unmap_pte = 0;          // unmapping a page and freeing it (try_to_migrate_one() + the old page's free), per mapping
  int64_t tlb_flush_local = 0;    // one page's TLB entry on this CPU
  int64_t tlb_remote = 0;         // kIpi: per other CPU; kBroadcast: per flush
  int64_t ipi = 0;                // running a function on another CPU and waiting (drain_all_pages(), lru_add_drain_all())
  int64_t drop_clean_page = 0;    // dropping a clean page-cache page (remove from the mapping, free)
  int64_t map_pte = 0;            // installing a PTE for a present page (a minor fault; remove_migration_pte())
  int64_t alloc_page = 0;         // a buddy allocation of one page (rmqueue() with the zone lock)
  int64_t isolate_pageblock = 0;  // set_migratetype_isolate() of one pageblock
};

struct Writeback {
  double bandwidth_mbps = 0;  // MB/s the backing device takes dirty pages at
  int64_t latency_ns = 0;     // per writeback IO
};

struct MemProfile {
  std::string name;
  std::string description;
  std::string source;       // where the numbers come from
  std::string arch;         // "arm", "arm64", "x86_64"
  uint64_t pages = 0;       // RAM in 4 KiB pages (memory_mib in the file)
  int cpus = 0;
  int pageblock_order = 9;  // 9: x86-64, arm64/4K; 10 (= max_order) on 32-bit ARM without huge pages
  int max_order = 10;       // the highest buddy order (MAX_PAGE_ORDER; MAX_ORDER - 1 before 6.4)
  TlbFlush tlb = TlbFlush::kIpi;
  double mem_bandwidth_mbps = 0;
  uint64_t min_free_kbytes = 0;       // 0: the kernel's init_per_zone_wmark_min()
  uint32_t watermark_scale_factor = 10;
  MemCosts costs;
  Writeback writeback;
  std::vector<CmaArea> cma_areas;

  uint64_t pageblock_pages() const { return uint64_t{1} << pageblock_order; }
};

// Parses a profile. Errors name `source_name`, the line and the field
// ("armv7.yaml:12: cma_areas[0].mib: ...").
StatusOr<MemProfile> ParseMemProfileYaml(std::string_view yaml_text, const std::string& source_name);
// The profile as YAML that ParseMemProfileYaml() reads back to the same
// values (`kreplay calibrate memory` writes it).
std::string MemProfileYaml(const MemProfile& p);
// Canonical text (the input of the system digest): every field a model
// reads, in a fixed order; description and source left out.
std::string CanonicalMemProfileText(const MemProfile& p);

// The shipped profiles.
std::vector<std::string> BuiltinMemProfileNames();
StatusOr<std::string> BuiltinMemProfileYaml(const std::string& name);
StatusOr<MemProfile> LoadBuiltinMemProfile(const std::string& name);

}  // namespace kreplay::memory
