#include "workers/models/memory/models/mem_sim.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "services/sim/engine.h"
#include "services/sim/histogram.h"
#include "services/sim/rng.h"
#include "workers/models/memory/cma/cma_alloc.h"
#include "workers/models/memory/cma/contig.h"
#include "workers/models/memory/compaction/compaction.h"
#include "workers/models/memory/load/background.h"
#include "workers/models/memory/models/gcma_cache.h"
#include "workers/models/memory/mm/zone.h"
#include "workers/models/memory/state/page_state.h"

namespace kreplay::memory {
namespace {

// What a finished call reports.
struct CallOutcome {
  bool done = false;
  bool ok = false;
  CmaFailure failure = CmaFailure::kNone;
  sim::Time finished = 0;
  uint32_t pfn = 0;
  uint64_t pages = 0;  // what the allocator took (carve-outs round up)
  uint32_t busy_retries = 0, sweeps = 0;
};

class MemSim final : public sim::EventHandler {
 public:
  MemSim(const MemRunConfig& c, const MemProfile& p, const MemWorkload& w, uint64_t seed, MemObserver* obs)
      : cfg_(c), prof_(p), w_(w), seed_(seed), obs_(obs) {}

  StatusOr<model::Result> Run(const std::atomic<bool>* cancel) {
    KREPLAY_RETURN_IF_ERROR(Setup());
    const sim::Time horizon = Horizon();
    const sim::Time stop_at = w_.duration > 0 ? w_.duration : horizon;
    // In slices, so that a cancelled study stops a long run.
    for (sim::Time t = 0; t < stop_at && !finished_;) {
      if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("memory run cancelled");
      t = std::min(stop_at, t + 100 * sim::kMs);
      sim_.RunUntil(t);
    }
    end_ = sim_.Now();
    bg_->Stop();
    return Collect();
  }

  // The model's state once the initial state is placed (mem_bench).
  StatusOr<StateFootprint> Footprint() {
    KREPLAY_RETURN_IF_ERROR(Setup());
    const double pages = static_cast<double>(prof_.pages);
    return StateFootprint{static_cast<double>(zone_->MemoryBytes()) / pages,
                          static_cast<double>(bg_->MemoryBytes()) / pages};
  }

  void OnEvent(uint64_t tag) override {
    const size_t i = tag >> 2;
    const sim::Time now = sim_.Now();
    switch (tag & 3) {
      case kArrive: Begin(i, now); [[fallthrough]];
      case kStep: Step(i, now); break;
      case kRelease: Release(i, now); break;
    }
  }

 private:
  enum : uint64_t { kArrive = 0, kStep = 1, kRelease = 2 };
  uint64_t Tag(size_t i, uint64_t kind) const { return (uint64_t{i} << 2) | kind; }

  Status Setup() {
    KREPLAY_ASSIGN_OR_RETURN(mm::MmRules rules, mm::MmRulesFor(cfg_.kernel_version));
    const ContigRules crules = ContigRules::For(rules);
    const uint32_t granule = IsolationGranule(static_cast<unsigned>(prof_.pageblock_order),
                                              static_cast<unsigned>(prof_.max_order), crules);
    const bool in_zone = cfg_.variant == MemVariant::kCma || cfg_.variant == MemVariant::kCmaAndroid;
    const bool reserved = cfg_.variant == MemVariant::kCarveout || cfg_.variant == MemVariant::kGcma;
    uint64_t reserve = 0;
    if (reserved)
      for (const auto& a : prof_.cma_areas) reserve += a.pages;
    const uint64_t pb = prof_.pageblock_pages();
    if (prof_.pages <= reserve + 4 * pb) return InvalidArgument(prof_.name + ": the reservation leaves no memory");
    mm::ZoneConfig zc;
    zc.nr_pages = static_cast<uint32_t>((prof_.pages - reserve) / pb * pb);
    zc.pageblock_order = static_cast<unsigned>(prof_.pageblock_order);
    zc.max_order = static_cast<unsigned>(prof_.max_order);
    zc.nr_cpus = static_cast<unsigned>(prof_.cpus);
    zc.min_free_kbytes = static_cast<int>(prof_.min_free_kbytes);
    zc.watermark_scale_factor = static_cast<int>(prof_.watermark_scale_factor);
    zc.rules = rules;
    if (in_zone) {
      KREPLAY_ASSIGN_OR_RETURN(areas_, PlaceCmaAreas(prof_.cma_areas, zc.nr_pages, granule));
      for (const auto& a : areas_) zc.cma_ranges.push_back({a.base_pfn(), a.base_pfn() + static_cast<uint32_t>(a.count())});
      std::sort(zc.cma_ranges.begin(), zc.cma_ranges.end(),
                [](const mm::PfnRange& x, const mm::PfnRange& y) { return x.start < y.start; });
    } else if (reserved) {
      uint32_t base = zc.nr_pages;  // PFNs past the zone: the reservation is not the allocator's
      for (const auto& a : prof_.cma_areas) {
        resv_.push_back(Reservation{a.name, CmaBitmap(base, a.pages, a.order_per_bit)});
        base += static_cast<uint32_t>(a.pages);
      }
    }
    KREPLAY_ASSIGN_OR_RETURN(mm::Zone zone, mm::Zone::Create(zc));
    zone_ = std::make_unique<mm::Zone>(std::move(zone));
    KREPLAY_RETURN_IF_ERROR(ResolveAreas());

    // The initial state, then the background adopting it.
    sim::Rng root(seed_);
    PopulateOptions po;
    po.seed = root.Fork(1).NextU64();
    po.churn = w_.initial.churn;
    po.cpu = cfg_.cpu;
    KREPLAY_ASSIGN_OR_RETURN(StateMix mix, FitInitial());
    PopulateResult pop;
    if (w_.initial.mixed_blocks >= 0) {
      KREPLAY_ASSIGN_OR_RETURN(pop, PopulateToMixedShare(zc, mix, po));
    } else {
      KREPLAY_ASSIGN_OR_RETURN(pop, Populate(*zone_, mix, po));
      churn_used_ = po.churn;
    }
    mixed_share_ = MixedShare(*zone_);
    BackgroundSpec bs = ResolveBackground(w_.background, prof_.pages);
    uint64_t files = 0;
    for (PageKind k : {PageKind::kFileClean, PageKind::kFileDirty, PageKind::kFileWriteback})
      files += pop.pfns[static_cast<int>(k)].size();
    bs.cache.file_pages = std::max(bs.cache.file_pages, files);  // the initial page cache is part of the file set
    KREPLAY_ASSIGN_OR_RETURN(bg_, Background::Create(*zone_, sim_, prof_, bs, root.Fork(2).NextU64()));
    KREPLAY_RETURN_IF_ERROR(bg_->Adopt(pop));
    if (cfg_.variant == MemVariant::kGcma) {
      gcma_ = std::make_unique<GcmaCache>(&resv_);
      bg_->SetCleanCache(gcma_.get());
    }
    bg_->Start();

    env_.zone = zone_.get();
    env_.users = bg_.get();
    env_.costs = ContigCosts::FromProfile(prof_);
    env_.rules = crules;
    variant_.android_retries = cfg_.variant == MemVariant::kCmaAndroid;
    variant_.max_retries = cfg_.android_max_retries;
    variant_.retry_sleep = cfg_.android_retry_sleep;

    const auto& calls = w_.foreground.calls;
    out_.assign(calls.size(), CallOutcome{});
    cma_calls_.resize(calls.size());
    pending_ = calls.size();
    finished_ = calls.empty() && w_.duration == 0;
    for (size_t i = 0; i < calls.size(); ++i) sim_.At(calls[i].at, this, Tag(i, kArrive));
    return OkStatus();
  }

  // The initial state is a share of the machine's memory, the same for
  // every allocator; where a reservation leaves less, the clean page cache
  // that does not fit above the high watermark is left out (reclaim would
  // have evicted it), so the carve-out's cost shows as refaults later.
  StatusOr<StateMix> FitInitial() {
    StateMix mix = ResolveInitial(w_.initial, prof_.pages);
    // Room: free pages above the high watermark, less what the per-CPU
    // lists may hold while the fill runs (not free to the watermark check).
    const uint64_t reserve =
        zone_->WmarkPages(mm::Wmark::kHigh) + uint64_t{zone_->pcp_high()} * zone_->config().nr_cpus;
    const uint64_t room = zone_->nr_free_pages() - std::min(zone_->nr_free_pages(), reserve);
    uint64_t& clean = mix.pages[static_cast<int>(PageKind::kFileClean)];
    if (mix.total() > room) {
      const uint64_t over = mix.total() - room;
      initial_evicted_ = std::min(clean, over);
      clean -= initial_evicted_;
    }
    if (mix.total() > room)
      return InvalidArgument("initial: " + std::to_string(mix.total()) + " pages other than clean page cache do not fit in the " +
                             std::to_string(room) + " pages " + prof_.name + " leaves above its high watermark; lower initial.used");
    return mix;
  }

  // The share of non-CMA pageblocks that are UNMOVABLE or RECLAIMABLE
  // (MixedBlocksFromPageTypeInfo()'s measure, on the model's zone).
  static double MixedShare(const mm::Zone& z) {
    uint64_t mixed = 0, total = 0;
    for (uint32_t p = 0; p < z.nr_pages(); p += z.pageblock_nr_pages()) {
      const mm::MigrateType mt = z.PageblockMigratetype(p);
      if (mt == mm::MigrateType::kCma || mt == mm::MigrateType::kIsolate) continue;
      ++total;
      if (mt == mm::MigrateType::kUnmovable || mt == mm::MigrateType::kReclaimable) ++mixed;
    }
    return total ? static_cast<double>(mixed) / static_cast<double>(total) : 0;
  }

  // The fill whose churn brings the mixed-block share closest to the
  // workload's target (a host's pagetypeinfo): each candidate fills a fresh
  // zone with the same seed; ties go to the smaller churn.
  StatusOr<PopulateResult> PopulateToMixedShare(const mm::ZoneConfig& zc, const StateMix& mix, PopulateOptions po) {
    static constexpr double kChurns[] = {0, 0.25, 0.5, 1, 2, 4, 8};
    std::unique_ptr<mm::Zone> best;
    PopulateResult best_pop;
    double best_err = 2;
    for (double churn : kChurns) {
      KREPLAY_ASSIGN_OR_RETURN(mm::Zone z, mm::Zone::Create(zc));
      auto zone = std::make_unique<mm::Zone>(std::move(z));
      po.churn = churn;
      auto pop = Populate(*zone, mix, po);
      if (!pop.ok()) continue;
      const double err = std::abs(MixedShare(*zone) - w_.initial.mixed_blocks);
      if (err < best_err) {
        best_err = err;
        best = std::move(zone);
        best_pop = std::move(pop).value();
        churn_used_ = churn;
      }
    }
    if (!best) return InvalidArgument("initial: no fill of " + prof_.name + " holds the initial state");
    zone_ = std::move(best);
    return best_pop;
  }

  // Each call's area, by name ("" = the profile's first).
  Status ResolveAreas() {
    const size_t n = cfg_.variant == MemVariant::kBuddy ? 0 : std::max(areas_.size(), resv_.size());
    for (const std::string& name : w_.foreground.areas) {
      if (cfg_.variant == MemVariant::kBuddy) {
        area_of_.push_back(0);
        continue;
      }
      if (n == 0) return InvalidArgument(prof_.name + " has no CMA area for the workload's calls");
      if (name.empty()) {
        area_of_.push_back(0);
        continue;
      }
      size_t found = n;
      std::string known;
      for (size_t a = 0; a < n; ++a) {
        const std::string& an = areas_.empty() ? resv_[a].name : areas_[a].name;
        known += (a ? ", " : "") + an;
        if (an == name) found = a;
      }
      if (found == n) return InvalidArgument("the workload names CMA area '" + name + "'; " + prof_.name + " has " + known);
      area_of_.push_back(static_cast<uint16_t>(found));
    }
    return OkStatus();
  }

  const std::string& AreaName(const ContigCall& c) const { return areas_[area_of_[c.area]].name; }

  // The run ends when every call is done and released; this bounds it.
  sim::Time Horizon() const {
    // Saturating: a trace's times come from the wire.
    sim::Time last = 0, hold = 0;
    for (const ContigCall& c : w_.foreground.calls) {
      last = std::max(last, c.at);
      hold = std::max(hold, c.hold);
    }
    constexpr sim::Time kCap = sim::kTimeMax / 4;
    return std::min(last, kCap) + std::min(hold, kCap) + 3600 * sim::kSec;
  }

  void Begin(size_t i, sim::Time now) {
    const ContigCall& c = w_.foreground.calls[i];
    if (cfg_.variant == MemVariant::kCma || cfg_.variant == MemVariant::kCmaAndroid) {
      CmaAllocRequest r;
      r.count = c.pages;
      r.align = c.align;
      r.cpu = cfg_.cpu;
      r.deadline = c.timeout > 0 ? c.at + c.timeout : sim::kTimeMax;
      cma_calls_[i] = std::make_unique<CmaAllocation>(&areas_[area_of_[c.area]], r, variant_, now);
      if (obs_) obs_->CmaAllocStart(now, i, AreaName(c), c.pages, c.align);
    }
  }

  void Step(size_t i, sim::Time now) {
    const ContigCall& c = w_.foreground.calls[i];
    CallOutcome& o = out_[i];
    switch (cfg_.variant) {
      case MemVariant::kCma:
      case MemVariant::kCmaAndroid: {
        CmaAllocation& a = *cma_calls_[i];
        const uint32_t retries = a.busy_retries();
        auto next = a.Step(env_, mutex_, now, &contig_);
        if (obs_ && a.busy_retries() != retries)
          obs_->CmaAllocBusyRetry(next.value_or(a.finished_at()), i, AreaName(c), a.last_candidate_pfn(), c.pages, c.align);
        if (next) {
          sim_.At(*next, this, Tag(i, kStep));
          return;
        }
        if (obs_) obs_->CmaAllocFinish(a.finished_at(), i, AreaName(c), a.pfn(), c.pages, c.align);
        o.ok = a.ok();
        o.failure = a.failure();
        o.finished = a.finished_at();
        o.pfn = a.pfn().value_or(0);
        o.pages = c.pages;
        o.busy_retries = a.busy_retries();
        o.sweeps = a.sweeps();
        cma_calls_[i].reset();
        break;
      }
      case MemVariant::kCarveout: {
        // dma_alloc_from_dev_coherent(): bitmap_find_free_region() of
        // get_order(size) under the pool's lock.
        CmaBitmap& bm = resv_[area_of_[c.area]].bitmap;
        const unsigned order = DmaAlignOrder(c.pages);
        const uint64_t bits = bm.PagesToBits(uint64_t{1} << order);
        const uint64_t mask = bm.AlignedMask(order);
        const uint64_t no = bm.FindNextZeroAreaOff(0, bits, mask, 0);
        o.finished = now + (cfg_.carveout_alloc_ns >= 0 ? cfg_.carveout_alloc_ns : prof_.costs.alloc_page);
        contig_.cpu_ns += o.finished - now;
        if (no + bits <= bm.MaxNo()) {
          bm.Set(no, bits);
          o.ok = true;
          o.pfn = bm.PfnOf(no);
          o.pages = uint64_t{1} << order;
        } else {
          o.failure = CmaFailure::kNoRange;
        }
        break;
      }
      case MemVariant::kGcma: {
        // The cma_alloc() search over the reservation, then each cached page
        // of the range discarded (no migration: the cache is a copy).
        CmaBitmap& bm = resv_[area_of_[c.area]].bitmap;
        const unsigned align = std::min(c.align, kCmaAlignmentMax);
        const uint64_t bits = bm.PagesToBits(c.pages);
        const uint64_t no = bm.FindNextZeroAreaOff(0, bits, bm.AlignedMask(align), bm.AlignedOffset(align));
        sim::Duration cost = prof_.costs.alloc_page;
        if (no + bits <= bm.MaxNo()) {
          bm.Set(no, bits);
          const uint64_t first = no << bm.order_per_bit();
          const uint64_t dropped = gcma_->Discard(area_of_[c.area], first, c.pages);
          gcma_discarded_ += dropped;
          cost += static_cast<sim::Duration>(dropped) * prof_.costs.drop_clean_page +
                  static_cast<sim::Duration>(c.pages) * env_.costs.scan_pfn;
          o.ok = true;
          o.pfn = bm.PfnOf(no);
          o.pages = c.pages;
        } else {
          o.failure = CmaFailure::kNoRange;
        }
        contig_.cpu_ns += cost;
        o.finished = now + cost;
        break;
      }
      case MemVariant::kBuddy: {
        // A driver's GFP_KERNEL buffer: alloc_pages(get_order(size)) with
        // compaction and reclaim; alloc_contig_pages() above MAX_ORDER.
        HighOrderRequest r;
        r.pages = c.pages;
        r.cpu = cfg_.cpu;
        const HighOrderOutcome h = AllocPagesHighOrder(env_, r, now, &defer_, &compact_);
        o.ok = h.pfn.has_value();
        o.failure = o.ok ? CmaFailure::kNone : CmaFailure::kNoRange;  // no block even after compaction and reclaim
        o.finished = h.end;
        o.pfn = h.pfn.value_or(0);
        o.pages = h.nr_pages;
        if (o.ok) buddy_[i] = h;
        break;
      }
    }
    o.done = true;
    const sim::Duration latency = o.finished - c.at;
    (o.ok ? latency_ok_ : latency_failed_).Record(latency);
    if (o.ok) by_size_[c.pages].Record(latency);
    if (o.ok && c.hold >= 0) {
      sim_.At(o.finished + c.hold, this, Tag(i, kRelease));
    } else {
      Finish();
    }
  }

  void Release(size_t i, sim::Time) {
    const ContigCall& c = w_.foreground.calls[i];
    const CallOutcome& o = out_[i];
    switch (cfg_.variant) {
      case MemVariant::kCma:
      case MemVariant::kCmaAndroid:
        CmaRelease(*zone_, areas_[area_of_[c.area]], o.pfn, o.pages, cfg_.cpu);
        if (obs_) obs_->CmaRelease(sim_.Now(), i, AreaName(c), o.pfn, o.pages);
        break;
      case MemVariant::kCarveout:
      case MemVariant::kGcma: resv_[area_of_[c.area]].bitmap.ClearPages(o.pfn, o.pages); break;
      case MemVariant::kBuddy:
        FreeHighOrder(*zone_, buddy_.at(i), cfg_.cpu);
        buddy_.erase(i);
        break;
    }
    Finish();
  }

  void Finish() {
    if (--pending_ == 0 && w_.duration == 0) {
      finished_ = true;
      sim_.Stop();
    }
  }

  // unusable_free_index(): the share of free memory in blocks smaller than
  // 2^order (mm/vmstat.c, debugfs extfrag/unusable_index), in thousandths.
  double UnusableIndex(unsigned order) const {
    uint64_t free = 0, usable = 0;
    for (unsigned o = 0; o <= zone_->config().max_order; ++o) {
      const uint64_t pages = zone_->nr_free(o) << o;
      free += pages;
      if (o >= order) usable += pages;
    }
    return free ? static_cast<double>(free - usable) / static_cast<double>(free) : 0;
  }

  StatusOr<model::Result> Collect() {
    model::Result r;
    uint64_t ok = 0, failed = 0, unfinished = 0, retries = 0, sweeps = 0;
    std::array<uint64_t, 7> causes{};
    for (const CallOutcome& o : out_) {
      if (!o.done) {
        ++unfinished;
        continue;
      }
      (o.ok ? ok : failed) += 1;
      ++causes[static_cast<int>(o.failure)];
      retries += o.busy_retries;
      sweeps += o.sweeps;
    }
    const auto ms = [](int64_t ns) { return static_cast<double>(ns) / 1e6; };
    r.Set("calls", static_cast<double>(out_.size()), "count");
    r.Set("alloc_success", static_cast<double>(ok), "count");
    r.Set("alloc_fail", static_cast<double>(failed), "count");
    r.Set("alloc_unfinished", static_cast<double>(unfinished), "count");
    r.Set("alloc_success_ratio", out_.empty() ? 0.0 : 100.0 * static_cast<double>(ok) / static_cast<double>(out_.size()), "%");
    for (CmaFailure f : {CmaFailure::kPinned, CmaFailure::kUnmovable, CmaFailure::kBusy, CmaFailure::kNoRange,
                         CmaFailure::kNoMemory, CmaFailure::kTimeout})
      r.Set(std::string("fail_") + CmaFailureName(f), static_cast<double>(causes[static_cast<int>(f)]), "count");
    r.Set("busy_retries", static_cast<double>(retries), "count");
    r.Set("android_sweeps", static_cast<double>(sweeps), "count");
    r.Set("alloc_latency_p50_ms", ms(latency_ok_.Percentile(0.5)), "ms");
    r.Set("alloc_latency_p99_ms", ms(latency_ok_.Percentile(0.99)), "ms");
    r.Set("alloc_latency_p999_ms", ms(latency_ok_.Percentile(0.999)), "ms");
    r.Set("alloc_latency_max_ms", ms(latency_ok_.max()), "ms");
    r.Set("alloc_latency_mean_ms", latency_ok_.Mean() / 1e6, "ms");
    // alloc_contig_range() work: cma_alloc()'s, and the buddy model's above
    // MAX_ORDER (alloc_contig_pages()); compaction's on top.
    const ContigStats& bc = compact_.contig;
    r.Set("pages_migrated", static_cast<double>(contig_.pages_migrated + bc.pages_migrated + compact_.pgmigrate_success), "pages");
    r.Set("pages_dropped", static_cast<double>(contig_.pages_dropped + bc.pages_dropped + gcma_discarded_), "pages");
    r.Set("pages_waited_writeback", static_cast<double>(contig_.pages_waited_writeback + bc.pages_waited_writeback), "pages");
    r.Set("migrate_retries", static_cast<double>(contig_.migrate_retries + bc.migrate_retries), "count");
    r.Set("bytes_copied", static_cast<double>(contig_.bytes_copied + bc.bytes_copied + compact_.pgmigrate_success * 4096), "bytes");
    r.Set("alloc_cpu_ms", ms(contig_.cpu_ns + bc.cpu_ns + compact_.cpu_ns), "ms");
    r.Set("writeback_wait_ms", ms(contig_.writeback_wait_ns + bc.writeback_wait_ns), "ms");
    if (cfg_.variant == MemVariant::kBuddy) {
      r.Set("compact_stall", static_cast<double>(compact_.compact_stall), "count");
      r.Set("compact_success", static_cast<double>(compact_.compact_success), "count");
      r.Set("compact_fail", static_cast<double>(compact_.compact_fail), "count");
    }
    // The background's slowdown and the memory it had.
    const BackgroundStats& b = bg_->stats();
    r.Set("bg_refaults", static_cast<double>(b.refaults), "count");
    r.Set("initial_cache_left_out", static_cast<double>(initial_evicted_), "pages");
    r.Set("initial_churn", churn_used_, "ratio");
    r.Set("initial_mixed_blocks", mixed_share_, "ratio");
    r.Set("bg_kswapd_reclaimed", static_cast<double>(b.kswapd_reclaimed), "pages");
    r.Set("bg_kswapd_cpu_ms", ms(b.kswapd_cpu_ns), "ms");
    r.Set("bg_direct_reclaim_stall_ms", ms(b.direct_stall_ns + b.external_reclaim_ns), "ms");
    r.Set("bg_dirty_throttle_ms", ms(b.dirty_throttle_ns), "ms");
    r.Set("bg_alloc_failures", static_cast<double>(b.alloc_failures), "count");
    r.Set("bg_pin_migrated_pages", static_cast<double>(b.pin_migrated_pages), "pages");
    if (gcma_) r.Set("gcma_cache_hits", static_cast<double>(gcma_->hits()), "count");
    uint64_t reserved = 0;
    for (const auto& a : resv_) reserved += a.bitmap.count();
    r.Set("reserved_mib", static_cast<double>(reserved) / 256.0, "MiB");
    const MemSample now = bg_->Sample(end_);
    double avail_sum = 0, avail_min = static_cast<double>(now.mem_available);
    const auto& samples = bg_->samples();
    model::TimeSeries avail;
    avail.unit = "MiB";
    for (const MemSample& s : samples) {
      avail_sum += static_cast<double>(s.mem_available);
      avail_min = std::min(avail_min, static_cast<double>(s.mem_available));
      avail.t.push_back(s.at);
      avail.value.push_back(static_cast<double>(s.mem_available) / 256.0);
    }
    r.Set("mem_available_min_mib", avail_min / 256.0, "MiB");
    r.Set("mem_available_mean_mib",
          (samples.empty() ? static_cast<double>(now.mem_available) : avail_sum / static_cast<double>(samples.size())) / 256.0,
          "MiB");
    if (!samples.empty()) r.series["mem_available"] = std::move(avail);
    r.Set("unusable_free_index_o4", UnusableIndex(4), "ratio");
    r.Set("unusable_free_index_pageblock", UnusableIndex(zone_->config().pageblock_order), "ratio");
    r.Set("unusable_free_index_max_order", UnusableIndex(zone_->config().max_order), "ratio");
    // Latency against the request size: t is the size in pages.
    model::TimeSeries curve;
    curve.unit = "ms";
    for (const auto& [pages, h] : by_size_) {
      curve.t.push_back(static_cast<sim::Time>(pages));
      curve.value.push_back(h.Mean() / 1e6);
    }
    if (!curve.t.empty()) r.series["latency_by_size"] = std::move(curve);
    r.histograms["alloc_latency"] = latency_ok_;
    if (latency_failed_.count()) r.histograms["alloc_latency_failed"] = latency_failed_;
    r.Set("page_events", static_cast<double>(zone_->counters().page_events), "count");
    r.sim_events = sim_.events_processed();
    r.sim_time_ns = end_;
    return r;
  }

  const MemRunConfig& cfg_;
  const MemProfile& prof_;
  const MemWorkload& w_;
  const uint64_t seed_;
  MemObserver* obs_;
  sim::Simulator sim_;
  std::unique_ptr<mm::Zone> zone_;
  std::unique_ptr<Background> bg_;
  std::unique_ptr<GcmaCache> gcma_;
  std::vector<CmaAreaState> areas_;  // CMA areas in the zone
  std::vector<Reservation> resv_;    // reservations outside it
  std::vector<uint16_t> area_of_;    // foreground area index -> areas_/resv_ index
  ContigEnv env_;
  CmaVariant variant_;
  CmaMutex mutex_;
  ContigStats contig_;
  uint64_t gcma_discarded_ = 0;
  uint64_t initial_evicted_ = 0;  // clean page cache the initial state could not hold
  double churn_used_ = 0;         // the fill's churn
  double mixed_share_ = 0;        // its mixed-block share
  std::vector<std::unique_ptr<CmaAllocation>> cma_calls_;
  std::map<size_t, HighOrderOutcome> buddy_;  // live buddy allocations by call
  CompactDefer defer_;
  CompactionStats compact_;
  std::vector<CallOutcome> out_;
  size_t pending_ = 0;
  bool finished_ = false;
  sim::Time end_ = 0;
  sim::Histogram latency_ok_, latency_failed_;
  std::map<uint64_t, sim::Histogram> by_size_;
};

}  // namespace

StatusOr<model::Result> RunMemory(const MemRunConfig& config, const MemProfile& profile, const MemWorkload& workload,
                                  uint64_t seed, const std::atomic<bool>* cancel, MemObserver* observer) {
  MemSim s(config, profile, workload, seed, observer);
  return s.Run(cancel);
}

StatusOr<StateFootprint> MeasureStateFootprint(const MemRunConfig& config, const MemProfile& profile,
                                               const MemWorkload& workload, uint64_t seed) {
  MemSim s(config, profile, workload, seed, nullptr);
  return s.Footprint();
}

}  // namespace kreplay::memory
