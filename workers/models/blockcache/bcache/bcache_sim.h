// The bcache model: one cache set (an SSD Device cut into buckets) in front
// of one backing Device per trace volume, replaying a BlockWorkload.
//
// Mirrors drivers/md/bcache (default v6.1): request.c (check_should_bypass,
// cached_dev_read/cache_miss/write, bch_data_insert), alloc.c
// (bch_bucket_alloc, invalidate_buckets_lru/fifo/random,
// bch_rescale_priorities), btree.c (bch_btree_gc_finish, sectors_to_gc),
// movinggc.c (bch_moving_gc), writeback.c/.h (should_writeback,
// refill_dirty, read_dirty, update_writeback_rate), io.c, super.c. What is
// simplified and why is listed in README.md beside this file.
//
// Time: the Simulator owns it; every device IO is submitted at Now() from an
// event (arrival, backing-read completion, writeback step, GC).
// Thread-safety: none; one simulation per instance.
//
// Stacking (bcache_stack.h): an instance created with CreateOver() has no
// backing Devices; its backing device for volume v is the bcache device v of
// a lower instance, which runs in the same engine. See README.md, "Stacking".
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "services/core/status.h"
#include "services/sim/engine.h"
#include "services/sim/histogram.h"
#include "services/sim/rng.h"
#include "services/workload/block_workload.h"
#include "workers/models/blockcache/bcache/bcache_parts.h"
#include "workers/models/blockcache/bcache/extent_index.h"
#include "workers/models/blockcache/devices/device.h"

namespace kreplay::blockcache::bcache {

enum class CacheMode { kWritethrough, kWriteback, kWritearound, kNone };
enum class Replacement { kLru, kFifo, kRandom };
enum class TaskFallback { kPerVolume, kSingle };  // when the trace has no task IDs

struct BcacheConfig {
  VersionTraits version = {"6.1", true, true, true, true};
  uint64_t bucket_bytes = 512 * 1024;
  uint32_t block_bytes = 512;  // make-bcache's default on 512 B devices (the model resolves it from the profiles)
  CacheMode mode = CacheMode::kWritethrough;
  uint64_t sequential_cutoff_bytes = 4 * 1024 * 1024;
  uint32_t congested_read_threshold_us = 2000;
  uint32_t congested_write_threshold_us = 20000;
  Replacement replacement = Replacement::kLru;
  uint32_t writeback_percent = 10;
  int64_t writeback_delay_ns = 30'000'000'000;
  bool idle_max_writeback_rate = true;  // c->idle_max_writeback_rate_enabled
  bool writeback_consider_fragment = true;
  bool copy_gc = true;                  // c->copy_gc_enabled (moving GC)
  bool writeback_running = true;        // dc->writeback_running (sysfs)
  bool sync_writes = false;             // treat every trace write as REQ_SYNC (should_writeback)
  bool sync_from_trace = true;          // so is a write the trace marks sync (BlockRequest::sync)
  TaskFallback task_fallback = TaskFallback::kPerVolume;
  double speed = 1.0;         // open loop: issue time = recorded time / speed
  uint32_t queue_depth = 0;   // > 0: closed loop at this depth, recorded times ignored
  int64_t warmup_ns = 0;      // requests issued before this are not measured
  uint64_t warmup_requests = 0;  // nor the first this many
  uint64_t seed = 1;
};

struct BcacheStats {
  // sysfs stats (request.c bch_mark_cache_accounting): read bios only, a
  // partial hit is a miss; `bypassed` counts sectors (reported here in sectors).
  uint64_t cache_hits = 0, cache_misses = 0;
  uint64_t cache_bypass_hits = 0, cache_bypass_misses = 0;
  uint64_t cache_miss_collisions = 0;
  uint64_t bypassed_sectors = 0;
  uint64_t dirty_sectors_end = 0, dirty_sectors_max = 0;
  // writeback_rate (sectors/s): mean over all backing devices' controller
  // updates (updates that set the idle maximum excluded); final value summed
  // over the backing devices.
  double writeback_rate_mean = 0;
  int64_t writeback_rate_final = 0;
  uint64_t writeback_rate_updates = 0, writeback_max_rate_updates = 0;
  uint64_t writeback_sectors = 0, writeback_keys_failed = 0;
  uint64_t requests = 0, measured_requests = 0, reads = 0, writes = 0, discards = 0, flushes = 0;
  uint64_t ssd_bytes_written = 0, ssd_bytes_read = 0, hdd_bytes_written = 0, hdd_bytes_read = 0;
  uint64_t buckets_invalidated = 0, sectors_evicted = 0, gc_runs = 0, moving_gc_sectors = 0;
  uint64_t alloc_failures = 0;  // cache writes that found no evictable bucket (sent to backing)
  uint32_t max_in_use = 0;      // highest gc_stats.in_use seen (%)
  bool task_ids_from_trace = false;
  sim::Histogram read_latency, write_latency;  // ns, completion - issue, measured requests only
  sim::Histogram seek_distance;                // backing devices' seeks (all IO, incl. warm-up)
  bool has_seek_distance = false;
  int64_t end_ns = 0;
  uint64_t sim_events = 0;
};

class BcacheSim final : public sim::EventHandler {
 public:
  // `cache` holds the cache set (nbuckets = capacity / bucket_bytes, >= 8);
  // `backing[v]` serves trace volume v. Takes ownership of the devices.
  static StatusOr<std::unique_ptr<BcacheSim>> Create(const BcacheConfig& config, std::unique_ptr<Device> cache,
                                                     std::vector<std::unique_ptr<Device>> backing);
  // A cache set whose backing device for volume v is `lower`'s bcache device
  // v (make-bcache -B /dev/bcacheN, then attach to this set). Shares lower's
  // engine; only the top instance of a stack is started and run (Start()
  // starts the instances below). `lower` is not owned and must outlive this.
  // `lower` must not already have an instance above it.
  static StatusOr<std::unique_ptr<BcacheSim>> CreateOver(const BcacheConfig& config, std::unique_ptr<Device> cache,
                                                         BcacheSim* lower);
  ~BcacheSim() override;

  // Replays `w` to the completion of its last request. `w` must outlive the
  // call. InvalidArgument (naming the request) for IO beyond a backing
  // device; Cancelled when *cancel becomes true. FailedPrecondition on an
  // instance that has one above it (run the top of the stack).
  StatusOr<BcacheStats> Run(const workload::BlockWorkload& w, const std::atomic<bool>* cancel = nullptr);

  // Step-wise replay, for tests: Start, then RunUntil as often as wanted.
  Status Start(const workload::BlockWorkload& w);
  void RunUntil(int64_t t_ns) { sim_.RunUntil(t_ns); }
  BcacheStats Stats() const;

  // Introspection (tests, reports).
  uint32_t nbuckets() const { return static_cast<uint32_t>(buckets_.size()); }
  uint32_t bucket_sectors() const { return bucket_sectors_; }
  // Bucket holding the valid cached sector, or -1.
  int64_t BucketOf(uint32_t volume, uint64_t sector) const;
  // True if every sector of [sector, sector + sectors) is cached (valid).
  bool Cached(uint32_t volume, uint64_t sector, uint64_t sectors) const;
  uint16_t prio(uint32_t bucket) const { return prio_[bucket]; }
  uint32_t bucket_dirty_sectors(uint32_t bucket) const { return buckets_[bucket].dirty; }
  // bch_can_invalidate_bucket(): the allocator may reuse the bucket now.
  bool Reclaimable(uint32_t bucket) const { return CanInvalidate(bucket); }
  uint64_t dirty_sectors(uint32_t volume) const { return vols_[volume].dirty; }
  int64_t writeback_rate(uint32_t volume) const { return vols_[volume].rate.rate(); }
  uint32_t in_use() const { return in_use_; }
  int32_t congestion_counter() const { return congestion_.counter(); }
  uint32_t volumes() const { return static_cast<uint32_t>(volume_bytes_.size()); }
  uint64_t volume_bytes(uint32_t volume) const { return volume_bytes_[volume]; }

  // Task ID that stands for an instance's writeback worker (write_dirty()
  // runs on the per-device writeback workqueue, not in the submitter's
  // context) in the sequential detection of the instance below. Reserved:
  // trace task IDs at or above kWritebackTaskBase - volumes() collide with it.
  static constexpr uint32_t kWritebackTaskBase = 0xFFFFFFFFu;

  void OnEvent(uint64_t tag) override;

 private:
  BcacheSim(const BcacheConfig& config, std::unique_ptr<Device> cache, std::vector<std::unique_ptr<Device>> backing,
            BcacheSim* lower);

  // One cached extent: sectors [start, end) of a volume at cache_sector.
  // Valid while its bucket's generation equals gen (ptr_stale()).
  struct Extent {
    uint64_t end;  // key-encoded
    uint64_t cache_sector;
    uint32_t bucket;
    uint8_t gen;
    bool dirty;
  };
  struct Bucket {
    uint32_t live = 0;     // valid sectors
    uint32_t dirty = 0;    // valid dirty sectors
    uint32_t gc_used = 0;  // GC_SECTORS_USED: bucket_size at allocation, live at GC
    uint8_t gen = 0;
    uint8_t state = 0;     // kUnused, kFree, kOpen, kFilled
    bool move = false;     // chosen by moving GC
    // GC_MARK_DIRTY: set when dirty data is written into the bucket
    // (bch_data_insert_start()), recomputed only by GC (btree_gc_start(),
    // __bch_btree_mark_key()): a bucket cleaned by writeback keeps it, and
    // stays unreclaimable, until the next GC.
    bool mark_dirty = false;
  };
  struct OpenBucket {
    int64_t bucket = -1;
    uint32_t used = 0;
  };
  struct WbKey {
    uint64_t start, end;  // key-encoded
    uint64_t cache_sector;
    uint32_t bucket;
    uint8_t gen;
  };
  struct WbIo {
    WbKey key;
    uint32_t volume;
    bool read_done = false;
    bool free = true;
  };
  struct Volume {
    uint64_t capacity_sectors = 0;
    uint64_t dirty = 0;
    bool has_dirty = false;
    WritebackRate rate{true, true};
    RateLimiter limiter;
    std::vector<WbKey> keybuf;  // refilled in LBA order
    size_t keybuf_pos = 0;
    uint64_t last_scanned = 0;  // sector
    bool full_pass = false;     // this keybuf ended a full pass over the index
    uint32_t in_flight = 0;     // dc->in_flight (<= 64)
    sim::EventId run_event = 0; // pending kWbRun event (0: none)
    bool waiting = false;       // waiting for in-flight IO to drain
    std::vector<uint32_t> order;  // in-flight writeback IOs in sequence order
    size_t order_pos = 0;
  };
  struct PendingInsert {
    uint32_t volume;
    uint64_t start, end;  // sectors
    bool collided = false;
    bool measured = false;
    bool free = true;
  };
  struct CacheIo {
    int64_t complete, submit;
    bool write;
    bool operator>(const CacheIo& o) const { return complete > o.complete; }
  };

  static uint64_t Key(uint32_t volume, uint64_t sector) { return (uint64_t{volume} << 40) | sector; }
  bool Valid(const Extent& e) const { return buckets_[e.bucket].gen == e.gen; }

  void Arrive(uint64_t index);
  // One bio at Now() (a trace request, or backing IO from the instance
  // above); returns its completion time. `sync`: REQ_SYNC (should_writeback()).
  int64_t Serve(const workload::BlockRequest& r, bool measured, bool sync);
  // The lower side of a stack: backing IO of the instance above.
  int64_t ServeFromAbove(workload::BlockOp op, uint32_t volume, uint64_t sector, uint64_t sectors, uint32_t task,
                         bool measured, bool sync);
  // Starts an instance below the top: rate updates, task IDs as given.
  void StartBelow(bool task_ids_from_trace);
  int64_t HandleRead(const workload::BlockRequest& r, bool measured);
  int64_t HandleWrite(const workload::BlockRequest& r, bool measured);
  bool ShouldBypass(const workload::BlockRequest& r, uint64_t start, uint64_t sectors);
  void Rescale(uint64_t sectors);
  void ApplyCacheCompletions(int64_t now);
  int64_t CacheSubmit(bool write, uint64_t cache_sector, uint64_t sectors, bool track);
  // The backing target of `volume`: its Device, or the bcache device below.
  // `writeback`: issued by the writeback worker, not by the current request.
  int64_t BackingSubmit(uint32_t volume, bool write, uint64_t sector, uint64_t sectors, bool writeback = false);
  // Discards and flushes reach the bcache device below (a bcache device
  // advertises discard, and cached_dev_nodata() passes flushes on); the
  // model's Devices take neither, so without a lower instance they stop here.
  int64_t BackingPassOn(workload::BlockOp op, uint32_t volume, uint64_t sector, uint64_t sectors);
  void Collide(uint32_t volume, uint64_t start, uint64_t end);

  // Extent index.
  ChunkedMap<Extent>::Pos FirstEndingAfter(uint64_t key) const;
  void Cut(uint32_t volume, uint64_t start, uint64_t end);
  // Writes [start, end) into the cache at Now(); false if no bucket could be
  // allocated (the range is then left uncached). `*done` = last completion.
  bool WriteToCache(uint32_t volume, uint64_t start, uint64_t end, bool dirty, int64_t* done, int which = 0);

  // Buckets.
  bool AllocPiece(int which, uint64_t want, uint32_t* bucket, uint64_t* cache_sector, uint32_t* len);
  int64_t PopFree();
  void InvalidateBatch();
  void Invalidate(uint32_t b);
  bool CanInvalidate(uint32_t b) const;
  // A bucket's dirty count dropped: one more bucket GC would make reclaimable?
  void NoteCleaned(uint32_t b);
  void CountInserted(uint64_t sectors);
  void Gc();
  void MovingGc();

  // Writeback.
  void WakeWriteback(uint32_t volume);
  void WritebackRun(uint32_t volume);
  bool Refill(uint32_t volume);
  void WritebackReadDone(uint32_t slot);
  void WritebackWriteDone(uint32_t slot);
  void RateUpdate(uint32_t volume);
  void NoteDirty();

  sim::EventId Schedule(int64_t at, int kind, uint64_t payload);
  bool StillDirty(const WbKey& k) const;
  void DropPiece(uint32_t volume, const Extent& e, uint64_t sectors);
  void Finish(int64_t at);

  BcacheConfig cfg_;
  sim::Simulator own_sim_;  // unused by an instance stacked over another
  sim::Simulator& sim_;     // own_sim_, or the engine of the instance below
  sim::Rng rng_;
  std::unique_ptr<Device> cache_;
  std::vector<std::unique_ptr<Device>> backing_;  // empty when stacked
  BcacheSim* lower_ = nullptr;                    // the instance below, if stacked
  bool has_upper_ = false;                        // an instance above submits to this one
  std::vector<uint64_t> volume_bytes_;            // capacity of each backing target
  uint64_t lower_bytes_written_ = 0;              // writes to the instance below
  uint32_t bucket_sectors_;
  uint32_t block_sectors_;
  uint64_t all_bdev_sectors_ = 0;

  ChunkedMap<Extent> extents_;  // by key-encoded start; extents never overlap
  std::vector<Bucket> buckets_;
  std::vector<uint16_t> prio_;
  std::vector<uint32_t> free_;  // FIFO of free buckets
  size_t free_head_ = 0;
  OpenBucket open_[2];  // 0: foreground data, 1: moving GC
  size_t free_low_, batch_;
  uint64_t fifo_next_ = 0;
  uint16_t min_prio_ = 0;
  int64_t rescale_ = 0;
  int64_t sectors_to_gc_;
  uint64_t avail_;
  uint32_t in_use_ = 0;
  bool gc_pending_ = false;
  bool in_gc_ = false;
  bool invalidate_needs_gc_ = false;  // ca->invalidate_needs_gc
  uint32_t stale_marks_ = 0;          // filled buckets GC_MARK_DIRTY without dirty data
  int64_t io_submit_override_ = -1;   // >= 0: submit time the congestion accounting uses
  bool cur_measured_ = false;
  bool cur_sync_ = false;       // the current bio is REQ_SYNC
  uint32_t cur_task_ = 0;       // the current bio's task (sequential detection)
  bool measuring_ = false;      // a measured request has arrived (warm-up over)
  bool tasks_given_ = false;    // task IDs are the bios' own (trace IDs, or set by the instance above)
  uint64_t dirty_total_ = 0;

  SequentialTracker seq_;
  Congestion congestion_;
  std::vector<CacheIo> cache_ios_;  // min-heap on completion: congestion effects not yet due

  std::vector<Volume> vols_;
  std::vector<WbIo> wb_ios_;
  std::vector<uint32_t> wb_free_;
  uint32_t idle_counter_ = 0;
  bool at_max_rate_ = false;
  double rate_sum_ = 0;

  std::vector<PendingInsert> inserts_;
  std::vector<uint32_t> insert_free_;
  uint32_t inserts_live_ = 0;
  std::multimap<uint64_t, uint32_t> insert_index_;  // key-encoded start -> slot

  const workload::BlockWorkload* w_ = nullptr;
  uint64_t issued_ = 0, completed_ = 0;
  int64_t last_completion_ = 0;
  bool finished_ = false;
  BcacheStats st_;
};

}  // namespace kreplay::blockcache::bcache
