// A recorded memory trace (ftrace text of the cma, kmem and migrate events,
// services/memtrace) read back as a study's foreground, the outcomes the
// kernel reported for it, and the background's page rates: what `kreplay
// trace inspect` prints and what a `memtrace:` workload replays.
//
// Foreground calls are taken in trace order: cma_alloc_start opens a call
// (its task's pid keys it), cma_alloc_busy_retry and Android's
// cma_alloc_info attach to the task's open call, cma_alloc_finish closes
// it; before 5.13 the single cma_alloc event is the call, at its (end)
// time. cma_release of a returned PFN gives the call's hold time. Times
// are relative to the first event and never go backwards (trace_pipe can
// interleave CPUs out of order; clamped times are counted).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "services/core/status.h"
#include "workers/models/memory/workload/foreground.h"

namespace kreplay::textio {
class ByteSource;
}

namespace kreplay::memory {

struct TraceCallOutcome {
  bool finished = false;           // a finish (or pre-5.13 cma_alloc) event was seen
  bool ok = false;
  sim::Duration latency = -1;      // finish - start; -1 when there is no start event
  uint32_t busy_retries = 0;
  std::optional<int> errorno;      // cma_alloc_finish from 6.3
  uint64_t pfn = 0;                // when ok
  // Android cma_alloc_info.
  bool has_info = false;
  uint64_t nr_migrated = 0, nr_reclaimed = 0, nr_mapped = 0, err_iso = 0, err_mig = 0, err_test = 0;
};

struct MmTraceSummary {
  std::string path;
  uint64_t lines = 0, events = 0, other_events = 0;
  sim::Duration span = 0;          // first to last event
  uint64_t clamped_times = 0;
  Foreground foreground;           // calls in trace order
  std::vector<TraceCallOutcome> outcomes;  // one per call
  uint64_t releases = 0, unmatched_releases = 0, unmatched_finishes = 0;
  // Background: pages allocated per migratetype as printed (0 unmovable,
  // 1 movable, 2 reclaimable, 3 high-atomic; others folded into 3), pages
  // freed, and the kmem/migrate event counts.
  std::array<uint64_t, 4> pages_alloc{};
  uint64_t pages_freed = 0;
  uint64_t alloc_failures = 0;
  uint64_t extfrag_events = 0, extfrag_ownership_changes = 0;
  uint64_t migrate_succeeded = 0, migrate_failed = 0;
  std::map<std::string, uint64_t> migrate_reasons;  // reason -> nr_succeeded + nr_failed

  // Rates over the span (per second; 0 if the span is 0).
  double PagesAllocPerSec(int mt) const;
  double PagesFreedPerSec() const;
};

// Reads `path` whole (up to `max_events` records > 0). Errors are the
// reader's "path:LINE: message".
StatusOr<MmTraceSummary> ReadMmTrace(const std::string& path, uint64_t max_events = 0);
// The same from text in memory; `name` labels errors.
StatusOr<MmTraceSummary> ReadMmTraceText(std::string text, const std::string& name, uint64_t max_events = 0);

// The same from an open source (`kreplay trace inspect`, stdin included).
StatusOr<MmTraceSummary> ReadMmTraceSource(std::unique_ptr<textio::ByteSource> src, const std::string& name,
                                           uint64_t max_events = 0);

// Whether the first lines of a file look like ftrace text of the events
// read here (a trace `kreplay trace inspect` should give this family).
bool LooksLikeMmTrace(std::string_view head);

// What `kreplay trace inspect` prints for a memory trace, as text or JSON.
std::string FormatMmTraceSummary(const MmTraceSummary& s);
std::string MmTraceSummaryJson(const MmTraceSummary& s);

}  // namespace kreplay::memory
