// Parsers for what the host kernel and rt-app report about a validation run:
// rt-app 1.0 per-thread logs and /proc/PID/task/TID/schedstat. Pure
// functions of their text, so they are tested without a kernel.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "services/core/status.h"

namespace kreplay::sched::validate {

// One line of an rt-app 1.0 thread log (rt-app writes one per executed
// phase; see doc/tutorial.txt "Log and gnuplot"). Times are in us. `start`
// and `end` are CLOCK_MONOTONIC; `rel_st` is relative to the use case's
// start; `slack` is negative on an overrun; `wu_lat` is the summed wake-up
// latency after the phase's timer events (0 without a timer).
struct RtAppLogLine {
  int64_t idx = 0;
  int64_t perf = 0;
  int64_t run_us = 0;
  int64_t period_us = 0;
  int64_t start_us = 0;
  int64_t end_us = 0;
  int64_t rel_st_us = 0;
  int64_t slack_us = 0;
  int64_t c_duration_us = 0;
  int64_t c_period_us = 0;
  int64_t wu_lat_us = 0;
};

// Parses a whole log: '#' lines (the policy line and the column header) are
// skipped, every other non-blank line must hold the 11 integer columns.
// InvalidArgument "<source>:<line>: ..." otherwise. A header naming other
// columns than rt-app 1.0's is an error too (another rt-app version).
StatusOr<std::vector<RtAppLogLine>> ParseRtAppLog(std::string_view text, const std::string& source);

// /proc/PID/task/TID/schedstat: "run_ns wait_ns timeslices" (time on the
// CPU, time runnable but waiting on a runqueue, times it was run).
struct Schedstat {
  uint64_t run_ns = 0;
  uint64_t wait_ns = 0;
  uint64_t timeslices = 0;
};
StatusOr<Schedstat> ParseSchedstat(std::string_view text, const std::string& source);
// b - a, field by field. REQUIRES: b was read after a (counters only grow).
Schedstat Delta(const Schedstat& a, const Schedstat& b);

// Busy and total jiffies of one CPU from /proc/stat ("cpuN user nice system
// idle iowait irq softirq steal ..."); busy excludes idle and iowait.
struct CpuTimes {
  uint64_t busy = 0;
  uint64_t total = 0;
};
StatusOr<CpuTimes> ParseProcStatCpu(std::string_view proc_stat, int cpu);

}  // namespace kreplay::sched::validate
