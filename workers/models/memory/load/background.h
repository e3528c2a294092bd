// The background load and reclaim of a memory study: a seeded,
// event-driven set of page users against one mm::Zone that uses memory the
// way a running system does, and the PageUsers the contiguous allocator
// talks to when it migrates or drops their pages.
//
// Mirrors (v6.1 unless said otherwise):
//   anonymous faults          do_anonymous_page() (mm/memory.c): one order-0
//                             GFP_HIGHUSER_MOVABLE page per fault
//   LRU add batches           folio_add_lru() / lru_add_drain_all()
//                             (mm/swap.c): PAGEVEC_SIZE (15) pages per CPU
//                             hold a reference until the batch is drained
//   page cache reads          filemap_read(): a miss allocates and adds a
//                             page (filemap_add_folio()); one page per
//                             read, no readahead
//   refaults                  workingset_eviction()/workingset_refault()
//                             (mm/workingset.c): a shadow bit per file page
//   dirty limits, flusher     global_dirtyable_memory(),
//                             domain_dirty_limits(), balance_dirty_pages(),
//                             wb_over_bg_thresh() (mm/page-writeback.c);
//                             wb_writeback() kupdate (fs/fs-writeback.c)
//   long-term pins            pin_user_pages(FOLL_LONGTERM) ->
//                             check_and_migrate_movable_pages() (mm/gup.c):
//                             pages in CMA pageblocks are migrated first to
//                             pages allocated GFP_USER (not movable, no CMA)
//   kswapd                    wakeup_kswapd(), balance_pgdat(),
//                             pgdat_balanced() (mm/vmscan.c): woken below
//                             the low watermark, reclaims to the high one,
//                             kswapd_failures / MAX_RECLAIM_RETRIES (16)
//   page reclaim              shrink_page_list() on the inactive file list,
//                             SWAP_CLUSTER_MAX (32) pages per round
//   direct reclaim            __alloc_pages_slowpath() -> try_to_free_pages()
//   MemAvailable              si_mem_available() (mm/show_mem.c; mm/page_alloc.c
//                             before 6.2)
//
// Simplified, and why:
//   - No swap: anonymous memory is never reclaimed (a non-goal: the family's
//     question is contiguous allocation, and phones and servers under study
//     run without swap or with zram, whose cost is a different model). Slab
//     shrinkers are not modelled: reclaimable slab goes at its lifetime's end.
//   - The file LRU is one FIFO (oldest first), no active/inactive lists, no
//     second chance for referenced pages. Dirty and writeback pages are kept
//     off it (the kernel leaves them on the list and skips them in
//     shrink_page_list()): a page re-enters at the young end when its
//     writeback completes. Reclaim that finds too few clean pages while
//     dirty ones exist wakes the flusher for all of them (WB_REASON_VMSCAN).
//   - Allocation (__alloc_pages()): the fast path tries the low watermark;
//     on failure kswapd is woken and the min watermark tried; then up to 16
//     rounds of direct reclaim of 32 pages each, each followed by a retry at
//     min; a round that frees nothing ends it (no OOM killer, no compaction,
//     no ALLOC_HARDER): the allocation fails and is counted. kswapd's own
//     check (free pages without the CMA ones, against the low mark) is made
//     after every background allocation: the kernel makes it when a fast
//     path fails, and a CMA-counting movable fast path can pass while
//     kswapd's measure is low, but the unmovable allocations every load has
//     (page tables, slab) would then wake it.
//   - Generators are open loop (Poisson at their rates): the background's
//     slowdown (direct-reclaim stalls, fault time) is reported, not fed
//     back, except for dirty throttling, which pauses the writer.
//   - balance_dirty_pages(): the writer runs free below dirty_ratio and
//     waits at it until dirty + writeback falls below; the proportional
//     pauses between the freerun ceiling and the limit are not modelled.
//     A write to a page under writeback leaves it under writeback (the
//     kernel redirties it; that redirty is lost).
//   - One device: reads take writeback.latency + 4 KiB at the bandwidth and
//     do not queue; writeback streams pages back to back at the bandwidth
//     (each page's completion = its transfer end + latency), at most
//     `writeback_inflight_pages` queued.
//   - Processes of the build mix allocate their pages at spawn and free them
//     at exit; they read files through the page cache like any reader.
//   - Pinned pages leave the anonymous working set while pinned and return
//     to it at unpin. Pages held by Adopt() as kPinned stay pinned for ever;
//     adopted kernel and reclaimable-slab pages are never freed (the
//     kernel's baseline).
//
// Memory: about 9 bytes per zone page in a full zone with a file set as
// large as memory (measured 9.2 at 1 GiB, 9.1 at 8 GiB; the test asserts
// <= 12): a slot per resident page in the structure that owns it (4 bytes:
// the working set, a process or pin, the LRU FIFO, the dirty FIFO), a bit
// per page for the LRU batches; plus 4 bytes per page of the file set (the
// resident PFN and the shadow bit). The zone's `aux` holds the page's slot,
// so Migrated() is O(1) and events never name a movable page's PFN.
//
// Thread-safety: none; one simulation.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "services/core/status.h"
#include "services/sim/engine.h"
#include "services/sim/rng.h"
#include "services/sim/time.h"
#include "workers/models/memory/load/slot_ring.h"
#include "workers/models/memory/mm/zone.h"
#include "workers/models/memory/profiles/mem_profile.h"
#include "workers/models/memory/state/page_state.h"
#include "workers/models/memory/state/page_users.h"

namespace kreplay::memory {

// What the background does. Rates are Poisson; a rate of 0 turns the
// component off. Validate() names the bad field ("cache.dirty_ratio: ...").
struct BackgroundSpec {
  struct Anon {
    uint64_t working_set_pages = 0;  // target size of the anonymous working set
    // Page faults per second. Each allocates a page; above the target, each
    // fault also frees up to two random pages of the set (turnover).
    double fault_rate = 0;
    unsigned mapped_cpus = 1;  // weight of the owning mm's cpumask (TLB shootdown)
  } anon;
  struct Cache {
    uint64_t file_pages = 0;  // the file set, 4 KiB pages
    double read_rate = 0;     // page reads per second
    double write_rate = 0;    // page writes per second (buffered)
    // Skew: a fraction `hot_access` of accesses go to the first
    // `hot_fraction` of the file set, the rest to the others; 1, 1: uniform.
    double hot_fraction = 1.0;
    double hot_access = 1.0;
    unsigned mapped_cpus = 0;             // page cache read() only: no mapping
    int dirty_ratio = 20;                 // /proc/sys/vm/dirty_ratio, %
    int dirty_background_ratio = 10;      // /proc/sys/vm/dirty_background_ratio, %
    sim::Duration dirty_expire = 30 * sim::kSec;             // dirty_expire_centisecs
    sim::Duration dirty_writeback_interval = 5 * sim::kSec;  // dirty_writeback_centisecs
    uint32_t writeback_inflight_pages = 1024;  // writeback queued at the device at once
  } cache;
  // A kernel-build-like mix of short-lived processes.
  struct Build {
    double spawn_rate = 0;     // processes per second
    uint32_t anon_pages = 256;   // per process (< 2^19)
    uint32_t kernel_pages = 8;   // page tables + kernel stack, unmovable (< 2^19 with anon_pages)
    uint32_t file_reads = 64;    // page reads at spawn
    sim::Duration mean_lifetime = 500 * sim::kMs;  // exponential
    unsigned mapped_cpus = 1;
  } build;
  struct Pin {
    double rate = 0;         // pins per second
    uint32_t pages = 0;      // anonymous pages per pin (< 2^19)
    sim::Duration duration = sim::kSec;
    // FOLL_LONGTERM (RDMA, VFIO, io_uring fixed buffers): pages in CMA
    // pageblocks are migrated out first (5.1+: check_and_migrate_cma_pages(),
    // later check_and_migrate_movable_pages(); before 5.1 a long-term pin
    // behaved like `false`). false: short-term GUP (O_DIRECT, a driver's
    // get_user_pages()), pages stay where they are.
    bool longterm = true;
  } pin;
  // Slab: order-0 kernel allocations with a lifetime.
  struct Slab {
    double rate = 0;                    // pages per second
    double reclaimable_fraction = 0.5;  // __GFP_RECLAIMABLE share; the rest UNMOVABLE
    sim::Duration mean_lifetime = sim::kSec;  // exponential
  } slab;
  uint32_t lru_batch_pages = 15;  // PAGEVEC_SIZE (6.1); 0: no LRU batches
  sim::Duration sample_interval = 0;  // MemSample series period; 0: none

  Status Validate() const;
};

// One point of "memory available to the rest of the system" (pages).
struct MemSample {
  sim::Time at = 0;
  uint64_t free = 0;      // NR_FREE_PAGES (buddy only; per-CPU lists are not free)
  uint64_t free_cma = 0;  // NR_FREE_CMA_PAGES, part of `free`
  // si_mem_available(): free - totalreserve (high watermark here: one zone,
  // no lowmem_reserve) + file LRU - min(file LRU / 2, low watermark)
  // + reclaimable slab - min(that / 2, low watermark), at least 0. Free CMA
  // pages count, as in the kernel (only movable allocations can use them).
  uint64_t mem_available = 0;
  uint64_t anon = 0, file = 0, dirty = 0, writeback = 0, slab_reclaimable = 0, kernel = 0, pinned = 0;
};

struct BackgroundStats {
  std::array<uint64_t, kPageKinds> allocated{};  // by the kind allocated as (pin migration targets: kPinned)
  std::array<uint64_t, kPageKinds> freed{};      // by the kind at free (evictions: kFileClean)
  uint64_t alloc_failures = 0;                   // allocations that failed after direct reclaim
  uint64_t anon_faults = 0;
  sim::Duration fault_ns = 0;                    // page_fault cost of the anonymous faults
  uint64_t file_reads = 0, read_hits = 0, file_writes = 0;
  uint64_t refaults = 0;              // misses on pages evicted before (workingset_refault())
  uint64_t refaults_cleancache = 0;   // ... of them served by the CleanCache
  uint64_t cleancache_puts = 0;
  uint64_t evicted = 0;               // clean pages reclaimed (kswapd + direct + external)
  uint64_t kswapd_wakeups = 0, kswapd_reclaimed = 0;
  sim::Duration kswapd_cpu_ns = 0;
  uint64_t direct_reclaim_events = 0, direct_reclaim_pages = 0;  // the background's own allocations
  sim::Duration direct_stall_ns = 0;
  uint64_t external_reclaim_pages = 0;  // PageUsers::DirectReclaim() for other allocators
  sim::Duration external_reclaim_ns = 0;
  uint64_t reclaim_flusher_wakeups = 0;  // reclaim found dirty pages instead of clean ones
  uint64_t dirty_throttles = 0;
  sim::Duration dirty_throttle_ns = 0;
  uint64_t writeback_started = 0, writeback_pages = 0;  // pages issued, pages completed
  uint64_t pins = 0, pinned_pages = 0, pin_short = 0;   // pin_short: pins given fewer pages than asked
  uint64_t pin_migrated_pages = 0, pin_failures = 0;    // moved out of CMA at pin time; pins refused (-ENOMEM)
  sim::Duration pin_migrate_ns = 0;
  uint64_t processes = 0, processes_skipped = 0;
  uint64_t slab_allocs = 0;
  uint64_t lru_drains = 0;
  uint64_t migrated_by_allocator = 0, dropped_by_allocator = 0;  // PageUsers calls

  bool operator==(const BackgroundStats&) const = default;
};

// A second-chance cache for clean page-cache pages (the cleancache
// interface GCMA plugs into, mm/cleancache.c until 5.17). Not owned.
class CleanCache {
 public:
  virtual ~CleanCache() = default;
  // A clean page of file page `fidx` left the page cache (reclaim, or a
  // contiguous allocation dropping it): keep a copy or not
  // (cleancache_put_page()).
  virtual void Put(uint32_t fidx, sim::Time now) = 0;
  // A read missed the page cache on a page that was evicted: true if the
  // cache still holds it (cleancache_get_page()); the read then copies it
  // back instead of waiting for the device. Still counted as a refault.
  virtual bool Get(uint32_t fidx, sim::Time now) = 0;
};

class Background final : public PageUsers, public sim::EventHandler {
 public:
  // Validates the spec and that the profile has what it uses (InvalidArgument
  // naming the field). zone and sim must outlive the Background, and the
  // simulator must dispatch none of its events after it is destroyed (they
  // are not cancelled). The zone's caller-owned kind/aux of the pages it
  // owns are the Background's.
  static StatusOr<std::unique_ptr<Background>> Create(mm::Zone& zone, sim::Simulator& sim, const MemProfile& profile,
                                                      const BackgroundSpec& spec, uint64_t seed);
  ~Background() override;

  // Takes the pages of Populate() as the initial state, so a run starts
  // warm: anon pages join the working set, file pages take file pages
  // 0, 1, ... (the hot ones first) in the LRU order given, dirty ones are
  // queued for writeback, writeback ones are at the device from now.
  // FailedPrecondition if more file pages than the file set. REQUIRES:
  // before Start(), at most once.
  Status Adopt(const PopulateResult& initial);
  // Schedules the generators, the flusher's kupdate tick and the sampler
  // from sim.Now(). REQUIRES: once.
  void Start();
  // Stops the generators, the flusher tick and the sampler; what is in
  // flight finishes (process exits, unpins, slab frees, writeback, kswapd).
  void Stop();

  // If set, evicted clean pages are offered to it and refaults asked of it.
  void SetCleanCache(CleanCache* cache) { cleancache_ = cache; }

  const BackgroundStats& stats() const { return stats_; }
  MemSample Sample(sim::Time now) const;
  const std::vector<MemSample>& samples() const { return samples_; }
  uint64_t pages(PageKind k) const { return nr_kind_[static_cast<int>(k)]; }
  bool kswapd_running() const { return kswapd_running_; }
  bool writer_throttled() const { return throttled_; }
  // balance_dirty_pages()'s thresholds now: {background, limit}, pages.
  std::pair<uint64_t, uint64_t> DirtyThresholds() const;
  // Bytes of the Background's per-page indexes (what scales with memory).
  uint64_t MemoryBytes() const;

  // --- PageUsers.
  sim::Time RefHeldUntil(uint32_t pfn, sim::Time now) const override;
  sim::Time WritebackDoneAt(uint32_t pfn) const override;
  unsigned MappedCpus(uint32_t pfn) const override;
  void DrainLruBatches(sim::Time now) override;
  void Migrated(uint32_t old_pfn, uint32_t new_pfn, sim::Time now) override;
  void Dropped(uint32_t pfn, sim::Time now) override;
  ReclaimOutcome DirectReclaim(uint64_t nr, sim::Time now) override;

  void OnEvent(uint64_t tag) override;

 private:
  struct Owner {  // a process or a pin
    std::vector<uint32_t> pfns;
    sim::Time until = 0;  // pin end (RefHeldUntil); a free slot is on free_owners_
  };
  struct DirtyEntry {
    uint32_t fidx;
    uint32_t dirtied_ms;  // for dirty_expire (ms: runs up to 49 days)
  };
  struct WbEntry {
    uint32_t fidx;
    sim::Time done;
  };
  struct ReadEntry {
    uint32_t fidx;
    sim::Time until;
  };

  Background(mm::Zone& zone, sim::Simulator& sim, const MemProfile& profile, const BackgroundSpec& spec,
             uint64_t seed);

  // Page bookkeeping.
  void SetPageKind(uint32_t pfn, PageKind k);
  PageKind KindOf(uint32_t pfn) const { return static_cast<PageKind>(zone_.Page(pfn).kind); }
  uint32_t AuxOf(uint32_t pfn) const { return zone_.Page(pfn).aux; }
  uint32_t FileIndexOf(uint32_t pfn) const;
  std::optional<uint32_t> AllocPage(PageKind k, mm::MigrateType mt, bool cma, sim::Time now);
  void FreePage(uint32_t pfn, sim::Time now);
  unsigned NextCpu();

  // Reclaim.
  void MaybeWakeKswapd(sim::Time now);
  ReclaimOutcome ShrinkFileLru(uint64_t nr, sim::Time now);
  void Evict(uint32_t pfn, uint32_t fidx, sim::Time now);
  // Moves the record of old_pfn (kind, aux, back pointer, LRU batch) to new_pfn.
  void MoveRecord(uint32_t old_pfn, uint32_t new_pfn);

  // Generators.
  void ScheduleNext(int ev, double rate, sim::Rng& rng, sim::Time now);
  void AnonFault(sim::Time now);
  void AnonFreeRandom(sim::Time now);
  uint32_t PickFile(sim::Rng& rng);
  void ReadFile(uint32_t fidx, sim::Time now, bool count_read);
  void WriteFile(uint32_t fidx, sim::Time now);
  void Spawn(sim::Time now);
  void Exit(uint32_t slot, sim::Time now);
  void PinStart(sim::Time now);
  void PinEnd(uint32_t slot, sim::Time now);
  void SlabAlloc(sim::Time now);
  std::optional<uint32_t> NewOwner();
  void OwnerAdd(uint32_t slot, uint32_t pfn);
  void WsAdd(uint32_t pfn);
  void WsRemoveAt(uint32_t i);

  // Page cache.
  uint32_t LruPush(uint32_t fidx);
  void DirtyPush(uint32_t fidx, sim::Time now);
  bool ReadRefHeld(uint32_t fidx, sim::Time now, sim::Time* until) const;
  void IssueWriteback(uint32_t fidx, uint32_t pfn, sim::Time now);
  void StartWriteback(sim::Time now);
  void WritebackDone(sim::Time now);
  bool OverDirtyLimit() const;

  // LRU add batches.
  bool InBatch(uint32_t pfn) const { return (in_batch_[pfn >> 6] >> (pfn & 63)) & 1; }
  void BatchAdd(uint32_t pfn, unsigned cpu);
  void BatchRemove(uint32_t pfn);
  void DrainBatch(unsigned cpu);

  mm::Zone& zone_;
  sim::Simulator& sim_;
  const MemProfile profile_;
  const BackgroundSpec spec_;
  // One stream per generator: changing one rate leaves the others' draws.
  sim::Rng rng_anon_, rng_read_, rng_write_, rng_build_, rng_pin_, rng_slab_;
  BackgroundStats stats_;
  std::array<uint64_t, kPageKinds> nr_kind_{};
  CleanCache* cleancache_ = nullptr;
  bool started_ = false, stopped_ = false, adopted_ = false;
  unsigned cpu_ = 0;

  // Anonymous working set: PFNs; a page's aux is its index.
  std::vector<uint32_t> ws_;
  // Processes and pins; a page's aux is kOwnerBit | slot << kIdxBits | index.
  std::vector<Owner> owners_;
  std::vector<uint32_t> free_owners_;

  // File set: per file page the resident PFN (kNone if not) and the shadow bit.
  std::vector<uint32_t> ftab_;
  internal::SlotRing<uint32_t> lru_;  // fidx or kTomb; a clean page's aux is its slot
  uint32_t lru_tombs_ = 0;
  internal::SlotRing<DirtyEntry> dirty_;  // a dirty page's aux is its slot
  internal::SlotRing<WbEntry> wb_;        // a writeback page's aux is its slot
  internal::SlotRing<ReadEntry> reads_;   // reads in flight, in order of end
  double device_busy_until_ = 0;          // ns, writeback transfer end
  sim::Duration page_xfer_ns_ = 0;        // 4 KiB at the bandwidth, for reads
  bool wb_event_pending_ = false;
  bool flush_all_ = false;  // WB_REASON_VMSCAN: write back every dirty page
  bool throttled_ = false;
  sim::Time throttle_since_ = 0;
  uint32_t throttled_fidx_ = 0;

  // LRU batches: per CPU up to lru_batch_pages PFNs, and a bit per PFN.
  std::vector<uint32_t> batch_;
  std::vector<uint8_t> batch_len_;
  std::vector<uint64_t> in_batch_;

  bool kswapd_running_ = false;
  int kswapd_failures_ = 0;

  std::vector<MemSample> samples_;
};

}  // namespace kreplay::memory
