// Direct compaction and the high-order allocation path: what the `buddy`
// model of the memory family runs when a driver asks alloc_pages() for a
// high-order block instead of taking it from a CMA reservation. One call of
// AllocPagesHighOrder() is one allocation and runs as one simulator event
// on its own clock (as AllocContigRange() does, cma/contig.h): the fast
// path, then the slow path's direct compaction, direct reclaim and retries,
// each step costed on the profile's primitives.
//
// Mirrors (6.1):
//   mm/compaction.c  compact_zone(), compact_zone_order(),
//                    try_to_compact_pages() (with defer_compaction(),
//                    compaction_deferred(), compaction_defer_reset()),
//                    compaction_suitable() / __compaction_suitable()
//                    (compact_gap(order) = 2 << order above the min mark, or
//                    the low mark for costly orders; fragmentation_index()
//                    against sysctl_extfrag_threshold 500 for costly orders),
//                    compaction_zonelist_suitable(), __compact_finished()
//                    (find_suitable_fallback(only_stealable)),
//                    isolate_migratepages() + suitable_migration_source() +
//                    isolate_migratepages_block() (COMPACT_CLUSTER_MAX 32,
//                    cc->rescan, async skip_on_failure per cc->order block,
//                    ISOLATE_ASYNC_MIGRATE: writeback pages are not taken in
//                    MIGRATE_ASYNC nor MIGRATE_SYNC_LIGHT, pinned anonymous
//                    pages (page_count > mapcount) are not taken),
//                    isolate_freepages() + suitable_migration_target() +
//                    isolate_freepages_block() (async stride), split_map_pages();
//                    targets come from MOVABLE and CMA pageblocks for every
//                    request (is_migrate_movable(): the pages moved are
//                    movable, so 6.1 does not ask whether the request itself
//                    may use CMA), never from a pageblock starting with a free
//                    block of >= pageblock_order,
//                    compaction_alloc() / compaction_free(), release_freepages()
//   mm/migrate.c     migrate_pages() through cma/migrate.h
//   mm/page_alloc.c  __alloc_pages() fast path (ALLOC_WMARK_LOW),
//                    __alloc_pages_slowpath(), __alloc_pages_direct_compact(),
//                    __alloc_pages_direct_reclaim() (drain_all_pages() after a
//                    failed attempt), should_reclaim_retry(),
//                    should_compact_retry() with compaction_made_progress() /
//                    _failed() / _needs_reclaim() / _withdrawn(),
//                    MAX_COMPACT_RETRIES 16, MAX_RECLAIM_RETRIES 16,
//                    alloc_contig_pages() with pfn_range_valid_contig()
//
// Which migratetype a driver's buffer has: dma_alloc_pages() /
// dma_alloc_coherent() without a CMA area end in alloc_pages(GFP_KERNEL...),
// and gfp_migratetype(GFP_KERNEL) is MIGRATE_UNMOVABLE. So the default
// request is UNMOVABLE without ALLOC_CMA: free CMA pages do not count
// towards its watermarks, async compaction only scans UNMOVABLE pageblocks
// for it (suitable_migration_source()), and the allocation itself may steal
// a MOVABLE pageblock (__rmqueue_fallback(), done by mm::Zone).
//
// Simplified, and why:
//   - No pageblock skip bits, no cached scanner positions, and no
//     fast_find_migrateblock() / fast_isolate_freepages() (the free-list
//     searches): every run scans linearly from the zone start and the zone
//     end, as a run after reset_cached_positions() with whole_zone set does.
//     Meeting scanners therefore give COMPACT_COMPLETE, never
//     COMPACT_PARTIAL_SKIPPED. fast_find_migrateblock() is a no-op anyway for
//     orders <= 3 and for direct non-movable requests (the driver's case).
//   - No compaction capture (mm::Zone has none): the freed block is found by
//     get_page_from_freelist() after compaction.
//   - No kswapd, no kcompactd, no OOM killer: the slow path does not wake
//     them; where the kernel would call the OOM killer (orders <= 3 without
//     __GFP_NORETRY / __GFP_RETRY_MAYFAIL) the allocation fails with
//     kOomKill. No ALLOC_NOFRAGMENT (it needs a ZONE_DMA32 below the zone),
//     no unreserve_highatomic_pageblock(), no __GFP_NOFAIL.
//   - zone_reclaimable_pages() counts the zone's LRU pages (page cache and
//     anonymous, as with swap or zram); the PageUsers seam does not say more.
//   - Direct reclaim asks PageUsers::DirectReclaim() for
//     max(SWAP_CLUSTER_MAX, 1 << order) pages; should_continue_reclaim()'s
//     reclaim-for-compaction loop is folded into that request.
//   - A page's "PageLRU" is its kind (state/page_state.h): anonymous and
//     page-cache pages are on an LRU, others (kernel, slab, the driver's
//     own blocks) are not and fail isolation. An allocated block of order > 0
//     is not compound (dma buffers are not __GFP_COMP), so both scanners
//     step through it page by page. Pages on per-CPU lists are neither
//     PageBuddy nor PageLRU and fail isolation, as in the kernel.
//   - compact_zone()'s local lru_add_drain() is not modelled (the PageUsers
//     seam drains every CPU's batches at once); lru_add_drain_cpu_zone() is
//     the local per-CPU page drain.
//   - last_migrated_pfn uses a sentinel, not 0, for "none": the model's zone
//     starts at PFN 0, which no kernel zone does.
//   - alloc_contig_pages(): one zone, no reserved or hugetlb pages, so
//     pfn_range_valid_contig() passes every candidate; a candidate whose
//     isolation granule (cma/contig.h) would cross the zone end is skipped
//     (kernel zones end MAX_ORDER aligned).
//
// Costs (ns, ContigCosts): every PFN either scanner visits (the kernel's
// compact_migrate_scanned / compact_free_scanned steps): scan_pfn; a free
// block taken by the free scanner and each page release_freepages() frees:
// alloc_page; migration: MigratePages() (alloc_page, unmap, flush, map, copy
// per page); each get_page_from_freelist(): alloc_page; direct reclaim: what
// PageUsers reports; drain_all_pages(): the cross-CPU round trip;
// pfn_range_valid_contig(): scan_pfn per PFN; alloc_contig_range(): its own.
//
// Thread-safety: none; everything belongs to one simulation.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "services/sim/time.h"
#include "workers/models/memory/cma/contig.h"
#include "workers/models/memory/mm/zone.h"

namespace kreplay::memory {

inline constexpr int kExtfragThreshold = 500;  // sysctl_extfrag_threshold
inline constexpr int kMaxCompactRetries = 16;  // MAX_COMPACT_RETRIES

// enum compact_priority: lower is harder. Direct compaction runs
// MIGRATE_ASYNC at kAsync and MIGRATE_SYNC_LIGHT otherwise; kSyncFull adds
// whole_zone and ignore_block_suitable (any pageblock holds targets).
enum class CompactPriority : uint8_t { kSyncFull = 0, kSyncLight = 1, kAsync = 2 };

// enum compact_result, in the kernel's order.
enum class CompactResult : uint8_t {
  kNotSuitableZone,
  kSkipped,
  kDeferred,
  kNoSuitablePage,
  kContinue,
  kComplete,
  kPartialSkipped,
  kContended,
  kSuccess,
};
inline constexpr int kCompactResults = 9;
const char* CompactResultName(CompactResult r);

// The zone's deferral state (struct zone: compact_considered,
// compact_defer_shift, compact_order_failed); the caller keeps one per zone
// across allocations.
struct CompactDefer {
  unsigned considered = 0;
  unsigned defer_shift = 0;
  int order_failed = 0;
};

// Counters, named as /proc/vmstat names them where it has them.
struct CompactionStats {
  uint64_t compact_stall = 0;            // direct compactions not skipped
  uint64_t compact_fail = 0;             // ... after which the allocation failed
  uint64_t compact_success = 0;          // ... after which it succeeded
  uint64_t compact_migrate_scanned = 0;
  uint64_t compact_free_scanned = 0;
  uint64_t compact_isolated = 0;         // pages isolated by either scanner
  uint64_t pgmigrate_success = 0;
  uint64_t pgmigrate_fail = 0;           // pages put back after migrate_pages()
  uint64_t allocstall = 0;               // direct reclaim entries
  uint64_t pages_reclaimed = 0;
  // The model's own.
  uint64_t compact_runs = 0;             // compact_zone() calls
  std::array<uint64_t, kCompactResults> results{};  // per CompactResult of try_to_compact_pages()
  uint64_t contig_candidates = 0;        // alloc_contig_pages() ranges tried
  ContigStats contig;                    // their alloc_contig_range() attempts
  sim::Duration cpu_ns = 0;              // the allocating task's CPU time (contig's is in `contig`)
};

// fragmentation_index() (mm/vmstat.c): -1000 if a free block of `order`
// exists, 0 if nothing is free, else 1000 - (1000 + free*1000/2^order) /
// free_blocks: towards 0 lack of memory, towards 1000 fragmentation.
int FragmentationIndex(const mm::Zone& zone, unsigned order);

// compaction_suitable(): kSuccess (the watermark for `order` is met already),
// kSkipped (too few order-0 pages above the mark + compact_gap, or for a
// costly order a fragmentation index in [0, 500]), or kContinue.
CompactResult CompactionSuitable(const mm::Zone& zone, unsigned order, uint32_t alloc_flags);

struct CompactRequest {
  unsigned order = 0;  // > 0
  mm::MigrateType migratetype = mm::MigrateType::kUnmovable;  // gfp_migratetype()
  CompactPriority priority = CompactPriority::kAsync;
  uint32_t alloc_flags = mm::alloc::kWmarkMin;  // the allocation's (watermark bits, ALLOC_CMA)
  unsigned cpu = 0;
};

struct CompactOutcome {
  CompactResult result = CompactResult::kSkipped;
  sim::Time end = 0;
};

// compact_zone_order(): one compact_zone() run at `now`. No deferral (that
// is try_to_compact_pages()'s). Leaves no page isolated. REQUIRES: env
// complete, 0 < order <= max_order, migratetype UNMOVABLE/MOVABLE/RECLAIMABLE.
CompactOutcome CompactZoneOrder(const ContigEnv& env, const CompactRequest& req, sim::Time now,
                                CompactionStats* stats);

// The caller's retry policy: __GFP_NORETRY, __GFP_RETRY_MAYFAIL or neither
// (on top of GFP_KERNEL: direct reclaim, IO and FS allowed).
enum class GfpRetry : uint8_t { kDefault, kNoRetry, kRetryMayFail };

struct HighOrderRequest {
  uint64_t pages = 0;  // get_order(pages) <= max_order: the buddy path, else alloc_contig_pages(pages)
  mm::MigrateType migratetype = mm::MigrateType::kUnmovable;  // GFP_KERNEL (see the header comment)
  GfpRetry retry = GfpRetry::kDefault;
  unsigned cpu = 0;
};

enum class HighOrderFailure : uint8_t {
  kNone = 0,
  kNoPage,         // the slow path gave up (nopage) after compaction and reclaim
  kOomKill,        // the kernel would call the OOM killer and retry (not modelled)
  kNoContigRange,  // alloc_contig_pages(): every candidate range failed
};
const char* HighOrderFailureName(HighOrderFailure f);

struct HighOrderOutcome {
  std::optional<uint32_t> pfn;  // the first page, when it succeeded
  unsigned order = 0;           // buddy path: the block's order
  uint64_t nr_pages = 0;        // pages handed out (2^order, or the contig count)
  bool contig = false;          // from alloc_contig_pages()
  HighOrderFailure failure = HighOrderFailure::kNone;
  CompactResult last_compact = CompactResult::kSkipped;  // of the last direct compaction, if any
  sim::Time end = 0;
};

// __alloc_pages() for req at `now` (or alloc_contig_pages() above
// max_order). On success the block is allocated with req.migratetype (kind
// 0); free it with FreeHighOrder(). REQUIRES: env complete, pages > 0,
// migratetype UNMOVABLE/MOVABLE/RECLAIMABLE, defer and stats non-null.
HighOrderOutcome AllocPagesHighOrder(const ContigEnv& env, const HighOrderRequest& req, sim::Time now,
                                     CompactDefer* defer, CompactionStats* stats);

// alloc_contig_pages(nr_pages): candidates from ALIGN(zone start, nr_pages)
// stepping nr_pages, each tried with alloc_contig_range(MIGRATE_MOVABLE)
// until one succeeds. REQUIRES: nr_pages > 0.
HighOrderOutcome AllocContigPages(const ContigEnv& env, uint64_t nr_pages, unsigned cpu, sim::Time now,
                                  CompactionStats* stats);

// __free_pages() of a buddy block or free_contig_range() of a contig range.
// REQUIRES: o succeeded and was not freed yet.
void FreeHighOrder(mm::Zone& zone, const HighOrderOutcome& o, unsigned cpu);

}  // namespace kreplay::memory
