// The "bcache" model's self-description and run function.
#include "workers/models/blockcache/bcache/bcache_model.h"

#include <algorithm>
#include <string>
#include <vector>

#include "services/sim/rng.h"
#include "workers/models/blockcache/bcache/bcache_sim.h"
#include "workers/models/blockcache/bcache/bcache_stack.h"
#include "workers/models/blockcache/devices/device.h"
#include "workers/models/blockcache/devices/profiles.h"

namespace kreplay::blockcache::bcache {
namespace {

// The run's block workload; null when missing or of another family.
const workload::BlockWorkload* Block(const model::RunInput& in) { return in.WorkloadAs<workload::BlockWorkload>(); }

using model::Better;
using model::MetricSpec;
using model::ParamSpec;
using model::ParamType;

// 1.1.0: writeback_delay after every full pass, GC_MARK_DIRTY until GC and
// invalidate_needs_gc, pinned buckets at GC, moving-GC congestion, block_size
// from the devices, per-request sync flags.
constexpr char kVersion[] = "1.1.0";

constexpr double kMaxBytes = 1125899906842624.0;  // 1 PiB

std::vector<ParamSpec> Params() {
  return {
      model::EnumParam("kernel_version", "6.1", {"4.9", "5.4", "5.10", "6.1"},
           "drivers/md/bcache version mirrored. 4.9: PD writeback controller, one key per writeback IO, no idle "
           "maximum rate; 5.4/5.10: PI controller, batched writeback, idle maximum rate; 6.1: adds the "
           "fragmentation boost of the writeback rate."),
      model::EnumParam("cache_mode", "writethrough", {"writethrough", "writeback", "writearound", "none"},
           "bcache cache_mode (sysfs)."),
      model::IntParam("cache_size", "bytes", int64_t{32} << 30, 4 << 20, kMaxBytes,
          "Size of the cache set (the SSD's capacity); nbuckets = cache_size / bucket_size (>= 8)."),
      model::StringParam("ssd_profile", "ssd-sata", "Device profile of the cache SSD (see the blockdev profiles)."),
      model::StringParam("hdd_profile", "hdd-7200", "Device profile of each backing device (one per trace volume)."),
      model::IntParam("hdd_capacity", "bytes", 0, 0, kMaxBytes,
          "Capacity of each backing device; 0 keeps the profile's. Sets each device's share of the dirty target."),
      model::IntParam("bucket_size", "bytes", 512 * 1024, 4096, 8.0 * (1 << 30), "Bucket size (make-bcache --bucket)."),
      model::IntParam("block_size", "bytes", 0, 0, 65536,
          "Cache block size (make-bcache --block): IO not aligned to it, in offset or length, is bypassed. 0 "
          "(default): make-bcache's default, the largest logical block size of the cache and backing devices "
          "(512 B for every shipped profile; a bcache device below has its cache set's block size)."),
      model::IntParam("sequential_cutoff", "bytes", 4 << 20, 0, kMaxBytes,
          "Streams (per task, last 128 IOs, 5 s expiry, EWMA weight 8) this long or longer bypass; 0 disables."),
      model::IntParam("congested_read_threshold_us", "us", 2000, 0, 1e9,
          "Cache reads slower than this raise congestion; 0 with the write threshold 0 disables it."),
      model::IntParam("congested_write_threshold_us", "us", 20000, 0, 1e9, "Cache writes slower than this raise congestion."),
      model::EnumParam("cache_replacement_policy", "lru", {"lru", "fifo", "random"},
           "Bucket replacement: lru (smallest prio-weighted sectors used), fifo (bucket order), random (seeded)."),
      model::IntParam("writeback_percent", "%", 10, 0, 40,
          "Dirty data the writeback controller aims for, as a share of the cache (times the device's share)."),
      model::IntParam("writeback_delay", "s", 30, 0, 86400, "Pause after each full pass of writeback over the index."),
      model::BoolParam("idle_max_writeback_rate", true,
           "5.x+: after 6 rate updates per attached device without a request, write back at the maximum rate."),
      model::BoolParam("writeback_consider_fragment", true, "6.1: raise the rate when few dirty sectors occupy many buckets."),
      model::BoolParam("writeback_running", true, "Background writeback on (sysfs writeback_running); off keeps dirty data."),
      model::BoolParam("copy_gc_enabled", true, "Moving GC after each GC compacts the least used buckets."),
      model::BoolParam("sync_writes", false,
           "Treat every trace write as REQ_SYNC: writeback mode then caches them up to 70 % of buckets in use (else "
           "40 %)."),
      model::BoolParam("sync_from_trace", true,
           "Writes the trace marks synchronous (blkparse RWBS S, FUA, preflush F or M) are REQ_SYNC. Formats without "
           "sync flags (MSR, fio iolog, Alibaba, Tencent) mark none, so only sync_writes applies to them."),
      model::EnumParam("task_fallback", "per_volume", {"per_volume", "single"},
           "Task used for sequential detection when the trace has no task IDs: one per volume or one for all."),
      model::DoubleParam("speed", "x", 1.0, 1e-6, 1e6, "Open-loop replay: issue at recorded time / speed."),
      model::IntParam("queue_depth", "requests", 0, 0, 1 << 20,
          "> 0: closed loop with this many requests outstanding (recorded times ignored); 0: open loop."),
      model::DoubleParam("warmup_s", "s", 0, 0, 1e9, "Requests issued before this simulated time are not measured."),
      model::IntParam("warmup_requests", "requests", 0, 0, 1e15, "The first this many requests are not measured."),
  };
}

std::vector<MetricSpec> Metrics() {
  return {
      {"cache_hits", "count", Better::kHigher, "Measured read requests served entirely from the cache (sysfs)."},
      {"cache_misses", "count", Better::kLower, "Measured non-bypassed reads with any part missing (a partial hit is a miss)."},
      {"cache_hit_ratio", "%", Better::kHigher, "cache_hits / (cache_hits + cache_misses) x 100, as sysfs."},
      {"cache_bypass_hits", "count", Better::kNone, "Bypassed reads found entirely in the cache."},
      {"cache_bypass_misses", "count", Better::kNone, "Bypassed reads not entirely in the cache."},
      {"cache_miss_collisions", "count", Better::kLower, "Miss inserts dropped because a write hit the range first."},
      {"bypassed_bytes", "bytes", Better::kNone, "sysfs `bypassed` (sectors of bypassed IO) x 512."},
      {"dirty_data_bytes", "bytes", Better::kNone, "Dirty data in the cache when the last request completed."},
      {"dirty_data_max_bytes", "bytes", Better::kNone, "Largest dirty data during the run."},
      {"writeback_rate_mean", "sectors/s", Better::kNone,
       "Mean writeback_rate over the controller's 5 s updates of all backing devices (idle-maximum updates excluded)."},
      {"writeback_rate_final", "sectors/s", Better::kNone, "writeback_rate at the end, summed over backing devices."},
      {"writeback_max_rate_updates", "count", Better::kNone, "Updates that set the idle maximum rate."},
      {"writeback_bytes", "bytes", Better::kNone, "Dirty data written back to the backing devices."},
      {"ssd_bytes_written", "bytes", Better::kLower, "Host writes to the cache SSD (no FTL write amplification)."},
      {"ssd_bytes_read", "bytes", Better::kNone, "Reads from the cache SSD."},
      {"hdd_bytes_written", "bytes", Better::kNone, "Writes to the backing devices."},
      {"hdd_bytes_read", "bytes", Better::kNone, "Reads from the backing devices."},
      {"read_latency_p50_us", "us", Better::kLower, "Median read latency (completion - issue)."},
      {"read_latency_p99_us", "us", Better::kLower, "99th percentile read latency."},
      {"read_latency_mean_us", "us", Better::kLower, "Mean read latency."},
      {"write_latency_p50_us", "us", Better::kLower, "Median write latency."},
      {"write_latency_p99_us", "us", Better::kLower, "99th percentile write latency."},
      {"write_latency_mean_us", "us", Better::kLower, "Mean write latency."},
      {"requests", "count", Better::kNone, "Requests replayed."},
      {"measured_requests", "count", Better::kNone, "Requests after the warm-up."},
      {"buckets_invalidated", "count", Better::kNone, "Buckets invalidated for reuse."},
      {"evicted_bytes", "bytes", Better::kNone, "Live cached data dropped by invalidation."},
      {"gc_runs", "count", Better::kNone, "GC runs (every 1/16 of the cache inserted)."},
      {"moving_gc_bytes", "bytes", Better::kNone, "Data relocated by moving GC."},
      {"alloc_failures", "count", Better::kLower, "Cache writes with no evictable bucket (sent to the backing device)."},
      {"max_in_use", "%", Better::kNone, "Highest gc_stats.in_use (buckets neither clean nor empty)."},
      {"task_fallback", "enum", Better::kNone,
       "How tasks were identified: 0 trace task IDs, 1 one task per volume, 2 one task for the whole trace."},
      {"read_latency", "ns", Better::kLower, "Histogram of read latencies."},
      {"write_latency", "ns", Better::kLower, "Histogram of write latencies."},
      {"hdd_seek_distance", "cylinders", Better::kNone, "Histogram of backing-device seek distances (warm-up included)."},
  };
}

// `prefix` names one cache set's own settings in bcache.stack ("l1_", "l2_");
// the shared ones (kernel, replay timing, trace properties) have none.
StatusOr<BcacheConfig> ConfigFrom(const model::ParamSet& p, uint64_t seed, const std::string& prefix = "") {
  auto own = [&prefix](const char* name) { return prefix + name; };
  BcacheConfig c;
  KREPLAY_ASSIGN_OR_RETURN(c.version, TraitsFor(p.Str("kernel_version")));
  const std::string& mode = p.Str(own("cache_mode"));
  c.mode = mode == "writeback"     ? CacheMode::kWriteback
           : mode == "writearound" ? CacheMode::kWritearound
           : mode == "none"        ? CacheMode::kNone
                                   : CacheMode::kWritethrough;
  c.bucket_bytes = static_cast<uint64_t>(p.Int(own("bucket_size")));
  c.block_bytes = static_cast<uint32_t>(p.Int(own("block_size")));
  c.sequential_cutoff_bytes = static_cast<uint64_t>(p.Int(own("sequential_cutoff")));
  c.congested_read_threshold_us = static_cast<uint32_t>(p.Int(own("congested_read_threshold_us")));
  c.congested_write_threshold_us = static_cast<uint32_t>(p.Int(own("congested_write_threshold_us")));
  const std::string& repl = p.Str(own("cache_replacement_policy"));
  c.replacement = repl == "fifo" ? Replacement::kFifo : repl == "random" ? Replacement::kRandom : Replacement::kLru;
  c.writeback_percent = static_cast<uint32_t>(p.Int(own("writeback_percent")));
  c.writeback_delay_ns = p.Int(own("writeback_delay")) * 1'000'000'000;
  c.idle_max_writeback_rate = p.Bool(own("idle_max_writeback_rate"));
  c.writeback_consider_fragment = p.Bool(own("writeback_consider_fragment"));
  c.copy_gc = p.Bool(own("copy_gc_enabled"));
  c.writeback_running = p.Bool(own("writeback_running"));
  c.sync_writes = p.Bool("sync_writes");
  c.sync_from_trace = p.Bool("sync_from_trace");
  c.task_fallback = p.Str("task_fallback") == "single" ? TaskFallback::kSingle : TaskFallback::kPerVolume;
  c.speed = p.Double("speed");
  c.queue_depth = static_cast<uint32_t>(p.Int("queue_depth"));
  c.warmup_ns = static_cast<int64_t>(p.Double("warmup_s") * 1e9);
  c.warmup_requests = static_cast<uint64_t>(p.Int("warmup_requests"));
  c.seed = seed;
  return c;
}

// make-bcache (bcache-tools) without --block: the largest logical block size
// (BLKSSZGET) among the devices it formats, the cache and the backing ones.
// A bcache device's logical block size is its cache set's block size
// (bcache_device_init()), which is what an upper level of a stack sees below.
Status ResolveBlockSize(BcacheConfig* c, const model::ParamSet& p, const std::string& prefix,
                        uint32_t backing_block_bytes) {
  if (c->block_bytes == 0) {
    const DeviceProfile* ssd = FindDeviceProfile(p.Str(prefix + "ssd_profile"));
    c->block_bytes = std::max(ssd ? ssd->logical_block_bytes : 512u, backing_block_bytes);
  }
  if (c->bucket_bytes % c->block_bytes != 0) {
    return InvalidArgument("params." + prefix + "bucket_size: must be a multiple of " + prefix + "block_size (" +
                           std::to_string(c->block_bytes) + " bytes)");
  }
  return OkStatus();
}

uint32_t HddBlockBytes(const model::ParamSet& p) {
  const DeviceProfile* hdd = FindDeviceProfile(p.Str("hdd_profile"));
  return hdd ? hdd->logical_block_bytes : 512u;
}

double Us(int64_t ns) { return static_cast<double>(ns) / 1000.0; }

model::Result ToResult(const BcacheStats& s, bool has_task_ids, TaskFallback fallback) {
  model::Result r;
  const double hits = static_cast<double>(s.cache_hits), misses = static_cast<double>(s.cache_misses);
  r.Set("cache_hits", hits, "count");
  r.Set("cache_misses", misses, "count");
  r.Set("cache_hit_ratio", hits + misses > 0 ? hits * 100.0 / (hits + misses) : 0.0, "%");
  r.Set("cache_bypass_hits", static_cast<double>(s.cache_bypass_hits), "count");
  r.Set("cache_bypass_misses", static_cast<double>(s.cache_bypass_misses), "count");
  r.Set("cache_miss_collisions", static_cast<double>(s.cache_miss_collisions), "count");
  r.Set("bypassed_bytes", static_cast<double>(s.bypassed_sectors * 512), "bytes");
  r.Set("dirty_data_bytes", static_cast<double>(s.dirty_sectors_end * 512), "bytes");
  r.Set("dirty_data_max_bytes", static_cast<double>(s.dirty_sectors_max * 512), "bytes");
  r.Set("writeback_rate_mean", s.writeback_rate_mean, "sectors/s");
  r.Set("writeback_rate_final", static_cast<double>(s.writeback_rate_final), "sectors/s");
  r.Set("writeback_max_rate_updates", static_cast<double>(s.writeback_max_rate_updates), "count");
  r.Set("writeback_bytes", static_cast<double>(s.writeback_sectors * 512), "bytes");
  r.Set("ssd_bytes_written", static_cast<double>(s.ssd_bytes_written), "bytes");
  r.Set("ssd_bytes_read", static_cast<double>(s.ssd_bytes_read), "bytes");
  r.Set("hdd_bytes_written", static_cast<double>(s.hdd_bytes_written), "bytes");
  r.Set("hdd_bytes_read", static_cast<double>(s.hdd_bytes_read), "bytes");
  r.Set("read_latency_p50_us", Us(s.read_latency.Percentile(0.5)), "us");
  r.Set("read_latency_p99_us", Us(s.read_latency.Percentile(0.99)), "us");
  r.Set("read_latency_mean_us", s.read_latency.Mean() / 1000.0, "us");
  r.Set("write_latency_p50_us", Us(s.write_latency.Percentile(0.5)), "us");
  r.Set("write_latency_p99_us", Us(s.write_latency.Percentile(0.99)), "us");
  r.Set("write_latency_mean_us", s.write_latency.Mean() / 1000.0, "us");
  r.Set("requests", static_cast<double>(s.requests), "count");
  r.Set("measured_requests", static_cast<double>(s.measured_requests), "count");
  r.Set("buckets_invalidated", static_cast<double>(s.buckets_invalidated), "count");
  r.Set("evicted_bytes", static_cast<double>(s.sectors_evicted * 512), "bytes");
  r.Set("gc_runs", static_cast<double>(s.gc_runs), "count");
  r.Set("moving_gc_bytes", static_cast<double>(s.moving_gc_sectors * 512), "bytes");
  r.Set("alloc_failures", static_cast<double>(s.alloc_failures), "count");
  r.Set("max_in_use", s.max_in_use, "%");
  r.Set("task_fallback", has_task_ids ? 0 : fallback == TaskFallback::kPerVolume ? 1 : 2, "enum");
  r.histograms["read_latency"] = s.read_latency;
  r.histograms["write_latency"] = s.write_latency;
  if (s.has_seek_distance) r.histograms["hdd_seek_distance"] = s.seek_distance;
  r.sim_events = s.sim_events;
  r.sim_time_ns = s.end_ns;
  return r;
}

StatusOr<model::Result> RunBcache(const model::RunInput& in) {
  if (!in.params) return InvalidArgument("bcache: params missing");
  if (!Block(in)) return InvalidArgument("bcache: block workload missing");
  const model::ParamSet& p = *in.params;
  KREPLAY_ASSIGN_OR_RETURN(BcacheConfig cfg, ConfigFrom(p, in.seed));
  KREPLAY_RETURN_IF_ERROR(ResolveBlockSize(&cfg, p, "", HddBlockBytes(p)));
  auto cache = MakeDevice(p.Str("ssd_profile"), static_cast<uint64_t>(p.Int("cache_size")));
  if (!cache.ok()) return cache.status().WithContext("params.ssd_profile");
  size_t volumes = std::max<size_t>(Block(in)->volumes.size(), 1);
  for (const auto& r : Block(in)->requests) volumes = std::max<size_t>(volumes, size_t{r.volume} + 1);
  std::vector<std::unique_ptr<Device>> backing;
  for (size_t v = 0; v < volumes; ++v) {
    auto d = MakeDevice(p.Str("hdd_profile"), static_cast<uint64_t>(p.Int("hdd_capacity")));
    if (!d.ok()) return d.status().WithContext("params.hdd_profile");
    backing.push_back(std::move(d).value());
  }
  KREPLAY_ASSIGN_OR_RETURN(auto sim, BcacheSim::Create(cfg, std::move(cache).value(), std::move(backing)));
  KREPLAY_ASSIGN_OR_RETURN(BcacheStats s, sim->Run(*Block(in), in.cancel));
  return ToResult(s, Block(in)->has_task_ids, cfg.task_fallback);
}

// ---------------------------------------------------------------- bcache.stack

// Settings each cache set of a stack has for itself (sysfs of its cache set
// and of its cached_dev, its make-bcache geometry, its SSD); everything else
// in Params() is shared by the stack.
bool PerLevel(const std::string& name) {
  static constexpr const char* kOwn[] = {
      "cache_mode",        "cache_size",       "ssd_profile",   "bucket_size",
      "block_size",        "sequential_cutoff", "congested_read_threshold_us",
      "congested_write_threshold_us", "cache_replacement_policy", "writeback_percent",
      "writeback_delay",   "idle_max_writeback_rate", "writeback_consider_fragment",
      "writeback_running", "copy_gc_enabled"};
  for (const char* own : kOwn) {
    if (name == own) return true;
  }
  return false;
}

constexpr int kStackLevels = 2;

std::string LevelParamPrefix(int level) { return "l" + std::to_string(level + 1) + "_"; }
std::string LevelMetricPrefix(int level) { return "l" + std::to_string(level + 1) + "."; }

std::vector<ParamSpec> StackParams() {
  std::vector<ParamSpec> out;
  for (const ParamSpec& p : Params()) {
    if (!PerLevel(p.name)) {
      out.push_back(p);
      continue;
    }
    for (int level = 0; level < kStackLevels; ++level) {
      ParamSpec q = p;
      q.name = LevelParamPrefix(level) + p.name;
      q.help = (level == 0 ? "Upper cache set (l1, the device the trace is replayed on): "
                           : "Lower cache set (l2, whose bcache devices are l1's backing devices): ") +
               p.help;
      if (p.name == "ssd_profile") q.default_value = std::string(level == 0 ? "ssd-nvme" : "ssd-sata");
      if (p.name == "cache_size") q.default_value = level == 0 ? int64_t{8} << 30 : int64_t{32} << 30;
      out.push_back(std::move(q));
    }
  }
  return out;
}

// Reported once for the stack, not per level.
bool StackWide(const std::string& name) { return name == "task_fallback" || name == "hdd_seek_distance"; }

// A level's hdd_* counters count IO to its backing target, the bcache
// device below for every level but the last.
std::string LevelMetricName(const std::string& name) {
  if (name == "hdd_bytes_written") return "backing_bytes_written";
  if (name == "hdd_bytes_read") return "backing_bytes_read";
  return name;
}

std::vector<MetricSpec> StackMetrics() {
  std::vector<MetricSpec> out;
  const std::vector<MetricSpec> single = Metrics();
  for (int level = 0; level < kStackLevels; ++level) {
    for (const MetricSpec& m : single) {
      if (StackWide(m.name)) continue;
      MetricSpec q = m;
      q.name = LevelMetricPrefix(level) + LevelMetricName(m.name);
      q.help = (level == 0 ? "l1 (upper cache set): " : "l2 (lower cache set; its requests are l1's backing IO): ") +
               (m.name == "hdd_bytes_written"  ? std::string("Writes to this level's backing devices.")
                : m.name == "hdd_bytes_read" ? std::string("Reads from this level's backing devices.")
                                             : m.help);
      out.push_back(std::move(q));
    }
  }
  // End to end, as the application sees the top bcache device.
  for (const MetricSpec& m : single) {
    const std::string& n = m.name;
    if (n.rfind("read_latency", 0) == 0 || n.rfind("write_latency", 0) == 0 || n == "requests" ||
        n == "measured_requests" || n == "task_fallback") {
      MetricSpec q = m;
      q.help = "End to end (the trace's requests at the top bcache device): " + m.help;
      out.push_back(std::move(q));
    }
  }
  out.push_back({"hdd_bytes_written", "bytes", Better::kNone, "Writes to the HDDs at the bottom of the stack."});
  out.push_back({"hdd_bytes_read", "bytes", Better::kNone, "Reads from the HDDs at the bottom of the stack."});
  out.push_back({"hdd_seek_distance", "cylinders", Better::kNone,
                 "Histogram of the HDDs' seek distances (warm-up included)."});
  return out;
}

model::Result StackResult(const StackStats& st, bool has_task_ids, TaskFallback fallback) {
  model::Result r;
  for (size_t level = 0; level < st.levels.size(); ++level) {
    const model::Result one = ToResult(st.levels[level], has_task_ids, fallback);
    const std::string prefix = LevelMetricPrefix(static_cast<int>(level));
    for (const auto& [name, value] : one.scalars) {
      if (!StackWide(name)) r.scalars[prefix + LevelMetricName(name)] = value;
    }
    for (const auto& [name, h] : one.histograms) {
      if (!StackWide(name)) r.histograms[prefix + name] = h;
    }
    if (level == 0) {  // end to end
      for (const auto& [name, value] : one.scalars) {
        if (name.rfind("read_latency", 0) == 0 || name.rfind("write_latency", 0) == 0 || name == "requests" ||
            name == "measured_requests" || name == "task_fallback") {
          r.scalars[name] = value;
        }
      }
      r.histograms["read_latency"] = one.histograms.at("read_latency");
      r.histograms["write_latency"] = one.histograms.at("write_latency");
    }
    if (level + 1 == st.levels.size()) {  // the HDDs
      r.scalars["hdd_bytes_written"] = one.scalars.at("hdd_bytes_written");
      r.scalars["hdd_bytes_read"] = one.scalars.at("hdd_bytes_read");
      if (auto it = one.histograms.find("hdd_seek_distance"); it != one.histograms.end()) {
        r.histograms["hdd_seek_distance"] = it->second;
      }
    }
  }
  r.sim_events = st.sim_events;
  r.sim_time_ns = st.end_ns;
  return r;
}

StatusOr<model::Result> RunBcacheStack(const model::RunInput& in) {
  if (!in.params) return InvalidArgument("bcache.stack: params missing");
  if (!Block(in)) return InvalidArgument("bcache.stack: block workload missing");
  const model::ParamSet& p = *in.params;
  std::vector<StackLevel> levels;
  for (int level = 0; level < kStackLevels; ++level) {
    const std::string prefix = LevelParamPrefix(level);
    // The top level uses the run's seed; each level below an independent
    // stream derived from it, so no two cache sets draw the same numbers.
    const uint64_t seed = level == 0 ? in.seed : sim::Rng(in.seed).Fork(static_cast<uint64_t>(level)).NextU64();
    KREPLAY_ASSIGN_OR_RETURN(BcacheConfig cfg, ConfigFrom(p, seed, prefix));
    auto cache = MakeDevice(p.Str(prefix + "ssd_profile"), static_cast<uint64_t>(p.Int(prefix + "cache_size")));
    if (!cache.ok()) return cache.status().WithContext("params." + prefix + "ssd_profile");
    levels.push_back(StackLevel{cfg, std::move(cache).value()});
  }
  // Bottom up: each level's backing device is the bcache device below it.
  uint32_t below = HddBlockBytes(p);
  for (int level = kStackLevels - 1; level >= 0; --level) {
    KREPLAY_RETURN_IF_ERROR(ResolveBlockSize(&levels[static_cast<size_t>(level)].config, p, LevelParamPrefix(level), below));
    below = levels[static_cast<size_t>(level)].config.block_bytes;
  }
  size_t volumes = std::max<size_t>(Block(in)->volumes.size(), 1);
  for (const auto& r : Block(in)->requests) volumes = std::max<size_t>(volumes, size_t{r.volume} + 1);
  std::vector<std::unique_ptr<Device>> backing;
  for (size_t v = 0; v < volumes; ++v) {
    auto d = MakeDevice(p.Str("hdd_profile"), static_cast<uint64_t>(p.Int("hdd_capacity")));
    if (!d.ok()) return d.status().WithContext("params.hdd_profile");
    backing.push_back(std::move(d).value());
  }
  const TaskFallback fallback = levels.front().config.task_fallback;
  auto stack = BcacheStack::Create(std::move(levels), std::move(backing));
  if (!stack.ok()) return stack.status().WithContext("bcache.stack (levels[0] = l1_*, levels[1] = l2_*)");
  KREPLAY_ASSIGN_OR_RETURN(StackStats st, (*stack)->Run(*Block(in), in.cancel));
  return StackResult(st, Block(in)->has_task_ids, fallback);
}

}  // namespace

Status RegisterBcacheModels(model::Registry& registry) {
  model::ModelInfo m;
  m.name = "bcache";
  m.family = "blockcache";
  m.version = kVersion;
  m.description =
      "bcache cache set (SSD buckets) over HDDs: bypass rules, bucket replacement, writeback PI controller, GC";
  m.mirrors = "drivers/md/bcache (request.c, alloc.c, btree.c, movinggc.c, writeback.c, io.c), v4.9-v6.1";
  m.params = Params();
  m.metrics = Metrics();
  m.run = RunBcache;
  // bcache_bench medians 3.0-4.3 M trace requests/s (README.md).
  m.work_unit = "requests";
  m.work_per_core_s = 3.3e6;
  KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(m)));

  model::ModelInfo stack;
  stack.name = "bcache.stack";
  stack.family = "blockcache";
  stack.version = kVersion;
  stack.description =
      "Two stacked bcache cache sets (e.g. NVMe over a SATA-SSD bcache device over HDDs), each with its own settings";
  stack.mirrors = "drivers/md/bcache, v4.9-v6.1: a bcache device used as the backing device of another cache set";
  stack.params = StackParams();
  stack.metrics = StackMetrics();
  stack.run = RunBcacheStack;
  stack.work_unit = "requests";
  stack.work_per_core_s = 1.2e6;  // BM_Stack
  return registry.Register(std::move(stack));
}

}  // namespace kreplay::blockcache::bcache
