#include "workers/models/memory/models/mem_models.h"

#include "workers/models/memory/mm/mm_rules.h"
#include "workers/models/memory/models/mem_sim.h"

namespace kreplay::memory {
namespace {

using model::Better;
using model::MetricSpec;

std::vector<MetricSpec> Metrics() {
  return {
      {"calls", "count", Better::kNone, "Contiguous calls of the workload."},
      {"alloc_success", "count", Better::kHigher, "Calls that returned memory."},
      {"alloc_fail", "count", Better::kLower, "Calls that returned none."},
      {"alloc_unfinished", "count", Better::kLower, "Calls still running when the run's duration ended."},
      {"alloc_success_ratio", "%", Better::kHigher, "alloc_success / calls."},
      {"fail_pinned", "count", Better::kLower, "Failures whose last attempt met a page held by a pin or reference."},
      {"fail_unmovable", "count", Better::kLower, "Failures whose last attempt met an unmovable page at isolation."},
      {"fail_busy", "count", Better::kLower, "Failures whose last attempt found the range busy otherwise."},
      {"fail_no_range", "count", Better::kLower, "Failures with no free range of the size left (or, for buddy, no block)."},
      {"fail_nomem", "count", Better::kLower, "Failures for want of migration targets (-ENOMEM)."},
      {"fail_timeout", "count", Better::kLower, "Calls whose caller gave up at its timeout (a fatal signal)."},
      {"busy_retries", "count", Better::kLower, "cma_alloc_busy_retry events: candidates given up for the next."},
      {"android_sweeps", "count", Better::kLower, "Android's full-area restarts after a 100 ms sleep."},
      {"alloc_latency_p50_ms", "ms", Better::kLower, "Median latency of the successful calls, arrival to return."},
      {"alloc_latency_p99_ms", "ms", Better::kLower, "99th percentile of the same."},
      {"alloc_latency_p999_ms", "ms", Better::kLower, "99.9th percentile of the same."},
      {"alloc_latency_max_ms", "ms", Better::kLower, "Slowest successful call."},
      {"alloc_latency_mean_ms", "ms", Better::kLower, "Mean latency of the successful calls."},
      {"pages_migrated", "pages", Better::kLower, "Pages the allocator moved out of its ranges (copied)."},
      {"pages_dropped", "pages", Better::kLower, "Clean page-cache pages dropped (GCMA: discarded from its cache)."},
      {"pages_waited_writeback", "pages", Better::kLower, "Pages migrated after waiting for their writeback."},
      {"migrate_retries", "count", Better::kLower, "Migration tries that met an extra reference (-EAGAIN)."},
      {"bytes_copied", "bytes", Better::kLower, "Bytes the migrations copied."},
      {"alloc_cpu_ms", "ms", Better::kLower, "CPU time of the allocator, other CPUs' drain work included."},
      {"writeback_wait_ms", "ms", Better::kLower, "Time calls waited for writeback."},
      {"bg_refaults", "count", Better::kLower, "Background reads of pages evicted before (workingset refaults)."},
      {"initial_cache_left_out", "pages", Better::kLower, "Clean page cache of the initial state that did not fit (a reservation's cost)."},
      {"initial_churn", "ratio", Better::kNone, "Churn of the initial fill (chosen from initial.mixed_blocks when given)."},
      {"initial_mixed_blocks", "ratio", Better::kNone, "Share of non-CMA pageblocks UNMOVABLE or RECLAIMABLE after the initial fill."},
      {"bg_kswapd_reclaimed", "pages", Better::kLower, "Pages kswapd reclaimed for the background."},
      {"bg_kswapd_cpu_ms", "ms", Better::kLower, "kswapd's CPU time."},
      {"bg_direct_reclaim_stall_ms", "ms", Better::kLower, "Time allocations stalled in direct reclaim."},
      {"bg_dirty_throttle_ms", "ms", Better::kLower, "Time writers waited in balance_dirty_pages()."},
      {"bg_alloc_failures", "count", Better::kLower, "Background allocations that failed after reclaim."},
      {"bg_pin_migrated_pages", "pages", Better::kNone, "Pages long-term pins moved out of CMA when taken."},
      {"gcma_cache_hits", "count", Better::kHigher, "GCMA only: refaults served from the reservation's cache."},
      {"reserved_mib", "MiB", Better::kLower, "Memory taken from the rest of the system (carve-out, GCMA)."},
      {"mem_available_min_mib", "MiB", Better::kHigher, "Lowest MemAvailable (si_mem_available()) sampled."},
      {"mem_available_mean_mib", "MiB", Better::kHigher, "Mean MemAvailable sampled."},
      {"unusable_free_index_o4", "ratio", Better::kLower, "Share of free memory in blocks below order 4 at the end."},
      {"unusable_free_index_pageblock", "ratio", Better::kLower, "... below pageblock_order."},
      {"unusable_free_index_max_order", "ratio", Better::kLower, "... below MAX_ORDER."},
      {"page_events", "count", Better::kNone, "Buddy and per-CPU list insertions and removals."},
      {"compact_stall", "count", Better::kLower, "buddy only: direct compactions run (/proc/vmstat compact_stall)."},
      {"compact_success", "count", Better::kHigher, "buddy only: ... after which the allocation succeeded."},
      {"compact_fail", "count", Better::kLower, "buddy only: ... after which it failed."},
  };
}

std::vector<model::ParamSpec> CommonParams() {
  return {
      model::StringParam("kernel_version", "6.1",
                         "Kernel release whose mm rules apply (5.4 to 6.2): CMA-first (5.7), the merge guard (5.18), "
                         "pcp lists (5.13/5.14), alloc_contig_range()'s isolation granule (5.19) and "
                         "lru_cache_disable() (5.13)"),
      model::IntParam("cpu", "", 0, 0, 4095, "CPU the driver's calls run on (its per-CPU page lists)"),
  };
}

model::RunFn MakeRun(MemVariant variant) {
  return [variant](const model::RunInput& in) -> StatusOr<model::Result> {
    if (!in.params) return InvalidArgument("memory: params missing");
    const auto* profile = in.SystemAs<MemProfile>();
    const auto* w = in.WorkloadAs<MemWorkload>();
    if (!profile) return InvalidArgument("memory: a memory profile (platforms:) is missing");
    if (!w) return InvalidArgument("memory: a memory workload is missing");
    MemRunConfig c;
    c.variant = variant;
    c.kernel_version = in.params->Str("kernel_version");
    KREPLAY_RETURN_IF_ERROR(mm::MmRulesFor(c.kernel_version).status());
    c.cpu = static_cast<unsigned>(in.params->Int("cpu"));
    if (c.cpu >= static_cast<unsigned>(profile->cpus))
      return InvalidArgument("params.cpu: " + std::to_string(c.cpu) + " but " + profile->name + " has " +
                             std::to_string(profile->cpus) + " CPUs");
    if (variant == MemVariant::kCmaAndroid) {
      c.android_max_retries = static_cast<int>(in.params->Int("max_retries"));
      c.android_retry_sleep = in.params->Int("retry_sleep_ms") * sim::kMs;
    }
    if (variant == MemVariant::kCarveout) c.carveout_alloc_ns = in.params->Int("alloc_ns");
    return RunMemory(c, *profile, *w, in.seed, in.cancel, in.ObserverAs<MemObserver>());
  };
}

// Simulator events per second of one core (mem_bench BM_Run on the
// example's workload, loaded 2-core dev VM, CPU time): CMA ~0.75 M, GCMA and
// carve-out ~1.0 M, buddy ~0.85 M.
double EventsPerCoreSecond(MemVariant v) {
  switch (v) {
    case MemVariant::kCma:
    case MemVariant::kCmaAndroid: return 0.75e6;
    case MemVariant::kBuddy: return 0.85e6;
    default: return 1.0e6;
  }
}

model::ModelInfo Info(const std::string& name, MemVariant v, const std::string& description, const std::string& mirrors) {
  model::ModelInfo m;
  m.name = name;
  m.family = "memory";
  m.version = "1.1.0";  // 1.1.0: 5.19+ pageblock isolation with split_free_page()
  m.description = description;
  m.mirrors = mirrors;
  m.params = CommonParams();
  m.metrics = Metrics();
  m.run = MakeRun(v);
  m.work_unit = "events";
  m.work_per_core_s = EventsPerCoreSecond(v);
  return m;
}

}  // namespace

Status RegisterMemoryModels(model::Registry& registry) {
  {
    model::ModelInfo m = Info("memory.cma", MemVariant::kCma,
                              "Mainline cma_alloc(): alloc_contig_range() over a CMA area, the next aligned "
                              "candidate on -EBUSY",
                              "mm/cma.c, mm/page_alloc.c, mm/page_isolation.c, mm/migrate.c (5.4 to 6.2)");
    KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(m)));
  }
  {
    model::ModelInfo m = Info("memory.cma.android", MemVariant::kCmaAndroid,
                              "The Android common kernel's cma_alloc(): mainline's plus full-area sweeps after "
                              "100 ms sleeps",
                              "mm/cma.c of the Android common kernel (\"ANDROID: mm: cma: retry allocations\")");
    m.params.push_back(model::IntParam("max_retries", "", 5, 0, 1000, "Sweeps after the first (5 in the common kernel)"));
    m.params.push_back(model::IntParam("retry_sleep_ms", "ms", 100, 0, 10000, "Sleep before each sweep"));
    KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(m)));
  }
  {
    model::ModelInfo m = Info("memory.carveout", MemVariant::kCarveout,
                              "A static reservation out of the kernel's reach: bitmap_find_free_region() of "
                              "get_order(size), the rest of the system runs in less memory",
                              "kernel/dma/coherent.c (reserved-memory, shared-dma-pool no-map)");
    m.params.push_back(model::IntParam("alloc_ns", "ns", -1, -1, 1e9,
                                       "Cost of one allocation (-1: the profile's alloc_page, one locked search)"));
    KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(m)));
  }
  {
    model::ModelInfo m = Info("memory.gcma", MemVariant::kGcma,
                              "GCMA: a reservation that caches only clean page-cache pages (cleancache); a call "
                              "discards the cached pages of its range and never migrates",
                              "GCMA (Park et al., 2015) over mm/cleancache.c (until 5.17)");
    KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(m)));
  }
  {
    model::ModelInfo m = Info("memory.buddy", MemVariant::kBuddy,
                              "No reservation: alloc_pages() of the order with direct compaction and reclaim; "
                              "alloc_contig_pages() above MAX_ORDER",
                              "mm/page_alloc.c, mm/compaction.c (5.4 to 6.2)");
    KREPLAY_RETURN_IF_ERROR(registry.Register(std::move(m)));
  }
  return OkStatus();
}

}  // namespace kreplay::memory
