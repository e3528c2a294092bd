// What the pages of a memory study hold, and bringing a fresh zone to a
// given mix of them. The core (mm/zone.h) only allocates and frees; this
// layer names what each allocated page is for, in the zone's caller-owned
// `kind` byte, because cma_alloc() treats them differently: clean page
// cache is dropped, anonymous and dirty pages are migrated (dirty ones
// written back or waited on), pinned pages and kernel memory make a range
// fail.
//
// Populate() reaches the mix through the allocator itself (order-0
// allocations of each kind in a seeded interleaving, with churn that frees
// and reallocates), so which pageblocks end up unmovable, reclaimable or
// mixed follows the kernel's fallback and stealing rules rather than a
// layout written by hand. Deterministic for a seed. Not thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/memtrace/procfs.h"
#include "workers/models/memory/mm/zone.h"

namespace kreplay::memory {

enum class PageKind : uint8_t {
  kUnused = 0,       // not allocated by this layer (free, or the core's own)
  kAnon,             // anonymous memory (GFP_HIGHUSER_MOVABLE)
  kFileClean,        // page cache, clean: cma_alloc drops it
  kFileDirty,        // page cache, dirty: migrated (or written back first)
  kFileWriteback,    // page cache under writeback: MIGRATE_SYNC waits for it
  kSlabReclaimable,  // reclaimable slab (__GFP_RECLAIMABLE)
  kKernel,           // other kernel memory: unreclaimable slab, page tables, stacks (GFP_KERNEL)
  kPinned,           // long-term pinned user memory (FOLL_LONGTERM)
};
inline constexpr int kPageKinds = 8;
const char* PageKindName(PageKind k);

// The migratetype a kind's pages are allocated with: gfp_migratetype() of
// the usual GFP (movable for user and page-cache memory, pinned included:
// pages are pinned after they were allocated as user memory).
mm::MigrateType KindMigratetype(PageKind k);

// PageLRU(): the kinds on an LRU list, the pages migration and compaction
// isolate.
constexpr bool OnLru(PageKind k) {
  return k == PageKind::kAnon || k == PageKind::kPinned || k == PageKind::kFileClean || k == PageKind::kFileDirty ||
         k == PageKind::kFileWriteback;
}
// page_mapping() == NULL: anonymous memory (pins are taken on user memory).
constexpr bool IsAnon(PageKind k) { return k == PageKind::kAnon || k == PageKind::kPinned; }

// Pages of each kind to hold (order-0 pages), indexed by PageKind.
struct StateMix {
  std::array<uint64_t, kPageKinds> pages{};
  uint64_t total() const;
};

// The node's use of memory in /proc/zoneinfo ("per-node stats"), scaled to
// `zone_pages`: anon = nr_anon_pages, dirty = nr_dirty, writeback =
// nr_writeback, clean page cache = nr_file_pages - dirty - writeback -
// nr_shmem (shmem is anonymous-like, counted as anon), reclaimable slab =
// nr_slab_reclaimable, kernel = nr_slab_unreclaimable + nr_page_table_pages
// + nr_kernel_stack (in pages: KiB / 4); each over the node's managed pages.
// InvalidArgument if a statistic is missing.
StatusOr<StateMix> MixFromZoneInfo(const memtrace::ZoneInfo& zi, uint64_t zone_pages);

struct PopulateOptions {
  uint64_t seed = 1;
  // Pages allocated and freed again per page finally held, spread through
  // the fill: ages the free lists as a running system's are (0 = a clean
  // fill).
  double churn = 1.0;
  unsigned cpu = 0;  // the per-CPU lists the fill runs on
};

struct PopulateResult {
  std::array<std::vector<uint32_t>, kPageKinds> pfns;  // the pages held, per kind
  uint64_t allocations = 0;                            // including churn
  uint64_t failures = 0;                               // allocations refused by the watermark
};

// Allocates `mix` in a fresh zone (order 0, each kind with its migratetype
// and ALLOC_CMA for movable ones, against the min watermark as a process
// with reclaim would end up), marking each page's kind. FailedPrecondition
// if the mix does not fit above the min watermark.
StatusOr<PopulateResult> Populate(mm::Zone& zone, const StateMix& mix, const PopulateOptions& o);

}  // namespace kreplay::memory
