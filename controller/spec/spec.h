// Study specs: the YAML file a user submits, validated in full at load and
// expanded into runs.
//
// Format (every field; unknown keys anywhere are errors, with a did-you-mean):
//
//   study: biglittle-cfs-vs-hmp   # required; name, [a-z0-9._-]+
//   description: "..."            # optional free text
//   seeds: 5                      # required; a count n >= 1 (seeds base_seed ..
//                                 #   base_seed+n-1) or an explicit list [1, 7, 9]
//                                 #   of distinct unsigned integers
//   base_seed: 1                  # optional, default 1; only with a count
//   platforms: [juno-r0, tc2]     # required; shipped platform names, or paths to
//                                 #   platform YAML files (an entry containing '/'
//                                 #   or ending in .yaml/.yml), relative to the
//                                 #   spec file's directory
//   workloads:                    # required, non-empty list
//     - name: mixed               #   [a-z0-9._-]+, unique
//       synthetic: {...}          #   exactly one of: synthetic (parsed by
//                                 #   workload::ParseSynthSpec; regenerated per seed)
//       transport: generate       #   optional, synthetic only: "generate" (default):
//                                 #   work items carry the generator spec, workers
//                                 #   regenerate it and check its content digest;
//                                 #   "trace": the controller publishes the expanded
//                                 #   workload as trace chunks (as for rt-app files)
//     - name: demo
//       rtapp: path/to/file.json  #   or rtapp: an rt-app JSON file relative to the
//                                 #   spec file (parsed once, same for every seed)
//   variants:                     # required, non-empty list
//     - name: cfs                 #   [a-z0-9._-]+, unique
//       model: sched.cfs          #   a registered model
//       params: {governor: ondemand}  # optional; validated by model::ResolveParams.
//                                 #   Quoted scalars are strings; plain ones are
//                                 #   read as int, double, true/false, else string.
//                                 #   An int parameter whose unit is "ns" also
//                                 #   accepts a duration string ("4ms").
//   grid:                         # optional: param -> list of values. Every
//     governor: [performance, schedutil]  # combination applies to every variant;
//                                 #   expanded names get a suffix in grid key order:
//                                 #   "hmp[governor=schedutil]". A grid key must be
//                                 #   a parameter of every variant's model and must
//                                 #   not also be set in a variant's params.
//   reference: cfs                # optional, default the first variant. A base
//                                 #   variant name (with a grid, each variant is
//                                 #   compared with the reference at the same grid
//                                 #   point) or one expanded name (all compare to it).
//   metrics: [energy, ...]        # optional, default every metric of the first
//                                 #   variant's model; each must be declared
//                                 #   (MetricSpec) by every variant's model.
//
// Errors: every problem is collected and returned at once in one
// InvalidArgument status, one per line: "file:line: field.path: message".
//
// Thread-safety: all functions are pure (apart from reading files in
// LoadStudySpec and ParseStudySpec); values are immutable once built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "services/core/status.h"
#include "services/model/params.h"
#include "services/model/registry.h"
#include "services/workload/platform.h"
#include "services/workload/sched_workload.h"
#include "services/workload/synth.h"

namespace kreplay::spec {

struct PlatformEntry {
  std::string name;       // shipped name, or the file's platform name
  std::string source;     // "builtin:juno-r0" or the resolved file path
  workload::Platform platform;
  std::string canonical;  // CanonicalPlatformText(platform)
  std::string digest;     // hex SHA-256 of `canonical`
};

struct WorkloadEntry {
  enum class Kind { kSynthetic, kRtApp };
  std::string name;
  Kind kind = Kind::kSynthetic;
  enum class Transport { kGenerate, kTrace };
  workload::SynthSpec synth;     // kSynthetic: regenerated for each seed
  std::string synth_yaml;        // kSynthetic: the `synthetic:` node as YAML text
  Transport transport = Transport::kGenerate;  // kRtApp: always kTrace
  std::string rtapp_path;        // kRtApp: resolved path
  workload::SchedWorkload rtapp; // kRtApp: parsed once at load
};

struct Variant {
  std::string name;        // "hmp[governor=schedutil]"; equals base_name without a grid
  std::string base_name;   // "hmp"
  std::string grid_point;  // "governor=schedutil", "" without a grid
  std::string model;
  std::string model_version;
  model::ParamSet params;  // resolved: defaults filled in
  std::string compare_to;  // name of the variant it is compared with; "" for a reference
};

struct StudySpec {
  std::string name;
  std::string description;
  std::vector<uint64_t> seeds;
  std::vector<PlatformEntry> platforms;
  std::vector<WorkloadEntry> workloads;
  std::vector<Variant> variants;  // spec order, grid points expanded in place
  std::string reference;          // as given (or the default)
  std::vector<std::string> metrics;
  std::string path;               // for error messages and provenance
  std::string yaml;               // the raw text, kept verbatim

  // Index of the variant named `name`, or -1.
  int FindVariant(const std::string& name) const;
};

// One run of a study, before its workload is materialised.
struct RunSpec {
  size_t variant = 0;
  std::string model;
  std::string model_version;
  model::ParamSet params;
  size_t platform = 0;
  size_t workload = 0;
  uint64_t seed = 0;
};

// Reads `path`; relative workload and platform paths resolve against its directory.
StatusOr<StudySpec> LoadStudySpec(const std::string& path, const model::Registry& registry);

// Parses spec text. `path_for_errors` names the source in messages;
// `base_dir` resolves relative paths ("" = current directory).
StatusOr<StudySpec> ParseStudySpec(std::string_view yaml, const std::string& path_for_errors,
                                   const std::string& base_dir, const model::Registry& registry);

// Every run, in canonical order: variant, platform, workload, seed (each in
// spec order).
std::vector<RunSpec> ExpandRuns(const StudySpec& spec);

// The workload of (workload_index, seed): synthetic ones are generated from
// the seed, rt-app ones are the same for every seed.
StatusOr<workload::SchedWorkload> BuildWorkload(const StudySpec& spec, size_t workload_index,
                                                uint64_t seed);

// Canonical text of a platform, the input of its digest. One line per item
// ("platform", "cluster", "opp", "idle"), fields in a fixed order, strings
// length-prefixed ("7:juno-r0"), doubles in shortest round-trip form. Holds
// every field a model can read (the name included, so that two platforms
// never share results by accident) and leaves out description and source,
// which are documentation.
std::string CanonicalPlatformText(const workload::Platform& platform);

// workload::SchedWorkloadDigest: changes whenever any input of a model run changes.
std::string WorkloadDigest(const workload::SchedWorkload& w);

}  // namespace kreplay::spec
