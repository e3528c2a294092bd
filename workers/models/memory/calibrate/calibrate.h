// `kreplay calibrate memory`: measures, on the host it runs on, the
// primitives a memory profile's costs are made of, and returns a profile
// (mem_profile.h) describing the host. Each cost is a median over repeats;
// what each one measures is said in calibrate.cc beside the measurement,
// with the costs user space cannot reach derived from measured ones (and
// said so in the profile's `source`).
//
// Needs 2+ online CPUs (remote TLB flushes and cross-CPU wake-ups) and
// writes a scratch file under `scratch_dir` (page-cache drops, writeback),
// removed afterwards. Not thread-safe: run one at a time; it pins its
// threads to CPUs `cpu_a` and `cpu_b` for the duration.
#pragma once

#include <functional>
#include <string>

#include "services/core/status.h"
#include "workers/models/memory/profiles/mem_profile.h"

namespace kreplay::memory {

struct CalibrateOptions {
  std::string name = "host";     // the profile's name
  std::string scratch_dir = ".";  // where the scratch file goes (a disk-backed filesystem)
  int repeats = 5;                // medians over this many runs
  uint64_t cold_mib = 256;        // working set of the cold copy (well above the last-level cache)
  uint64_t file_mib = 32;         // scratch file for page-cache drops and writeback
  bool measure_writeback = true;  // false: no disk writes (the writeback section stays at its default)
  int cpu_a = 0, cpu_b = 1;
};

// Measures the host. `progress` (may be null) gets one line per step.
StatusOr<MemProfile> CalibrateHost(const CalibrateOptions& o, const std::function<void(const std::string&)>& progress);

}  // namespace kreplay::memory
