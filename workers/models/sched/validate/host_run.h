// The host side of `kreplay validate sched`: checks that this machine can run
// the scenarios, then runs one scenario's rt-app JSON for real and measures it.
//
// A run: rt-app is started with posix_spawn (never fork: the kreplay binary
// links gRPC, which is not fork-safe); its threads are found by name in
// /proc/PID/task/*/comm; each gets timer slack 1 ns (/proc/TID/timerslack_ns:
// the default 50 us would be counted as wake-up latency by rt-app's wu_lat)
// and, for scenarios with task groups, is moved into its cgroup. After a
// warm-up the threads' schedstat and /proc/stat are read, again shortly
// before the end, and the difference is the measurement; rt-app's log lines
// that start inside that window are kept. rt-app is stopped by PID and the
// cgroups removed when the run ends, fails or is interrupted (RAII).
//
// Not thread-safe; one run at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "workers/models/sched/validate/cgroup.h"
#include "workers/models/sched/validate/scenarios.h"

namespace kreplay::sched::validate {

// What the host offers, read once.
struct HostInfo {
  std::string kernel_release;  // uname -r
  std::string rtapp;           // path of the rt-app binary
  uint64_t khz = 0;            // current frequency of the first validated CPU
  int hz = 0;                  // CONFIG_HZ, 0 if unknown
};

// FailedPrecondition, with the reason, when this host cannot run validation:
// not root, rt-app not found (on PATH or /usr/bin), a CPU of `cpus` offline
// or outside this process's affinity, no /proc/self/task/TID/schedstat.
StatusOr<HostInfo> ProbeHost(const std::vector<int>& cpus);

// "1,3-4" -> {1, 3, 4}; "last" -> the highest CPU this process may use.
StatusOr<std::vector<int>> ParseCpuList(const std::string& text);

struct HostRunOptions {
  std::string rtapp;
  std::vector<int> cpus;
  int duration_s = 4;
  double warmup_s = 0.5;  // measurement starts this long after the threads appear
  double tail_s = 0.3;    // and ends this long before rt-app's duration
  std::string workdir;    // rt-app's logs and output go here
  std::optional<CpuController> cgroups;  // required by scenarios with task groups
  const std::atomic<bool>* interrupted = nullptr;  // polled; Cancelled when set
  std::function<void(const std::string&)> progress;
};

// Runs `json_path` (ScenarioJson of `s`, logging to options.workdir as
// `basename`) and returns the measurement.
StatusOr<HostData> RunOnHost(const Scenario& s, const std::string& json_path, const std::string& basename,
                             const HostRunOptions& options);

}  // namespace kreplay::sched::validate
