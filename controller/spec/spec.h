// Study specs: the YAML file a user submits, validated in full at load and
// expanded into runs.
//
// The core keys below are parsed here. The keys of a workload entry, and
// what `platforms:` entries mean, come from the study family's table entry
// (family::FamilyInfo, services/family): each WorkloadKind declares its spec
// key, its extra `options` and its parser, and a family with systems resolves
// `platforms:` (resolve_system). The parser loops over the families in the
// process's Catalog and names none of them. The keys shown for the shipped
// families come from workers/models/sched/family.cc and
// workers/models/blockcache/family.cc.
//
// Format (every field; unknown keys anywhere are errors, with a did-you-mean):
//
//   study: biglittle-cfs-vs-hmp   # required; name, [a-z0-9._-]+
//   description: "..."            # optional free text
//   seeds: 5                      # required; a count n >= 1 (seeds base_seed ..
//                                 #   base_seed+n-1) or an explicit list [1, 7, 9]
//                                 #   of distinct unsigned integers
//   base_seed: 1                  # optional, default 1; only with a count
//   platforms: [juno-r0, tc2]     # FAMILY (FamilyInfo::has_systems): required for a
//                                 #   family with systems, each entry resolved by
//                                 #   its resolve_system (sched: shipped platform
//                                 #   names, or platform YAML files, an entry
//                                 #   containing '/' or ending in .yaml/.yml,
//                                 #   relative to the spec file's directory).
//                                 #   Must be absent for a family without systems
//                                 #   (blockcache: devices come from model params);
//                                 #   the study then has one implicit entry, see
//                                 #   kNoPlatform.
//   workloads:                    # required, non-empty list
//     - name: mixed               #   core: [a-z0-9._-]+, unique
//       synthetic: {...}          #   FAMILY: exactly one kind key of the study
//                                 #   family (WorkloadKind::key), parsed by that
//                                 #   kind; a kind of another family is an error
//       transport: generate       #   core, optional, generated kinds only
//                                 #   (WorkloadKind::generated): "generate"
//                                 #   (default): work items carry the generator
//                                 #   text, workers regenerate it (the family's
//                                 #   generate) and check its content digest;
//                                 #   "trace": the controller publishes the built
//                                 #   workload as trace chunks. Other kinds always
//                                 #   travel as a trace.
//       format: fio-v3            #   FAMILY: a kind's options (WorkloadKind::
//                                 #   options), allowed only with that kind
//   The shipped kinds:
//     sched:      synthetic: {...}   generated; workload::ParseSynthSpec
//                 rtapp: FILE        an rt-app JSON file relative to the spec
//                                    file, parsed once, same for every seed
//     blockcache: block_synthetic: {...}  generated; blocktrace::ParseBlockSynthSpec
//                 blocktrace: FILE   a block trace relative to the spec file (not
//                                    "-"), read by blocktrace::BlockTraceReader,
//                                    validated at load by streaming it once, the
//                                    same for every seed. Options: format
//                                    (blocktrace::ParseFormat names: auto,
//                                    blkparse, msr, fio-v2, fio-v3, alibaba,
//                                    tencent, csv; default auto), blkparse_event
//                                    (Q, the default, or D; format auto or
//                                    blkparse), csv_mapping
//                                    ("time=0:us,op=1,offset=2,size=3"; format
//                                    csv), strict_time_order (an out-of-order
//                                    request is an error instead of being
//                                    clamped), max_requests (replay at most the
//                                    first n >= 1 requests)
//   variants:                     # required, non-empty list; every variant's model
//     - name: cfs                 #   must be of one family, the study's family
//       model: sched.cfs          #   (StudySpec::family, taken from the first
//                                 #   variant whose model is known)
//       params: {governor: ondemand}  # optional; validated by model::ResolveParams.
//                                 #   Quoted scalars are strings; plain ones are
//                                 #   read as int, double, true/false, else string.
//                                 #   An int parameter whose unit is "ns", "us",
//                                 #   "ms" or "s" also accepts a duration string
//                                 #   ("4ms"; a whole number of the unit); one whose
//                                 #   unit is "bytes" accepts a byte size ("512MiB",
//                                 #   "4KiB"; suffixes B, KiB, MiB, GiB, TiB).
//       grid: {hmp_up_threshold: [600, 700]}  # optional: this variant's own
//                                 #   sweep, inside the study grid; its keys must
//                                 #   not also be study grid keys
//   grid:                         # optional: param -> list of values. Every
//     governor: [performance, schedutil]  # combination applies to every variant;
//                                 #   expanded names get a suffix in grid key order:
//                                 #   "hmp[governor=schedutil]" (VariantName; the
//                                 #   coordinates are Variant::grid). A grid key must
//                                 #   be a parameter of every variant's model and
//                                 #   must not also be set in a variant's params.
//   reference: cfs                # optional, default the first variant. A base
//                                 #   variant name (with a grid, each variant is
//                                 #   compared with the reference at the same grid
//                                 #   point) or one expanded name (all compare to it).
//   metrics: [energy, ...]        # optional, default every metric of the first
//                                 #   variant's model; each must be declared
//                                 #   (MetricSpec) by every variant's model.
//   gate:                         # optional: the regression gate (GateSpec)
//     fail_if: ["energy:+3%"]     #   required in a gate; rules (gate_rule.h)
//     baseline: base/results.json #   optional; relative to the spec file
//     alpha: 0.05                 #   optional; in (0, 1)
//
// docs/study-spec.md describes every field of both shipped families with
// examples; docs/adding-a-family.md how a family adds its kinds.
//
// Errors: every problem is collected and returned at once in one
// InvalidArgument status, one per line: "file:line: field.path: message".
// Kind parsers and resolve_system report through family::SpecErrors, so
// their errors have the same form.
//
// Thread-safety: all functions are pure (apart from reading files in
// LoadStudySpec and ParseStudySpec); values are immutable once built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "controller/spec/gate_rule.h"
#include "services/core/status.h"
#include "services/family/family.h"
#include "services/model/params.h"
#include "services/model/registry.h"

namespace kreplay::spec {

// A study of a family without systems (FamilyInfo::has_systems false, e.g.
// blockcache) has no platforms; it gets this one implicit entry so that
// RunSpec::platform, run keys and reports keep their shape: name "-", source
// "none", no system value, canonical text "" and digest SHA-256("")
// (e3b0c442...b855). Run keys of its runs thus carry that digest.
inline constexpr const char* kNoPlatform = "-";

struct PlatformEntry {
  bool implicit = false;   // the one system of a family without systems (kNoPlatform)
  std::string name;        // shipped name, or the file's platform name
  std::string source;      // "builtin:juno-r0" or the resolved file path
  model::AnyValue system;  // the family's system value (e.g. workload::Platform); empty if implicit
  std::string canonical;   // the family's canonical text of it ("" if implicit)
  std::string digest;      // hex SHA-256 of `canonical`
  std::string config;      // the bytes a work item carries (SystemConfig.config); "" if implicit
  int cpus = 0;            // CPUs it simulates; 0 if implicit
};

struct WorkloadEntry {
  std::string name;
  std::string kind;                                 // its spec key: "synthetic", "rtapp", "blocktrace", ...
  const family::WorkloadKind* kind_info = nullptr;  // the study family's kind (the process's Catalog)
  family::ParsedWorkload parsed;                    // what the kind's parser made of it
  enum class Transport { kGenerate, kTrace };
  // kGenerate: work items carry the generator text and workers regenerate it
  // (generated kinds' default); kTrace: published as trace chunks.
  Transport transport = Transport::kTrace;

  // True when the workload differs per seed (the generated kinds).
  bool per_seed() const { return kind_info->generated; }
  // The kind's parsed form, if it is a T (e.g. workload::SynthSpec for `synthetic:`).
  template <typename T>
  const T* As() const {
    return parsed.spec.As<T>();
  }
};

// One coordinate of a variant's grid point: a swept parameter and the value
// this variant takes.
struct GridCoord {
  std::string key;          // the parameter, "cache_size"
  std::string text;         // the value as the spec wrote it, "16MiB" (what variant names show)
  model::ParamValue value;  // as the model reads it, resolved: int64_t{16777216}
  bool operator==(const GridCoord&) const = default;
};

// "cache_size=16MiB,mode=writeback": "key=text" per coordinate, joined by ','.
// For display (names, labels) only: a text may itself hold ',' or '=', so the
// result is never parsed back; code that needs coordinates reads them.
std::string GridPointText(std::span<const GridCoord> coords);
// A variant's name: "hmp[governor=schedutil]", or `base` alone without
// coordinates. The one place variant names are made.
std::string VariantName(const std::string& base, std::span<const GridCoord> coords);

struct Variant {
  std::string name;        // VariantName(base_name, grid): "hmp[governor=schedutil]"; base_name without a grid
  std::string base_name;   // "hmp"
  // Its grid point: the study grid's axes first (in the grid's key order),
  // then those of the variant's own `grid:` (variants[i].grid); empty
  // without a grid.
  std::vector<GridCoord> grid;
  size_t shared_coords = 0;  // how many leading coordinates of `grid` are the study grid's
  std::string model;
  std::string model_version;
  model::ParamSet params;  // resolved: defaults filled in
  std::string compare_to;  // name of the variant it is compared with; "" for a reference

  // The study grid's part of `grid`: what comparisons match on.
  std::span<const GridCoord> shared_grid() const { return std::span<const GridCoord>(grid).first(shared_coords); }
  // Expanded by a `grid:` of its own.
  bool own_grid() const { return grid.size() > shared_coords; }
};

// The spec's optional `gate:` section (docs/outputs.md, controller/gate).
struct GateSpec {
  bool present = false;
  std::string baseline;            // resolved path ("" = none: gate variants against their reference)
  double alpha = 0.05;             // level of the paired t-test
  std::vector<GateRule> fail_if;   // validated against the study's models' metrics
};

struct StudySpec {
  std::string name;
  std::string family;             // the family of every variant's model (family::FamilyInfo::name)
  std::string description;
  std::vector<uint64_t> seeds;
  std::vector<PlatformEntry> platforms;  // blockcache: the one kNoPlatform entry
  std::vector<WorkloadEntry> workloads;
  std::vector<Variant> variants;  // spec order, grid points expanded in place
  std::string reference;          // as given (or the default)
  std::vector<std::string> metrics;
  GateSpec gate;
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

// Reads `path`; relative workload and platform paths resolve against its
// directory. Models, families and workload kinds come from `catalog`, which
// must outlive the spec (WorkloadEntry::kind_info points into it).
StatusOr<StudySpec> LoadStudySpec(const std::string& path, const family::Catalog& catalog);

// Parses spec text. `path_for_errors` names the source in messages;
// `base_dir` resolves relative paths ("" = current directory).
StatusOr<StudySpec> ParseStudySpec(std::string_view yaml, const std::string& path_for_errors,
                                   const std::string& base_dir, const family::Catalog& catalog);

// Every run, in canonical order: variant, platform, workload, seed (each in
// spec order).
std::vector<RunSpec> ExpandRuns(const StudySpec& spec);

// The workload of (workload_index, seed), built by its kind: generated ones
// from the seed, the others the same for every seed (a file is read again:
// one that changed since load is FailedPrecondition). Errors name the
// workload.
StatusOr<model::AnyValue> BuildWorkload(const StudySpec& spec, size_t workload_index, uint64_t seed);



}  // namespace kreplay::spec
