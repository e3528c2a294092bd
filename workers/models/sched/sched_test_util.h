// Test helpers for the scheduler models: small platforms and task programs.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "services/model/params.h"
#include "services/model/registry.h"
#include "services/workload/platform.h"
#include "services/workload/sched_workload.h"
#include "workers/models/sched/sched_sim.h"

namespace kreplay::sched::testing {

// One cluster of `cpus` CPUs, one OPP (capacity 1024, cpu_power 100,
// cluster_power 10), one idle state with no exit latency.
workload::Platform FlatPlatform(int cpus);
workload::Platform Builtin(const std::string& name);

workload::SchedTaskSpec Task(const std::string& name, int nice, int64_t loops,
                             std::vector<workload::Phase> phases, const std::string& kind = "batch");
workload::Phase Work(int64_t ns);  // kRun: calibration-CPU work
workload::Phase Runtime(int64_t ns);
workload::Phase Sleep(int64_t ns);
workload::Phase Timer(int64_t ns);

SchedOptions Options(Policy policy, GovernorKind governor);

// RunSchedSim() that must succeed (the test fails otherwise; an empty
// result comes back then).
model::Result RunOk(const workload::Platform& p, const workload::SchedWorkload& w, const SchedOptions& o,
                    SchedObserver* obs = nullptr);
double Scalar(const model::Result& r, const std::string& key);
// Tasks "a", "b", "c" at nice -3, 0 and 5, always runnable, for `duration`
// ns: their CPU shares follow sched_prio_to_weight (1991, 1024, 335).
workload::SchedWorkload NiceHogs(int64_t duration);
// Checks a NiceHogs() run on one CPU for `run_ms`: each task's CPU time is
// its weight's share within `tol_ms`, and the CPU was really time-shared.
void ExpectNiceHogShares(const model::Result& r, double run_ms, double tol_ms, const std::string& label);

// What an observed run did: each time a task started running, and each
// migration.
struct RunAt {
  sim::Time t;
  int cpu, task;
  bool operator==(const RunAt&) const = default;
};
std::ostream& operator<<(std::ostream& os, const RunAt& r);
struct Mig {
  sim::Time t;
  int task, from, to;
  MigrationKind kind;
};
struct Recorder : SchedObserver {
  std::vector<RunAt> runs;
  std::vector<Mig> migs;
  void OnRun(sim::Time t, int cpu, int task) override { runs.push_back({t, cpu, task}); }
  void OnMigration(sim::Time t, int task, int from, int to, MigrationKind k) override {
    migs.push_back({t, task, from, to, k});
  }
  // The runs of one task, in order.
  std::vector<RunAt> Of(int task) const;
};

// A registered scheduler model run the way a work item runs it: its
// ParamSpecs resolve the given parameters, then ModelInfo::run.
class RegisteredModel {
 public:
  // REQUIRES: `name` is registered by RegisterSchedModels().
  explicit RegisteredModel(const std::string& name);
  const model::ModelInfo& info() const { return *info_; }
  StatusOr<model::Result> Run(const workload::Platform& p, const workload::SchedWorkload& w,
                              const std::map<std::string, model::ParamValue>& given) const;

 private:
  model::Registry reg_;
  const model::ModelInfo* info_ = nullptr;
};

}  // namespace kreplay::sched::testing
