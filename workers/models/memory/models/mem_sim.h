// One run of a memory model: a zone laid out for the model (a CMA area in
// the zone, or a reservation taken out of it, or nothing), brought to the
// workload's initial state, the background load running, and the
// foreground's contiguous calls served by the model's allocator; the
// result is the calls' latencies and outcomes, the allocator's work, the
// background's slowdown and the memory left to the rest of the system.
//
// The five allocators (MemVariant) share everything else, so differences in
// the results are the allocators' own:
//   kCma         mainline cma_alloc() over a CMA area (cma/cma_alloc.h)
//   kCmaAndroid  the Android common kernel's cma_alloc() with its sweeps
//   kCarveout    a static reservation (a reserved-memory region with
//                dma_alloc_from_dev_coherent(): bitmap_find_free_region()
//                of get_order(size), so sizes round up to a power of two);
//                the zone is smaller by the reservation
//   kGcma        a reservation that holds only clean page-cache pages the
//                background evicts (cleancache); a call discards the cached
//                pages of its range, never migrating one
//   kBuddy       no reservation: alloc_pages() of the order with direct
//                compaction and reclaim, alloc_contig_pages() above
//                MAX_ORDER (compaction/)
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "services/core/status.h"
#include "services/model/result.h"
#include "workers/models/memory/models/mem_spec.h"
#include "workers/models/memory/profiles/mem_profile.h"

namespace kreplay::memory {

enum class MemVariant { kCma, kCmaAndroid, kCarveout, kGcma, kBuddy };

struct MemRunConfig {
  MemVariant variant = MemVariant::kCma;
  std::string kernel_version = "6.1";    // mm::MmRulesFor()
  int android_max_retries = 5;           // cma.android
  sim::Duration android_retry_sleep = 100 * sim::kMs;
  unsigned cpu = 0;                      // the CPU the driver's calls run on
  sim::Duration carveout_alloc_ns = -1;  // -1: the profile's alloc_page (one locked bitmap search)
};

// What a CMA model's calls do, as the kernel's cma tracepoints report it
// (include/trace/events/cma.h): `kreplay rerun --ftrace` writes these as
// ftrace text that `trace inspect` and `memtrace:` read back. Setting an
// observer never changes a result. Times are the simulated clock; `call`
// is the call's index in the workload (the kernel's calling task). A
// callback's time is never before the time of an earlier CmaAllocStart or
// CmaRelease (those come at the simulator's now), but finishes and retries
// are reported when the attempt that ends them starts, so they may run
// ahead of later starts: a writer orders them.
class MemObserver {
 public:
  virtual ~MemObserver() = default;
  virtual void CmaAllocStart(sim::Time t, size_t call, const std::string& area, uint64_t count, unsigned align) = 0;
  virtual void CmaAllocBusyRetry(sim::Time t, size_t call, const std::string& area, uint32_t pfn, uint64_t count,
                                 unsigned align) = 0;
  // pfn nullopt: the call failed.
  virtual void CmaAllocFinish(sim::Time t, size_t call, const std::string& area, std::optional<uint32_t> pfn,
                              uint64_t count, unsigned align) = 0;
  virtual void CmaRelease(sim::Time t, size_t call, const std::string& area, uint32_t pfn, uint64_t count) = 0;
};

// InvalidArgument for a workload the profile cannot run (an unknown area
// name, an initial state that does not fit); Cancelled if *cancel is set.
StatusOr<model::Result> RunMemory(const MemRunConfig& config, const MemProfile& profile, const MemWorkload& workload,
                                  uint64_t seed, const std::atomic<bool>* cancel = nullptr,
                                  MemObserver* observer = nullptr);

// Bytes of model state per page of the profile a run keeps once its
// initial state is placed: the zone core and the background's indexes
// (mem_bench reports them against the family's 32-byte budget).
struct StateFootprint {
  double zone_bytes_per_page = 0;
  double background_bytes_per_page = 0;
};
StatusOr<StateFootprint> MeasureStateFootprint(const MemRunConfig& config, const MemProfile& profile,
                                               const MemWorkload& workload, uint64_t seed);

}  // namespace kreplay::memory
