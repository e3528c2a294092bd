// What this kreplay ships, printed: `kreplay models [describe NAME]`, the
// families' catalog listings (`kreplay platforms [NAME]`, `kreplay devices
// [NAME]`, ...), and `kreplay workload write`, which exports a study's
// workload in its family's file format (scheduler studies: rt-app JSON).
// None of them starts a service. Each returns a process exit code
// (exit_codes.h).
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
// A family's catalog listing: everything it ships, or the one named.
int CmdListing(const family::FamilyInfo::Listing& listing, const std::string& name);
// `kreplay workload write SPEC`: one workload of a study in its family's
// file format (FamilyInfo::write_workload).
int CmdWorkloadWrite(const family::Catalog& catalog, const WorkloadWriteOptions& o);

}  // namespace kreplay::cli
