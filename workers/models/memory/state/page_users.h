// The seam between the allocator's migration and reclaim paths (cma/contig.h,
// later compaction) and whoever uses the pages (the background load,
// load/): what the kernel learns from struct page and the rmap when it
// migrates or drops a page, and what it tells the page's owner afterwards.
// The allocator never knows how the background is built; the background
// never knows which allocator moved its pages.
//
// Time: the allocator calls these from inside one attempt whose own clock
// runs ahead of the simulator's (an attempt is one event); `now` arguments
// are that clock.
#pragma once

#include <cstdint>

#include "services/sim/time.h"

namespace kreplay::memory {

struct ReclaimOutcome {
  uint64_t freed = 0;       // pages returned to the buddy allocator
  sim::Duration cpu_ns = 0; // time the reclaiming task spent
};

class PageUsers {
 public:
  virtual ~PageUsers() = default;

  // Until when something migration cannot account for holds a reference to
  // the page: a get_user_pages() pin, in-flight direct IO, a reference taken
  // by another task. Migration sees it as folio_migrate_mapping()'s refcount
  // mismatch (-EAGAIN), or, for an anonymous page, isolate_migratepages_block()
  // skips it (page_count() > page_mapcount()). sim::kTimeMax while held
  // indefinitely; a time <= now when there is none.
  virtual sim::Time RefHeldUntil(uint32_t pfn, sim::Time now) const = 0;

  // For a PageKind::kFileWriteback page: when the device finishes writing it
  // back (folio_wait_writeback() returns in MIGRATE_SYNC).
  virtual sim::Time WritebackDoneAt(uint32_t pfn) const = 0;

  // How many CPUs' TLBs may cache a mapping of the page (the weight of the
  // owning mm's cpumask); 0 for a page-cache page no process maps.
  virtual unsigned MappedCpus(uint32_t pfn) const = 0;

  // lru_add_drain_all() (lru_cache_disable() from 5.13): references held by
  // per-CPU LRU batches are dropped.
  virtual void DrainLruBatches(sim::Time now) = 0;

  // migrate_pages() moved the page's content to new_pfn (allocated by the
  // caller). The user moves its record and sets the kind and aux of new_pfn
  // (mm::Zone::SetKind/SetAux); the caller then frees old_pfn. Records must
  // follow the page: a later event (writeback completion, unpin, free) finds
  // it at new_pfn.
  virtual void Migrated(uint32_t old_pfn, uint32_t new_pfn, sim::Time now) = 0;

  // reclaim_clean_pages_from_list() dropped a clean page-cache page; the
  // caller then frees it. The user forgets it: its next access refaults.
  virtual void Dropped(uint32_t pfn, sim::Time now) = 0;

  // Direct reclaim (try_to_free_pages()) on behalf of an allocation that
  // found no free page: frees up to `nr` pages.
  virtual ReclaimOutcome DirectReclaim(uint64_t nr, sim::Time now) = 0;
};

}  // namespace kreplay::memory
