// What this kreplay ships, printed: `kreplay models [describe NAME]`,
// `kreplay platforms [NAME]`, `kreplay devices [NAME]`, and `kreplay
// workload write`, which exports a study's workload as rt-app JSON. None of
// them starts a service. Each returns a process exit code (exit_codes.h).
#pragma once

#include <cstdint>
#include <string>

#include "services/family/family.h"
#include "services/model/registry.h"

namespace kreplay::cli {

struct WorkloadWriteOptions {
  std::string spec, workload, out;
  uint64_t seed = 0;  // 0 = the spec's first seed
};

// `kreplay models`: one line per model; with `describe`, every parameter and
// metric of that model.
int CmdModels(const model::Registry& registry, const std::string& describe);
// `kreplay platforms [NAME]`: the shipped SoC platforms, or one as YAML.
int CmdPlatforms(const std::string& show);
// `kreplay devices [NAME]`: the block device profiles.
int CmdDevices(const std::string& show);
// `kreplay workload write SPEC`: one workload of a study as rt-app JSON.
int CmdWorkloadWrite(const family::Catalog& catalog, const WorkloadWriteOptions& o);

}  // namespace kreplay::cli
