// The model registry: families register models by name with a one-line
// description, their parameters and metrics, and a run function.
//
// Adding a model is one file plus one line in RegisterBuiltinModels()
// (workers/models/builtin.cc). Models depend on the engine and the workload
// types only: never on Kafka, gRPC, Prometheus or files.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/model/params.h"
#include "services/model/result.h"
#include "services/model/sched_observer.h"
#include "services/workload/block_workload.h"
#include "services/workload/platform.h"
#include "services/workload/sched_workload.h"

namespace kreplay::model {

// Inputs of one run. The family decides which inputs are set; the run
// function returns InvalidArgument if one it needs is missing.
struct RunInput {
  const ParamSet* params = nullptr;
  uint64_t seed = 0;
  // Scheduler family.
  const workload::Platform* platform = nullptr;
  const workload::SchedWorkload* sched = nullptr;
  // Block cache family.
  const workload::BlockWorkload* block = nullptr;
  // Polled by long runs between batches of events; set when the run is no
  // longer wanted (cancelled study, shutdown). May be null.
  const std::atomic<bool>* cancel = nullptr;
  // Scheduler family: receives the simulated schedule (kreplay rerun
  // --ftrace). Null in normal runs; setting it never changes the result.
  SchedObserver* sched_observer = nullptr;
};

using RunFn = std::function<StatusOr<Result>(const RunInput&)>;
// Several parameter sets over one workload (RunInput.params is ignored):
// element i must equal run() with params[i], bit for bit. Models that can
// share work across configurations (one pass over the trace) provide it.
using RunBatchFn = std::function<std::vector<StatusOr<Result>>(const RunInput&, const std::vector<const ParamSet*>&)>;

struct ModelInfo {
  std::string name;         // "sched.cfs"
  std::string family;       // "sched"
  std::string version;      // bump whenever results may change
  std::string description;  // one line
  std::string mirrors;      // kernel source it mirrors, e.g. "kernel/sched/fair.c (LSK 3.10)"
  std::vector<ParamSpec> params;
  std::vector<MetricSpec> metrics;
  RunFn run;
  RunBatchFn run_batch;  // optional; see RunBatchFn
};

class Registry {
 public:
  // Fails with AlreadyExists on a duplicate name.
  Status Register(ModelInfo info);
  // nullptr if unknown.
  const ModelInfo* Find(const std::string& name) const;
  // Sorted by name.
  std::vector<const ModelInfo*> List() const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, std::unique_ptr<ModelInfo>> models_;
};

}  // namespace kreplay::model
