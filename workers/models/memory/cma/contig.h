// alloc_contig_range(): taking a range of pages out of a running zone by
// isolating it, emptying it (drop clean page cache, migrate the rest) and
// grabbing the freed pages, with the cost of every step on the profile's
// primitives. One call is one attempt of cma_alloc() (cma_alloc.h) and runs
// as one simulator event: its own clock starts at `now` and advances by
// the work done and the waits met (writeback); the background's events that
// fall inside it are applied after it. They could not touch the isolated
// pageblocks anyway; what they miss is a chance to change which pages the
// migration targets come from.
//
// Mirrors (6.1 unless ContigRules says otherwise):
//   mm/page_alloc.c   alloc_contig_range(), __alloc_contig_migrate_range()
//                     (the 5-tries rule), the outer_start search
//   mm/page_isolation.c  start_isolate_page_range(), isolate_single_pageblock()
//                     (5.19+), test_pages_isolated(), undo_isolate_page_range()
//                     (via mm::Zone)
//   mm/compaction.c   isolate_migratepages_range() (COMPACT_CLUSTER_MAX = 32
//                     pages per batch; an anonymous page with an extra
//                     reference is skipped), isolate_freepages_range()
//   mm/vmscan.c       reclaim_clean_pages_from_list() (clean page cache
//                     dropped, mapped or not; a page with an extra
//                     reference stays)
//   mm/migrate.c      migrate_pages() in MIGRATE_SYNC: up to 10 passes,
//                     -EAGAIN on an extra reference (unmapped, then
//                     remapped), waiting for writeback, new page from
//                     alloc_migration_target() (GFP_USER | __GFP_MOVABLE:
//                     ALLOC_CMA, so targets may be CMA pages outside the
//                     isolated range); -ENOMEM ends the call
//   mm/swap.c         lru_cache_disable() (5.13+: an expedited RCU grace
//                     period, then lru_add_drain_all() on every CPU);
//                     before, one lru_add_drain_all()
//
// Costs (ns, from the MemProfile; ContigCosts::FromProfile says how each
// derived one is made):
//   per pageblock isolated: isolate_pageblock
//   per PFN scanned (isolate_migratepages, test_pages_isolated,
//     isolate_freepages_range): one pass over its struct page, half of
//     isolate_pageblock's two passes per page
//   drain_all_pages(), lru_add_drain_all(), expedited RCU: one cross-CPU
//     call's latency (ipi) on the clock, ipi x (cpus - 1) of CPU time
//   a page dropped: drop_clean_page (+ unmap and flush if mapped)
//   a page migrated: alloc_page + (if mapped: unmap_pte + flush + map_pte)
//     + copy_page_cold per 4 KiB; a failed try (-EAGAIN): alloc_page +
//     unmap + flush + map (the copy comes after the refcount check)
//   a flush: tlb_flush_local, plus tlb_remote per other CPU (IPI
//     architectures) or once (broadcast TLBI)
//
// Simplified, and why:
//   - Isolation covers whole pageblocks (5.19+, splitting a free page that
//     straddles an end as isolate_single_pageblock() does) or whole
//     MAX_ORDER blocks (before); the unaligned head and tail of a range
//     inside them are not migrated, as in the kernel.
//   - isolate_migratepages_block()'s LRU locking and per-page list moves are
//     folded into the per-PFN pass; hugetlb, THP splitting and non-LRU
//     movable pages (zsmalloc, balloon) are not met: the background's
//     movable pages are order-0 LRU pages.
//   - Dirty page cache migrates with its dirty bit (buffer_migrate_folio(),
//     as ext4 and f2fs do); writeout-before-migrate
//     (fallback_migrate_folio()) is not modelled.
#pragma once

#include <cstdint>

#include "services/sim/time.h"
#include "workers/models/memory/mm/zone.h"
#include "workers/models/memory/profiles/mem_profile.h"
#include "workers/models/memory/state/page_users.h"

namespace kreplay::memory {

// Release-dependent steps of alloc_contig_range().
struct ContigRules {
  bool pageblock_granule = true;  // 5.19+: isolation by pageblock (else MAX_ORDER_NR_PAGES)
  bool lru_cache_disable = true;  // 5.13+: lru_cache_disable() instead of lru_add_drain_all()
  static ContigRules For(const mm::MmRules& r);
};

struct ContigCosts {
  sim::Duration isolate_pageblock = 0;
  sim::Duration scan_pfn = 0;     // one pass over one struct page
  sim::Duration cross_cpu = 0;    // latency of running work on every other CPU and waiting
  sim::Duration cross_cpu_cpu = 0;// CPU time of the same (ipi x (cpus - 1))
  sim::Duration alloc_page = 0;
  sim::Duration unmap_pte = 0;
  sim::Duration map_pte = 0;
  sim::Duration copy_page = 0;    // copy_page_cold: a CMA range's pages are not cached
  sim::Duration drop_clean_page = 0;
  sim::Duration tlb_local = 0;
  sim::Duration tlb_remote = 0;
  TlbFlush tlb = TlbFlush::kIpi;
  unsigned cpus = 1;

  static ContigCosts FromProfile(const MemProfile& p);
  // ptep_clear_flush() of one page whose mm ran on `mapped_cpus` CPUs: a
  // local flush plus min(mapped_cpus, cpus - 1) remote CPUs (the allocator
  // is taken to run on a CPU the mm is not using while one is left).
  sim::Duration Flush(unsigned mapped_cpus) const;
};

// Why an attempt failed.
enum class ContigFailure : uint8_t {
  kNone = 0,
  kUnmovable,  // start_isolate_page_range(): has_unmovable_pages() (-EBUSY)
  kPinned,     // test_pages_isolated(): a page stayed behind, held by a reference (-EBUSY)
  kBusy,       // test_pages_isolated()/isolate_freepages_range() failed otherwise (-EBUSY)
  kNoMemory,   // migrate_pages(): no target page even after direct reclaim (-ENOMEM)
  kInterrupted,// fatal_signal_pending(): the caller gave up (-EINTR)
};
const char* ContigFailureName(ContigFailure f);

// Accumulated over attempts.
struct ContigStats {
  uint64_t attempts = 0;
  uint64_t pageblocks_isolated = 0;
  uint64_t pages_migrated = 0;
  uint64_t pages_dropped = 0;
  uint64_t pages_waited_writeback = 0;  // migrated after waiting for their writeback
  uint64_t migrate_retries = 0;         // -EAGAIN tries
  uint64_t pages_skipped_pinned = 0;    // anonymous pages isolate_migratepages_block() skipped
  uint64_t bytes_copied = 0;
  uint64_t direct_reclaims = 0;         // for migration targets
  sim::Duration cpu_ns = 0;             // the allocator's CPU time, remote CPUs' drain work included
  sim::Duration writeback_wait_ns = 0;
};

struct ContigRequest {
  uint32_t start = 0;  // [start, end) PFNs
  uint32_t end = 0;
  mm::MigrateType migratetype = mm::MigrateType::kCma;  // of the range's pageblocks (MIGRATE_CMA from cma_alloc())
  unsigned cpu = 0;                                     // the CPU the caller runs on
  sim::Time deadline = sim::kTimeMax;                   // the caller is killed at this time (-EINTR)
};

struct ContigOutcome {
  ContigFailure failure = ContigFailure::kNone;
  sim::Time end = 0;        // the attempt's clock when it returned
  uint32_t failed_pfn = 0;  // the first page in the way, when failure is not kNone
};

// Everything an attempt works on; the caller owns it all.
struct ContigEnv {
  mm::Zone* zone = nullptr;
  PageUsers* users = nullptr;
  ContigCosts costs;
  ContigRules rules;
};

// alloc_contig_range(req.start, req.end, req.migratetype) at `now`. On
// success the pages of the range are allocated order-0 pages (kind 0) the
// caller frees with mm::Zone::FreeContigRange(). REQUIRES: env complete,
// start < end <= zone pages.
ContigOutcome AllocContigRange(const ContigEnv& env, const ContigRequest& req, sim::Time now, ContigStats* stats);

// The isolation granule in pages: a pageblock from 5.19, else
// MAX_ORDER_NR_PAGES (at least a pageblock). Also CMA areas' alignment
// (CMA_MIN_ALIGNMENT_PAGES).
uint32_t IsolationGranule(unsigned pageblock_order, unsigned max_order, const ContigRules& rules);
uint32_t IsolationGranule(const mm::Zone& zone, const ContigRules& rules);

}  // namespace kreplay::memory
