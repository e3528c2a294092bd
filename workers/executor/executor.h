// The one path from a work item to model results, shared by the worker, the
// local run (`kreplay run --local`) and `kreplay rerun`: whoever runs a work
// item runs it here, so a distributed run equals a local one by
// construction, not because copies agree.
//
// model::RunInput is built only in ExecuteRun. Workloads reach it already
// materialised (Workload): fetched from the trace topic, generated from the
// item's generator spec (GenerateWorkload), or built by the planner.
//
// Thread-safety: pure functions over immutable inputs; a Registry may be
// shared by concurrent calls.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kreplay/v1/study.pb.h"
#include "services/core/status.h"
#include "services/model/registry.h"
#include "services/workload/block_workload.h"
#include "services/workload/sched_workload.h"

namespace kreplay::executor {

// A materialised workload; exactly one member is set, by the item's family.
// Shared and immutable: one workload serves every run that names it.
struct Workload {
  std::shared_ptr<const workload::SchedWorkload> sched;
  std::shared_ptr<const workload::BlockWorkload> block;

  bool empty() const { return !sched && !block; }
  // Approximate memory held, for caches.
  uint64_t ApproxBytes() const;
};

// A workload generated from its generator spec, with its content digest.
struct Generated {
  Workload workload;
  std::string digest;
};

// Generates the workload a work item carries as its generator spec
// (WorkItem.synthetic_yaml, seeded with the item's seed) and names it as the
// planner did. A scheduler workload is named by its generator inputs, so it is
// generated only when that name equals `expected_digest`; otherwise the
// returned workload is empty and `digest` says what this build would call it.
// Errors: InvalidArgument when the YAML does not parse or the family has no
// generated workloads.
StatusOr<Generated> GenerateWorkload(const std::string& family, const std::string& yaml, uint64_t seed,
                                     const std::string& expected_digest);

// One work item's runs: the item's own parameters first, then those of the
// batch runs this caller claimed, in any subset.
struct RunRequest {
  const v1::WorkItem* item = nullptr;        // model, version, system, seed
  std::vector<model::ParamSet> params;      // one per run
  Workload workload;
  const std::atomic<bool>* cancel = nullptr;  // may be null
  model::SchedObserver* sched_observer = nullptr;  // may be null; never changes results
};

// The parameters of run `batch_index` of `item` (-1: the item's own run).
model::ParamSet ItemParams(const v1::WorkItem& item, int batch_index);

// Runs every configuration of `request` (one pass for models with a batch
// function); element i is the result of request.params[i]. Fails each run
// alike when the model is unknown, of another version than the item names,
// or the item's system does not parse.
// REQUIRES: request.item != nullptr, !request.workload.empty().
std::vector<StatusOr<model::Result>> ExecuteRun(const model::Registry& registry, const RunRequest& request);

}  // namespace kreplay::executor
