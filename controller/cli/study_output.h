// A study's results, from a controller (`run`, `submit --wait`) or from this
// process (`run --local`), turned into the output folder: the table on
// stdout, results.json, CSVs, summary.md, resolved-spec.yaml, the what-if
// curves, and with a gate its verdict (results.json "gate", junit.xml).
// Each function returns the process exit code (exit_codes.h).
#pragma once

#include <string>

#include "controller/cli/gate_cli.h"
#include "controller/cli/signals.h"
#include "controller/spec/spec.h"
#include "kreplay/v1/controller.grpc.pb.h"
#include "services/family/family.h"

namespace kreplay::cli {

// The output folder when --out is not given: kreplay-out/<study name>.
std::string DefaultOut(const spec::StudySpec& spec);

// Watches a study to its end, fetches its runs and writes the report. On a
// signal, cancels the study (it can be continued with --resume). `catalog`
// is the one the spec was loaded with (models, the family's report curves).
int WatchAndReport(v1::Controller::Stub& stub, const std::string& study_id, const spec::StudySpec& spec,
                   const family::Catalog& catalog,
                   const std::string& out, const std::string& progress_mode, bool quiet, SignalWatcher& signals,
                   const GatePlan& gate_plan);

// Runs every model in this process: no broker, no workers. The reference that
// distributed runs must equal bit for bit.
int RunLocal(const spec::StudySpec& spec, const family::Catalog& catalog, const std::string& out, int threads,
             bool quiet, const std::string& progress_mode, SignalWatcher& signals, const GatePlan& gate_plan);

}  // namespace kreplay::cli
