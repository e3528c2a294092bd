#include "workers/models/memory/cma/migrate.h"

#include "workers/models/memory/state/page_state.h"

namespace kreplay::memory {

namespace {
constexpr int kMigratePasses = 10;  // migrate_pages(): pass < 10
}

bool MigratePages(mm::Zone& zone, PageUsers& users, const ContigCosts& costs, MigrationTargets& targets,
                  MigrateMode mode, unsigned cpu, std::vector<uint32_t>* pages, OpClock* clock,
                  MigrateCounters* counters) {
  std::vector<uint32_t>& list = *pages;
  std::vector<uint32_t> failed;  // -EBUSY: not retried, kept for the caller
  OpClock& c = *clock;
  MigrateCounters& n = *counters;
  bool ok = true;
  for (int pass = 0; pass < kMigratePasses && !list.empty() && ok; ++pass) {
    size_t kept = 0;
    for (size_t i = 0; i < list.size(); ++i) {
      const uint32_t p = list[i];
      if (!ok) {  // -ENOMEM: the rest stays
        list[kept++] = p;
        continue;
      }
      const unsigned order = zone.Page(p).order;
      bool waited = false;
      if (static_cast<PageKind>(zone.Page(p).kind) == PageKind::kFileWriteback) {
        if (mode != MigrateMode::kSync) {  // -EBUSY
          ++n.busy_writeback;
          failed.push_back(p);
          continue;
        }
        const sim::Time done = users.WritebackDoneAt(p);  // folio_wait_writeback()
        if (done > c.t) {
          n.writeback_wait_ns += done - c.t;
          c.t = done;
        }
        waited = true;
      }
      const std::optional<uint32_t> np = targets.NewPage(order, c);
      if (!np) {
        ok = false;
        list[kept++] = p;
        continue;
      }
      c.Work(costs.alloc_page);
      const unsigned mapped = users.MappedCpus(p);
      const sim::Duration remap = mapped ? costs.unmap_pte + costs.Flush(mapped) + costs.map_pte : 0;
      if (users.RefHeldUntil(p, c.t) > c.t) {  // folio_migrate_mapping(): -EAGAIN
        c.Work(remap);
        targets.PutNewPage(*np, order);
        ++n.retries;
        list[kept++] = p;
        continue;
      }
      c.Work(remap + costs.copy_page * (int64_t{1} << order));
      // The new page holds what the old one did: an LRU page, movable
      // whatever it was taken as (compaction's targets are isolated free
      // pages).
      zone.SetAllocatedMigratetype(*np, zone.Page(p).migratetype);
      users.Migrated(p, *np, c.t);
      zone.FreePages(p, order, cpu);
      n.migrated += 1u << order;
      n.bytes_copied += uint64_t{mm::kPageSize} << order;
      if (waited) n.waited_writeback += 1u << order;
    }
    list.resize(kept);
  }
  list.insert(list.end(), failed.begin(), failed.end());
  return ok;
}

}  // namespace kreplay::memory
