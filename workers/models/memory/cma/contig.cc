#include "workers/models/memory/cma/contig.h"

#include <algorithm>
#include <vector>

#include "workers/models/memory/cma/migrate.h"
#include "workers/models/memory/state/page_state.h"

namespace kreplay::memory {
namespace {

using mm::MigrateType;
using mm::PageUse;

using mm::kCompactClusterMax;
constexpr int kContigTries = 5;              // __alloc_contig_migrate_range(): ++tries == 5
using mm::kMaxReclaimRetries;  // __GFP_RETRY_MAYFAIL keeps going while it progresses


}  // namespace

ContigRules ContigRules::For(const mm::MmRules& r) { return {r.AtLeast(5, 19), r.AtLeast(5, 13)}; }

ContigCosts ContigCosts::FromProfile(const MemProfile& p) {
  ContigCosts c;
  c.cpus = static_cast<unsigned>(std::max(1, p.cpus));
  c.isolate_pageblock = p.costs.isolate_pageblock;
  // The profile's isolate_pageblock is two passes over a pageblock's struct
  // pages; one pass over one page is the per-PFN scan.
  c.scan_pfn = std::max<sim::Duration>(1, p.costs.isolate_pageblock / (2 * static_cast<int64_t>(p.pageblock_pages())));
  c.cross_cpu = c.cpus > 1 ? p.costs.ipi : 0;
  c.cross_cpu_cpu = p.costs.ipi * static_cast<int64_t>(c.cpus - 1);
  c.alloc_page = p.costs.alloc_page;
  c.unmap_pte = p.costs.unmap_pte;
  c.map_pte = p.costs.map_pte;
  c.copy_page = p.costs.copy_page_cold;
  c.drop_clean_page = p.costs.drop_clean_page;
  c.tlb_local = p.costs.tlb_flush_local;
  c.tlb_remote = p.costs.tlb_remote;
  c.tlb = p.tlb;
  return c;
}

sim::Duration ContigCosts::Flush(unsigned mapped_cpus) const {
  if (mapped_cpus == 0) return 0;
  const unsigned others = std::min(mapped_cpus, cpus - 1);
  if (others == 0) return tlb_local;
  return tlb_local + (tlb == TlbFlush::kIpi ? tlb_remote * static_cast<int64_t>(others) : tlb_remote);
}

const char* ContigFailureName(ContigFailure f) {
  switch (f) {
    case ContigFailure::kNone: return "none";
    case ContigFailure::kUnmovable: return "unmovable";
    case ContigFailure::kPinned: return "pinned";
    case ContigFailure::kBusy: return "busy";
    case ContigFailure::kNoMemory: return "nomem";
    case ContigFailure::kInterrupted: return "interrupted";
  }
  return "?";
}

uint32_t IsolationGranule(unsigned pageblock_order, unsigned max_order, const ContigRules& rules) {
  const uint32_t pb = 1u << pageblock_order;
  const uint32_t max_block = 1u << max_order;  // MAX_ORDER_NR_PAGES
  return rules.pageblock_granule ? pb : std::max(pb, max_block);
}

uint32_t IsolationGranule(const mm::Zone& zone, const ContigRules& rules) {
  return IsolationGranule(zone.config().pageblock_order, zone.config().max_order, rules);
}

namespace {

// One alloc_contig_range() call; the clock and CPU time are its members so
// the steps read as the kernel's.
class Attempt {
 public:
  Attempt(const ContigEnv& env, const ContigRequest& req, sim::Time now, ContigStats* stats)
      : z_(*env.zone), u_(*env.users), c_(env.costs), rules_(env.rules), req_(req), clock_{now, &stats->cpu_ns}, st_(*stats) {}

  ContigOutcome Run() {
    ++st_.attempts;
    const uint32_t g = IsolationGranule(z_, rules_);
    iso_start_ = req_.start / g * g;
    iso_end_ = static_cast<uint32_t>((uint64_t{req_.end} + g - 1) / g * g);
    KREPLAY_CHECK(req_.start < req_.end && iso_end_ <= z_.nr_pages(), "contig range outside the zone");

    if (auto pfn = StartIsolatePageRange()) return Finish(ContigFailure::kUnmovable, *pfn, false);
    if (rules_.lru_cache_disable) {
      DrainAllPages();
      CrossCpu();  // lru_cache_disable(): synchronize_rcu_expedited()
      CrossCpu();  // __lru_add_drain_all(true)
      u_.DrainLruBatches(clock_.t);
    } else {
      CrossCpu();  // migrate_prep(): lru_add_drain_all()
      u_.DrainLruBatches(clock_.t);
    }
    const ContigFailure migrate = MigrateRange();
    if (migrate == ContigFailure::kNoMemory || migrate == ContigFailure::kInterrupted)
      return Finish(migrate, req_.start, true);
    if (!rules_.lru_cache_disable) {
      CrossCpu();  // lru_add_drain_all()
      u_.DrainLruBatches(clock_.t);
      DrainAllPages();
    }
    // -EBUSY from the migration is forgotten: test_pages_isolated() decides.
    const uint32_t outer_start = OuterStart();
    Work(c_.scan_pfn * (req_.end - outer_start));
    if (!z_.TestPagesIsolated(outer_start, req_.end)) {
      const uint32_t in_way = FirstBusyPfn(outer_start);
      return Finish(HeldByReference(in_way) ? ContigFailure::kPinned : ContigFailure::kBusy, in_way, true);
    }
    Work(c_.scan_pfn * (req_.end - outer_start));
    const std::optional<uint32_t> outer_end = z_.IsolateFreepagesRange(outer_start, req_.end);
    if (!outer_end) return Finish(ContigFailure::kBusy, outer_start, true);
    // Free head and tail (if any).
    if (req_.start != outer_start) z_.FreeContigRange(outer_start, req_.start - outer_start, req_.cpu);
    if (req_.end != *outer_end) z_.FreeContigRange(req_.end, *outer_end - req_.end, req_.cpu);
    return Finish(ContigFailure::kNone, 0, true);
  }

 private:
  void Work(sim::Duration d) { clock_.Work(d); }
  void CrossCpu() { CrossCpuRound(c_, clock_); }
  void DrainAllPages() {
    CrossCpu();
    z_.DrainAllPages();
  }

  // start_isolate_page_range(): the first PFN in the way, or nullopt. From
  // 5.19 the range is whole pageblocks and isolate_single_pageblock()
  // splits a free page that straddles either end, so that only the
  // isolated part leaves the free lists.
  std::optional<uint32_t> StartIsolatePageRange() {
    const uint32_t pb = z_.pageblock_nr_pages();
    for (uint32_t p = iso_start_; p < iso_end_; p += pb) {
      Work(c_.isolate_pageblock);
      if (!z_.SetMigratetypeIsolate(p, req_.migratetype)) {
        const uint32_t in_way = z_.HasUnmovablePages(p, req_.migratetype).value_or(p);
        z_.UndoIsolatePageRange(iso_start_, p, req_.migratetype);
        return in_way;
      }
      ++st_.pageblocks_isolated;
    }
    if (rules_.pageblock_granule) {
      SplitStraddling(iso_start_, iso_start_);
      SplitStraddling(iso_end_, iso_end_ - pb);
    }
    return std::nullopt;
  }

  // isolate_single_pageblock()'s scan: from the MAX_ORDER-aligned start
  // below the boundary's pageblock, a free page crossing `boundary` is
  // split there (split_free_page()).
  void SplitStraddling(uint32_t boundary, uint32_t block) {
    if (boundary == 0 || boundary >= z_.nr_pages()) return;
    const uint32_t max_block = 1u << z_.config().max_order;
    for (uint32_t p = block / max_block * max_block; p < boundary;) {
      Work(c_.scan_pfn);
      const mm::PageView v = z_.Page(p);
      if (v.use == PageUse::kBuddy) {
        if (p + (1u << v.order) > boundary) {
          z_.SplitFreePage(p, v.order, boundary - p);
          continue;  // look at the first piece again
        }
        p += 1u << v.order;
      } else if (v.use == PageUse::kAllocated) {
        p += 1u << v.order;
      } else {
        ++p;
      }
    }
  }

  PageKind Kind(uint32_t pfn) const { return static_cast<PageKind>(z_.Page(pfn).kind); }
  bool HeldByReference(uint32_t pfn) const { return OnLru(Kind(pfn)) && u_.RefHeldUntil(pfn, clock_.t) > clock_.t; }

  // isolate_migratepages_range(): up to COMPACT_CLUSTER_MAX pages from pfn_.
  void IsolateMigratepages() {
    unsigned taken = 0;
    while (pfn_ < req_.end && taken < kCompactClusterMax) {
      Work(c_.scan_pfn);
      const mm::PageView v = z_.Page(pfn_);
      if (v.use == PageUse::kBuddy) {  // a free block is stepped over whole
        pfn_ += 1u << v.order;
        continue;
      }
      if (v.use != PageUse::kAllocated) {  // a tail or a per-CPU page: not on an LRU
        ++pfn_;
        continue;
      }
      const uint32_t n = 1u << v.order;
      const PageKind k = static_cast<PageKind>(v.kind);
      if (v.migratetype == MigrateType::kMovable && OnLru(k)) {
        if (IsAnon(k) && u_.RefHeldUntil(pfn_, clock_.t) > clock_.t) {
          ++st_.pages_skipped_pinned;  // page_count() > page_mapcount(): isolate_fail
        } else {
          list_.push_back(pfn_);
          taken += n;
        }
      }
      pfn_ += n;
    }
  }

  // reclaim_clean_pages_from_list(): clean page cache without an extra
  // reference is dropped (unmapped first if mapped: may_unmap).
  void ReclaimCleanPages() {
    size_t kept = 0;
    for (uint32_t p : list_) {
      if (Kind(p) == PageKind::kFileClean && u_.RefHeldUntil(p, clock_.t) <= clock_.t) {
        const unsigned mapped = u_.MappedCpus(p);
        Work(c_.drop_clean_page + (mapped ? c_.unmap_pte + c_.Flush(mapped) : 0));
        u_.Dropped(p, clock_.t);
        const unsigned order = z_.Page(p).order;
        z_.FreePages(p, order, req_.cpu);
        st_.pages_dropped += 1u << order;
      } else {
        list_[kept++] = p;
      }
    }
    list_.resize(kept);
  }

  // alloc_migration_target(): the low mark, then min, then direct reclaim
  // while it makes progress (__GFP_RETRY_MAYFAIL); nullopt: -ENOMEM.
  class Targets final : public MigrationTargets {
   public:
    explicit Targets(Attempt& a) : a_(a) {}
    std::optional<uint32_t> NewPage(unsigned order, OpClock& clock) override {
      mm::Zone& z = a_.z_;
      const uint32_t flags = mm::AllocFlagsCma(MigrateType::kMovable, 0);
      const unsigned cpu = a_.req_.cpu;
      if (auto p = z.GetPageFromFreelist(order, MigrateType::kMovable, flags | mm::alloc::kWmarkLow, cpu)) return p;
      for (int i = 0;; ++i) {
        if (auto p = z.GetPageFromFreelist(order, MigrateType::kMovable, flags | mm::alloc::kWmarkMin, cpu)) return p;
        if (i == kMaxReclaimRetries) return std::nullopt;
        const ReclaimOutcome r = a_.u_.DirectReclaim(kCompactClusterMax, clock.t);
        ++a_.st_.direct_reclaims;
        clock.Work(r.cpu_ns);
        if (r.freed == 0) return std::nullopt;
      }
    }
    void PutNewPage(uint32_t pfn, unsigned order) override { a_.z_.FreePages(pfn, order, a_.req_.cpu); }

   private:
    Attempt& a_;
  };

  // migrate_pages(MIGRATE_SYNC, MR_CONTIG_RANGE) over list_. false on -ENOMEM.
  bool MigratePages() {
    Targets targets(*this);
    MigrateCounters n;
    const bool ok = memory::MigratePages(z_, u_, c_, targets, MigrateMode::kSync, req_.cpu, &list_, &clock_, &n);
    st_.pages_migrated += n.migrated;
    st_.migrate_retries += n.retries;
    st_.pages_waited_writeback += n.waited_writeback;
    st_.bytes_copied += n.bytes_copied;
    st_.writeback_wait_ns += n.writeback_wait_ns;
    return ok;
  }

  // __alloc_contig_migrate_range().
  ContigFailure MigrateRange() {
    pfn_ = req_.start;
    int tries = 0;
    while (pfn_ < req_.end || !list_.empty()) {
      if (clock_.t >= req_.deadline) return ContigFailure::kInterrupted;  // fatal_signal_pending()
      if (list_.empty()) {
        IsolateMigratepages();
        tries = 0;
      } else if (++tries == kContigTries) {
        return ContigFailure::kBusy;  // putback_movable_pages(): the pages stay where they are
      }
      ReclaimCleanPages();
      if (!MigratePages()) return ContigFailure::kNoMemory;
    }
    return ContigFailure::kNone;
  }

  // The head of the free block holding req_.start, if it starts before it.
  uint32_t OuterStart() const {
    const unsigned max_order = z_.config().max_order;
    uint32_t outer = req_.start;
    unsigned order = 0;
    while (z_.Page(outer).use != PageUse::kBuddy) {
      if (++order > max_order) return req_.start;
      outer &= ~0u << order;
    }
    if (outer != req_.start && outer + (1u << z_.Page(outer).order) <= req_.start) return req_.start;
    return outer;
  }

  uint32_t FirstBusyPfn(uint32_t from) const {
    for (uint32_t p = from; p < req_.end;) {
      const mm::PageView v = z_.Page(p);
      if (v.use == PageUse::kBuddy) {
        p += 1u << v.order;
        continue;
      }
      return v.use == PageUse::kTail ? z_.BlockHead(p) : p;
    }
    return from;
  }

  ContigOutcome Finish(ContigFailure f, uint32_t pfn, bool isolated) {
    if (isolated) z_.UndoIsolatePageRange(iso_start_, iso_end_, req_.migratetype);
    list_.clear();  // putback_movable_pages(): back on the LRU, where they were
    return ContigOutcome{f, clock_.t, f == ContigFailure::kNone ? 0 : pfn};
  }

  mm::Zone& z_;
  PageUsers& u_;
  const ContigCosts& c_;
  const ContigRules& rules_;
  const ContigRequest& req_;
  OpClock clock_;  // the attempt's clock; its CPU time goes to st_.cpu_ns
  ContigStats& st_;
  uint32_t iso_start_ = 0;
  uint32_t iso_end_ = 0;
  uint32_t pfn_ = 0;
  std::vector<uint32_t> list_;  // cc->migratepages
};

}  // namespace

ContigOutcome AllocContigRange(const ContigEnv& env, const ContigRequest& req, sim::Time now, ContigStats* stats) {
  KREPLAY_CHECK(env.zone && env.users && stats, "AllocContigRange needs a zone, users and stats");
  return Attempt(env, req, now, stats).Run();
}

}  // namespace kreplay::memory
