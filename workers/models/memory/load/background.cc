#include "workers/models/memory/load/background.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace kreplay::memory {
namespace {

using mm::MigrateType;

using mm::kMaxReclaimRetries;
constexpr uint64_t kSwapClusterMax = mm::kSwapClusterMax;

// ftab_ entries: the resident PFN or kNone, and the shadow bit (evicted
// before: a read miss is a refault).
constexpr uint32_t kShadow = 0x80000000u;
constexpr uint32_t kPfnMask = 0x7fffffffu;
constexpr uint32_t kNone = kPfnMask;
constexpr uint32_t kTomb = 0xffffffffu;  // an LRU slot whose page left

// aux of a page owned by a process or a pin.
constexpr uint32_t kOwnerBit = 0x80000000u;
constexpr int kIdxBits = 19;
constexpr uint32_t kIdxMask = (1u << kIdxBits) - 1;
constexpr uint32_t kMaxOwners = 1u << (31 - kIdxBits);  // 4096

enum Ev : uint8_t {
  kEvAnonFault = 1,
  kEvFileRead,
  kEvFileWrite,
  kEvSpawn,
  kEvExit,
  kEvPinStart,
  kEvPinEnd,
  kEvSlabAlloc,
  kEvSlabFree,
  kEvKswapd,
  kEvWritebackDone,
  kEvFlusherTick,
  kEvSample,
};
constexpr uint64_t Tag(Ev ev, uint64_t payload = 0) { return ev | (payload << 8); }

int K(PageKind k) { return static_cast<int>(k); }

Status Bad(const std::string& field, const std::string& msg) { return InvalidArgument(field + ": " + msg); }

Status CheckRate(const char* field, double r) {
  if (!(r >= 0) || !std::isfinite(r)) return Bad(field, "must be a finite rate >= 0, got " + std::to_string(r));
  return OkStatus();
}
Status CheckFraction(const char* field, double f, bool zero_ok) {
  if (!(f <= 1) || !(zero_ok ? f >= 0 : f > 0))
    return Bad(field, std::string("must be in ") + (zero_ok ? "[0, 1]" : "(0, 1]") + ", got " + std::to_string(f));
  return OkStatus();
}

}  // namespace

Status BackgroundSpec::Validate() const {
  KREPLAY_RETURN_IF_ERROR(CheckRate("anon.fault_rate", anon.fault_rate));
  if (anon.working_set_pages >= kPfnMask) return Bad("anon.working_set_pages", "too large");
  KREPLAY_RETURN_IF_ERROR(CheckRate("cache.read_rate", cache.read_rate));
  KREPLAY_RETURN_IF_ERROR(CheckRate("cache.write_rate", cache.write_rate));
  if (cache.file_pages >= kPfnMask) return Bad("cache.file_pages", "must be below 2^31 - 1");
  const bool reads = cache.read_rate > 0 || cache.write_rate > 0 || (build.spawn_rate > 0 && build.file_reads > 0);
  if (reads && cache.file_pages == 0) return Bad("cache.file_pages", "must be > 0 when files are read or written");
  KREPLAY_RETURN_IF_ERROR(CheckFraction("cache.hot_fraction", cache.hot_fraction, false));
  KREPLAY_RETURN_IF_ERROR(CheckFraction("cache.hot_access", cache.hot_access, true));
  if (cache.dirty_ratio < 0 || cache.dirty_ratio > 100)
    return Bad("cache.dirty_ratio", "must be in [0, 100], got " + std::to_string(cache.dirty_ratio));
  if (cache.dirty_background_ratio < 0 || cache.dirty_background_ratio > 100)
    return Bad("cache.dirty_background_ratio",
               "must be in [0, 100], got " + std::to_string(cache.dirty_background_ratio));
  if (cache.dirty_expire < 0) return Bad("cache.dirty_expire", "must be >= 0");
  if (cache.dirty_writeback_interval <= 0) return Bad("cache.dirty_writeback_interval", "must be > 0");
  if (cache.writeback_inflight_pages == 0 || cache.writeback_inflight_pages > (1u << 24))
    return Bad("cache.writeback_inflight_pages", "must be in [1, 2^24]");
  KREPLAY_RETURN_IF_ERROR(CheckRate("build.spawn_rate", build.spawn_rate));
  if (uint64_t{build.anon_pages} + build.kernel_pages > kIdxMask)
    return Bad("build.anon_pages", "anon_pages + kernel_pages must be below 2^19");
  if (build.spawn_rate > 0 && build.mean_lifetime <= 0) return Bad("build.mean_lifetime", "must be > 0");
  KREPLAY_RETURN_IF_ERROR(CheckRate("pin.rate", pin.rate));
  if (pin.pages > kIdxMask) return Bad("pin.pages", "must be below 2^19");
  if (pin.rate > 0 && pin.pages == 0) return Bad("pin.pages", "must be > 0 when pin.rate > 0");
  if (pin.rate > 0 && pin.duration <= 0) return Bad("pin.duration", "must be > 0");
  KREPLAY_RETURN_IF_ERROR(CheckRate("slab.rate", slab.rate));
  KREPLAY_RETURN_IF_ERROR(CheckFraction("slab.reclaimable_fraction", slab.reclaimable_fraction, true));
  if (slab.rate > 0 && slab.mean_lifetime <= 0) return Bad("slab.mean_lifetime", "must be > 0");
  if (lru_batch_pages > 64) return Bad("lru_batch_pages", "must be in [0, 64], got " + std::to_string(lru_batch_pages));
  if (sample_interval < 0) return Bad("sample_interval", "must be >= 0");
  return OkStatus();
}

// ---------------------------------------------------------------- creation

StatusOr<std::unique_ptr<Background>> Background::Create(mm::Zone& zone, sim::Simulator& sim,
                                                         const MemProfile& profile, const BackgroundSpec& spec,
                                                         uint64_t seed) {
  KREPLAY_RETURN_IF_ERROR(spec.Validate());
  if (zone.nr_pages() >= kNone) return InvalidArgument("zone: too many pages for the background's indexes");
  const unsigned cpus = zone.config().nr_cpus;
  if (spec.anon.mapped_cpus > cpus) return Bad("anon.mapped_cpus", "exceeds the zone's " + std::to_string(cpus) + " CPUs");
  if (spec.cache.mapped_cpus > cpus) return Bad("cache.mapped_cpus", "exceeds the zone's " + std::to_string(cpus) + " CPUs");
  if (spec.build.mapped_cpus > cpus) return Bad("build.mapped_cpus", "exceeds the zone's " + std::to_string(cpus) + " CPUs");
  if (!(profile.writeback.bandwidth_mbps > 0)) return Bad("profile.writeback.bandwidth_mbps", "must be > 0");
  if (profile.writeback.latency_ns < 0) return Bad("profile.writeback.latency_us", "must be >= 0");
  const MemCosts& c = profile.costs;
  for (int64_t v : {c.page_fault, c.drop_clean_page, c.alloc_page, c.copy_page_cold, c.unmap_pte, c.map_pte})
    if (v < 0) return Bad("profile.costs_ns", "costs must be >= 0");
  return std::unique_ptr<Background>(new Background(zone, sim, profile, spec, seed));
}

Background::Background(mm::Zone& zone, sim::Simulator& sim, const MemProfile& profile, const BackgroundSpec& spec,
                       uint64_t seed)
    : zone_(zone),
      sim_(sim),
      profile_(profile),
      spec_(spec),
      rng_anon_(sim::Rng(seed).Fork(1)),
      rng_read_(sim::Rng(seed).Fork(2)),
      rng_write_(sim::Rng(seed).Fork(3)),
      rng_build_(sim::Rng(seed).Fork(4)),
      rng_pin_(sim::Rng(seed).Fork(5)),
      rng_slab_(sim::Rng(seed).Fork(6)) {
  ftab_.assign(spec_.cache.file_pages, kNone);
  wb_.Rebuild(spec_.cache.writeback_inflight_pages, [](const WbEntry&) { return true; }, [](WbEntry&, uint32_t) {});
  const unsigned cpus = zone_.config().nr_cpus;
  batch_.assign(uint64_t{cpus} * spec_.lru_batch_pages, 0);
  batch_len_.assign(cpus, 0);
  in_batch_.assign((uint64_t{zone_.nr_pages()} + 63) / 64, 0);
  page_xfer_ns_ = static_cast<sim::Duration>(4096.0 * 1000.0 / profile_.writeback.bandwidth_mbps);
}

Background::~Background() = default;

// ---------------------------------------------------------------- pages

void Background::SetPageKind(uint32_t pfn, PageKind k) {
  const PageKind old = KindOf(pfn);
  if (old != PageKind::kUnused) --nr_kind_[K(old)];
  if (k != PageKind::kUnused) ++nr_kind_[K(k)];
  zone_.SetKind(pfn, static_cast<uint8_t>(k));
}

unsigned Background::NextCpu() {
  cpu_ = cpu_ + 1 >= zone_.config().nr_cpus ? 0 : cpu_ + 1;
  return cpu_;
}

uint32_t Background::FileIndexOf(uint32_t pfn) const {
  const uint32_t aux = AuxOf(pfn);
  switch (KindOf(pfn)) {
    case PageKind::kFileClean: return lru_.at(aux);
    case PageKind::kFileDirty: return dirty_.at(aux).fidx;
    case PageKind::kFileWriteback: return wb_.at(aux).fidx;
    default: KREPLAY_CHECK(false, "FileIndexOf: not a page-cache page");
  }
  return 0;
}

// __alloc_pages(), simplified (see the header): fast path at the low
// watermark, then kswapd and the min watermark, then direct reclaim rounds.
std::optional<uint32_t> Background::AllocPage(PageKind k, MigrateType mt, bool cma, sim::Time now) {
  const unsigned cpu = NextCpu();
  const uint32_t base = cma ? mm::alloc::kCma : 0;
  auto p = zone_.GetPageFromFreelist(0, mt, base | mm::alloc::kWmarkLow, cpu);
  if (!p) {
    MaybeWakeKswapd(now);
    p = zone_.GetPageFromFreelist(0, mt, base | mm::alloc::kWmarkMin, cpu);
    for (int i = 0; !p && i < kMaxReclaimRetries; ++i) {
      ReclaimOutcome r = ShrinkFileLru(kSwapClusterMax, now);
      ++stats_.direct_reclaim_events;
      stats_.direct_reclaim_pages += r.freed;
      stats_.direct_stall_ns += r.cpu_ns;
      if (r.freed == 0) break;
      p = zone_.GetPageFromFreelist(0, mt, base | mm::alloc::kWmarkMin, cpu);
    }
    if (!p) {
      ++stats_.alloc_failures;
      return std::nullopt;
    }
  }
  zone_.SetKind(*p, static_cast<uint8_t>(PageKind::kUnused));  // the core never clears it
  SetPageKind(*p, k);
  zone_.SetAux(*p, 0);
  ++stats_.allocated[K(k)];
  MaybeWakeKswapd(now);
  return p;
}

void Background::FreePage(uint32_t pfn, sim::Time /*now*/) {
  if (InBatch(pfn)) BatchRemove(pfn);
  ++stats_.freed[K(KindOf(pfn))];
  SetPageKind(pfn, PageKind::kUnused);
  zone_.SetAux(pfn, 0);
  zone_.FreePages(pfn, 0, NextCpu());
}

// ---------------------------------------------------------------- LRU batches

void Background::BatchAdd(uint32_t pfn, unsigned cpu) {
  const unsigned n = spec_.lru_batch_pages;
  if (n == 0) return;
  batch_[uint64_t{cpu} * n + batch_len_[cpu]++] = pfn;
  in_batch_[pfn >> 6] |= uint64_t{1} << (pfn & 63);
  // folio_batch_add() returns the space left; none left moves the batch to
  // the LRU at once.
  if (batch_len_[cpu] == n) DrainBatch(cpu);
}

void Background::DrainBatch(unsigned cpu) {
  const unsigned n = spec_.lru_batch_pages;
  for (unsigned i = 0; i < batch_len_[cpu]; ++i) {
    const uint32_t pfn = batch_[uint64_t{cpu} * n + i];
    in_batch_[pfn >> 6] &= ~(uint64_t{1} << (pfn & 63));
  }
  batch_len_[cpu] = 0;
}

void Background::BatchRemove(uint32_t pfn) {
  const unsigned n = spec_.lru_batch_pages;
  for (unsigned cpu = 0; cpu < batch_len_.size(); ++cpu) {
    uint32_t* b = &batch_[uint64_t{cpu} * n];
    for (unsigned i = 0; i < batch_len_[cpu]; ++i) {
      if (b[i] != pfn) continue;
      b[i] = b[--batch_len_[cpu]];
      in_batch_[pfn >> 6] &= ~(uint64_t{1} << (pfn & 63));
      return;
    }
  }
  KREPLAY_CHECK(false, "BatchRemove: page marked but in no batch");
}

// ---------------------------------------------------------------- owners

void Background::WsAdd(uint32_t pfn) {
  zone_.SetAux(pfn, static_cast<uint32_t>(ws_.size()));
  ws_.push_back(pfn);
}

void Background::WsRemoveAt(uint32_t i) {
  const uint32_t last = ws_.back();
  ws_[i] = last;
  zone_.SetAux(last, i);
  ws_.pop_back();
}

std::optional<uint32_t> Background::NewOwner() {
  uint32_t slot;
  if (!free_owners_.empty()) {
    slot = free_owners_.back();
    free_owners_.pop_back();
  } else if (owners_.size() < kMaxOwners) {
    slot = static_cast<uint32_t>(owners_.size());
    owners_.emplace_back();
  } else {
    return std::nullopt;
  }
  Owner& o = owners_[slot];
  o.until = 0;
  o.pfns.clear();
  return slot;
}

void Background::OwnerAdd(uint32_t slot, uint32_t pfn) {
  std::vector<uint32_t>& v = owners_[slot].pfns;
  KREPLAY_CHECK(v.size() <= kIdxMask, "owner holds too many pages");
  zone_.SetAux(pfn, kOwnerBit | slot << kIdxBits | static_cast<uint32_t>(v.size()));
  v.push_back(pfn);
}

// ---------------------------------------------------------------- adoption

Status Background::Adopt(const PopulateResult& initial) {
  KREPLAY_CHECK(!started_ && !adopted_, "Adopt: once, before Start()");
  adopted_ = true;
  const sim::Time now = sim_.Now();
  const auto& pf = initial.pfns;
  const uint64_t files =
      pf[K(PageKind::kFileClean)].size() + pf[K(PageKind::kFileDirty)].size() + pf[K(PageKind::kFileWriteback)].size();
  if (files > ftab_.size())
    return FailedPrecondition("cache.file_pages: " + std::to_string(ftab_.size()) + " is smaller than the " +
                              std::to_string(files) + " page-cache pages adopted");
  auto take = [&](uint32_t pfn, PageKind k) {
    zone_.SetKind(pfn, static_cast<uint8_t>(PageKind::kUnused));
    SetPageKind(pfn, k);
    zone_.SetAux(pfn, 0);
  };
  for (uint32_t pfn : pf[K(PageKind::kAnon)]) {
    take(pfn, PageKind::kAnon);
    WsAdd(pfn);
  }
  uint32_t fidx = 0;
  for (uint32_t pfn : pf[K(PageKind::kFileClean)]) {
    take(pfn, PageKind::kFileClean);
    ftab_[fidx] = pfn;
    zone_.SetAux(pfn, LruPush(fidx++));
  }
  for (uint32_t pfn : pf[K(PageKind::kFileDirty)]) {
    take(pfn, PageKind::kFileDirty);
    ftab_[fidx] = pfn;
    DirtyPush(fidx++, now);
  }
  const auto& wbp = pf[K(PageKind::kFileWriteback)];
  if (wb_.size() + wbp.size() > wb_.capacity()) {
    wb_.Rebuild(static_cast<uint32_t>(wb_.size() + wbp.size() + spec_.cache.writeback_inflight_pages),
                [](const WbEntry&) { return true; },
                [this](WbEntry& e, uint32_t slot) { zone_.SetAux(ftab_[e.fidx] & kPfnMask, slot); });
  }
  for (uint32_t pfn : wbp) {
    take(pfn, PageKind::kFileDirty);
    ftab_[fidx] = pfn;
    IssueWriteback(fidx++, pfn, now);
  }
  for (uint32_t pfn : pf[K(PageKind::kSlabReclaimable)]) take(pfn, PageKind::kSlabReclaimable);
  for (uint32_t pfn : pf[K(PageKind::kKernel)]) take(pfn, PageKind::kKernel);
  if (!pf[K(PageKind::kPinned)].empty()) {
    auto slot = NewOwner();
    KREPLAY_CHECK(slot.has_value(), "no owner slot for adopted pins");
    owners_[*slot].until = sim::kTimeMax;
    for (uint32_t pfn : pf[K(PageKind::kPinned)]) {
      take(pfn, PageKind::kPinned);
      OwnerAdd(*slot, pfn);
    }
  }
  return OkStatus();
}

// ---------------------------------------------------------------- running

void Background::ScheduleNext(int ev, double rate, sim::Rng& rng, sim::Time now) {
  if (stopped_ || !(rate > 0)) return;
  const double dt = rng.Exponential(1e9 / rate);
  sim_.At(now + 1 + static_cast<sim::Duration>(dt), this, Tag(static_cast<Ev>(ev)));
}

void Background::Start() {
  KREPLAY_CHECK(!started_, "Start: once");
  started_ = true;
  const sim::Time now = sim_.Now();
  ScheduleNext(kEvAnonFault, spec_.anon.fault_rate, rng_anon_, now);
  ScheduleNext(kEvFileRead, spec_.cache.read_rate, rng_read_, now);
  ScheduleNext(kEvFileWrite, spec_.cache.write_rate, rng_write_, now);
  ScheduleNext(kEvSpawn, spec_.build.spawn_rate, rng_build_, now);
  ScheduleNext(kEvPinStart, spec_.pin.rate, rng_pin_, now);
  ScheduleNext(kEvSlabAlloc, spec_.slab.rate, rng_slab_, now);
  sim_.At(now + spec_.cache.dirty_writeback_interval, this, Tag(kEvFlusherTick));
  if (spec_.sample_interval > 0) sim_.At(now, this, Tag(kEvSample));
  StartWriteback(now);
  MaybeWakeKswapd(now);
}

void Background::Stop() { stopped_ = true; }

void Background::OnEvent(uint64_t tag) {
  const sim::Time now = sim_.Now();
  const uint64_t payload = tag >> 8;
  switch (static_cast<Ev>(tag & 0xff)) {
    case kEvAnonFault:
      if (stopped_) return;
      AnonFault(now);
      ScheduleNext(kEvAnonFault, spec_.anon.fault_rate, rng_anon_, now);
      return;
    case kEvFileRead:
      if (stopped_) return;
      ReadFile(PickFile(rng_read_), now, true);
      ScheduleNext(kEvFileRead, spec_.cache.read_rate, rng_read_, now);
      return;
    case kEvFileWrite: {
      if (stopped_) return;
      const uint32_t fidx = PickFile(rng_write_);
      if (OverDirtyLimit()) {
        // balance_dirty_pages(): the writer sleeps until writeback brings
        // dirty + writeback under the limit (WritebackDone() resumes it).
        throttled_ = true;
        throttle_since_ = now;
        throttled_fidx_ = fidx;
        ++stats_.dirty_throttles;
        // Over the limit is over the background threshold (bg < limit):
        // writeback runs, so a completion comes to wake the writer even if
        // the limits moved with free memory since the last write.
        StartWriteback(now);
        return;
      }
      WriteFile(fidx, now);
      ScheduleNext(kEvFileWrite, spec_.cache.write_rate, rng_write_, now);
      return;
    }
    case kEvSpawn:
      if (stopped_) return;
      Spawn(now);
      ScheduleNext(kEvSpawn, spec_.build.spawn_rate, rng_build_, now);
      return;
    case kEvExit: Exit(static_cast<uint32_t>(payload), now); return;
    case kEvPinStart:
      if (stopped_) return;
      PinStart(now);
      ScheduleNext(kEvPinStart, spec_.pin.rate, rng_pin_, now);
      return;
    case kEvPinEnd: PinEnd(static_cast<uint32_t>(payload), now); return;
    case kEvSlabAlloc:
      if (stopped_) return;
      SlabAlloc(now);
      ScheduleNext(kEvSlabAlloc, spec_.slab.rate, rng_slab_, now);
      return;
    case kEvSlabFree: FreePage(static_cast<uint32_t>(payload), now); return;
    case kEvKswapd: {
      // balance_pgdat(): rounds of SWAP_CLUSTER_MAX, each taking its CPU
      // time, until the zone is balanced at the high watermark.
      ReclaimOutcome r = ShrinkFileLru(kSwapClusterMax, now);
      stats_.kswapd_reclaimed += r.freed;
      stats_.kswapd_cpu_ns += r.cpu_ns;
      if (zone_.ZoneWatermarkOk(0, zone_.WmarkPages(mm::Wmark::kHigh), 0)) {
        kswapd_running_ = false;
        zone_.ClearWatermarkBoost();
        return;
      }
      if (r.freed == 0) {  // nothing reclaimable: back to sleep, one failure more
        kswapd_running_ = false;
        ++kswapd_failures_;
        return;
      }
      sim_.At(now + std::max<sim::Duration>(1, r.cpu_ns), this, Tag(kEvKswapd));
      return;
    }
    case kEvWritebackDone: WritebackDone(now); return;
    case kEvFlusherTick:
      // wb_workfn() every dirty_writeback_interval: kupdate writes back the
      // pages dirty for longer than dirty_expire.
      if (stopped_) return;
      StartWriteback(now);
      sim_.At(now + spec_.cache.dirty_writeback_interval, this, Tag(kEvFlusherTick));
      return;
    case kEvSample:
      if (stopped_) return;
      samples_.push_back(Sample(now));
      sim_.At(now + spec_.sample_interval, this, Tag(kEvSample));
      return;
  }
  KREPLAY_CHECK(false, "Background: unknown event");
}

// ---------------------------------------------------------------- anonymous memory

void Background::AnonFault(sim::Time now) {
  ++stats_.anon_faults;
  stats_.fault_ns += profile_.costs.page_fault;
  auto p = AllocPage(PageKind::kAnon, MigrateType::kMovable, true, now);
  if (!p) return;
  WsAdd(*p);
  BatchAdd(*p, cpu_);
  // Turnover: above the target the process frees (munmap, exit of a
  // thread's arena) random pages of its set.
  for (int n = 0; n < 2 && ws_.size() > spec_.anon.working_set_pages; ++n) AnonFreeRandom(now);
}

void Background::AnonFreeRandom(sim::Time now) {
  const uint32_t i = static_cast<uint32_t>(rng_anon_.Below(ws_.size()));
  const uint32_t pfn = ws_[i];
  WsRemoveAt(i);
  FreePage(pfn, now);
}

// ---------------------------------------------------------------- build mix

void Background::Spawn(sim::Time now) {
  auto slot = NewOwner();
  if (!slot) {
    ++stats_.processes_skipped;
    return;
  }
  ++stats_.processes;
  const auto& b = spec_.build;
  for (uint32_t i = 0; i < b.anon_pages; ++i) {
    ++stats_.anon_faults;
    stats_.fault_ns += profile_.costs.page_fault;
    auto p = AllocPage(PageKind::kAnon, MigrateType::kMovable, true, now);
    if (!p) break;
    OwnerAdd(*slot, *p);
    BatchAdd(*p, cpu_);
  }
  for (uint32_t i = 0; i < b.kernel_pages; ++i) {
    auto p = AllocPage(PageKind::kKernel, MigrateType::kUnmovable, false, now);
    if (!p) break;
    OwnerAdd(*slot, *p);
  }
  if (!ftab_.empty())
    for (uint32_t i = 0; i < b.file_reads; ++i) ReadFile(PickFile(rng_build_), now, true);
  const double life = rng_build_.Exponential(static_cast<double>(b.mean_lifetime));
  sim_.At(now + 1 + static_cast<sim::Duration>(life), this, Tag(kEvExit, *slot));
}

void Background::Exit(uint32_t slot, sim::Time now) {
  Owner& o = owners_[slot];
  for (uint32_t pfn : o.pfns) FreePage(pfn, now);
  o.pfns.clear();
  free_owners_.push_back(slot);
}

// ---------------------------------------------------------------- pins

// pin_user_pages(): the pages come from the working set. FOLL_LONGTERM:
// check_and_migrate_movable_pages() drains the LRU batches if a page is not
// on the LRU yet, then migrates every page of a CMA pageblock to a page
// allocated GFP_USER (migration_target_control in 6.1, new_non_cma_page()
// in 5.1): not __GFP_MOVABLE, so an UNMOVABLE allocation without ALLOC_CMA.
// If a target cannot be allocated the pin fails (-ENOMEM) and is undone.
void Background::PinStart(sim::Time now) {
  ++stats_.pins;
  const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(spec_.pin.pages, ws_.size()));
  if (n < spec_.pin.pages) ++stats_.pin_short;
  if (n == 0) return;
  auto slot = NewOwner();
  if (!slot) {
    ++stats_.pin_failures;
    return;
  }
  owners_[*slot].until = now + spec_.pin.duration;
  for (uint32_t i = 0; i < n; ++i) {
    const uint32_t j = static_cast<uint32_t>(rng_pin_.Below(ws_.size()));
    const uint32_t pfn = ws_[j];
    WsRemoveAt(j);
    SetPageKind(pfn, PageKind::kPinned);
    OwnerAdd(*slot, pfn);
  }
  if (spec_.pin.longterm) {
    std::vector<uint32_t>& v = owners_[*slot].pfns;
    bool drained = false;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t pfn = v[i];
      if (zone_.PageblockMigratetype(pfn) != MigrateType::kCma) continue;
      if (!drained && InBatch(pfn)) {
        DrainLruBatches(now);
        drained = true;
      }
      auto np = AllocPage(PageKind::kPinned, MigrateType::kUnmovable, false, now);
      if (!np) {
        ++stats_.pin_failures;
        PinEnd(*slot, now);
        return;
      }
      MoveRecord(pfn, *np);
      FreePage(pfn, now);  // the kind byte of pfn still says kPinned: counted and cleared here
      ++stats_.pin_migrated_pages;
      const MemCosts& c = profile_.costs;
      stats_.pin_migrate_ns += c.unmap_pte + c.copy_page_cold + c.map_pte;
    }
  }
  stats_.pinned_pages += n;
  sim_.At(owners_[*slot].until, this, Tag(kEvPinEnd, *slot));
}

void Background::PinEnd(uint32_t slot, sim::Time /*now*/) {
  Owner& o = owners_[slot];
  for (uint32_t pfn : o.pfns) {
    SetPageKind(pfn, PageKind::kAnon);
    WsAdd(pfn);
  }
  o.pfns.clear();
  free_owners_.push_back(slot);
}

// ---------------------------------------------------------------- slab

void Background::SlabAlloc(sim::Time now) {
  const bool reclaimable = rng_slab_.Bernoulli(spec_.slab.reclaimable_fraction);
  const PageKind k = reclaimable ? PageKind::kSlabReclaimable : PageKind::kKernel;
  auto p = AllocPage(k, KindMigratetype(k), false, now);
  const double life = rng_slab_.Exponential(static_cast<double>(spec_.slab.mean_lifetime));
  if (!p) return;
  ++stats_.slab_allocs;
  // Slab pages never move (unmovable or reclaimable), so the event may name
  // the PFN.
  sim_.At(now + 1 + static_cast<sim::Duration>(life), this, Tag(kEvSlabFree, *p));
}

// ---------------------------------------------------------------- page cache

uint32_t Background::PickFile(sim::Rng& rng) {
  const uint64_t f = ftab_.size();
  const uint64_t hot = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(f) * spec_.cache.hot_fraction));
  if (hot >= f) return static_cast<uint32_t>(rng.Below(f));
  if (rng.Bernoulli(spec_.cache.hot_access)) return static_cast<uint32_t>(rng.Below(hot));
  return static_cast<uint32_t>(hot + rng.Below(f - hot));
}

uint32_t Background::LruPush(uint32_t fidx) {
  if (lru_.full()) {
    const uint32_t cap = lru_.capacity();
    const uint32_t live = cap - lru_tombs_;
    // Compact in place while tombstones are at least an eighth; else grow
    // by an eighth (bounded slack: the memory budget).
    const uint32_t new_cap = live < cap - cap / 8 ? cap : cap + cap / 8 + 64;
    lru_.Rebuild(new_cap, [](uint32_t f) { return f != kTomb; },
                 [this](uint32_t f, uint32_t slot) { zone_.SetAux(ftab_[f] & kPfnMask, slot); });
    lru_tombs_ = 0;
  }
  return lru_.PushBack(fidx);
}

void Background::DirtyPush(uint32_t fidx, sim::Time now) {
  if (dirty_.full()) {
    const uint32_t cap = dirty_.capacity();
    dirty_.Rebuild(cap + cap / 4 + 64, [](const DirtyEntry&) { return true; },
                   [this](DirtyEntry& e, uint32_t slot) { zone_.SetAux(ftab_[e.fidx] & kPfnMask, slot); });
  }
  const uint32_t pfn = ftab_[fidx] & kPfnMask;
  zone_.SetAux(pfn, dirty_.PushBack({fidx, static_cast<uint32_t>(now / sim::kMs)}));
}

// Reads all take the same time and start in event order, so the ring is
// sorted by `until`: walk from the newest while still in flight.
bool Background::ReadRefHeld(uint32_t fidx, sim::Time now, sim::Time* until) const {
  for (uint32_t i = reads_.size(); i-- > 0;) {
    const ReadEntry& e = reads_.at(reads_.SlotAt(i));
    if (e.until <= now) break;
    if (e.fidx == fidx) {
      *until = e.until;
      return true;
    }
  }
  return false;
}

// filemap_read() of one page: a hit, or a new clean page (a refault if the
// page had been evicted: workingset_refault()) held by the read IO.
void Background::ReadFile(uint32_t fidx, sim::Time now, bool count_read) {
  if (count_read) ++stats_.file_reads;
  const uint32_t st = ftab_[fidx];
  if ((st & kPfnMask) != kNone) {
    if (count_read) ++stats_.read_hits;
    return;
  }
  auto p = AllocPage(PageKind::kFileClean, MigrateType::kMovable, true, now);
  if (!p) return;
  const unsigned cpu = cpu_;
  bool from_cleancache = false;
  if (st & kShadow) {
    ++stats_.refaults;
    if (cleancache_ && cleancache_->Get(fidx, now)) {
      ++stats_.refaults_cleancache;
      from_cleancache = true;
    }
  }
  ftab_[fidx] = *p;
  zone_.SetAux(*p, LruPush(fidx));
  BatchAdd(*p, cpu);
  if (!from_cleancache) {
    while (!reads_.empty() && reads_.front().until <= now) reads_.PopFront();
    if (reads_.full())
      reads_.Rebuild(reads_.capacity() * 2 + 16, [](const ReadEntry&) { return true; }, [](ReadEntry&, uint32_t) {});
    reads_.PushBack({fidx, now + profile_.writeback.latency_ns + page_xfer_ns_});
  }
}

void Background::WriteFile(uint32_t fidx, sim::Time now) {
  ++stats_.file_writes;
  if ((ftab_[fidx] & kPfnMask) == kNone) {
    ReadFile(fidx, now, false);  // the write fills the page first
    if ((ftab_[fidx] & kPfnMask) == kNone) return;
  }
  const uint32_t pfn = ftab_[fidx];
  if (KindOf(pfn) == PageKind::kFileClean) {
    lru_.at(AuxOf(pfn)) = kTomb;
    ++lru_tombs_;
    SetPageKind(pfn, PageKind::kFileDirty);
    DirtyPush(fidx, now);
  }
  StartWriteback(now);  // balance_dirty_pages() kicks background writeback
}

std::pair<uint64_t, uint64_t> Background::DirtyThresholds() const {
  // global_dirtyable_memory(): free - totalreserve + file LRU, + 1.
  // totalreserve_pages = high watermark (no lowmem_reserve in one zone),
  // computed when the watermarks are set, so without the boost.
  const uint64_t free = zone_.nr_free_pages();
  const uint64_t reserve = zone_.WmarkPages(mm::Wmark::kHigh) - zone_.watermark_boost();
  const uint64_t file = pages(PageKind::kFileClean) + pages(PageKind::kFileDirty) + pages(PageKind::kFileWriteback);
  const uint64_t avail = free - std::min(free, reserve) + file + 1;
  // domain_dirty_limits().
  const uint64_t thresh = avail * static_cast<uint64_t>(spec_.cache.dirty_ratio) / 100;
  uint64_t bg = avail * static_cast<uint64_t>(spec_.cache.dirty_background_ratio) / 100;
  if (bg >= thresh) bg = thresh / 2;
  return {bg, thresh};
}

bool Background::OverDirtyLimit() const {
  const uint64_t d = pages(PageKind::kFileDirty) + pages(PageKind::kFileWriteback);
  return d > 0 && d >= DirtyThresholds().second;
}

void Background::IssueWriteback(uint32_t fidx, uint32_t pfn, sim::Time now) {
  // The device streams pages back to back; a page completes `latency`
  // after its transfer ends.
  device_busy_until_ = std::max(device_busy_until_, static_cast<double>(now)) +
                       4096.0 * 1000.0 / profile_.writeback.bandwidth_mbps;
  const sim::Time done = static_cast<sim::Time>(std::ceil(device_busy_until_)) + profile_.writeback.latency_ns;
  SetPageKind(pfn, PageKind::kFileWriteback);
  zone_.SetAux(pfn, wb_.PushBack({fidx, done}));
  ++stats_.writeback_started;
  if (!wb_event_pending_ && wb_.size() == 1) {  // the new page is the head
    sim_.At(done, this, Tag(kEvWritebackDone));
    wb_event_pending_ = true;
  }
}

// The flusher: oldest dirty pages first while over the background threshold
// (wb_over_bg_thresh()), for expired ones (kupdate), or for all when reclaim
// asked (WB_REASON_VMSCAN); at most writeback_inflight_pages at the device.
void Background::StartWriteback(sim::Time now) {
  if (dirty_.empty()) {
    flush_all_ = false;
    return;
  }
  const uint64_t bg = DirtyThresholds().first;
  while (!dirty_.empty() && wb_.size() < spec_.cache.writeback_inflight_pages) {
    const DirtyEntry e = dirty_.front();
    const bool expired = now - static_cast<sim::Time>(e.dirtied_ms) * sim::kMs >= spec_.cache.dirty_expire;
    if (!(flush_all_ || pages(PageKind::kFileDirty) > bg || expired)) break;
    dirty_.PopFront();
    IssueWriteback(e.fidx, ftab_[e.fidx] & kPfnMask, now);
  }
  if (dirty_.empty()) flush_all_ = false;
}

// end_page_writeback(): the page is clean again and joins the LRU's young
// end; a throttled writer wakes once under the limit.
void Background::WritebackDone(sim::Time now) {
  wb_event_pending_ = false;
  while (!wb_.empty() && wb_.front().done <= now) {
    const uint32_t fidx = wb_.front().fidx;
    wb_.PopFront();
    const uint32_t pfn = ftab_[fidx] & kPfnMask;
    SetPageKind(pfn, PageKind::kFileClean);
    zone_.SetAux(pfn, LruPush(fidx));
    ++stats_.writeback_pages;
  }
  StartWriteback(now);
  if (throttled_ && !OverDirtyLimit()) {
    throttled_ = false;
    stats_.dirty_throttle_ns += now - throttle_since_;
    if (!stopped_) {
      WriteFile(throttled_fidx_, now);
      ScheduleNext(kEvFileWrite, spec_.cache.write_rate, rng_write_, now);
    }
  }
  if (!wb_.empty() && !wb_event_pending_) {
    sim_.At(std::max(now, wb_.front().done), this, Tag(kEvWritebackDone));
    wb_event_pending_ = true;
  }
}

// ---------------------------------------------------------------- reclaim

void Background::MaybeWakeKswapd(sim::Time now) {
  if (kswapd_running_ || kswapd_failures_ >= kMaxReclaimRetries) return;
  // kswapd's measure: zone_watermark_ok(zone, 0, low, 0, 0), so free CMA
  // pages do not count.
  if (zone_.ZoneWatermarkOk(0, zone_.WmarkPages(mm::Wmark::kLow), 0)) return;
  kswapd_running_ = true;
  ++stats_.kswapd_wakeups;
  sim_.At(std::max(now, sim_.Now()), this, Tag(kEvKswapd));
}

void Background::Evict(uint32_t pfn, uint32_t fidx, sim::Time now) {
  ftab_[fidx] = kShadow | kNone;  // workingset_eviction(): a shadow entry
  if (cleancache_) {
    cleancache_->Put(fidx, now);
    ++stats_.cleancache_puts;
  }
  ++stats_.evicted;
  FreePage(pfn, now);
}

// shrink_page_list() over the oldest clean pages: up to nr freed, at most
// one pass over the FIFO. Pages still in an LRU batch or under read IO are
// kept (rotated).
ReclaimOutcome Background::ShrinkFileLru(uint64_t nr, sim::Time now) {
  ReclaimOutcome r;
  for (uint32_t budget = lru_.size(); r.freed < nr && budget > 0 && !lru_.empty(); --budget) {
    const uint32_t fidx = lru_.front();
    lru_.PopFront();
    if (fidx == kTomb) {
      --lru_tombs_;
      continue;
    }
    const uint32_t pfn = ftab_[fidx] & kPfnMask;
    sim::Time until;
    if (InBatch(pfn) || ReadRefHeld(fidx, now, &until)) {
      zone_.SetAux(pfn, lru_.PushBack(fidx));
      continue;
    }
    Evict(pfn, fidx, now);
    ++r.freed;
  }
  if (r.freed < nr && pages(PageKind::kFileDirty) > 0) {
    // Too few clean pages while dirty ones wait: wake the flusher for all.
    ++stats_.reclaim_flusher_wakeups;
    flush_all_ = true;
    StartWriteback(now);
  }
  r.cpu_ns = static_cast<sim::Duration>(r.freed) * profile_.costs.drop_clean_page;
  if (r.freed > 0) kswapd_failures_ = 0;  // shrink_node(): reclaimable progress
  return r;
}

// ---------------------------------------------------------------- PageUsers

sim::Time Background::RefHeldUntil(uint32_t pfn, sim::Time now) const {
  if (InBatch(pfn)) return sim::kTimeMax;  // until lru_add_drain_all()
  const PageKind k = KindOf(pfn);
  if (k == PageKind::kPinned) {
    const uint32_t aux = AuxOf(pfn);
    KREPLAY_CHECK(aux & kOwnerBit, "RefHeldUntil: pinned page without a pin");
    return owners_[(aux & ~kOwnerBit) >> kIdxBits].until;
  }
  if (k == PageKind::kFileClean) {
    sim::Time until;
    if (ReadRefHeld(FileIndexOf(pfn), now, &until)) return until;
  }
  return 0;
}

sim::Time Background::WritebackDoneAt(uint32_t pfn) const {
  KREPLAY_CHECK(KindOf(pfn) == PageKind::kFileWriteback, "WritebackDoneAt: not under writeback");
  return wb_.at(AuxOf(pfn)).done;
}

unsigned Background::MappedCpus(uint32_t pfn) const {
  switch (KindOf(pfn)) {
    case PageKind::kAnon: {
      const uint32_t aux = AuxOf(pfn);
      return (aux & kOwnerBit) ? spec_.build.mapped_cpus : spec_.anon.mapped_cpus;
    }
    case PageKind::kPinned: return spec_.anon.mapped_cpus;
    case PageKind::kFileClean:
    case PageKind::kFileDirty:
    case PageKind::kFileWriteback: return spec_.cache.mapped_cpus;
    default: return 0;
  }
}

void Background::DrainLruBatches(sim::Time /*now*/) {
  ++stats_.lru_drains;
  for (unsigned cpu = 0; cpu < batch_len_.size(); ++cpu) DrainBatch(cpu);
}

void Background::MoveRecord(uint32_t old_pfn, uint32_t new_pfn) {
  const PageKind k = KindOf(old_pfn);
  const uint32_t aux = AuxOf(old_pfn);
  zone_.SetKind(new_pfn, static_cast<uint8_t>(k));
  zone_.SetAux(new_pfn, aux);
  switch (k) {
    case PageKind::kAnon:
    case PageKind::kKernel:
    case PageKind::kPinned:
      if (aux & kOwnerBit) {
        owners_[(aux & ~kOwnerBit) >> kIdxBits].pfns[aux & kIdxMask] = new_pfn;
      } else {
        KREPLAY_CHECK(k == PageKind::kAnon, "Migrated: an unmovable kernel page");
        ws_[aux] = new_pfn;
      }
      break;
    case PageKind::kFileClean:
    case PageKind::kFileDirty:
    case PageKind::kFileWriteback: ftab_[FileIndexOf(new_pfn)] = new_pfn; break;
    default: KREPLAY_CHECK(false, "Migrated: not a page of the background");
  }
  if (InBatch(old_pfn)) {
    const unsigned n = spec_.lru_batch_pages;
    for (unsigned cpu = 0; cpu < batch_len_.size(); ++cpu)
      for (unsigned i = 0; i < batch_len_[cpu]; ++i)
        if (batch_[uint64_t{cpu} * n + i] == old_pfn) batch_[uint64_t{cpu} * n + i] = new_pfn;
    in_batch_[old_pfn >> 6] &= ~(uint64_t{1} << (old_pfn & 63));
    in_batch_[new_pfn >> 6] |= uint64_t{1} << (new_pfn & 63);
  }
}

void Background::Migrated(uint32_t old_pfn, uint32_t new_pfn, sim::Time /*now*/) {
  ++stats_.migrated_by_allocator;
  MoveRecord(old_pfn, new_pfn);
  // The caller frees old_pfn; it no longer holds a page of ours.
  zone_.SetKind(old_pfn, static_cast<uint8_t>(PageKind::kUnused));
  zone_.SetAux(old_pfn, 0);
}

void Background::Dropped(uint32_t pfn, sim::Time now) {
  KREPLAY_CHECK(KindOf(pfn) == PageKind::kFileClean, "Dropped: not a clean page-cache page");
  ++stats_.dropped_by_allocator;
  const uint32_t slot = AuxOf(pfn);
  const uint32_t fidx = lru_.at(slot);
  lru_.at(slot) = kTomb;
  ++lru_tombs_;
  if (InBatch(pfn)) BatchRemove(pfn);
  // __remove_mapping(reclaimed = true) leaves a shadow entry too.
  ftab_[fidx] = kShadow | kNone;
  if (cleancache_) {
    cleancache_->Put(fidx, now);
    ++stats_.cleancache_puts;
  }
  ++stats_.evicted;
  SetPageKind(pfn, PageKind::kUnused);
  zone_.SetAux(pfn, 0);
}

ReclaimOutcome Background::DirectReclaim(uint64_t nr, sim::Time now) {
  ReclaimOutcome r = ShrinkFileLru(nr, now);
  stats_.external_reclaim_pages += r.freed;
  stats_.external_reclaim_ns += r.cpu_ns;
  return r;
}

// ---------------------------------------------------------------- reports

MemSample Background::Sample(sim::Time now) const {
  MemSample s;
  s.at = now;
  s.free = zone_.nr_free_pages();
  s.free_cma = zone_.nr_free_cma_pages();
  s.anon = pages(PageKind::kAnon);
  s.dirty = pages(PageKind::kFileDirty);
  s.writeback = pages(PageKind::kFileWriteback);
  s.file = pages(PageKind::kFileClean) + s.dirty + s.writeback;
  s.slab_reclaimable = pages(PageKind::kSlabReclaimable);
  s.kernel = pages(PageKind::kKernel);
  s.pinned = pages(PageKind::kPinned);
  // si_mem_available().
  const int64_t totalreserve = static_cast<int64_t>(zone_.WmarkPages(mm::Wmark::kHigh) - zone_.watermark_boost());
  const uint64_t wmark_low = zone_.WmarkPages(mm::Wmark::kLow);
  int64_t available = static_cast<int64_t>(s.free) - totalreserve;
  const uint64_t pagecache = s.file - std::min(s.file / 2, wmark_low);
  available += static_cast<int64_t>(pagecache);
  const uint64_t reclaimable = s.slab_reclaimable;
  available += static_cast<int64_t>(reclaimable - std::min(reclaimable / 2, wmark_low));
  s.mem_available = static_cast<uint64_t>(std::max<int64_t>(0, available));
  return s;
}

uint64_t Background::MemoryBytes() const {
  uint64_t b = ws_.capacity() * sizeof(uint32_t) + ftab_.capacity() * sizeof(uint32_t);
  b += owners_.capacity() * sizeof(Owner) + free_owners_.capacity() * sizeof(uint32_t);
  for (const Owner& o : owners_) b += o.pfns.capacity() * sizeof(uint32_t);
  b += lru_.MemoryBytes() + dirty_.MemoryBytes() + wb_.MemoryBytes() + reads_.MemoryBytes();
  b += batch_.capacity() * sizeof(uint32_t) + batch_len_.capacity() + in_batch_.capacity() * sizeof(uint64_t);
  return b;
}

}  // namespace kreplay::memory
