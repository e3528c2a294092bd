// The model side of `kreplay validate sched`: which model stands for the
// host's kernel, a platform describing the host, and one run of a scenario's
// rt-app JSON through the same path every run takes (the family's `rtapp`
// kind parses and builds the workload, its resolve_system reads the platform,
// executor::ExecuteRun runs the model).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "services/family/family.h"
#include "services/model/params.h"
#include "services/model/result.h"

namespace kreplay::sched::validate {

// "6.18.44-fc" -> {6, 18}; nullopt if it does not start with two numbers.
std::optional<std::pair<int, int>> KernelVersion(const std::string& release);

struct ModelChoice {
  std::string model;
  std::string note;  // e.g. the fallback, said plainly; "" when none
};
// The model for kernel `release`: >= 6.6 "sched.eevdf", else "sched.cfs"
// (RunModel() then gives either the host's release as kernel_version when
// the model mirrors it: mainline CFS 5.15 .. 6.5, EEVDF 6.6+).
// An unregistered choice falls back to "sched.cfs" with a note. `override`
// (--model) wins; NotFound if it is not registered.
StatusOr<ModelChoice> ChooseModel(const std::string& release, const model::Registry& models,
                                  const std::string& override_name);

// A platform YAML for the host: one cluster of `cpus` CPUs (the host's
// online CPUs, numbered as on the host, so tunables scaled by the CPU count,
// such as the base slice, match the kernel's) at capacity 1024, one OPP at
// `khz`, one shallow idle state; power in relative units (energy is not
// validated). Scenario tasks stay pinned to their CPUs.
std::string HostPlatformYaml(int cpus, uint64_t khz);

struct ModelRunInput {
  std::string model;
  std::string workload_json_path;   // the model's copy of the scenario JSON
  std::string platform_yaml_path;
  std::map<std::string, model::ParamValue> params;  // only those the model declares are passed
  bool nice_off_by_one = false;     // --inject-fault nice-off-by-one
  uint64_t seed = 1;
};
StatusOr<model::Result> RunModel(const family::Catalog& catalog, const ModelRunInput& in);

}  // namespace kreplay::sched::validate
