// Test-only: the memory profile that cma/contig_test.cc and
// compaction/compaction_test.cc work their expectations out by hand from.
// Geometry: pageblock_order 9 (512 pages), max_order 10 (1024), 2 CPUs.
#pragma once

#include "services/sim/time.h"
#include "workers/models/memory/profiles/mem_profile.h"

namespace kreplay::memory::testutil {

// Round costs so that sums can be checked by hand. scan_pfn =
// isolate_pageblock / (2 x 512) = 1 ns.
inline MemProfile TestProfile() {
  MemProfile p;
  p.name = "test";
  p.cpus = 2;
  p.pageblock_order = 9;
  p.max_order = 10;
  p.tlb = TlbFlush::kIpi;
  p.costs.isolate_pageblock = 1024;
  p.costs.ipi = 100;
  p.costs.alloc_page = 10;
  p.costs.unmap_pte = 20;
  p.costs.map_pte = 5;
  p.costs.copy_page_cold = 50;
  p.costs.drop_clean_page = 7;
  p.costs.tlb_flush_local = 3;
  p.costs.tlb_remote = 30;
  return p;
}

// A migrated anonymous page mapped on one CPU: alloc 10 + unmap 20 +
// flush (3 local + 30 for the one other CPU) + map 5 + copy 50.
inline constexpr sim::Duration kMigrateAnon = 10 + 20 + 33 + 5 + 50;

}  // namespace kreplay::memory::testutil
