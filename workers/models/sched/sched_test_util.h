// Test helpers for the scheduler models: small platforms and task programs.
#pragma once

#include <string>

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

}  // namespace kreplay::sched::testing
