// A memory study's workload as its spec says it (`memory:` entries) and
// as a run uses it: the foreground of contiguous calls, the background
// load and the initial state. Sizes in the spec may be fractions of the
// machine's memory ("30%") or bytes ("300MiB"), so one workload runs on
// every profile; Resolve*() turns them into pages for one profile.
//
//   memory:
//     requests: {...}        foreground.h (ForegroundSpec)
//     background:            load/background.h (BackgroundSpec), sizes as above
//       anon:  {working_set: 30%, fault_rate: 20000, mapped_cpus: 4}
//       cache: {files: 40%, read_rate: 5000, write_rate: 1000, hot_fraction: 0.2,
//               hot_access: 0.8, dirty_ratio: 20, dirty_background_ratio: 10,
//               dirty_expire: 30s, dirty_writeback_interval: 5s, mapped_cpus: 0}
//       build: {spawn_rate: 20, anon: 1MiB, kernel: 32KiB, file_reads: 64,
//               lifetime: 500ms, mapped_cpus: 1}
//       pin:   {rate: 1, size: 1MiB, duration: 1s, longterm: true}
//       slab:  {rate: 1000, reclaimable_fraction: 0.5, lifetime: 1s}
//       lru_batch_pages: 15
//       sample_interval: 100ms
//     initial: {used: 85%, anon: 40, file_clean: 30, file_dirty: 3,
//               file_writeback: 0, slab_reclaimable: 7, kernel: 20, pinned: 0,
//               churn: 1,          shares of `used`, by page kind
//               mixed_blocks: 0.05}  or the churn chosen to mix this share of
//                                    pageblocks (a host's pagetypeinfo)
//     duration: 0              0: until the last call is released
#pragma once

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>
#include <string>

#include "services/core/status.h"
#include "workers/models/memory/load/background.h"
#include "workers/models/memory/profiles/mem_profile.h"
#include "workers/models/memory/state/page_state.h"
#include "workers/models/memory/workload/foreground.h"
#include "workers/models/memory/workload/from_trace.h"

namespace kreplay::memory {

// The bounds of a spec's values: the parser's, which the trace codec
// enforces on workloads that arrive over the wire.
inline constexpr double kMaxSpecRate = 1e9;              // events per second
inline constexpr uint64_t kMaxSpecSizeBytes = uint64_t{1} << 44;
inline constexpr double kMaxSpecShare = 1e6;             // initial.<kind>
inline constexpr double kMaxSpecChurn = 100;
inline constexpr uint32_t kMaxSpecFileReads = uint32_t{1} << 20;

// A size relative to the machine or absolute.
struct MemSize {
  double fraction = 0;  // of the profile's memory, when bytes == 0
  uint64_t bytes = 0;
  uint64_t Pages(uint64_t total_pages) const;
  bool operator==(const MemSize&) const = default;
};

// BackgroundSpec with MemSize where the spec may name sizes.
struct BackgroundTemplate {
  BackgroundSpec spec;  // sizes below override its page counts
  MemSize anon_working_set, cache_files, build_anon, build_kernel, pin_size;
};

struct InitialSpec {
  double used = 0.85;                      // of the zone, allocated at the start
  std::array<double, kPageKinds> shares{};  // by PageKind; normalised
  double churn = 1.0;                      // PopulateOptions::churn
  // Share of the zone's non-CMA pageblocks that end UNMOVABLE or
  // RECLAIMABLE (a host's /proc/pagetypeinfo): the run picks the churn
  // whose fill comes closest; -1: `churn` as given.
  double mixed_blocks = -1;
};

struct MemWorkloadSpec {
  ForegroundSpec requests;
  BackgroundTemplate background;
  InitialSpec initial;
  sim::Duration duration = 0;
};

// Errors are "LINE: field.key: message" lines.
StatusOr<MemWorkloadSpec> ParseMemWorkloadSpec(const YAML::Node& node, const std::string& field);

// The `background:` and `initial:` parts alone (the `memtrace:` kind takes
// them as options); errors as ParseMemWorkloadSpec's.
StatusOr<BackgroundTemplate> ParseBackgroundTemplate(const YAML::Node& node, const std::string& field);
StatusOr<InitialSpec> ParseInitialSpec(const YAML::Node& node, const std::string& field);

// A built workload: what a run reads (the foreground fixed, the rest as
// specified). Traces build one with the foreground they recorded.
struct MemWorkload {
  Foreground foreground;
  BackgroundTemplate background;
  InitialSpec initial;
  sim::Duration duration = 0;
};

// The spec's defaults for the background and initial state: a quiet
// system (no background activity) 85 % full of a desktop-like mix.
BackgroundTemplate DefaultBackground();
InitialSpec DefaultInitial();

BackgroundSpec ResolveBackground(const BackgroundTemplate& t, uint64_t total_pages);
// The initial mix for a zone of `zone_pages`.
StateMix ResolveInitial(const InitialSpec& s, uint64_t zone_pages);

// A recorded trace as a workload: its calls in order (a call that failed
// when recorded, and so has no release, is held for the median recorded
// hold if it succeeds in replay), and a background
// estimated from its page rates (kmem:mm_page_alloc): movable pages as
// anonymous faults (the trace cannot tell page cache from anonymous
// memory) over a working set of the initial state's anonymous share,
// unmovable and reclaimable pages as slab with a 1 s mean lifetime.
MemWorkload WorkloadFromTrace(const MmTraceSummary& trace, const InitialSpec& initial);
// The initial state from a host's /proc/zoneinfo: its node's use of memory
// as shares, `used` = their sum over the node's managed pages.
StatusOr<InitialSpec> InitialFromZoneInfo(const memtrace::ZoneInfo& zi);

// A host's /proc/pagetypeinfo as InitialSpec::mixed_blocks: (Unmovable +
// Reclaimable) / (Unmovable + Movable + Reclaimable + HighAtomic) pageblocks
// over every zone of the file (CMA and Isolate blocks left out).
StatusOr<double> MixedBlocksFromPageTypeInfo(const memtrace::PageTypeInfo& pti);

// Canonical text of a workload (every field a run reads) for digests.
std::string CanonicalMemWorkloadText(const MemWorkload& w);

}  // namespace kreplay::memory
