// "block.lru", "block.fifo" and "block.mrc": parameters, metrics, run functions.
//
// How block.mrc reports its curve: a Result holds scalars, histograms and
// time series. The curve goes in twice. (1) One scalar per size,
// "fixed_lru_miss_ratio.<bytes>", because scalars are what reports, seed
// aggregation and study comparisons read. (2) A series "fixed_lru_mrc" whose
// t axis holds the cache size in bytes (not a time) and whose values are miss
// ratios, so a plot gets the whole curve in order from one field. The
// "size for X % hit ratio" answers are scalars too.
#include "workers/models/blockcache/fixed/fixed_models.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "services/core/strings.h"
#include "workers/models/blockcache/fixed/block_keys.h"
#include "workers/models/blockcache/fixed/fixed_cache.h"
#include "workers/models/blockcache/fixed/mrc.h"

namespace kreplay::blockcache {
namespace {

// The run's block workload; null when missing or of another family.
const workload::BlockWorkload* Block(const model::RunInput& in) { return in.WorkloadAs<workload::BlockWorkload>(); }

using model::Better;
using model::MetricSpec;
using model::ParamSpec;
using model::ParamType;

constexpr char kVersion[] = "1.0.0";
constexpr int kErrorParts = 4;
constexpr int kHitTargets[] = {50, 80, 90, 95, 99};


ParamSpec BlockSize() {
  return model::IntParam("block_size", "bytes", 4096, 512, 1 << 30,
                  "Cache block size (a power of two). Every request is split into the blocks it touches; "
                  "volumes are kept apart by offsetting their block numbers.");
}

std::vector<MetricSpec> CacheMetrics() {
  return {
      {"hits", "count", Better::kHigher, "Block accesses found in the cache (reads and writes alike)."},
      {"misses", "count", Better::kLower, "Block accesses not found (each inserts the block)."},
      {"miss_ratio", "ratio", Better::kLower, "misses / block_accesses."},
      {"read_miss_ratio", "ratio", Better::kLower, "Misses among read block accesses / read block accesses."},
      {"requests", "count", Better::kNone, "Read and write requests of the trace (each split into block accesses)."},
      {"block_accesses", "count", Better::kNone, "Block accesses: the unit hits and misses count."},
      {"ignored_requests", "count", Better::kNone, "Discards, flushes and zero-length requests (not cache accesses)."},
      {"cache_blocks", "count", Better::kNone, "Capacity in blocks: floor(cache_size / block_size)."},
      {"memory_bytes", "bytes", Better::kNone, "Simulator memory for the cache structures at the end of the run."},
  };
}

model::Result CacheResult(const model::RunInput& in, const FixedCacheStats& s, uint64_t blocks) {
  model::Result r;
  r.Set("hits", static_cast<double>(s.hits), "count");
  r.Set("misses", static_cast<double>(s.misses), "count");
  r.Set("miss_ratio", s.miss_ratio(), "ratio");
  r.Set("read_miss_ratio",
        s.read_block_accesses ? static_cast<double>(s.read_block_accesses - s.read_hits) /
                                    static_cast<double>(s.read_block_accesses)
                              : 0.0,
        "ratio");
  r.Set("requests", static_cast<double>(s.requests), "count");
  r.Set("block_accesses", static_cast<double>(s.block_accesses), "count");
  r.Set("ignored_requests", static_cast<double>(s.ignored_requests), "count");
  r.Set("cache_blocks", static_cast<double>(blocks), "count");
  r.Set("memory_bytes", static_cast<double>(s.memory_bytes), "bytes");
  r.sim_events = s.block_accesses;
  if (!Block(in)->requests.empty()) r.sim_time_ns = Block(in)->requests.back().time_ns;
  return r;
}

model::RunFn MakeCacheRun(FixedPolicy policy) {
  return [policy](const model::RunInput& in) -> StatusOr<model::Result> {
    if (!in.params) return InvalidArgument("block cache: params missing");
    if (!Block(in)) return InvalidArgument("block cache: block workload missing (RunInput.workload is not a block workload)");
    auto block_size = static_cast<uint32_t>(in.params->Int("block_size"));
    uint64_t blocks = static_cast<uint64_t>(in.params->Int("cache_size")) / block_size;
    KREPLAY_ASSIGN_OR_RETURN(FixedCacheStats s, SimulateFixedCache(*Block(in), policy, block_size, blocks, in.cancel));
    return CacheResult(in, s, blocks);
  };
}

// Configurations that share a block size share one pass over the trace.
model::RunBatchFn MakeCacheRunBatch(FixedPolicy policy) {
  return [policy](const model::RunInput& in, const std::vector<const model::ParamSet*>& params) {
    std::vector<StatusOr<model::Result>> out(params.size(), Internal("not run"));
    if (!Block(in)) {
      for (auto& o : out) o = InvalidArgument("block cache: block workload missing (RunInput.workload is not a block workload)");
      return out;
    }
    std::map<uint32_t, std::vector<size_t>> by_block_size;
    for (size_t i = 0; i < params.size(); ++i)
      by_block_size[static_cast<uint32_t>(params[i]->Int("block_size"))].push_back(i);
    for (const auto& [block_size, members] : by_block_size) {
      std::vector<uint64_t> blocks;
      for (size_t i : members) blocks.push_back(static_cast<uint64_t>(params[i]->Int("cache_size")) / block_size);
      auto stats = SimulateFixedCaches(*Block(in), policy, block_size, blocks, in.cancel);
      for (size_t m = 0; m < members.size(); ++m)
        out[members[m]] = stats.ok() ? StatusOr<model::Result>(CacheResult(in, (*stats)[m], blocks[m]))
                                     : StatusOr<model::Result>(stats.status());
    }
    return out;
  };
}

// "1048576,4194304" -> sizes in bytes; errors name the field and item.
StatusOr<std::vector<uint64_t>> ParseSizes(const std::string& text) {
  std::vector<uint64_t> out;
  std::vector<std::string_view> items = Split(text, ',');
  for (size_t i = 0; i < items.size(); ++i) {
    std::optional<uint64_t> v = ParseUint(Trim(items[i]));
    if (!v) {
      return InvalidArgument("params.sizes[" + std::to_string(i) + "]: '" + std::string(Trim(items[i])) +
                             "' is not a size in bytes (comma-separated integers)");
    }
    out.push_back(*v);
  }
  return out;
}

std::vector<ParamSpec> MrcParams() {
  std::vector<ParamSpec> v;
  v.push_back(BlockSize());
  ParamSpec rate;
  rate.name = "sampling_rate";
  rate.type = ParamType::kDouble;
  rate.unit = "ratio";
  rate.default_value = 1.0;
  rate.min = 1.0 / (1 << 24);
  rate.max = 1.0;
  rate.help = "SHARDS spatial sampling rate R: 1 = exact; below 1 only blocks whose fixed hash falls under R are "
              "tracked and distances scaled by 1/R (0.01-0.1 for very long traces). The error is estimated from "
              "4 disjoint sub-samples (mrc_error_estimate).";
  v.push_back(rate);
  v.push_back(model::IntParam("min_cache_size", "bytes", 0, 0, 4.6e18, "Smallest cache size on the curve; 0 = one block."));
  v.push_back(model::IntParam("max_cache_size", "bytes", 0, 0, 4.6e18,
                       "Largest cache size on the curve; 0 = the trace's footprint (distinct blocks x block_size), "
                       "past which the curve is flat."));
  v.push_back(model::IntParam("points", "count", 100, 1, 100000, "Number of sizes from min to max (deduplicated)."));
  ParamSpec spacing;
  spacing.name = "spacing";
  spacing.type = ParamType::kEnum;
  spacing.default_value = std::string("log");
  spacing.choices = {"log", "linear"};
  spacing.help = "Spacing of the sizes: geometric (log) or even steps (linear).";
  v.push_back(spacing);
  ParamSpec sizes;
  sizes.name = "sizes";
  sizes.type = ParamType::kString;
  sizes.default_value = std::string("");
  sizes.help = "Explicit cache sizes in bytes, comma-separated (e.g. \"1073741824,4294967296\"); when set, "
               "min_cache_size, max_cache_size, points and spacing are ignored. Rounded down to whole blocks.";
  v.push_back(sizes);
  return v;
}

std::vector<MetricSpec> MrcMetrics() {
  return {
      {"fixed_lru_miss_ratio.<bytes>", "ratio", Better::kLower,
       "Miss ratio of a fixed-block, fully associative LRU cache of <bytes> bytes, from stack distances "
       "(per block access; exact when sampling_rate = 1)."},
      {"fixed_lru_mrc", "ratio", Better::kLower,
       "Series: the same curve; its t axis is the cache size in bytes, not time."},
      {"size_for_hit_ratio_<pct>", "bytes", Better::kLower,
       "Smallest fixed-block LRU cache reaching <pct> % hit ratio (50, 80, 90, 95, 99); absent when even an "
       "unbounded cache does not (cold misses)."},
      {"max_hit_ratio", "ratio", Better::kNone, "Hit ratio of an unbounded cache: 1 - cold misses / block accesses."},
      {"distinct_blocks", "count", Better::kNone, "Blocks in the trace's footprint (estimated from the sample when sampling)."},
      {"requests", "count", Better::kNone, "Read and write requests of the trace."},
      {"block_accesses", "count", Better::kNone, "Block accesses (the unit of the miss ratios)."},
      {"ignored_requests", "count", Better::kNone, "Discards, flushes and zero-length requests (not accesses)."},
      {"sampling_rate", "ratio", Better::kNone, "Effective SHARDS rate (threshold / 2^24); 1 = exact."},
      {"sampled_block_accesses", "count", Better::kNone, "Block accesses tracked by the sample."},
      {"mrc_error_estimate", "ratio", Better::kLower,
       "Estimated mean absolute miss-ratio error of a sampled curve over its sizes (spread of 4 disjoint "
       "sub-samples / 2); 0 when exact. An estimate: the true error needs an exact run."},
      {"memory_bytes", "bytes", Better::kNone, "Simulator memory for the stack-distance structures."},
  };
}

StatusOr<model::Result> RunMrc(const model::RunInput& in) {
  if (!in.params) return InvalidArgument("block.mrc: params missing");
  if (!Block(in)) return InvalidArgument("block.mrc: block workload missing (RunInput.workload is not a block workload)");
  const model::ParamSet& p = *in.params;
  auto block_size = static_cast<uint32_t>(p.Int("block_size"));
  double rate = p.Double("sampling_rate");
  KREPLAY_ASSIGN_OR_RETURN(BlockKeyMapper keys, BlockKeyMapper::Create(*Block(in), block_size));
  std::vector<uint64_t> explicit_sizes;
  if (!p.Str("sizes").empty()) {
    KREPLAY_ASSIGN_OR_RETURN(explicit_sizes, ParseSizes(p.Str("sizes")));
  }
  const auto min_size = static_cast<uint64_t>(p.Int("min_cache_size"));
  const auto max_size = static_cast<uint64_t>(p.Int("max_cache_size"));
  if (max_size != 0 && max_size < min_size) {
    return InvalidArgument("params.max_cache_size: below min_cache_size");
  }

  StackDistanceMrc mrc(rate);
  std::vector<StackDistanceMrc> parts;
  if (rate < 1) {
    for (int i = 0; i < kErrorParts; ++i) parts.emplace_back(rate, i, kErrorParts);
  }
  uint64_t requests = 0, ignored = 0;
  std::vector<uint64_t> batch;
  const auto& reqs = Block(in)->requests;
  for (size_t begin = 0; begin < reqs.size(); begin += 4096) {
    if (in.cancel && in.cancel->load(std::memory_order_relaxed)) return Cancelled("block.mrc run cancelled");
    batch.clear();
    for (size_t i = begin; i < std::min(reqs.size(), begin + 4096); ++i) {
      if (!BlockKeyMapper::IsAccess(reqs[i])) {
        ++ignored;
        continue;
      }
      ++requests;
      keys.ForEachBlock(reqs[i], [&](uint64_t key) { batch.push_back(key); });
    }
    mrc.AccessBatch(batch.data(), batch.size());
    for (auto& part : parts) part.AccessBatch(batch.data(), batch.size());
  }

  std::vector<uint64_t> sizes;
  if (!explicit_sizes.empty()) {
    for (uint64_t b : explicit_sizes) sizes.push_back(b / block_size);
    std::sort(sizes.begin(), sizes.end());
    sizes.erase(std::unique(sizes.begin(), sizes.end()), sizes.end());
  } else {
    uint64_t lo = std::max<uint64_t>(1, min_size / block_size);
    uint64_t hi = max_size ? max_size / block_size : std::max<uint64_t>(1, mrc.distinct_blocks());
    hi = std::max(hi, lo);
    sizes = CacheSizes(lo, hi, static_cast<int>(p.Int("points")), p.Str("spacing") == "log");
  }
  MissRatioCurve curve = mrc.Curve(sizes);

  model::Result res;
  model::TimeSeries series;
  series.unit = "ratio";
  for (size_t i = 0; i < curve.sizes_blocks.size(); ++i) {
    uint64_t bytes = curve.sizes_blocks[i] * block_size;
    res.Set("fixed_lru_miss_ratio." + std::to_string(bytes), curve.miss_ratio[i], "ratio");
    series.t.push_back(static_cast<sim::Time>(bytes));
    series.value.push_back(curve.miss_ratio[i]);
  }
  res.series["fixed_lru_mrc"] = std::move(series);
  for (int pct : kHitTargets) {
    std::optional<uint64_t> blocks = mrc.SizeForHitRatio(pct / 100.0);
    if (blocks) res.Set("size_for_hit_ratio_" + std::to_string(pct), static_cast<double>(*blocks * block_size), "bytes");
  }
  res.Set("max_hit_ratio", 1 - mrc.MissRatio(UINT64_MAX / 2), "ratio");
  res.Set("distinct_blocks", static_cast<double>(mrc.distinct_blocks()), "count");
  res.Set("requests", static_cast<double>(requests), "count");
  res.Set("block_accesses", static_cast<double>(mrc.accesses()), "count");
  res.Set("ignored_requests", static_cast<double>(ignored), "count");
  res.Set("sampling_rate", curve.sampling_rate, "ratio");
  res.Set("sampled_block_accesses", static_cast<double>(mrc.sampled_accesses()), "count");
  res.Set("mrc_error_estimate", parts.empty() ? 0.0 : SampledMrcError(parts, curve.sizes_blocks), "ratio");
  res.Set("memory_bytes", static_cast<double>(mrc.memory_bytes()), "bytes");
  res.sim_events = mrc.accesses();
  if (!Block(in)->requests.empty()) res.sim_time_ns = Block(in)->requests.back().time_ns;
  return res;
}

}  // namespace

Status RegisterFixedModels(model::Registry& registry) {
  for (FixedPolicy policy : {FixedPolicy::kLru, FixedPolicy::kFifo}) {
    const bool lru = policy == FixedPolicy::kLru;
    model::ModelInfo m;
    m.name = lru ? "block.lru" : "block.fifo";
    m.family = "blockcache";
    m.version = kVersion;
    m.description = lru ? "Plain fixed-block LRU cache: every read and write block access looks up, a miss inserts"
                        : "Plain fixed-block FIFO cache: every read and write block access looks up, a miss inserts";
    m.mirrors = "no kernel code: the textbook fixed-block cache that cache simulators are compared with";
    m.params.push_back(BlockSize());
    m.params.push_back(model::IntParam("cache_size", "bytes", int64_t{1} << 30, 0, 4.6e18,
                                "Cache capacity; floor(cache_size / block_size) blocks."));
    m.metrics = CacheMetrics();
    m.run = MakeCacheRun(policy);
    m.run_batch = MakeCacheRunBatch(policy);
    // fixed/README.md: LRU 14-25 M/s, FIFO 22-25 M/s; the low end, for large caches.
    m.work_unit = "block accesses";
    m.work_per_core_s = 15e6;
    KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(m)));
  }
  model::ModelInfo mrc;
  mrc.name = "block.mrc";
  mrc.family = "blockcache";
  mrc.version = kVersion;
  mrc.description = "One-pass miss-ratio curve of fixed-block LRU over all cache sizes (Mattson stack distances, "
                    "optional SHARDS sampling)";
  mrc.mirrors = "no kernel code: Mattson et al. 1970 stack algorithm; SHARDS (Waldspurger et al., FAST '15)";
  mrc.params = MrcParams();
  mrc.metrics = MrcMetrics();
  mrc.run = RunMrc;
  // fixed/README.md: 6.5-8.4 M/s exact over 100 sizes (SHARDS is far faster).
  mrc.work_unit = "block accesses";
  mrc.work_per_core_s = 8e6;
  return registry.Register(std::move(mrc));
}

}  // namespace kreplay::blockcache
