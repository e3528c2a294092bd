#include "workers/models/memory/compaction/compaction.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "workers/models/memory/cma/migrate.h"
#include "workers/models/memory/state/page_state.h"

namespace kreplay::memory {
namespace {

using mm::MigrateType;
using mm::PageUse;

using mm::kCompactClusterMax;
using mm::kMaxReclaimRetries;
using mm::kSwapClusterMax;
constexpr unsigned kMaxDeferShift = 6;       // COMPACT_MAX_DEFER_SHIFT
constexpr uint32_t kNoPfn = 0xffffffffu;     // "none" for last_migrated_pfn (see the header)
// A slow path that loops this often means a PageUsers reports reclaim
// progress that frees nothing the allocator can use.
constexpr int kSlowpathLoopLimit = 1 << 20;

int Idx(MigrateType mt) { return static_cast<int>(mt); }


// zone_reclaimable_pages(): the zone's LRU pages (see the header).
uint64_t ZoneReclaimablePages(const mm::Zone& z) {
  uint64_t n = 0;
  for (uint32_t p = 0; p < z.nr_pages();) {
    const mm::PageView v = z.Page(p);
    if (v.use == PageUse::kTail) {
      ++p;
      continue;
    }
    if (v.use == PageUse::kAllocated && v.order == 0 && OnLru(static_cast<PageKind>(v.kind))) ++n;
    p += 1u << v.order;
  }
  return n;
}

// __compaction_suitable() with wmark_target free pages.
CompactResult CompactionSuitableFree(const mm::Zone& z, unsigned order, uint32_t alloc_flags, int64_t wmark_target) {
  const uint64_t mark = z.WmarkPages(static_cast<mm::Wmark>(alloc_flags & mm::alloc::kWmarkMask));
  if (z.ZoneWatermarkOk(order, mark, alloc_flags)) return CompactResult::kSuccess;
  uint64_t watermark = z.WmarkPages(order > mm::kPageAllocCostlyOrder ? mm::Wmark::kLow : mm::Wmark::kMin);
  watermark += uint64_t{2} << order;  // compact_gap()
  if (!z.ZoneWatermarkOk(0, watermark, mm::alloc::kCma, static_cast<long>(wmark_target))) return CompactResult::kSkipped;
  return CompactResult::kContinue;
}

// One compact_zone() run: struct compact_control, with the scanners'
// steps as methods named after the kernel's functions.
class Compactor final : public MigrationTargets {
 public:
  Compactor(const ContigEnv& env, const CompactRequest& req, sim::Time now, CompactionStats* st)
      : z_(*env.zone),
        u_(*env.users),
        c_(env.costs),
        req_(req),
        mode_(req.priority == CompactPriority::kAsync ? MigrateMode::kAsync : MigrateMode::kSyncLight),
        ignore_block_suitable_(req.priority == CompactPriority::kSyncFull),
        clock_{now, &st->cpu_ns},
        st_(*st),
        pbo_(z_.config().pageblock_order),
        pb_(z_.pageblock_nr_pages()) {}

  sim::Time now() const { return clock_.t; }

  // compact_zone().
  CompactResult Run() {
    ++st_.compact_runs;
    CompactResult ret = CompactionSuitable(z_, req_.order, req_.alloc_flags);
    if (ret == CompactResult::kSuccess || ret == CompactResult::kSkipped) return ret;

    migrate_pfn_ = 0;
    free_pfn_ = PageblockStart(z_.nr_pages() - 1);
    uint32_t last_migrated_pfn = kNoPfn;
    while ((ret = CompactFinished()) == CompactResult::kContinue) {
      const uint32_t iteration_start_pfn = migrate_pfn_;
      // Avoid multiple rescans: the first rescan takes the whole pageblock.
      rescan_ = last_migrated_pfn != kNoPfn &&
                PageblockStart(last_migrated_pfn) == PageblockStart(iteration_start_pfn);
      if (IsolateMigratepages()) {  // ISOLATE_SUCCESS
        last_migrated_pfn = iteration_start_pfn;
        const bool ok = MigrateList();
        if (!ok || !migratepages_.empty()) {
          st_.pgmigrate_fail += migratepages_.size();
          migratepages_.clear();  // putback_movable_pages(): they stay where they are
          // -ENOMEM when the scanners have met is left for compact_finished().
          if (!ok && !ScannersMet()) {
            ret = CompactResult::kContended;
            break;
          }
          // A page of the current order-aligned block failed: skip the rest.
          if (mode_ == MigrateMode::kAsync) {
            migrate_pfn_ = BlockEnd(migrate_pfn_ - 1, req_.order);
            last_migrated_pfn = kNoPfn;  // draining is useless then
          }
        }
      }
      // check_drain: the scanner left the order-aligned block it migrated
      // from; lru_add_drain_cpu_zone() lets the freed pages merge.
      if (last_migrated_pfn != kNoPfn && last_migrated_pfn < BlockStart(migrate_pfn_, req_.order)) {
        z_.DrainPages(req_.cpu);
        last_migrated_pfn = kNoPfn;
      }
    }
    ReleaseFreepages();
    return ret;
  }

  // compaction_alloc(): a page from the isolated free list, refilled by the
  // free scanner when empty.
  std::optional<uint32_t> NewPage(unsigned order, OpClock&) override {
    KREPLAY_CHECK(order == 0, "compaction migrates order-0 pages");
    if (freepages_.empty()) {
      IsolateFreepages();
      if (freepages_.empty()) return std::nullopt;
    }
    const uint32_t p = freepages_.back();
    freepages_.pop_back();
    return p;
  }
  // compaction_free(): back onto the head of the list.
  void PutNewPage(uint32_t pfn, unsigned) override { freepages_.push_back(pfn); }

 private:
  void Work(sim::Duration d) { clock_.Work(d); }
  uint32_t PageblockStart(uint32_t pfn) const { return pfn & ~(pb_ - 1); }
  uint32_t PageblockEnd(uint32_t pfn) const { return BlockEnd(pfn, pbo_); }
  static uint32_t BlockStart(uint32_t pfn, unsigned order) { return pfn & ~((1u << order) - 1); }
  static uint32_t BlockEnd(uint32_t pfn, unsigned order) {  // ALIGN(pfn + 1, 1 << order)
    return ((pfn + 1) + (1u << order) - 1) & ~((1u << order) - 1);
  }
  // compact_scanners_met().
  bool ScannersMet() const { return (free_pfn_ >> pbo_) <= (migrate_pfn_ >> pbo_); }

  // __compact_finished() (NO_SUITABLE_PAGE reported as CONTINUE, as
  // compact_finished() does).
  CompactResult CompactFinished() const {
    if (ScannersMet()) return CompactResult::kComplete;  // whole_zone (see the header)
    // Always finish scanning a pageblock.
    if (migrate_pfn_ % pb_ != 0) return CompactResult::kContinue;
    const MigrateType mt = req_.migratetype;
    for (unsigned o = req_.order; o <= z_.config().max_order; ++o) {
      if (z_.free_list_length(o, mt)) return CompactResult::kSuccess;
      if (mt == MigrateType::kMovable && z_.free_list_length(o, MigrateType::kCma)) return CompactResult::kSuccess;
      bool can_steal = false;
      if (z_.FindSuitableFallback(o, mt, true, &can_steal) != -1) {
        // Movable pages are fine in any pageblock; a non-movable steal
        // waits for the end of the current pageblock, where we are.
        return CompactResult::kSuccess;
      }
    }
    return CompactResult::kContinue;
  }

  // suitable_migration_source().
  bool SuitableMigrationSource(uint32_t block_start) const {
    if (mode_ != MigrateMode::kAsync) return true;
    const MigrateType block_mt = z_.PageblockMigratetype(block_start);
    if (req_.migratetype == MigrateType::kMovable)
      return block_mt == MigrateType::kMovable || block_mt == MigrateType::kCma;  // is_migrate_movable()
    return block_mt == req_.migratetype;
  }

  // isolate_migratepages(): the first suitable pageblock from migrate_pfn_,
  // not crossing the free scanner. true: ISOLATE_SUCCESS.
  bool IsolateMigratepages() {
    uint32_t low_pfn = migrate_pfn_;
    for (uint64_t block_end = PageblockEnd(low_pfn); block_end <= free_pfn_;
         migrate_pfn_ = low_pfn = static_cast<uint32_t>(block_end), block_end += pb_) {
      if (!SuitableMigrationSource(static_cast<uint32_t>(block_end - pb_))) continue;
      IsolateMigratepagesBlock(low_pfn, static_cast<uint32_t>(block_end));
      break;
    }
    return !migratepages_.empty();
  }

  // isolate_migratepages_block() for [low_pfn, end_pfn) in one pageblock.
  void IsolateMigratepagesBlock(uint32_t low_pfn, uint32_t end_pfn) {
    const unsigned order = req_.order;
    const bool skip_on_failure = mode_ == MigrateMode::kAsync;  // direct compaction
    uint32_t next_skip_pfn = skip_on_failure ? BlockEnd(low_pfn, order) : 0;
    uint64_t nr_scanned = 0;
    uint64_t nr_isolated = 0;
    uint64_t p = low_pfn;
    for (; p < end_pfn; ++p) {
      if (skip_on_failure && p >= next_skip_pfn) {
        // The previous order-aligned block is isolated whole: migrate it.
        if (nr_isolated) break;
        next_skip_pfn = BlockEnd(static_cast<uint32_t>(p), order);
      }
      ++nr_scanned;
      const mm::PageView v = z_.Page(static_cast<uint32_t>(p));
      if (v.use == PageUse::kBuddy) {  // free: skip the block
        p += (uint64_t{1} << v.order) - 1;
        continue;
      }
      if (Isolatable(static_cast<uint32_t>(p), v)) {
        migratepages_.push_back(static_cast<uint32_t>(p));
        ++nr_isolated;
        if (migratepages_.size() >= kCompactClusterMax && !rescan_) {
          ++p;
          break;
        }
        continue;
      }
      // isolate_fail
      if (!skip_on_failure) continue;
      if (nr_isolated) {  // the cc->order block cannot be formed: put them back
        migratepages_.clear();
        nr_isolated = 0;
      }
      if (p < next_skip_pfn) {
        p = next_skip_pfn - 1;
        next_skip_pfn += 1u << order;
      }
    }
    if (p > end_pfn) p = end_pfn;
    Work(c_.scan_pfn * static_cast<int64_t>(nr_scanned));
    st_.compact_migrate_scanned += nr_scanned;
    st_.compact_isolated += nr_isolated;
    migrate_pfn_ = static_cast<uint32_t>(p);
  }

  // An order-0 page on an LRU that isolation takes: not an anonymous page
  // with an extra reference (page_count() > page_mapcount()), not under
  // writeback (ISOLATE_ASYNC_MIGRATE: direct compaction is never
  // MIGRATE_SYNC). Dirty page cache is taken (->migrate_folio exists).
  bool Isolatable(uint32_t pfn, const mm::PageView& v) const {
    if (v.use != PageUse::kAllocated || v.order != 0) return false;
    const PageKind k = static_cast<PageKind>(v.kind);
    if (!OnLru(k)) return false;
    if (IsAnon(k) && u_.RefHeldUntil(pfn, clock_.t) > clock_.t) return false;
    return k != PageKind::kFileWriteback;
  }

  // migrate_pages(compaction_alloc, compaction_free, cc->mode). false: -ENOMEM.
  bool MigrateList() {
    std::reverse(migratepages_.begin(), migratepages_.end());  // list_add(): last isolated first
    MigrateCounters n;
    const bool ok = MigratePages(z_, u_, c_, *this, mode_, req_.cpu, &migratepages_, &clock_, &n);
    st_.pgmigrate_success += n.migrated;
    return ok;
  }

  // suitable_migration_target().
  bool SuitableMigrationTarget(uint32_t block_start) const {
    const mm::PageView v = z_.Page(block_start);
    if (v.use == PageUse::kBuddy && v.order >= pbo_) return false;  // a large free page stays
    if (ignore_block_suitable_) return true;
    const MigrateType mt = z_.PageblockMigratetype(block_start);
    return mt == MigrateType::kMovable || mt == MigrateType::kCma;  // is_migrate_movable()
  }

  // isolate_freepages(): pageblock by pageblock down from free_pfn_ to the
  // migrate scanner's pageblock, until the free pages cover the isolated
  // ones; then split_map_pages().
  void IsolateFreepages() {
    const uint32_t nr = z_.nr_pages();
    int64_t isolate_start_pfn = free_pfn_;
    int64_t block_start_pfn = PageblockStart(free_pfn_);
    int64_t block_end_pfn = std::min<int64_t>(block_start_pfn + pb_, nr);
    const int64_t low_pfn = PageblockEnd(migrate_pfn_);
    unsigned stride = mode_ == MigrateMode::kAsync ? kCompactClusterMax : 1;
    uint64_t nr_freepages = 0;
    taken_.clear();
    for (; block_start_pfn >= low_pfn;
         block_end_pfn = block_start_pfn, block_start_pfn -= pb_, isolate_start_pfn = block_start_pfn) {
      if (!SuitableMigrationTarget(static_cast<uint32_t>(block_start_pfn))) continue;
      const uint64_t nr_isolated = IsolateFreepagesBlock(&isolate_start_pfn, block_end_pfn, stride, &nr_freepages);
      if (nr_freepages >= migratepages_.size()) {
        // Restart at the previous pageblock if this one was used up.
        if (isolate_start_pfn >= block_end_pfn) isolate_start_pfn = block_start_pfn - pb_;
        break;
      }
      if (isolate_start_pfn < block_end_pfn) break;  // isolation failed early
      if (nr_isolated) {
        stride = 1;
        continue;
      }
      stride = std::min(kCompactClusterMax, stride << 1);
    }
    free_pfn_ = static_cast<uint32_t>(std::max<int64_t>(isolate_start_pfn, 0));
    // split_map_pages(): each block becomes order-0 pages; the list ends up
    // with the last page of the last block at its head (our back).
    for (auto [pfn, order] : taken_) {
      if (order) z_.SplitPage(pfn, order);
      for (uint32_t i = 0; i < (1u << order); ++i) freepages_.push_back(pfn + i);
    }
  }

  // isolate_freepages_block(strict = false).
  uint64_t IsolateFreepagesBlock(int64_t* start_pfn, int64_t end_pfn, unsigned stride, uint64_t* nr_freepages) {
    uint64_t nr_scanned = 0;
    uint64_t total_isolated = 0;
    int64_t p = *start_pfn;
    for (; p < end_pfn; p += stride) {
      ++nr_scanned;
      const mm::PageView v = z_.Page(static_cast<uint32_t>(p));
      if (v.use != PageUse::kBuddy) continue;  // isolate_fail
      const uint64_t isolated = z_.IsolateFreePage(static_cast<uint32_t>(p), v.order);
      if (!isolated) break;  // below the min watermark
      Work(c_.alloc_page);
      taken_.emplace_back(static_cast<uint32_t>(p), v.order);
      total_isolated += isolated;
      *nr_freepages += isolated;
      if (migratepages_.size() <= *nr_freepages) {
        p += static_cast<int64_t>(isolated);
        break;
      }
      p += static_cast<int64_t>(isolated) - 1;  // to the end of the split page
    }
    if (p > end_pfn) p = end_pfn;
    *start_pfn = p;
    Work(c_.scan_pfn * static_cast<int64_t>(nr_scanned));
    st_.compact_free_scanned += nr_scanned;
    st_.compact_isolated += total_isolated;
    return total_isolated;
  }

  // release_freepages(): from the list head.
  void ReleaseFreepages() {
    while (!freepages_.empty()) {
      const uint32_t p = freepages_.back();
      freepages_.pop_back();
      Work(c_.alloc_page);
      z_.FreePages(p, 0, req_.cpu);
    }
  }

  mm::Zone& z_;
  PageUsers& u_;
  const ContigCosts& c_;
  const CompactRequest& req_;
  const MigrateMode mode_;
  const bool ignore_block_suitable_;
  OpClock clock_;
  CompactionStats& st_;
  const unsigned pbo_;
  const uint32_t pb_;
  uint32_t migrate_pfn_ = 0;
  uint32_t free_pfn_ = 0;
  bool rescan_ = false;
  std::vector<uint32_t> migratepages_;  // cc->migratepages
  std::vector<uint32_t> freepages_;     // cc->freepages, head at the back
  std::vector<std::pair<uint32_t, unsigned>> taken_;  // blocks of one isolate_freepages()
};


// One __alloc_pages() call for a buddy block.
class Allocation {
 public:
  Allocation(const ContigEnv& env, const HighOrderRequest& req, sim::Time now, CompactDefer* defer,
             CompactionStats* st)
      : env_(env),
        z_(*env.zone),
        req_(req),
        order_(mm::GetOrder(req.pages)),
        costly_(order_ > mm::kPageAllocCostlyOrder),
        clock_{now, &st->cpu_ns},
        defer_(*defer),
        st_(*st) {}

  HighOrderOutcome Run() {
    const MigrateType mt = req_.migratetype;
    const uint32_t cma = mm::AllocFlagsCma(mt, 0);
    // Fast path: the low watermark.
    if (auto p = GetPage(cma | mm::alloc::kWmarkLow)) return Done(*p);
    // Slow path: gfp_to_alloc_flags() (GFP_KERNEL: the min mark). No
    // kswapd to wake.
    alloc_flags_ = cma | mm::alloc::kWmarkMin;
    if (auto p = GetPage(alloc_flags_)) return Done(*p);

    // Costly and non-movable high-order requests try async compaction first.
    CompactPriority priority = CompactPriority::kSyncLight;  // DEF_COMPACT_PRIORITY
    if (costly_ || (order_ > 0 && mt != MigrateType::kMovable)) {
      if (auto p = DirectCompact(CompactPriority::kAsync)) return Done(*p);
      if (costly_ && req_.retry == GfpRetry::kNoRetry) {
        if (last_compact_ == CompactResult::kSkipped || last_compact_ == CompactResult::kDeferred)
          return Fail(HighOrderFailure::kNoPage);
        priority = CompactPriority::kAsync;  // sync compaction is too expensive here
      }
    }

    int compaction_retries = 0;
    int no_progress_loops = 0;
    for (int loop = 0;; ++loop) {
      KREPLAY_CHECK(loop < kSlowpathLoopLimit, "the allocation slow path does not converge: reclaim reports "
                                               "progress that frees no usable page");
      if (auto p = GetPage(alloc_flags_)) return Done(*p);
      bool progress = false;
      if (auto p = DirectReclaim(&progress)) return Done(*p);
      if (auto p = DirectCompact(priority)) return Done(*p);
      if (req_.retry == GfpRetry::kNoRetry) return Fail(HighOrderFailure::kNoPage);
      // Costly orders only retry with __GFP_RETRY_MAYFAIL.
      if (costly_ && req_.retry != GfpRetry::kRetryMayFail) return Fail(HighOrderFailure::kNoPage);
      if (ShouldReclaimRetry(progress, &no_progress_loops)) continue;
      if (progress && ShouldCompactRetry(&priority, &compaction_retries)) continue;
      // __alloc_pages_may_oom(): no OOM kill for costly orders or
      // __GFP_RETRY_MAYFAIL.
      if (costly_ || req_.retry == GfpRetry::kRetryMayFail) return Fail(HighOrderFailure::kNoPage);
      return Fail(HighOrderFailure::kOomKill);
    }
  }

 private:
  std::optional<uint32_t> GetPage(uint32_t flags) {
    clock_.Work(env_.costs.alloc_page);
    return z_.GetPageFromFreelist(order_, req_.migratetype, flags, req_.cpu);
  }

  // compaction_deferred().
  bool CompactionDeferred() {
    const unsigned limit = 1u << defer_.defer_shift;
    if (static_cast<int>(order_) < defer_.order_failed) return false;
    if (++defer_.considered >= limit) {
      defer_.considered = limit;
      return false;
    }
    return true;
  }
  // defer_compaction().
  void DeferCompaction() {
    defer_.considered = 0;
    defer_.defer_shift = std::min(defer_.defer_shift + 1, kMaxDeferShift);
    if (static_cast<int>(order_) < defer_.order_failed) defer_.order_failed = static_cast<int>(order_);
  }
  // compaction_defer_reset().
  void DeferReset(bool alloc_success) {
    if (alloc_success) {
      defer_.considered = 0;
      defer_.defer_shift = 0;
    }
    if (static_cast<int>(order_) >= defer_.order_failed) defer_.order_failed = static_cast<int>(order_) + 1;
  }

  // __alloc_pages_direct_compact() around try_to_compact_pages().
  std::optional<uint32_t> DirectCompact(CompactPriority prio) {
    if (order_ == 0) return std::nullopt;
    CompactResult rc;
    if (prio != CompactPriority::kSyncFull && CompactionDeferred()) {
      rc = CompactResult::kDeferred;
    } else {
      const CompactRequest cr{order_, req_.migratetype, prio, alloc_flags_, req_.cpu};
      const CompactOutcome o = CompactZoneOrder(env_, cr, clock_.t, &st_);
      clock_.t = o.end;
      rc = o.result;
      if (rc == CompactResult::kSuccess) {
        DeferReset(false);
      } else if (prio != CompactPriority::kAsync &&
                 (rc == CompactResult::kComplete || rc == CompactResult::kPartialSkipped)) {
        DeferCompaction();
      }
    }
    ++st_.results[static_cast<int>(rc)];
    last_compact_ = rc;
    if (rc == CompactResult::kSkipped) return std::nullopt;
    ++st_.compact_stall;
    if (auto p = GetPage(alloc_flags_)) {
      DeferReset(true);
      ++st_.compact_success;
      return p;
    }
    ++st_.compact_fail;
    return std::nullopt;
  }

  // __alloc_pages_direct_reclaim().
  std::optional<uint32_t> DirectReclaim(bool* progress) {
    ++st_.allocstall;
    const uint64_t nr = std::max<uint64_t>(kSwapClusterMax, uint64_t{1} << order_);
    const ReclaimOutcome r = env_.users->DirectReclaim(nr, clock_.t);
    clock_.Work(r.cpu_ns);
    st_.pages_reclaimed += r.freed;
    if (reclaimable_) *reclaimable_ -= std::min(*reclaimable_, r.freed);
    *progress = r.freed > 0;
    if (!*progress) return std::nullopt;
    if (auto p = GetPage(alloc_flags_)) return p;
    // Pages may sit on the per-CPU lists: drain_all_pages(), once.
    CrossCpuRound(env_.costs, clock_);
    z_.DrainAllPages();
    return GetPage(alloc_flags_);
  }

  // should_reclaim_retry().
  bool ShouldReclaimRetry(bool progress, int* no_progress_loops) {
    // Costly orders count as no progress: it need not give their block.
    if (progress && !costly_) {
      *no_progress_loops = 0;
    } else {
      ++*no_progress_loops;
    }
    if (*no_progress_loops > kMaxReclaimRetries) return false;
    const int64_t available = static_cast<int64_t>(Reclaimable() + z_.nr_free_pages());
    return z_.ZoneWatermarkOk(order_, z_.WmarkPages(mm::Wmark::kMin), alloc_flags_, static_cast<long>(available));
  }

  // should_compact_retry().
  bool ShouldCompactRetry(CompactPriority* priority, int* retries) {
    if (order_ == 0) return false;
    const CompactResult r = last_compact_;
    if (r == CompactResult::kSuccess) ++*retries;  // compaction_made_progress()
    bool check_priority = false;
    if (r == CompactResult::kComplete) {  // compaction_failed()
      check_priority = true;
    } else if (r == CompactResult::kSkipped) {  // compaction_needs_reclaim()
      return CompactionZonelistSuitable();
    } else if (r == CompactResult::kDeferred || r == CompactResult::kContended ||
               r == CompactResult::kPartialSkipped) {  // compaction_withdrawn()
      check_priority = true;
    }
    if (!check_priority) {
      const int max_retries = costly_ ? kMaxCompactRetries / 4 : kMaxCompactRetries;
      if (*retries <= max_retries) return true;
    }
    const CompactPriority min_priority = costly_ ? CompactPriority::kSyncLight : CompactPriority::kSyncFull;
    if (*priority > min_priority) {
      *priority = static_cast<CompactPriority>(static_cast<int>(*priority) - 1);
      *retries = 0;
      return true;
    }
    return false;
  }

  // compaction_zonelist_suitable(): would __compaction_suitable() pass with
  // a share of the reclaimable pages freed?
  bool CompactionZonelistSuitable() {
    const uint64_t available = Reclaimable() / order_ + z_.nr_free_pages();
    return CompactionSuitableFree(z_, order_, alloc_flags_, static_cast<int64_t>(available)) !=
           CompactResult::kSkipped;
  }

  // zone_reclaimable_pages(), counted once per allocation (a zone walk)
  // and kept by the pages direct reclaim frees: migration keeps pages on
  // the LRU, so nothing else inside the allocation changes it.
  uint64_t Reclaimable() {
    if (!reclaimable_) reclaimable_ = ZoneReclaimablePages(z_);
    return *reclaimable_;
  }

  HighOrderOutcome Done(uint32_t pfn) const {
    HighOrderOutcome o;
    o.pfn = pfn;
    o.order = order_;
    o.nr_pages = uint64_t{1} << order_;
    o.last_compact = last_compact_;
    o.end = clock_.t;
    return o;
  }
  HighOrderOutcome Fail(HighOrderFailure f) const {
    HighOrderOutcome o;
    o.order = order_;
    o.failure = f;
    o.last_compact = last_compact_;
    o.end = clock_.t;
    return o;
  }

  const ContigEnv& env_;
  mm::Zone& z_;
  const HighOrderRequest& req_;
  const unsigned order_;
  const bool costly_;
  OpClock clock_;
  CompactDefer& defer_;
  CompactionStats& st_;
  std::optional<uint64_t> reclaimable_;  // Reclaimable()
  uint32_t alloc_flags_ = mm::alloc::kWmarkMin;
  CompactResult last_compact_ = CompactResult::kSkipped;
};

}  // namespace

const char* CompactResultName(CompactResult r) {
  switch (r) {
    case CompactResult::kNotSuitableZone: return "not_suitable_zone";
    case CompactResult::kSkipped: return "skipped";
    case CompactResult::kDeferred: return "deferred";
    case CompactResult::kNoSuitablePage: return "no_suitable_page";
    case CompactResult::kContinue: return "continue";
    case CompactResult::kComplete: return "complete";
    case CompactResult::kPartialSkipped: return "partial_skipped";
    case CompactResult::kContended: return "contended";
    case CompactResult::kSuccess: return "success";
  }
  return "?";
}

const char* HighOrderFailureName(HighOrderFailure f) {
  switch (f) {
    case HighOrderFailure::kNone: return "none";
    case HighOrderFailure::kNoPage: return "nopage";
    case HighOrderFailure::kOomKill: return "oom_kill";
    case HighOrderFailure::kNoContigRange: return "no_contig_range";
  }
  return "?";
}

int FragmentationIndex(const mm::Zone& zone, unsigned order) {
  const uint64_t requested = uint64_t{1} << order;
  uint64_t free_pages = 0, free_blocks_total = 0, free_blocks_suitable = 0;
  for (unsigned o = 0; o <= zone.config().max_order; ++o) {
    const uint64_t blocks = zone.nr_free(o);
    free_blocks_total += blocks;
    free_pages += blocks << o;
    if (o >= order) free_blocks_suitable += blocks << (o - order);
  }
  if (free_blocks_total == 0) return 0;
  if (free_blocks_suitable) return -1000;
  return 1000 - static_cast<int>((1000 + free_pages * 1000 / requested) / free_blocks_total);
}

CompactResult CompactionSuitable(const mm::Zone& zone, unsigned order, uint32_t alloc_flags) {
  CompactResult ret = CompactionSuitableFree(zone, order, alloc_flags, static_cast<int64_t>(zone.nr_free_pages()));
  // For costly orders, compact only when a failure would be due to
  // fragmentation rather than lack of memory.
  if (ret == CompactResult::kContinue && order > mm::kPageAllocCostlyOrder) {
    const int fragindex = FragmentationIndex(zone, order);
    if (fragindex >= 0 && fragindex <= kExtfragThreshold) ret = CompactResult::kSkipped;  // NOT_SUITABLE_ZONE
  }
  return ret;
}

CompactOutcome CompactZoneOrder(const ContigEnv& env, const CompactRequest& req, sim::Time now,
                                CompactionStats* stats) {
  KREPLAY_CHECK(env.zone && env.users && stats, "CompactZoneOrder needs a zone, users and stats");
  KREPLAY_CHECK(req.order > 0 && req.order <= env.zone->config().max_order, "compaction order out of range");
  KREPLAY_CHECK(Idx(req.migratetype) < mm::kPcpTypes, "compaction is for UNMOVABLE, MOVABLE or RECLAIMABLE");
  Compactor c(env, req, now, stats);
  const CompactResult r = c.Run();
  return CompactOutcome{r, c.now()};
}

HighOrderOutcome AllocContigPages(const ContigEnv& env, uint64_t nr_pages, unsigned cpu, sim::Time now,
                                  CompactionStats* stats) {
  KREPLAY_CHECK(env.zone && env.users && stats, "AllocContigPages needs a zone, users and stats");
  KREPLAY_CHECK(nr_pages > 0, "AllocContigPages: no pages");
  const mm::Zone& z = *env.zone;
  const uint64_t zone_end = z.nr_pages();
  const uint64_t granule = IsolationGranule(z, env.rules);
  HighOrderOutcome out;
  out.contig = true;
  out.nr_pages = nr_pages;
  sim::Time t = now;
  // ALIGN(zone_start_pfn, nr_pages) with zone_start_pfn 0.
  for (uint64_t pfn = 0; pfn + nr_pages - 1 < zone_end; pfn += nr_pages) {  // zone_spans_last_pfn()
    // pfn_range_valid_contig(): reads every page of the range.
    t += env.costs.scan_pfn * static_cast<int64_t>(nr_pages);
    stats->cpu_ns += env.costs.scan_pfn * static_cast<int64_t>(nr_pages);
    if ((pfn + nr_pages + granule - 1) / granule * granule > zone_end) continue;
    ++stats->contig_candidates;
    ContigRequest r;
    r.start = static_cast<uint32_t>(pfn);
    r.end = static_cast<uint32_t>(pfn + nr_pages);
    r.migratetype = MigrateType::kMovable;
    r.cpu = cpu;
    const ContigOutcome o = AllocContigRange(env, r, t, &stats->contig);
    t = o.end;
    if (o.failure == ContigFailure::kNone) {
      out.pfn = r.start;
      out.end = t;
      return out;
    }
  }
  out.failure = HighOrderFailure::kNoContigRange;
  out.end = t;
  return out;
}

HighOrderOutcome AllocPagesHighOrder(const ContigEnv& env, const HighOrderRequest& req, sim::Time now,
                                     CompactDefer* defer, CompactionStats* stats) {
  KREPLAY_CHECK(env.zone && env.users && defer && stats, "AllocPagesHighOrder needs a zone, users, defer and stats");
  KREPLAY_CHECK(req.pages > 0, "AllocPagesHighOrder: no pages");
  KREPLAY_CHECK(Idx(req.migratetype) < mm::kPcpTypes, "allocations are UNMOVABLE, MOVABLE or RECLAIMABLE");
  if (req.pages > (uint64_t{1} << env.zone->config().max_order)) {
    return AllocContigPages(env, req.pages, req.cpu, now, stats);
  }
  return Allocation(env, req, now, defer, stats).Run();
}

void FreeHighOrder(mm::Zone& zone, const HighOrderOutcome& o, unsigned cpu) {
  KREPLAY_CHECK(o.pfn.has_value(), "FreeHighOrder: the allocation failed");
  if (o.contig) {
    zone.FreeContigRange(*o.pfn, static_cast<uint32_t>(o.nr_pages), cpu);
  } else {
    zone.FreePages(*o.pfn, o.order, cpu);
  }
}

}  // namespace kreplay::memory
