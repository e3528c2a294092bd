#include "workers/models/blockcache/bcache/bcache_parts.h"

#include <algorithm>
#include <bit>
#include <string>

namespace kreplay::blockcache::bcache {

__extension__ typedef unsigned __int128 U128;

StatusOr<VersionTraits> TraitsFor(std::string_view version) {
  // 4.9: PD controller, one key per writeback IO, no idle path.
  if (version == "4.9") return VersionTraits{"4.9", false, false, false, false};
  // 5.4 / 5.10: PI controller (4.16), batched writeback (4.16), idle maximum rate (4.19).
  if (version == "5.4") return VersionTraits{"5.4", true, true, true, false};
  if (version == "5.10") return VersionTraits{"5.10", true, true, true, false};
  // 6.1: adds the fragmentation boost (5.12).
  if (version == "6.1") return VersionTraits{"6.1", true, true, true, true};
  return InvalidArgument("params.kernel_version: unknown version '" + std::string(version) +
                         "' (known: 4.9, 5.4, 5.10, 6.1)");
}

// --- SequentialTracker: check_should_bypass() / add_sequential() ---

namespace {
constexpr uint64_t kGoldenRatio64 = 0x61C8864680B583EBULL;  // include/linux/hash.h
int32_t IoHash(uint64_t sector) {
  return static_cast<int32_t>((sector * kGoldenRatio64) >> (64 - SequentialTracker::kRecentIoBits));
}
}  // namespace

SequentialTracker::SequentialTracker(uint32_t devices) : tables_(devices) {
  constexpr int32_t n = 1 << kRecentIoBits;
  for (Table& t : tables_) {
    t.io.resize(n);
    t.heads.assign(n, -1);
    // All entries start on the LRU list and on no searchable chain (the
    // kernel parks them on an extra chain that no sector hashes to).
    for (int32_t i = 0; i < n; ++i) {
      t.io[i].prev = i - 1;
      t.io[i].lru_next = i + 1 < n ? i + 1 : -1;
    }
    t.lru_head = 0;
    t.lru_tail = n - 1;
  }
}

void SequentialTracker::Unhash(Table& t, int32_t i) {
  Io& io = t.io[i];
  if (io.hash < 0) return;
  int32_t* link = &t.heads[io.hash];
  while (*link != i) link = &t.io[*link].next;
  *link = io.next;
  io.next = -1;
  io.hash = -1;
}

void SequentialTracker::MoveToTail(Table& t, int32_t i) {
  if (t.lru_tail == i) return;
  Io& io = t.io[i];
  // Unlink.
  if (io.prev >= 0) t.io[io.prev].lru_next = io.lru_next; else t.lru_head = io.lru_next;
  t.io[io.lru_next].prev = io.prev;  // i is not the tail, so lru_next exists
  // Append.
  io.prev = t.lru_tail;
  io.lru_next = -1;
  t.io[t.lru_tail].lru_next = i;
  t.lru_tail = i;
}

uint64_t SequentialTracker::Account(uint32_t device, uint32_t task_id, uint64_t start_sector, uint32_t bytes,
                                    int64_t now_ns) {
  Table& t = tables_[device];
  if (!last_task_ || last_task_id_ != task_id) {
    last_task_ = &tasks_[task_id];
    last_task_id_ = task_id;
  }
  Task& task = *last_task_;
  int32_t found = -1;
  for (int32_t i = t.heads[IoHash(start_sector)]; i >= 0; i = t.io[i].next) {
    if (t.io[i].last == start_sector && now_ns < t.io[i].expires) {
      found = i;
      break;
    }
  }
  if (found < 0) {
    // A new stream takes the least recently used entry; add_sequential()
    // folds the task's finished stream into its EWMA (weight 8).
    found = t.lru_head;
    task.sequential_io_avg = (task.sequential_io_avg * 7 + task.sequential_io) / 8;
    task.sequential_io = 0;
    t.io[found].sequential = 0;
  }
  Io& io = t.io[found];
  // The kernel's counter is an unsigned int that stops growing rather than wrap.
  if (io.sequential + bytes <= UINT32_MAX) io.sequential += bytes;
  io.last = start_sector + ((uint64_t{bytes} + 511) >> kSectorShift);
  io.expires = now_ns + kExpireNs;
  task.sequential_io = io.sequential;
  Unhash(t, found);
  io.hash = IoHash(io.last);
  io.next = t.heads[io.hash];
  t.heads[io.hash] = found;
  MoveToTail(t, found);
  return std::max(task.sequential_io, task.sequential_io_avg);
}

// --- Congestion: bch_bbio_count_io_errors() / bch_get_congested() ---

void Congestion::OnCacheIoDone(int64_t submit_ns, int64_t complete_ns, bool write) {
  const uint32_t threshold = write ? write_us_ : read_us_;
  if (!threshold) return;
  const int64_t t = complete_ns >> 10;
  const int64_t us = t - (submit_ns >> 10);
  if (us > threshold) {
    int64_t ms = us / 1024;
    last_us_ = t;
    ms = std::min<int64_t>(ms, kCongestedMax + congested_);
    congested_ -= static_cast<int32_t>(ms);
  } else if (congested_ < 0) {
    ++congested_;
  }
}

uint32_t Congestion::Limit(int64_t now_ns, sim::Rng& rng) const {
  if (!read_us_ && !write_us_) return 0;
  int64_t i = ((now_ns >> 10) - last_us_) / 1024;
  if (i < 0) return 0;
  i += congested_;
  if (i >= 0) return 0;
  i += kCongestedMax;
  if (i > 0) {
    // fract_exp_two(i, 6): 2^(i / 64) with a linear fraction.
    const uint64_t x = static_cast<uint64_t>(i);
    const uint64_t fract = x & 63;
    uint64_t v = uint64_t{1} << (x >> 6);
    v += (v * fract) >> 6;
    i = static_cast<int64_t>(v);
  }
  i -= std::popcount(static_cast<uint32_t>(rng.NextU64()));  // hweight32(get_random_u32())
  return i > 0 ? static_cast<uint32_t>(i) : 1;
}

// --- RateLimiter: bch_next_delay() ---

int64_t RateLimiter::NextDelay(int64_t now_ns, uint64_t sectors, int64_t rate) {
  constexpr int64_t kSec = 1'000'000'000;
  next_ns += static_cast<int64_t>(sectors) * kSec / std::max<int64_t>(rate, 1);
  // Never more than 2.5 s ahead nor 2 s behind.
  next_ns = std::min(next_ns, now_ns + kSec * 5 / 2);
  next_ns = std::max(next_ns, now_ns - 2 * kSec);
  return next_ns > now_ns ? next_ns - now_ns : 0;
}

// --- WritebackRate: __update_writeback_rate() ---

void WritebackRate::Update(const RateInputs& in) {
  const int64_t error = in.dirty - in.target;
  if (!pi_) {
    // v4.9 PD controller: rate += P + D, P = error * 5 / 6000, D from an
    // EWMA (weight d_term / update_seconds = 6) of the dirty derivative.
    constexpr int64_t kPInv = 6000, kDTerm = 30;
    int64_t proportional = error * kUpdateSeconds / kPInv;
    int64_t derivative = (in.dirty - dirty_last_) / kUpdateSeconds;
    dirty_last_ = in.dirty;
    constexpr int64_t weight = kDTerm / kUpdateSeconds;
    derivative_avg_ = (derivative_avg_ * (weight - 1) + derivative) / weight;
    derivative = derivative_avg_ * kDTerm / kPInv;
    int64_t change = proportional + derivative;
    if (change > 0 && !in.keeping_up) change = 0;  // don't speed up a device that can't keep up
    proportional_ = proportional;
    rate_ = std::clamp<int64_t>(rate_ + change, 1, 1'000'000);  // [1, NSEC_PER_MSEC]
    return;
  }
  constexpr int64_t kPInv = 40, kIInv = 10000, kMinimum = 8;
  int64_t proportional = error / kPInv;
  if (fragment_ && in.in_use > 50 && in.dirty > 0 && in.dirty_buckets > 0) {
    // BCH_WRITEBACK_FRAGMENT_THRESHOLD_LOW/MID/HIGH = 50/57/64 with
    // writeback_rate_fp_term_low/mid/high = 1/10/1000.
    const int64_t fragment = in.dirty_buckets * in.bucket_sectors / in.dirty;
    int64_t fp_term;
    if (in.in_use <= 57) {
      fp_term = 1 * (in.in_use - 50);
    } else if (in.in_use <= 64) {
      fp_term = 10 * (in.in_use - 57);
    } else {
      fp_term = 1000 * (in.in_use - 64);
    }
    const int64_t fps = in.dirty / in.dirty_buckets * fp_term;
    if (fragment > 3 && fps > proportional) proportional = fps;
  }
  // Anti-windup: shrink the integral only while positive, grow it only
  // while the device keeps up with the current rate.
  if ((error < 0 && integral_ > 0) || (error > 0 && in.keeping_up)) {
    integral_ += error * kUpdateSeconds;
  }
  proportional_ = proportional;
  rate_ = std::clamp<int64_t>(proportional + integral_ / kIInv, kMinimum, 1'000'000'000);
}

int64_t DirtyTarget(uint64_t cache_sectors, uint32_t writeback_percent, uint64_t bdev_sectors,
                    uint64_t all_bdev_sectors, bool share_shift) {
  const uint64_t cache_target = cache_sectors * writeback_percent / 100;
  if (all_bdev_sectors == 0) return 0;
  if (!share_shift) {
    return static_cast<int64_t>(static_cast<U128>(cache_target) * bdev_sectors / all_bdev_sectors);
  }
  constexpr int kShareShift = 14;  // WRITEBACK_SHARE_SHIFT
  uint64_t share = (bdev_sectors << kShareShift) / all_bdev_sectors;
  share = std::max<uint64_t>(share, 1);
  return static_cast<int64_t>((cache_target * share) >> kShareShift);
}

}  // namespace kreplay::blockcache::bcache
