// The bcache mechanisms that can be tested alone: kernel-version traits, the
// sequential-IO tracker and the congestion estimate of check_should_bypass(),
// the writeback rate controller and its rate limiter.
//
// Mirrors drivers/md/bcache (request.c, io.c, writeback.c, util.c); each class
// names the function it mirrors. Integer arithmetic follows the kernel's
// (truncating division), so results match its rounding.
//
// Thread-safety: none; each belongs to one simulation.
#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "services/core/status.h"
#include "services/sim/rng.h"

namespace kreplay::blockcache::bcache {

constexpr int kSectorShift = 9;  // bcache counts 512-byte sectors

// What differs between the kernel versions the model supports.
struct VersionTraits {
  const char* name;
  // __update_writeback_rate: PI controller (v4.16+) or the older PD one.
  bool pi_controller;
  // read_dirty() gathers up to 5 contiguous keys / 5000 sectors per pass (v4.16+).
  bool batched_writeback;
  // set_at_max_writeback_rate(): maximum rate when the cache set is idle (v4.19+).
  bool idle_max_rate;
  // Fragmentation boost of the proportional term (v5.12+).
  bool fragment_boost;
};
// "4.9", "5.4", "5.10", "6.1"; InvalidArgument otherwise.
StatusOr<VersionTraits> TraitsFor(std::string_view version);

// The per-backing-device table of the last 128 IOs and the per-task
// sequential_io / sequential_io_avg, as in check_should_bypass() and
// add_sequential() (request.c). One instance per cache set; `device` picks
// the backing device's table.
class SequentialTracker {
 public:
  static constexpr int kRecentIoBits = 7;  // RECENT_IO_BITS: 128 entries
  static constexpr int64_t kExpireNs = 5'000'000'000;  // 5 s
  explicit SequentialTracker(uint32_t devices);

  // Accounts one IO [start, start + bytes) issued by `task` at `now_ns` and
  // returns max(task->sequential_io, task->sequential_io_avg) in bytes.
  uint64_t Account(uint32_t device, uint32_t task, uint64_t start_sector, uint32_t bytes, int64_t now_ns);

 private:
  struct Io {
    uint64_t last = 0;       // end sector of the stream so far
    int64_t expires = 0;     // stream continues only before this time
    uint64_t sequential = 0; // bytes in the stream
    int32_t hash = -1;       // chain it is on (-1: none)
    int32_t next = -1;       // next on its hash chain
    int32_t prev = -1, lru_next = -1;  // LRU list (prev/next)
  };
  struct Table {
    std::vector<Io> io;
    std::vector<int32_t> heads;  // hash chain heads
    int32_t lru_head = 0, lru_tail = 0;
  };
  struct Task {
    uint64_t sequential_io = 0;
    uint64_t sequential_io_avg = 0;
  };
  void Unhash(Table& t, int32_t i);
  void MoveToTail(Table& t, int32_t i);

  std::vector<Table> tables_;
  std::unordered_map<uint32_t, Task> tasks_;  // looked up only, never iterated
  // The last task looked up (most IO comes in runs from one task); elements
  // of an unordered_map keep their address when it rehashes.
  uint32_t last_task_id_ = 0;
  Task* last_task_ = nullptr;
};

// The cache set's congestion estimate: bch_bbio_count_io_errors() (io.c)
// lowers `congested` when a cache-device IO took longer than its threshold,
// and bch_get_congested() (request.c) turns it into a bypass limit in
// sectors. Times use the kernel's local_clock_us() = ns >> 10.
class Congestion {
 public:
  static constexpr int kCongestedMax = 1024;  // CONGESTED_MAX
  Congestion(uint32_t read_threshold_us, uint32_t write_threshold_us)
      : read_us_(read_threshold_us), write_us_(write_threshold_us) {}

  void OnCacheIoDone(int64_t submit_ns, int64_t complete_ns, bool write);
  // 0: not congested; otherwise IOs of a stream this long (sectors) or longer bypass.
  uint32_t Limit(int64_t now_ns, sim::Rng& rng) const;
  int32_t counter() const { return congested_; }

 private:
  uint32_t read_us_, write_us_;
  int32_t congested_ = 0;
  int64_t last_us_ = 0;
};

// bch_ratelimit / bch_next_delay() (util.c).
struct RateLimiter {
  int64_t next_ns = 0;
  void Reset(int64_t now_ns) { next_ns = now_ns; }
  // Accounts `sectors` done at `rate` sectors/s; returns the delay (ns) before the next IO.
  int64_t NextDelay(int64_t now_ns, uint64_t sectors, int64_t rate);
};

// Inputs of one writeback rate update (all in sectors unless said).
struct RateInputs {
  int64_t dirty = 0;          // bcache_dev_sectors_dirty()
  int64_t target = 0;         // __calc_target_rate()
  int64_t in_use = 0;         // c->gc_stats.in_use, percent
  int64_t dirty_buckets = 0;  // c->nbuckets - c->avail_nbuckets
  int64_t bucket_sectors = 0;
  bool keeping_up = true;     // now < writeback_rate.next + 1 ms
};

// __update_writeback_rate() (writeback.c), PI form (v4.16+, defaults
// p_term_inverse 40, i_term_inverse 10000, minimum 8, fp terms 1/10/1000)
// or PD form (v4.9: p_term_inverse 6000, d_term 30, rate in [1, 1e6]).
// The update period is 5 s (writeback_rate_update_seconds).
class WritebackRate {
 public:
  static constexpr int64_t kUpdateSeconds = 5;
  WritebackRate(bool pi, bool fragment_boost) : pi_(pi), fragment_(fragment_boost) {}
  void Update(const RateInputs& in);
  int64_t rate() const { return rate_; }  // sectors/s
  void set_rate(int64_t r) { rate_ = r; }
  int64_t integral() const { return integral_; }
  int64_t proportional() const { return proportional_; }

 private:
  bool pi_, fragment_;
  int64_t rate_ = 1024;       // initial writeback_rate
  int64_t integral_ = 0;      // writeback_rate_integral (PI)
  int64_t proportional_ = 0;
  int64_t dirty_last_ = 0;    // sectors_dirty_last (PD)
  int64_t derivative_avg_ = 0;  // sectors_dirty_derivative (PD)
};

// __calc_target_rate(): the backing device's share of writeback_percent of
// the cache (v5.x+: in 1/16384ths, at least one share; v4.9: plain ratio).
int64_t DirtyTarget(uint64_t cache_sectors, uint32_t writeback_percent, uint64_t bdev_sectors,
                    uint64_t all_bdev_sectors, bool share_shift);

}  // namespace kreplay::blockcache::bcache
