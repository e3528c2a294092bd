// The scenarios of `kreplay validate sched`: each is a small rt-app use case
// (generated here as rt-app 1.0 JSON) and the figures read from it, on the
// host (rt-app logs, schedstat) and in the model (model::Result).
//
// A scenario lists its tasks with everything a figure or a later model
// needs: role, nice value, CPU, and the task group with its weight. Models
// with group scheduling (sched.eevdf) read ScenarioTask::group/group_shares
// through the model's JSON and the cgroup-shares figures gate like the
// others; the LSK 3.10 models' side says "not modelled yet: task groups".
//
// The JSON rt-app runs is the model's input too, with two mechanical edits
// (ModelJson): lock/unlock events are dropped (rt-app needs a mutex around
// wait/signal; the model's wait/signal are counting semaphores and take none).
// CPU numbers stay the host's: the model's platform has all of the host's
// online CPUs (HostPlatformYaml()).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/model/result.h"
#include "services/workload/sched_workload.h"
#include "workers/models/sched/validate/compare.h"
#include "workers/models/sched/validate/host_logs.h"

namespace kreplay::sched::validate {

enum class TaskRole {
  kHog,        // always runnable (runtime bursts, loop forever)
  kPeriodic,   // runtime burst, then an absolute timer
  kChainHead,  // runtime burst, signals the next link, then an absolute timer
  kChainLink,  // waits for the previous link, runtime burst, signals the next
};

struct ScenarioTask {
  std::string name;  // thread name too: at most 15 characters
  TaskRole role = TaskRole::kHog;
  int nice = 0;
  int cpu_index = 0;         // index into the --cpus list (modulo its size)
  std::string group;         // task group ("" = none)
  uint64_t group_shares = 0; // its weight in v1 units (cpu.shares)
};

struct Scenario {
  std::string name;
  std::string summary;
  std::vector<ScenarioTask> tasks;
  int64_t period_us = 10000;  // periodic / chain head timer
  int64_t burst_us = 1000;    // periodic / chain bursts
  bool needs_cgroups() const;
  std::vector<std::string> groups() const;  // distinct, in order of first use
  const ScenarioTask* Find(const std::string& task) const;
};

std::vector<Scenario> BuiltinScenarios();
std::vector<std::string> ScenarioNames();

// The rt-app 1.0 JSON of `s` on host CPUs `cpus`, running `duration_s`
// seconds, logging to `logdir` as <basename>-<task>-<n>.log. Calibration is
// given (no calibration run: every event is a `runtime`, which needs none).
std::string ScenarioJson(const Scenario& s, const std::vector<int>& cpus, int duration_s, const std::string& logdir,
                         const std::string& basename);
// The model's copy of a scenario JSON (see the header comment). With
// `s` given and using task groups, each grouped task gets its `taskgroup`
// ("/A") and global.kreplay_taskgroups the groups' cpu.shares, which the
// family's rtapp parser reads (the host's JSON carries neither: validate
// moves the threads into its own cgroups).
StatusOr<std::string> ModelJson(const std::string& rtapp_json, const std::vector<int>& cpus,
                                const Scenario* s = nullptr);

// `--inject-fault nice-off-by-one`: every task of nice n != 0 gets nice n+1
// (the weight one level off), in the workload handed to the model.
void InjectNiceOffByOne(workload::SchedWorkload& w);

// What the host run measured, per task, over the measurement window.
struct HostTaskData {
  Schedstat delta;                  // schedstat over the window
  std::vector<RtAppLogLine> lines;  // log lines that started inside the window
  int phases = 1;                   // phases per loop (lines cycle through them)
  std::vector<int> phase_of_line;   // phase index of each kept line
};
struct HostData {
  std::map<std::string, HostTaskData> tasks;
  double window_s = 0;
  std::optional<double> foreign_busy_pct;  // busy time of the pinned CPUs not spent by the scenario
};

// The figures of `s`: kernel values from `host` (null: not measured), model
// values from `model` (null: not run, `model_note` says why; a scenario with
// task groups and no model result carries "not modelled yet: task groups").
std::vector<Figure> BuildFigures(const Scenario& s, const HostData* host, const model::Result* model,
                                 const std::string& model_note);

}  // namespace kreplay::sched::validate
