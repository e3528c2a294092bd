// migrate_pages() (mm/migrate.c, 6.1) over a list of isolated pages, with
// the costs of ContigCosts: shared by alloc_contig_range() (contig.h, new
// pages from alloc_migration_target()) and compaction (new pages from the
// free scanner's list). One page at a time, up to 10 passes while some
// fail with -EAGAIN; pages that still fail stay on the list.
//
// Per page (unmap_and_move() / __unmap_and_move()):
//   - under writeback: MIGRATE_SYNC waits for it (folio_wait_writeback());
//     MIGRATE_ASYNC and MIGRATE_SYNC_LIGHT fail it with -EBUSY (not retried)
//   - a new page from the target allocator (NULL: -ENOMEM, migrate_pages()
//     bails out at once)
//   - unmap (try_to_migrate(): a PTE clear and a TLB flush where mapped)
//   - a reference the migration cannot account for: -EAGAIN, the PTEs are
//     restored and the new page handed back (put_new_page)
//   - else copy (4 KiB per page, cold) and remap; the old page is freed
// Dirty page cache migrates with its dirty bit (buffer_migrate_folio(), as
// ext4 and f2fs do), in every mode.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "services/sim/time.h"
#include "workers/models/memory/cma/contig.h"

namespace kreplay::memory {

enum class MigrateMode : uint8_t { kAsync, kSyncLight, kSync };  // enum migrate_mode

// The clock and CPU time of one operation (an attempt, a compaction run).
struct OpClock {
  sim::Time t = 0;
  sim::Duration* cpu_ns = nullptr;  // where the CPU time goes
  void Work(sim::Duration d) {
    t += d;
    *cpu_ns += d;
  }
};

// Work queued on every other CPU and waited for (drain_all_pages(),
// lru_add_drain_all(), an expedited RCU grace period): the clock pays one
// round trip, the CPU time is every other CPU's work.
inline void CrossCpuRound(const ContigCosts& costs, OpClock& clock) {
  clock.t += costs.cross_cpu;
  *clock.cpu_ns += costs.cross_cpu_cpu;
}

// Where migration gets its new pages (get_new_page / put_new_page).
class MigrationTargets {
 public:
  virtual ~MigrationTargets() = default;
  // A free page of `order` for the content of a page, or nullopt (-ENOMEM).
  // May spend time on the clock (direct reclaim).
  virtual std::optional<uint32_t> NewPage(unsigned order, OpClock& clock) = 0;
  // A page NewPage() gave that was not used (the migration failed).
  virtual void PutNewPage(uint32_t pfn, unsigned order) = 0;
};

struct MigrateCounters {
  uint64_t migrated = 0;          // pages
  uint64_t retries = 0;           // -EAGAIN tries
  uint64_t busy_writeback = 0;    // pages failed for writeback in async modes
  uint64_t waited_writeback = 0;  // pages migrated after waiting for writeback
  uint64_t bytes_copied = 0;
  sim::Duration writeback_wait_ns = 0;
};

// Migrates the pages of *pages (block heads, allocated movable LRU pages);
// the ones that could not be moved stay in *pages, in order. Returns false
// on -ENOMEM (the remaining pages stay too).
bool MigratePages(mm::Zone& zone, PageUsers& users, const ContigCosts& costs, MigrationTargets& targets,
                  MigrateMode mode, unsigned cpu, std::vector<uint32_t>* pages, OpClock* clock,
                  MigrateCounters* counters);

}  // namespace kreplay::memory
