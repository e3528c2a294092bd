// The model registry: families register models by name with a one-line
// description, their parameters and metrics, and a run function.
//
// Adding a model is one file plus one line in its family's register
// function; a family is declared first (RegisterFamily, done by
// family::Catalog::RegisterFamily) and listed in RegisterBuiltinFamilies()
// (workers/models/builtin.cc). Models depend on the engine and the workload
// types only: never on Kafka, gRPC, Prometheus or files.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/model/params.h"
#include "services/model/result.h"
#include "services/model/any_ref.h"

namespace kreplay::model {

// Inputs of one run, family-neutral: the family's models read their system
// (e.g. a workload::Platform) and workload through a checked downcast, and
// return InvalidArgument when one they need is missing or of another type.
struct RunInput {
  const ParamSet* params = nullptr;
  uint64_t seed = 0;
  AnyRef system;    // null for families without a system (block devices come from params)
  AnyRef workload;
  // Polled by long runs between batches of events; set when the run is no
  // longer wanted (cancelled study, shutdown). May be null.
  const std::atomic<bool>* cancel = nullptr;
  // Receives what the family's models report as they run (the sched family:
  // SchedObserver, the simulated schedule for `kreplay rerun --ftrace`).
  // Null in normal runs; setting it never changes the result.
  AnyMutRef observer;

  template <typename T>
  const T* SystemAs() const { return system.As<T>(); }
  template <typename T>
  const T* WorkloadAs() const { return workload.As<T>(); }
  template <typename T>
  T* ObserverAs() const { return observer.As<T>(); }
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
  // Measured throughput on one core, for plan estimates: work_per_core_s
  // units of work_unit ("events", "requests", "block accesses") per second;
  // 0 = not measured (the family's default stands in).
  std::string work_unit;
  double work_per_core_s = 0;
};

class Registry {
 public:
  // Declares a model family (a family registers itself before its models).
  // Fails with AlreadyExists on a duplicate name.
  Status RegisterFamily(const std::string& family);
  bool HasFamily(const std::string& family) const { return families_.count(family) > 0; }
  // Fails with AlreadyExists on a duplicate or reserved name,
  // InvalidArgument on a family not declared with RegisterFamily.
  Status Register(ModelInfo info);
  // Holds a model name its family will build later ("sched.eas"), so no
  // one else takes it and a study naming it is told why it cannot run.
  // The name must be "<family>.<model>" of a declared family. Fails with
  // AlreadyExists if the name is registered or reserved.
  Status Reserve(const std::string& name, const std::string& family, const std::string& why);
  // Why `name` is reserved, or nullptr if it is not.
  const std::string* Reserved(const std::string& name) const;
  // nullptr if unknown.
  const ModelInfo* Find(const std::string& name) const;
  // Sorted by name.
  std::vector<const ModelInfo*> List() const;
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, std::unique_ptr<ModelInfo>> models_;
  std::map<std::string, std::string> reserved_;  // name -> why
  std::set<std::string> families_;
};

}  // namespace kreplay::model
