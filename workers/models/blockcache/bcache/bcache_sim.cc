#include "workers/models/blockcache/bcache/bcache_sim.h"

#include <algorithm>
#include <bit>
#include <climits>
#include <functional>
#include <string>
#include <utility>

namespace kreplay::blockcache::bcache {
namespace {

using workload::BlockOp;
using workload::BlockRequest;

constexpr uint16_t kInitialPrio = 32768;   // INITIAL_PRIO (bcache.h)
constexpr uint32_t kCutoffCacheAdd = 95;   // CUTOFF_CACHE_ADD (request.h)
constexpr uint32_t kCutoffWriteback = 40;  // CUTOFF_WRITEBACK (writeback.h)
constexpr uint32_t kCutoffWritebackSync = 70;
constexpr uint64_t kMissInsertLimit = 2048;  // min(BIO_MAX_VECS * PAGE_SECTORS, KEY_SIZE max)
constexpr size_t kKeybufNr = 500;            // KEYBUF_NR
constexpr uint32_t kWritebackInFlight = 64;  // dc->in_flight semaphore
constexpr int kMaxWritebacksInPass = 5;      // MAX_WRITEBACKS_IN_PASS
constexpr uint64_t kMaxWritesizeInPass = 5000;  // MAX_WRITESIZE_IN_PASS (sectors)
constexpr uint64_t kSectorMask = (uint64_t{1} << 40) - 1;
constexpr int64_t kSec = 1'000'000'000;

// kUnused: never allocated (GC_MARK 0, not pinned); kFree: invalidated and on
// the free lists (pinned: __bch_invalidate_one_bucket() takes b->pin);
// kOpen: the open data bucket (pinned by its open_bucket); kFilled: full, not
// pinned.
enum BucketState : uint8_t { kFree = 0, kOpen = 1, kFilled = 2, kUnused = 3 };
constexpr uint32_t kMovingGcInFlight = 64;  // c->moving_in_flight semaphore (movinggc.c)
enum Kind : int { kArrive = 0, kComplete, kInsert, kWbRun, kWbReadDone, kWbWriteDone, kRate, kEnd };

uint64_t RoundUpPow2(uint64_t x) { return x <= 1 ? 1 : std::bit_ceil(x); }

std::vector<uint64_t> BackingBytes(const std::vector<std::unique_ptr<Device>>& backing, const BcacheSim* lower) {
  std::vector<uint64_t> bytes;
  if (lower) {
    for (uint32_t v = 0; v < lower->volumes(); ++v) bytes.push_back(lower->volume_bytes(v));
  } else {
    for (const auto& d : backing) bytes.push_back(d->capacity_bytes());
  }
  return bytes;
}

}  // namespace

BcacheSim::BcacheSim(const BcacheConfig& config, std::unique_ptr<Device> cache,
                     std::vector<std::unique_ptr<Device>> backing, BcacheSim* lower)
    : cfg_(config),
      sim_(lower ? lower->sim_ : own_sim_),
      rng_(config.seed),
      cache_(std::move(cache)),
      backing_(std::move(backing)),
      lower_(lower),
      volume_bytes_(BackingBytes(backing_, lower)),
      bucket_sectors_(static_cast<uint32_t>(config.bucket_bytes >> kSectorShift)),
      block_sectors_(config.block_bytes >> kSectorShift),
      seq_(static_cast<uint32_t>(volume_bytes_.size())),
      congestion_(config.congested_read_threshold_us, config.congested_write_threshold_us) {
  const uint64_t n = cache_->capacity_bytes() / cfg_.bucket_bytes;
  buckets_.resize(n);
  for (Bucket& b : buckets_) b.state = kUnused;
  prio_.assign(n, 0);
  free_.reserve(n);
  for (uint32_t b = 0; b < n; ++b) free_.push_back(b);
  // alloc.c sizes its free lists from roundup_pow_of_two(nbuckets) >> 10
  // ("free"), free_inc holds free << 2; the model keeps at least `free`
  // buckets free and invalidates free_inc's worth at a time.
  const uint64_t rp = RoundUpPow2(n);
  free_low_ = std::max<uint64_t>(1, rp >> 10);
  batch_ = std::max<uint64_t>(1, rp >> 8);
  sectors_to_gc_ = static_cast<int64_t>(n * bucket_sectors_ / 16);  // set_gc_sectors()
  avail_ = n;
  vols_.resize(volume_bytes_.size());
  for (size_t v = 0; v < vols_.size(); ++v) {
    vols_[v].capacity_sectors = volume_bytes_[v] >> kSectorShift;
    vols_[v].rate = WritebackRate(cfg_.version.pi_controller,
                                  cfg_.version.fragment_boost && cfg_.writeback_consider_fragment);
    all_bdev_sectors_ += vols_[v].capacity_sectors;
  }
}

BcacheSim::~BcacheSim() = default;

namespace {

Status CheckConfig(const BcacheConfig& c, const Device& cache) {
  if (c.block_bytes < 512 || !std::has_single_bit(c.block_bytes)) {
    return InvalidArgument("params.block_size: must be a power of two >= 512");
  }
  if (c.bucket_bytes % c.block_bytes != 0 || (c.bucket_bytes >> kSectorShift) > (1u << 24)) {
    return InvalidArgument("params.bucket_size: must be a multiple of block_size and at most 8 GiB");
  }
  if (cache.capacity_bytes() / c.bucket_bytes < 8) {
    return InvalidArgument("params.cache_size: the cache set needs at least 8 buckets");
  }
  if (!(c.speed > 0)) return InvalidArgument("params.speed: must be > 0");
  return OkStatus();
}

}  // namespace

StatusOr<std::unique_ptr<BcacheSim>> BcacheSim::Create(const BcacheConfig& c, std::unique_ptr<Device> cache,
                                                       std::vector<std::unique_ptr<Device>> backing) {
  if (!cache) return InvalidArgument("bcache: cache device missing");
  if (backing.empty()) return InvalidArgument("bcache: no backing device");
  for (const auto& b : backing) {
    if (!b) return InvalidArgument("bcache: null backing device");
  }
  KREPLAY_RETURN_IF_ERROR(CheckConfig(c, *cache));
  return std::unique_ptr<BcacheSim>(new BcacheSim(c, std::move(cache), std::move(backing), nullptr));
}

StatusOr<std::unique_ptr<BcacheSim>> BcacheSim::CreateOver(const BcacheConfig& c, std::unique_ptr<Device> cache,
                                                           BcacheSim* lower) {
  if (!cache) return InvalidArgument("bcache: cache device missing");
  if (!lower) return InvalidArgument("bcache: no lower bcache instance");
  if (lower->has_upper_) return FailedPrecondition("bcache: the lower instance already has an instance above it");
  if (lower->w_ || lower->finished_) return FailedPrecondition("bcache: the lower instance has already been started");
  KREPLAY_RETURN_IF_ERROR(CheckConfig(c, *cache));
  lower->has_upper_ = true;
  return std::unique_ptr<BcacheSim>(new BcacheSim(c, std::move(cache), {}, lower));
}

// ---------------------------------------------------------------- replay

sim::EventId BcacheSim::Schedule(int64_t at, int kind, uint64_t payload) {
  return sim_.At(std::max(at, sim_.Now()), this, (payload << 4) | static_cast<uint64_t>(kind));
}

Status BcacheSim::Start(const workload::BlockWorkload& w) {
  if (has_upper_) return FailedPrecondition("bcache: start the top instance of a stack, not one below it");
  for (size_t i = 0; i < w.requests.size(); ++i) {
    const BlockRequest& r = w.requests[i];
    // Built only on error: one string per request cost a tenth of a run.
    auto where = [i] { return "requests[" + std::to_string(i) + "]"; };
    if (r.volume >= volume_bytes_.size()) {
      return InvalidArgument(where() + ".volume: " + std::to_string(r.volume) + " has no backing device (" +
                             std::to_string(volume_bytes_.size()) + " attached)");
    }
    if (r.offset + r.bytes > volume_bytes_[r.volume]) {
      return InvalidArgument(where() + ".offset: IO ends at byte " + std::to_string(r.offset + r.bytes) +
                             ", beyond the backing device (" + std::to_string(volume_bytes_[r.volume]) + " bytes)");
    }
    if (i > 0 && r.time_ns < w.requests[i - 1].time_ns) {
      return InvalidArgument(where() + ".time_ns: earlier than the previous request");
    }
  }
  if (w_ || finished_) return FailedPrecondition("bcache: already started");
  if (lower_) lower_->StartBelow(w.has_task_ids);
  w_ = &w;
  st_.task_ids_from_trace = w.has_task_ids;
  tasks_given_ = w.has_task_ids;
  for (uint32_t v = 0; v < vols_.size(); ++v) Schedule(WritebackRate::kUpdateSeconds * kSec, kRate, v);
  const uint64_t n = w.requests.size();
  if (n == 0) {
    Finish(0);
    return OkStatus();
  }
  if (cfg_.queue_depth > 0) {
    for (uint64_t i = 0; i < std::min<uint64_t>(cfg_.queue_depth, n); ++i) Schedule(0, kArrive, i);
  } else {
    Schedule(cfg_.speed == 1.0 ? w.requests[0].time_ns
                               : static_cast<int64_t>(static_cast<double>(w.requests[0].time_ns) / cfg_.speed),
             kArrive, 0);
  }
  return OkStatus();
}

void BcacheSim::StartBelow(bool task_ids_from_trace) {
  if (lower_) lower_->StartBelow(task_ids_from_trace);
  st_.task_ids_from_trace = task_ids_from_trace;
  tasks_given_ = true;  // the instance above passes each bio's task on
  for (uint32_t v = 0; v < vols_.size(); ++v) Schedule(WritebackRate::kUpdateSeconds * kSec, kRate, v);
}

StatusOr<BcacheStats> BcacheSim::Run(const workload::BlockWorkload& w, const std::atomic<bool>* cancel) {
  KREPLAY_RETURN_IF_ERROR(Start(w));
  while (!finished_) {
    if (cancel && cancel->load(std::memory_order_relaxed)) return Cancelled("bcache: run cancelled");
    sim_.RunUntil(sim_.Now() + 60 * kSec);
  }
  return Stats();
}

void BcacheSim::Finish(int64_t at) {
  if (finished_) return;
  finished_ = true;
  st_.end_ns = at;
  sim_.Stop();
}

void BcacheSim::OnEvent(uint64_t tag) {
  const uint64_t p = tag >> 4;
  switch (static_cast<int>(tag & 15)) {
    case kArrive:
      Arrive(p);
      break;
    case kComplete:
      ++completed_;
      if (issued_ < w_->requests.size()) Arrive(issued_);
      if (completed_ == w_->requests.size()) Finish(sim_.Now());
      break;
    case kInsert: {
      PendingInsert& pi = inserts_[p];
      const int64_t now = sim_.Now();
      if (pi.collided) {
        if (pi.measured) ++st_.cache_miss_collisions;
      } else {
        CountInserted(pi.end - pi.start);
        int64_t done = now;
        if (!WriteToCache(pi.volume, pi.start, pi.end, false, &done)) Cut(pi.volume, pi.start, pi.end);
      }
      pi.free = true;
      --inserts_live_;
      for (auto it = insert_index_.find(Key(pi.volume, pi.start)); it != insert_index_.end(); ++it) {
        if (it->second == p) {
          insert_index_.erase(it);
          break;
        }
      }
      insert_free_.push_back(static_cast<uint32_t>(p));
      break;
    }
    case kWbRun:
      vols_[p].run_event = 0;
      WritebackRun(static_cast<uint32_t>(p));
      break;
    case kWbReadDone:
      WritebackReadDone(static_cast<uint32_t>(p));
      break;
    case kWbWriteDone:
      WritebackWriteDone(static_cast<uint32_t>(p));
      break;
    case kRate:
      RateUpdate(static_cast<uint32_t>(p));
      break;
    case kEnd:
      Finish(sim_.Now());
      break;
  }
  if (gc_pending_ && !finished_) {
    gc_pending_ = false;
    Gc();
  }
}

void BcacheSim::Arrive(uint64_t index) {
  const int64_t now = sim_.Now();
  const BlockRequest& r = w_->requests[index];
  const bool measured = index >= cfg_.warmup_requests && now >= cfg_.warmup_ns;
  const int64_t done = Serve(r, measured, cfg_.sync_writes || (cfg_.sync_from_trace && r.sync));
  ++issued_;
  last_completion_ = std::max(last_completion_, done);
  const uint64_t n = w_->requests.size();
  if (cfg_.queue_depth > 0) {
    Schedule(done, kComplete, 0);
  } else if (index + 1 < n) {
    const int64_t t = w_->requests[index + 1].time_ns;
    Schedule(cfg_.speed == 1.0 ? t : static_cast<int64_t>(static_cast<double>(t) / cfg_.speed), kArrive, index + 1);
  } else {
    Schedule(last_completion_, kEnd, 0);  // every completion time is known by now
  }
}

int64_t BcacheSim::Serve(const BlockRequest& r, bool measured, bool sync) {
  const int64_t now = sim_.Now();
  ApplyCacheCompletions(now);
  // cached_dev_submit_bio(): any request ends the idle period.
  idle_counter_ = 0;
  if (at_max_rate_) {
    at_max_rate_ = false;
    for (Volume& v : vols_) v.rate.set_rate(1);  // quit_max_writeback_rate()
  }
  cur_measured_ = measured;
  measuring_ |= measured;
  cur_sync_ = sync;
  if (tasks_given_) {
    cur_task_ = r.task;
  } else {
    cur_task_ = cfg_.task_fallback == TaskFallback::kPerVolume ? r.volume : 0;
  }
  ++st_.requests;
  if (measured) ++st_.measured_requests;
  int64_t done = now;
  switch (r.op) {
    case BlockOp::kRead:
      ++st_.reads;
      done = HandleRead(r, measured);
      if (measured) st_.read_latency.Record(done - now);
      break;
    case BlockOp::kWrite:
      ++st_.writes;
      done = HandleWrite(r, measured);
      if (measured) st_.write_latency.Record(done - now);
      break;
    case BlockOp::kDiscard:
      ++st_.discards;
      done = HandleWrite(r, measured);
      break;
    case BlockOp::kFlush:
      ++st_.flushes;  // not modelled: completes at once
      if (lower_) done = BackingPassOn(BlockOp::kFlush, r.volume, 0, 0);
      break;
  }
  return done;
}

int64_t BcacheSim::ServeFromAbove(BlockOp op, uint32_t volume, uint64_t sector, uint64_t sectors, uint32_t task,
                                  bool measured, bool sync) {
  BlockRequest r;
  r.time_ns = sim_.Now();
  r.op = op;
  r.volume = volume;
  r.task = task;
  r.offset = sector << kSectorShift;
  r.bytes = static_cast<uint32_t>(sectors << kSectorShift);
  const int64_t done = Serve(r, measured, sync);
  // A trace request's GC runs at the end of its arrival event (OnEvent);
  // a bio from above has no event of its own here.
  if (gc_pending_) {
    gc_pending_ = false;
    Gc();
  }
  return done;
}

// ---------------------------------------------------------------- devices

int64_t BcacheSim::CacheSubmit(bool write, uint64_t cache_sector, uint64_t sectors, bool track) {
  const int64_t now = sim_.Now();
  const int64_t t = cache_->Submit(now, write, cache_sector << kSectorShift,
                                   static_cast<uint32_t>(sectors << kSectorShift));
  if (!write) st_.ssd_bytes_read += sectors << kSectorShift;
  if (track) {
    cache_ios_.push_back(CacheIo{t, io_submit_override_ >= 0 ? io_submit_override_ : now, write});
    std::push_heap(cache_ios_.begin(), cache_ios_.end(), std::greater<>());
  }
  return t;
}

int64_t BcacheSim::BackingSubmit(uint32_t volume, bool write, uint64_t sector, uint64_t sectors, bool writeback) {
  if (!write) st_.hdd_bytes_read += sectors << kSectorShift;
  if (lower_) {
    if (write) lower_bytes_written_ += sectors << kSectorShift;
    // Foreground backing IO is submitted in the requester's context
    // (cached_dev_read() -> cache_lookup() -> cached_dev_cache_miss(),
    // cached_dev_write()): its task, its flags. write_dirty() issues plain
    // REQ_OP_WRITE bios from the writeback workqueue.
    if (writeback) {
      return lower_->ServeFromAbove(BlockOp::kWrite, volume, sector, sectors, kWritebackTaskBase - volume, measuring_,
                                    false);
    }
    return lower_->ServeFromAbove(write ? BlockOp::kWrite : BlockOp::kRead, volume, sector, sectors, cur_task_,
                                  cur_measured_, cur_sync_);
  }
  return backing_[volume]->Submit(sim_.Now(), write, sector << kSectorShift,
                                  static_cast<uint32_t>(sectors << kSectorShift));
}

int64_t BcacheSim::BackingPassOn(BlockOp op, uint32_t volume, uint64_t sector, uint64_t sectors) {
  if (!lower_) return sim_.Now();
  return lower_->ServeFromAbove(op, volume, sector, sectors, cur_task_, cur_measured_, cur_sync_);
}

// Foreground cache IOs feed the congestion estimate when they complete
// (bch_bbio_endio). Only arrivals read the estimate, so the effects are
// applied, in completion order, just before each arrival.
void BcacheSim::ApplyCacheCompletions(int64_t now) {
  while (!cache_ios_.empty() && cache_ios_.front().complete <= now) {
    const CacheIo io = cache_ios_.front();
    std::pop_heap(cache_ios_.begin(), cache_ios_.end(), std::greater<>());
    cache_ios_.pop_back();
    congestion_.OnCacheIoDone(io.submit, io.complete, io.write);
  }
}

// ---------------------------------------------------------------- requests

// check_should_bypass() (request.c).
bool BcacheSim::ShouldBypass(const BlockRequest& r, uint64_t start, uint64_t sectors) {
  const bool write = r.op != BlockOp::kRead;
  bool skip = false;
  if (in_use_ > kCutoffCacheAdd || r.op == BlockOp::kDiscard) {
    skip = true;
  } else if (cfg_.mode == CacheMode::kNone || (cfg_.mode == CacheMode::kWritearound && write)) {
    skip = true;
  } else if (r.offset % cfg_.block_bytes != 0 || r.bytes % cfg_.block_bytes != 0) {
    skip = true;  // unaligned IO
  } else {
    const uint32_t congested = congestion_.Limit(sim_.Now(), rng_);
    if (congested || cfg_.sequential_cutoff_bytes) {
      const uint64_t seq = seq_.Account(r.volume, cur_task_, start, r.bytes, sim_.Now()) >> kSectorShift;
      if (cfg_.sequential_cutoff_bytes && seq >= (cfg_.sequential_cutoff_bytes >> kSectorShift)) {
        skip = true;
      } else if (congested && seq >= congested) {
        skip = true;
      }
    }
  }
  if (skip) {
    if (cur_measured_) st_.bypassed_sectors += sectors;  // bch_mark_sectors_bypassed()
    return true;
  }
  Rescale(sectors);
  return false;
}

// bch_rescale_priorities() (alloc.c).
void BcacheSim::Rescale(uint64_t sectors) {
  rescale_ -= static_cast<int64_t>(sectors);
  if (rescale_ >= 0) return;
  rescale_ += std::max<int64_t>(1, static_cast<int64_t>(buckets_.size() * bucket_sectors_ / 1024));
  uint16_t min_prio = USHRT_MAX;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    // Pinned buckets keep their prio: those on the free lists and the open
    // data bucket (unused ones have prio 0).
    if (prio_[b] && buckets_[b].state == kFilled) {
      --prio_[b];
      min_prio = std::min(min_prio, prio_[b]);
    }
  }
  min_prio_ = min_prio;
}

int64_t BcacheSim::HandleRead(const BlockRequest& r, bool measured) {
  const int64_t now = sim_.Now();
  const uint32_t vol = r.volume;
  const uint64_t s = r.offset >> kSectorShift;
  const uint64_t e = (r.offset + r.bytes + 511) >> kSectorShift;
  const bool bypass = ShouldBypass(r, s, e - s);
  int64_t done = now;
  bool missed = false, inserting = false;
  // cached_dev_cache_miss(): only the request's first missing range (up to
  // 1 MiB) is inserted; the rest is read from the backing device only.
  auto miss = [&](uint64_t a, uint64_t b) {
    missed = true;
    if (!bypass && !inserting) {
      inserting = true;
      const uint64_t n = std::min(kMissInsertLimit, b - a);
      const int64_t t = BackingSubmit(vol, false, a, n);
      done = std::max(done, t);
      uint32_t slot;
      if (!insert_free_.empty()) {
        slot = insert_free_.back();
        insert_free_.pop_back();
      } else {
        slot = static_cast<uint32_t>(inserts_.size());
        inserts_.emplace_back();
      }
      inserts_[slot] = PendingInsert{vol, a, a + n, false, measured, false};
      ++inserts_live_;
      insert_index_.emplace(Key(vol, a), slot);
      Schedule(t, kInsert, slot);
      a += n;
    }
    if (a < b) done = std::max(done, BackingSubmit(vol, false, a, b - a));
  };
  const uint64_t ks = Key(vol, s), ke = Key(vol, e);
  uint64_t pos = s;
  for (auto it = FirstEndingAfter(ks); !extents_.AtEnd(it) && extents_.key(it) < ke; it = extents_.Next(it)) {
    const Extent& x = extents_.value(it);
    if (!Valid(x)) continue;  // stale pointer: a hole
    const uint64_t xs = extents_.key(it) & kSectorMask, xe = x.end & kSectorMask;
    const uint64_t hs = std::max(xs, s), he = std::min(xe, e);
    if (hs > pos) miss(pos, hs);
    done = std::max(done, CacheSubmit(false, x.cache_sector + (hs - xs), he - hs, true));
    prio_[x.bucket] = kInitialPrio;  // cache_lookup_fn(): a hit renews its bucket
    pos = he;
  }
  if (pos < e) miss(pos, e);
  if (measured) {
    if (bypass) {
      ++(missed ? st_.cache_bypass_misses : st_.cache_bypass_hits);
    } else {
      ++(missed ? st_.cache_misses : st_.cache_hits);
    }
  }
  return done;
}

// cached_dev_write() (request.c) with should_writeback() (writeback.h).
int64_t BcacheSim::HandleWrite(const BlockRequest& r, bool measured) {
  (void)measured;
  const int64_t now = sim_.Now();
  const uint32_t vol = r.volume;
  const bool discard = r.op == BlockOp::kDiscard;
  const uint64_t s = r.offset >> kSectorShift;
  const uint64_t e = (r.offset + r.bytes + 511) >> kSectorShift;
  bool bypass = ShouldBypass(r, s, e - s);
  if (inserts_live_) Collide(vol, s, e);
  if (discard) bypass = true;
  bool writeback = false;
  if (!discard && !bypass && cfg_.mode == CacheMode::kWriteback && in_use_ <= kCutoffWritebackSync &&
      (cur_sync_ || in_use_ <= kCutoffWriteback)) {
    writeback = true;
  }
  int64_t done = now;
  if (bypass) {
    done = discard ? BackingPassOn(BlockOp::kDiscard, vol, s, e - s) : BackingSubmit(vol, true, s, e - s);
    Cut(vol, s, e);  // bch_data_invalidate()
  } else if (writeback) {
    CountInserted(e - s);
    if (WriteToCache(vol, s, e, true, &done)) {
      WakeWriteback(vol);  // bch_writeback_add()
    } else {
      Cut(vol, s, e);
      done = BackingSubmit(vol, true, s, e - s);
    }
  } else {
    done = BackingSubmit(vol, true, s, e - s);
    CountInserted(e - s);
    int64_t t = now;
    if (WriteToCache(vol, s, e, false, &t)) {
      done = std::max(done, t);
    } else {
      Cut(vol, s, e);
    }
  }
  return done;
}

// A write to a range whose miss is still being read makes the insert fail
// (the replace key no longer matches): cache_miss_collisions.
void BcacheSim::Collide(uint32_t volume, uint64_t start, uint64_t end) {
  // Pending inserts are at most kMissInsertLimit sectors long.
  const uint64_t from = Key(volume, start > kMissInsertLimit ? start - kMissInsertLimit : 0);
  for (auto it = insert_index_.lower_bound(from); it != insert_index_.end() && it->first < Key(volume, end); ++it) {
    PendingInsert& p = inserts_[it->second];
    if (p.start < end && start < p.end) p.collided = true;
  }
}

// ---------------------------------------------------------------- extents

void BcacheSim::DropPiece(uint32_t volume, const Extent& x, uint64_t sectors) {
  if (!Valid(x)) return;
  Bucket& b = buckets_[x.bucket];
  b.live -= static_cast<uint32_t>(sectors);
  if (x.dirty) {
    b.dirty -= static_cast<uint32_t>(sectors);
    vols_[volume].dirty -= sectors;
    dirty_total_ -= sectors;
    NoteCleaned(x.bucket);
  }
}

// Removes [start, end) from the index, trimming or splitting extents that
// straddle it (the btree's extent overwrite).
void BcacheSim::Cut(uint32_t volume, uint64_t start, uint64_t end) {
  const uint64_t ks = Key(volume, start), ke = Key(volume, end);
  auto it = FirstEndingAfter(ks);
  while (!extents_.AtEnd(it) && extents_.key(it) < ke) {
    const uint64_t xs = extents_.key(it);
    Extent& xr = extents_.value(it);
    const Extent x = xr;
    if (xs < ks) {
      xr.end = ks;
      if (x.end > ke) {  // split: keep both sides
        DropPiece(volume, x, ke - ks);
        Extent right = x;
        right.cache_sector += ke - xs;
        extents_.Insert(ke, right);
        return;
      }
      DropPiece(volume, x, x.end - ks);
      it = extents_.Next(it);
    } else if (x.end > ke) {  // trim the front: the key moves within its own range
      DropPiece(volume, x, ke - xs);
      xr.cache_sector += ke - xs;
      extents_.ReKey(it, ke);
      return;
    } else {
      DropPiece(volume, x, x.end - xs);
      it = extents_.Erase(it);
    }
  }
}

// The first extent that ends after key-encoded `k` (the one holding k, if
// any, else the next one).
ChunkedMap<BcacheSim::Extent>::Pos BcacheSim::FirstEndingAfter(uint64_t k) const {
  auto it = extents_.UpperBound(k);
  if (it != extents_.Begin()) {
    const auto prev = extents_.Prev(it);
    if (extents_.value(prev).end > k) it = prev;
  }
  return it;
}

bool BcacheSim::WriteToCache(uint32_t volume, uint64_t start, uint64_t end, bool dirty, int64_t* done, int which) {
  Cut(volume, start, end);
  uint64_t pos = start;
  while (pos < end) {
    uint32_t b, len;
    uint64_t cs;
    if (!AllocPiece(which, end - pos, &b, &cs, &len)) {
      ++st_.alloc_failures;
      return false;
    }
    // Foreground writes, miss inserts and moving GC all write through
    // bch_data_insert_start() -> bch_submit_bbio(), whose completion
    // (bch_data_insert_endio() -> bch_bbio_endio()) feeds the congestion
    // estimate.
    *done = std::max(*done, CacheSubmit(true, cs, len, true));
    Bucket& bk = buckets_[b];
    extents_.Insert(Key(volume, pos), Extent{Key(volume, pos + len), cs, b, bk.gen, dirty});
    bk.live += len;
    if (dirty) {
      bk.mark_dirty = true;  // bch_data_insert_start(): SET_GC_MARK(GC_MARK_DIRTY)
      bk.dirty += len;
      vols_[volume].dirty += len;
      dirty_total_ += len;
      st_.dirty_sectors_max = std::max(st_.dirty_sectors_max, dirty_total_);
    }
    // bch_alloc_sectors(): a bucket with no sectors left leaves the open
    // list; once its last key is in the index nothing pins it.
    OpenBucket& ob = open_[which];
    if (ob.used >= bucket_sectors_) {
      bk.state = kFilled;
      ob.bucket = -1;
      NoteCleaned(b);
    }
    pos += len;
  }
  return true;
}

int64_t BcacheSim::BucketOf(uint32_t volume, uint64_t sector) const {
  const uint64_t k = Key(volume, sector);
  ChunkedMap<Extent>::Pos it;
  if (!extents_.Floor(k, &it)) return -1;
  const Extent& x = extents_.value(it);
  if (x.end <= k || !Valid(x)) return -1;
  return x.bucket;
}

bool BcacheSim::Cached(uint32_t volume, uint64_t sector, uint64_t sectors) const {
  for (uint64_t s = sector; s < sector + sectors; ++s) {
    if (BucketOf(volume, s) < 0) return false;
  }
  return true;
}

// ---------------------------------------------------------------- buckets

// bch_alloc_sectors(): fill the open bucket, taking a new one when it is full.
bool BcacheSim::AllocPiece(int which, uint64_t want, uint32_t* bucket, uint64_t* cache_sector, uint32_t* len) {
  OpenBucket& ob = open_[which];
  if (ob.bucket < 0) {
    const int64_t b = PopFree();
    if (b < 0) return false;
    // bch_bucket_alloc(): GC_SECTORS_USED = bucket_size, prio = INITIAL_PRIO,
    // one bucket less available (bch_update_bucket_in_use()).
    Bucket& bk = buckets_[b];
    bk.state = kOpen;
    bk.mark_dirty = false;  // SET_GC_MARK(b, GC_MARK_RECLAIMABLE)
    bk.gc_used = bucket_sectors_;
    prio_[b] = kInitialPrio;
    if (avail_ > 0) --avail_;
    in_use_ = static_cast<uint32_t>((buckets_.size() - avail_) * 100 / buckets_.size());
    st_.max_in_use = std::max(st_.max_in_use, in_use_);
    ob.bucket = b;
    ob.used = 0;
  }
  *bucket = static_cast<uint32_t>(ob.bucket);
  *len = static_cast<uint32_t>(std::min<uint64_t>(want, bucket_sectors_ - ob.used));
  *cache_sector = uint64_t{*bucket} * bucket_sectors_ + ob.used;
  ob.used += *len;
  return true;
}

// bch_bucket_alloc() with bch_allocator_thread() behind it: the allocator
// invalidates a batch when the free lists run low, unless an earlier
// attempt came up short (invalidate_needs_gc): then it waits for GC
// (allocator_wait()). An allocation that finds the free lists empty waits for
// that GC; GC costs no time here, so it runs at once and invalidation is
// retried. It runs only when it can help: some bucket is reclaimable once
// its marks are recomputed, or random replacement may simply have missed the
// reclaimable buckets in its draws.
int64_t BcacheSim::PopFree() {
  if (free_.size() - free_head_ <= free_low_ && !invalidate_needs_gc_) InvalidateBatch();
  if (free_head_ == free_.size() && invalidate_needs_gc_ && !in_gc_ &&
      (stale_marks_ > 0 || cfg_.replacement == Replacement::kRandom)) {
    gc_pending_ = false;
    Gc();
    InvalidateBatch();
  }
  if (free_head_ == free_.size()) return -1;
  const uint32_t b = free_[free_head_++];
  if (free_head_ > 4096 && free_head_ * 2 > free_.size()) {
    free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(free_head_));
    free_head_ = 0;
  }
  return b;
}

// bch_can_invalidate_bucket() (alloc.c, v6.1): GC_MARK 0 or
// GC_MARK_RECLAIMABLE and not pinned. A bucket once written dirty stays
// GC_MARK_DIRTY until the next GC, even after writeback cleaned it. (Unused
// buckets are already on the model's free queue; buckets being moved are
// left alone while moving GC copies them.)
bool BcacheSim::CanInvalidate(uint32_t b) const {
  const Bucket& bk = buckets_[b];
  return bk.state == kFilled && !bk.mark_dirty && !bk.move;
}

void BcacheSim::NoteCleaned(uint32_t b) {
  const Bucket& bk = buckets_[b];
  if (bk.state == kFilled && bk.mark_dirty && bk.dirty == 0) ++stale_marks_;
}

// __bch_invalidate_one_bucket(): a new generation makes every pointer into
// the bucket stale; the extents are dropped lazily (lookups skip them, GC
// erases them).
void BcacheSim::Invalidate(uint32_t b) {
  Bucket& bk = buckets_[b];
  ++st_.buckets_invalidated;
  st_.sectors_evicted += bk.live;
  ++bk.gen;
  bk.live = 0;
  bk.gc_used = 0;
  bk.state = kFree;  // pinned on the free lists (atomic_inc(&b->pin))
  prio_[b] = kInitialPrio;
  free_.push_back(b);
}

// invalidate_buckets() (alloc.c, v6.1): a batch of free_inc's size. When
// the policy cannot fill it (lru: the heap of candidates runs out; fifo: a
// whole lap of the buckets checked; random: nbuckets / 2 draws) it sets
// invalidate_needs_gc and wakes GC (wake_up_gc()); the allocator then waits
// for GC before it tries again.
void BcacheSim::InvalidateBatch() {
  const uint32_t n = static_cast<uint32_t>(buckets_.size());
  bool short_batch = false;
  switch (cfg_.replacement) {
    case Replacement::kLru: {
      // bucket_prio(): (prio - min_prio + (INITIAL_PRIO - min_prio) / 8) *
      // GC_SECTORS_USED, in the kernel's unsigned int arithmetic.
      const uint32_t m = min_prio_;
      const uint32_t bias = (uint32_t{kInitialPrio} - m) / 8;
      std::vector<std::pair<uint32_t, uint32_t>> cands;
      cands.reserve(n / 4);
      for (uint32_t b = 0; b < n; ++b) {
        if (!CanInvalidate(b)) continue;
        const uint32_t key = (uint32_t{prio_[b]} - m + bias) * buckets_[b].gc_used;
        cands.emplace_back(key, b);
      }
      if (cands.size() > batch_) {
        std::nth_element(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(batch_), cands.end());
        cands.resize(batch_);
      }
      std::sort(cands.begin(), cands.end());
      for (const auto& c : cands) Invalidate(c.second);
      short_batch = cands.size() < batch_;
      break;
    }
    case Replacement::kFifo: {
      size_t got = 0;
      for (uint32_t checked = 0; got < batch_;) {
        const uint32_t b = static_cast<uint32_t>(fifo_next_++ % n);
        if (CanInvalidate(b)) {
          Invalidate(b);
          ++got;
        }
        if (++checked >= n) {
          short_batch = true;
          break;
        }
      }
      break;
    }
    case Replacement::kRandom: {
      size_t got = 0;
      for (uint32_t checked = 0; got < batch_;) {
        const uint32_t b = static_cast<uint32_t>(rng_.Below(n));
        if (CanInvalidate(b)) {
          Invalidate(b);
          ++got;
        }
        if (++checked >= std::max<uint32_t>(1, n / 2)) {
          short_batch = true;
          break;
        }
      }
      break;
    }
  }
  if (short_batch) {
    invalidate_needs_gc_ = true;
    // wake_up_gc(). GC is skipped while it could reclaim nothing (no
    // bucket's mark would change and no sectors are due): it would only
    // recount what is counted already.
    if (stale_marks_ > 0 || sectors_to_gc_ < 0) gc_pending_ = true;
  }
}

// bch_data_insert_start(): inserted sectors count towards the next GC.
void BcacheSim::CountInserted(uint64_t sectors) {
  sectors_to_gc_ -= static_cast<int64_t>(sectors);
  if (sectors_to_gc_ < 0) gc_pending_ = true;
}

// bch_btree_gc(): drop stale keys, recompute the marks and GC_SECTORS_USED
// of every bucket that is not pinned (btree_gc_start(), btree_gc_mark_node()),
// mark the buckets of keys the writeback keybuf still holds dirty, count the
// available buckets (bch_btree_gc_finish(): unpinned and GC_MARK 0 or
// RECLAIMABLE), clear invalidate_needs_gc, then moving GC. Pinned buckets
// (on the free lists, or the open data bucket) keep their marks and are not
// counted. Instantaneous.
void BcacheSim::Gc() {
  in_gc_ = true;
  ++st_.gc_runs;
  sectors_to_gc_ = static_cast<int64_t>(buckets_.size() * bucket_sectors_ / 16);
  extents_.EraseIf([this](uint64_t, const Extent& x) { return !Valid(x); });
  for (Bucket& b : buckets_) {
    if (b.state != kFilled) continue;
    b.gc_used = b.live;
    b.mark_dirty = b.dirty > 0;
  }
  auto mark_key = [this](const WbKey& k) {
    Bucket& b = buckets_[k.bucket];
    if (b.state == kFilled && b.gen == k.gen) b.mark_dirty = true;
  };
  for (const Volume& v : vols_) {
    for (size_t i = v.keybuf_pos; i < v.keybuf.size(); ++i) mark_key(v.keybuf[i]);
  }
  for (const WbIo& io : wb_ios_) {
    if (!io.free) mark_key(io.key);
  }
  uint64_t avail = 0;
  stale_marks_ = 0;
  for (const Bucket& b : buckets_) {
    if (b.state == kUnused || (b.state == kFilled && !b.mark_dirty)) ++avail;
    if (b.state == kFilled && b.mark_dirty && b.dirty == 0) ++stale_marks_;
  }
  invalidate_needs_gc_ = false;
  avail_ = avail;
  in_use_ = static_cast<uint32_t>((buckets_.size() - avail_) * 100 / buckets_.size());
  st_.max_in_use = std::max(st_.max_in_use, in_use_);
  if (cfg_.copy_gc) MovingGc();
  in_gc_ = false;
}

// bch_moving_gc() (movinggc.c): the least used buckets whose live data fits
// in the moving-GC reserve are copied out, leaving them empty (and first in
// line for invalidation).
void BcacheSim::MovingGc() {
  const uint64_t reserve = free_low_ * bucket_sectors_;
  std::vector<std::pair<uint32_t, uint32_t>> cands;
  for (uint32_t b = 0; b < buckets_.size(); ++b) {
    const Bucket& bk = buckets_[b];
    if (bk.state == kFilled && bk.gc_used > 0 && bk.gc_used < bucket_sectors_) cands.emplace_back(bk.gc_used, b);
  }
  if (cands.empty()) return;
  std::sort(cands.begin(), cands.end());
  uint64_t sum = 0;
  size_t take = 0;
  while (take < cands.size() && sum + cands[take].first <= reserve) sum += cands[take++].first;
  if (take == 0) return;
  for (size_t i = 0; i < take; ++i) buckets_[cands[i].second].move = true;
  struct Move {
    uint32_t volume;
    uint64_t start, end, cache_sector;
    uint32_t bucket;
    uint8_t gen;
    bool dirty;
  };
  std::vector<Move> moves;
  for (auto it = extents_.Begin(); !extents_.AtEnd(it); it = extents_.Next(it)) {
    const uint64_t k = extents_.key(it);
    const Extent& x = extents_.value(it);
    if (Valid(x) && buckets_[x.bucket].move) {
      moves.push_back(Move{static_cast<uint32_t>(k >> 40), k & kSectorMask, x.end & kSectorMask, x.cache_sector,
                           x.bucket, x.gen, x.dirty});
    }
  }
  // Moving GC's reads (bch_submit_bbio(), read_moving_endio() ->
  // bch_bbio_endio()) and writes (bch_data_insert()) pass through
  // bch_bbio_count_io_errors(), so their latencies feed c->congested like
  // foreground IO. The device takes them all at the GC instant; what the
  // accounting measures follows read_moving(): at most 64 moves in flight
  // (c->moving_in_flight), a move's read timed from when it could start
  // (the completion of the move 64 earlier) and its write from its read's
  // completion (write_moving() runs after the read).
  const int64_t now = sim_.Now();
  std::vector<int64_t> finished;  // completion of each move so far
  for (const Move& m : moves) {
    const Extent* x = extents_.Find(Key(m.volume, m.start));
    if (!x || x->end != Key(m.volume, m.end) || x->bucket != m.bucket || x->gen != m.gen || !Valid(*x)) continue;
    const int64_t start = finished.size() >= kMovingGcInFlight ? std::max(now, finished[finished.size() - kMovingGcInFlight])
                                                               : now;
    io_submit_override_ = start;
    const int64_t read_done = CacheSubmit(false, m.cache_sector, m.end - m.start, true);
    io_submit_override_ = std::max(start, read_done);
    int64_t done = sim_.Now();
    const bool ok = WriteToCache(m.volume, m.start, m.end, m.dirty, &done, 1);
    io_submit_override_ = -1;
    if (!ok) {
      --st_.alloc_failures;  // not a foreground failure; the data is simply dropped
      Cut(m.volume, m.start, m.end);
      break;
    }
    finished.push_back(std::max(done, read_done));
    st_.moving_gc_sectors += m.end - m.start;
  }
  for (size_t i = 0; i < take; ++i) buckets_[cands[i].second].move = false;
}

// ---------------------------------------------------------------- writeback

// bch_writeback_add() (writeback.h): the first dirty write sets has_dirty
// and wakes the thread (bch_writeback_queue() -> wake_up_process()). A thread
// asleep in schedule() (nothing dirty) runs at once. A thread in the
// writeback_delay sleep that follows every full pass of the index does not:
// that sleep is a loop of schedule_timeout_interruptible() calls, each
// returning the time left when woken early, so bch_writeback_thread() (v6.1)
// sleeps out the rest and only then looks at has_dirty.
void BcacheSim::WakeWriteback(uint32_t v) {
  Volume& vol = vols_[v];
  if (vol.has_dirty) return;
  vol.has_dirty = true;
  if (!cfg_.writeback_running) return;
  if (vol.waiting || vol.run_event) return;
  vol.run_event = Schedule(sim_.Now(), kWbRun, v);
}

bool BcacheSim::StillDirty(const WbKey& k) const {
  const Extent* x = extents_.Find(k.start);
  return x && x->end == k.end && x->bucket == k.bucket && x->gen == k.gen && x->dirty && Valid(*x);
}

// refill_dirty(): up to KEYBUF_NR dirty keys in LBA order from where the
// last scan stopped, wrapping once; true when the whole index was searched.
bool BcacheSim::Refill(uint32_t v) {
  Volume& vol = vols_[v];
  vol.keybuf.clear();
  vol.keybuf_pos = 0;
  auto scan = [&](uint64_t from, uint64_t to) {  // false: the buffer filled up
    for (auto it = extents_.LowerBound(Key(v, from)); !extents_.AtEnd(it) && extents_.key(it) < Key(v, to);
         it = extents_.Next(it)) {
      if (vol.keybuf.size() >= kKeybufNr) return false;
      const Extent& x = extents_.value(it);
      if (x.dirty && Valid(x)) vol.keybuf.push_back(WbKey{extents_.key(it), x.end, x.cache_sector, x.bucket, x.gen});
      vol.last_scanned = x.end & kSectorMask;
    }
    return true;
  };
  const uint64_t start_pos = vol.last_scanned;
  if (!scan(start_pos, vol.capacity_sectors + 1)) return false;
  vol.last_scanned = 0;
  if (!scan(0, start_pos)) return false;
  vol.last_scanned = start_pos;
  return true;
}

// bch_writeback_thread() + read_dirty().
void BcacheSim::WritebackRun(uint32_t v) {
  Volume& vol = vols_[v];
  const int64_t now = sim_.Now();
  if (!vol.has_dirty) return;
  for (;;) {
    if (vol.keybuf_pos >= vol.keybuf.size()) {
      if (vol.in_flight > 0) {  // closure_sync(): wait for the pass's IO
        vol.waiting = true;
        return;
      }
      if (vol.full_pass) {  // a full pass over the index: sleep writeback_delay
        vol.full_pass = false;
        vol.keybuf.clear();
        vol.keybuf_pos = 0;
        vol.run_event = Schedule(now + cfg_.writeback_delay_ns, kWbRun, v);
        return;
      }
      const bool full = Refill(v);
      if (full && vol.keybuf.empty()) {
        // bch_writeback_thread(): a full pass that found nothing clears
        // has_dirty and, being a full pass, still sleeps writeback_delay;
        // after that the thread waits in schedule() for bch_writeback_add().
        vol.has_dirty = false;
        vol.run_event = Schedule(now + cfg_.writeback_delay_ns, kWbRun, v);
        return;
      }
      vol.full_pass = full;
      vol.limiter.Reset(now);  // bch_ratelimit_reset()
    }
    // Gather up to 5 contiguous keys / 5000 sectors (v4.16+), else one key.
    const int max_keys = cfg_.version.batched_writeback ? kMaxWritebacksInPass : 1;
    const size_t first = vol.keybuf_pos;
    size_t pos = first;
    int nk = 0;
    uint64_t size = 0;
    uint64_t last_end = 0;
    std::vector<size_t> batch;
    while (pos < vol.keybuf.size() && nk < max_keys && size < kMaxWritesizeInPass) {
      const WbKey& k = vol.keybuf[pos];
      if (!StillDirty(k)) {  // overwritten since the scan (bch_keybuf_check_overlapping)
        ++pos;
        continue;
      }
      if (nk > 0 && k.start != last_end) break;
      batch.push_back(pos);
      size += k.end - k.start;
      last_end = k.end;
      ++nk;
      ++pos;
    }
    if (nk == 0) {
      vol.keybuf_pos = pos;
      continue;
    }
    if (vol.in_flight + static_cast<uint32_t>(nk) > kWritebackInFlight) {
      vol.waiting = true;  // down(&dc->in_flight)
      return;
    }
    vol.keybuf_pos = pos;
    for (size_t i : batch) {
      const WbKey& k = vol.keybuf[i];
      uint32_t slot;
      if (!wb_free_.empty()) {
        slot = wb_free_.back();
        wb_free_.pop_back();
      } else {
        slot = static_cast<uint32_t>(wb_ios_.size());
        wb_ios_.emplace_back();
      }
      wb_ios_[slot] = WbIo{k, v, false, false};
      ++vol.in_flight;
      vol.order.push_back(slot);
      const int64_t t = CacheSubmit(false, k.cache_sector, k.end - k.start, false);
      Schedule(t, kWbReadDone, slot);
    }
    if (cfg_.writeback_percent == 0) continue;  // writeback_delay() is 0 then
    const int64_t delay = vol.limiter.NextDelay(now, size, vol.rate.rate());
    if (delay > 0) {
      vol.run_event = Schedule(now + delay, kWbRun, v);
      return;
    }
  }
}

// write_dirty(): backing writes go out in the order the reads were issued.
void BcacheSim::WritebackReadDone(uint32_t slot) {
  wb_ios_[slot].read_done = true;
  Volume& vol = vols_[wb_ios_[slot].volume];
  while (vol.order_pos < vol.order.size() && wb_ios_[vol.order[vol.order_pos]].read_done) {
    const uint32_t s = vol.order[vol.order_pos++];
    const WbKey& k = wb_ios_[s].key;
    const int64_t t = BackingSubmit(wb_ios_[s].volume, true, k.start & kSectorMask, k.end - k.start, true);
    Schedule(t, kWbWriteDone, s);
  }
  if (vol.order_pos == vol.order.size()) {
    vol.order.clear();
    vol.order_pos = 0;
  }
}

// write_dirty_finish(): the key turns clean unless it changed meanwhile.
void BcacheSim::WritebackWriteDone(uint32_t slot) {
  WbIo& io = wb_ios_[slot];
  const uint32_t v = io.volume;
  Volume& vol = vols_[v];
  if (StillDirty(io.key)) {
    Extent& x = *extents_.Find(io.key.start);
    x.dirty = false;
    const uint64_t n = io.key.end - io.key.start;
    buckets_[x.bucket].dirty -= static_cast<uint32_t>(n);
    NoteCleaned(x.bucket);  // still GC_MARK_DIRTY: reusable after the next GC
    vol.dirty -= n;
    dirty_total_ -= n;
    st_.writeback_sectors += n;
  } else {
    ++st_.writeback_keys_failed;
  }
  io.free = true;
  wb_free_.push_back(slot);
  --vol.in_flight;
  if (vol.waiting) {
    vol.waiting = false;
    vol.run_event = Schedule(sim_.Now(), kWbRun, v);
  }
}

// update_writeback_rate(): every 5 s per backing device.
void BcacheSim::RateUpdate(uint32_t v) {
  if (finished_) return;
  Schedule(sim_.Now() + WritebackRate::kUpdateSeconds * kSec, kRate, v);
  Volume& vol = vols_[v];
  if (!vol.has_dirty || cfg_.writeback_percent == 0) return;
  if (cfg_.version.idle_max_rate && cfg_.idle_max_writeback_rate) {
    // set_at_max_writeback_rate(): 6 updates per attached device without a request.
    if (++idle_counter_ >= vols_.size() * 6) {
      at_max_rate_ = true;
      vol.rate.set_rate(INT_MAX);
      ++st_.writeback_max_rate_updates;
      return;
    }
  }
  RateInputs in;
  in.dirty = static_cast<int64_t>(vol.dirty);
  in.target = DirtyTarget(buckets_.size() * bucket_sectors_, cfg_.writeback_percent, vol.capacity_sectors,
                          all_bdev_sectors_, cfg_.version.pi_controller);
  in.in_use = in_use_;
  in.dirty_buckets = static_cast<int64_t>(buckets_.size() - avail_);
  in.bucket_sectors = bucket_sectors_;
  in.keeping_up = sim_.Now() < vol.limiter.next_ns + 1'000'000;
  vol.rate.Update(in);
  ++st_.writeback_rate_updates;
  rate_sum_ += static_cast<double>(vol.rate.rate());
}

BcacheStats BcacheSim::Stats() const {
  BcacheStats s = st_;
  s.dirty_sectors_end = dirty_total_;
  s.writeback_rate_mean = st_.writeback_rate_updates ? rate_sum_ / static_cast<double>(st_.writeback_rate_updates) : 0;
  s.writeback_rate_final = 0;
  for (const Volume& v : vols_) s.writeback_rate_final += v.rate.rate();
  s.ssd_bytes_written = cache_->bytes_written();
  s.hdd_bytes_written = lower_bytes_written_;
  for (const auto& b : backing_) {
    s.hdd_bytes_written += b->bytes_written();
    if (const sim::Histogram* h = b->seek_distance_histogram()) {
      s.seek_distance.Merge(*h);
      s.has_seek_distance = true;
    }
  }
  if (!finished_) s.end_ns = sim_.Now();
  s.sim_events = sim_.events_processed();
  return s;
}

}  // namespace kreplay::blockcache::bcache
