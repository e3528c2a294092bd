// Reading a recorded result folder back: results.json (report.h ReportJson)
// into run records and the study's layout, so that a report can be rebuilt
// (`kreplay results show`), compared (`results diff`) or used as the baseline
// of a regression gate.
//
// Only what results.json holds comes back: scalars, sim_events and
// sim_time_ns of every run (histograms are not in results.json; the pooled
// percentiles of each group are taken from its aggregates instead).
#pragma once

#include <string>
#include <vector>

#include "controller/report/report.h"
#include "services/core/status.h"

namespace kreplay::report {

// The results.json schema version this build writes and reads.
inline constexpr int kResultsSchemaVersion = 1;

struct ResultSet {
  std::string path;             // the results.json read
  int schema_version = 0;
  std::string kreplay_version;  // provenance
  std::string host;
  Layout layout;
  std::vector<RunRecord> runs;  // file order (canonical)
  // Pooled histogram percentiles per group, from the aggregates.
  struct Pooled {
    std::string variant, platform, workload, name;
    PooledHistogram value;
  };
  std::vector<Pooled> pooled;
};

// `path` is a results.json file or a folder holding one. Errors name the file
// and the JSON field: InvalidArgument for malformed content, NotFound for a
// missing file. A schema_version other than kResultsSchemaVersion is returned
// as read (callers decide; the gate refuses it).
StatusOr<ResultSet> LoadResults(const std::string& path);

// Rebuilds the report of a loaded result set (aggregates, comparisons,
// pooled percentiles), as BuildReport made it when the study ran.
StatusOr<Report> ReportFromResults(const ResultSet& set);

}  // namespace kreplay::report
