// Stacked bcache, the way Linux builds more than two tiers: the bcache
// device of one cache set (e.g. /dev/bcache0, a SATA SSD over an HDD) made the
// backing device of another cache set (an NVMe SSD), and so on.
//
// Level 0 is the top (the device the application uses). Level i + 1's
// bcache device v is level i's backing device for volume v; the bottom
// level's backing devices are the Devices (HDDs), one per trace volume. Each
// level is a complete BcacheSim with its own settings (cache mode,
// sequential_cutoff, congestion thresholds, writeback), so bypass and
// writeback decisions are made per instance as in the kernel
// (check_should_bypass() and should_writeback() read the cached_dev and
// cache_set of the device a bio was submitted to). All levels run in one
// engine; a level's backing IO is a bio submitted to the level below at the
// same simulated instant, and its completion is the lower level's. What is
// and is not modelled: README.md, "Stacking".
//
// Thread-safety: none; one simulation per instance.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "services/core/status.h"
#include "services/workload/block_workload.h"
#include "workers/models/blockcache/bcache/bcache_sim.h"
#include "workers/models/blockcache/devices/device.h"

namespace kreplay::blockcache::bcache {

// One cache set of the stack: its settings and its cache device.
struct StackLevel {
  BcacheConfig config;  // the top level's replay settings (speed, queue_depth, warm-up, sync_writes) apply
  std::unique_ptr<Device> cache;
};

struct StackStats {
  // Per level, top first. A level's counters cover the bios it received: the
  // trace for level 0, the backing IO of the level above for the others
  // (misses, writethrough and writeback writes, bypassed IO, discards,
  // flushes). Its latency histograms are what the level above waited for;
  // level 0's are end to end. hdd_* fields of a level above the bottom count
  // IO to the bcache device below it.
  std::vector<BcacheStats> levels;
  int64_t end_ns = 0;
  uint64_t sim_events = 0;  // the shared engine's
};

class BcacheStack {
 public:
  // `levels`: top first, at least one. `backing[v]` serves volume v at the
  // bottom. Takes ownership of every device. Errors name the level
  // ("levels[1]: ...").
  static StatusOr<std::unique_ptr<BcacheStack>> Create(std::vector<StackLevel> levels,
                                                       std::vector<std::unique_ptr<Device>> backing);
  ~BcacheStack();

  // Replays `w` through the top level to the completion of its last request
  // (BcacheSim::Run's contract). `w` must outlive the call.
  StatusOr<StackStats> Run(const workload::BlockWorkload& w, const std::atomic<bool>* cancel = nullptr);

  // Step-wise replay, for tests.
  Status Start(const workload::BlockWorkload& w) { return levels_.front()->Start(w); }
  void RunUntil(int64_t t_ns) { levels_.front()->RunUntil(t_ns); }
  StackStats Stats() const;

  size_t depth() const { return levels_.size(); }
  // Level i (0 = top), for introspection. REQUIRES: i < depth().
  const BcacheSim& level(size_t i) const { return *levels_[i]; }

 private:
  BcacheStack() = default;
  std::vector<std::unique_ptr<BcacheSim>> levels_;  // top first
};

}  // namespace kreplay::blockcache::bcache
