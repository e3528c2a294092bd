// Study reports: per-variant aggregates over seeds, seed-paired comparisons
// against the reference variant, and their renderings (terminal table,
// results.json, CSV, Markdown).
//
// Determinism: everything is computed and written in canonical order —
// variant, platform, workload (each in spec order), then seed ascending —
// never in the order results arrived, so the same runs give the same bytes.
//
// Statistics (services/stats): per (variant, platform, workload, metric) the
// mean over seeds with a 95 % Student-t interval; per non-reference variant
// the paired per-seed difference against its reference (same platform,
// workload and seed): mean difference, its interval, the relative change
// (100 * diff / |reference mean|) and the two-sided paired-t p-value. Only
// seeds present on both sides are paired. Non-finite scalar values are left
// out of the samples (and counted in `excluded`).
//
// Pooled percentiles: for every histogram the runs report (e.g.
// "wakeup_latency", in ns), the per-seed histograms of a group are merged
// (exact: integer counts) and p50/p99 read from the merged histogram. These
// are "pooled" values: percentiles of all samples of all seeds together, not
// a mean of per-seed percentiles, and they carry no interval.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "controller/spec/spec.h"
#include "services/core/status.h"
#include "services/model/result.h"
#include "services/stats/stats.h"

namespace kreplay::report {

struct RunRecord {
  std::string run_key;
  std::string variant;
  std::string platform;
  std::string workload;
  uint64_t seed = 0;
  std::string model;
  std::string model_version;
  std::string params;           // model::ParamSet::Canonical()
  std::string platform_digest;
  std::string workload_digest;
  model::Result result;
};

struct MetricAggregate {
  std::string unit;
  stats::Summary summary;  // over seeds
  size_t excluded = 0;     // non-finite values left out
};

struct Comparison {
  std::string variant;
  std::string reference;  // the variant compared against
  std::string platform;
  std::string workload;
  std::string metric;
  std::string unit;
  stats::PairedComparison paired;
};

struct PooledHistogram {
  uint64_t count = 0;
  int64_t p50 = 0;  // in the histogram's unit (ns for latencies)
  int64_t p99 = 0;
};

// One (variant, platform, workload) cell.
struct Group {
  std::string variant;
  std::string platform;
  std::string workload;
  std::string model;
  std::string model_version;
  std::string compare_to;  // "" for a reference variant
  std::vector<uint64_t> seeds;  // ascending
  std::map<std::string, MetricAggregate> metrics;   // every scalar reported
  std::map<std::string, PooledHistogram> pooled;    // every histogram reported
};

// What a report needs of its study: names and order of the variants,
// platforms and workloads, and which variant each is compared with. Built from
// a spec (LayoutOf) or from a recorded results.json (results_file.h).
struct Layout {
  struct VariantRef {
    std::string name;
    std::string compare_to;  // "" for a reference variant
    // Its grid point, structured (spec::Variant::base_name and grid). From a
    // spec only: results.json records variant names alone, so a layout read
    // back from it (results_file.h) has base_name == name and no grid.
    std::string base_name;
    std::vector<spec::GridCoord> grid;
  };
  std::string study;
  std::string description;
  std::string reference;
  std::vector<std::string> metrics;        // shown in the table, spec order
  std::vector<VariantRef> variants;        // spec order
  std::vector<spec::PlatformEntry> platforms;  // name, source, digest (spec order)
  std::vector<std::string> workloads;      // names, spec order
  std::string spec_yaml;                   // the raw spec text
  std::string spec_path;                   // absolute path of the spec file ("" if unknown)
};

Layout LayoutOf(const spec::StudySpec& spec);

struct Report {
  std::string study;
  std::string description;
  std::string reference;
  std::vector<std::string> metrics;  // shown in the table, spec order
  std::string spec_yaml;
  std::string spec_path;             // provenance: where the spec was read from
  std::string host;                  // where the report was made (provenance)
  std::vector<Layout::VariantRef> variants;    // spec order, with their grid points (as in the Layout)
  std::vector<spec::PlatformEntry> platforms;  // name, source, digest (spec order)
  std::vector<std::string> workloads;          // names, spec order
  std::vector<RunRecord> runs;       // canonical order
  std::vector<Group> groups;         // canonical order: variant, platform, workload
  std::vector<Comparison> comparisons;  // canonical order, then metric name
};

// Aggregates `runs` (any order). InvalidArgument if a run names a variant,
// platform or workload the spec lacks, or two runs share (variant, platform,
// workload, seed). `host` is recorded as provenance only.
StatusOr<Report> BuildReport(const spec::StudySpec& spec, std::vector<RunRecord> runs,
                             const std::string& host = "");
StatusOr<Report> BuildReport(const Layout& layout, std::vector<RunRecord> runs, const std::string& host = "");

// The variant named `name` (its grid point), or nullptr.
const Layout::VariantRef* FindVariant(const Report& r, const std::string& name);
// The group of (variant, platform, workload), or nullptr.
const Group* FindGroup(const Report& r, const std::string& variant, const std::string& platform,
                       const std::string& workload);
// The comparison of `variant` on `metric`, or nullptr.
const Comparison* FindComparison(const Report& r, const std::string& variant, const std::string& platform,
                                 const std::string& workload, const std::string& metric);

// Fixed-width terminal table: one block per platform x workload, one row per
// variant, one column per spec metric ("mean ±ci", and for non-reference
// variants "+x.x% [lo,hi]" vs the reference, "*" when p < 0.05), plus pooled
// wakeup-latency percentiles when the runs report that histogram.
std::string FormatTable(const Report& r);

// The renderings WriteReport writes, exposed for tests and the server.
std::string ReportJson(const Report& r);     // results.json
std::string ResultsCsv(const Report& r);     // one row per run x scalar metric
std::string AggregatesCsv(const Report& r);  // one row per group x metric
std::string SummaryMarkdown(const Report& r);

// Writes results.json, results.csv, aggregates.csv, summary.md and
// resolved-spec.yaml (the raw spec text) into `out_dir`, creating it.
// Each file is written to a temporary name and renamed into place.
// `extra_json` (e.g. the regression gate) is added to results.json under
// `extra_key`; `summary_prefix` goes at the top of summary.md.
Status WriteReport(const Report& r, const std::string& out_dir);
Status WriteReport(const Report& r, const std::string& out_dir, const std::string& extra_key,
                   const std::string& extra_json, const std::string& summary_prefix);
std::string ReportJson(const Report& r, const std::string& extra_key, const std::string& extra_json);

// This machine's host name, for BuildReport's `host`.
std::string LocalHostName();

}  // namespace kreplay::report
