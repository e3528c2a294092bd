// The regression gate on the command line: `--baseline`, `--fail-if`,
// `--alpha`, `--allow-model-change` (for `run` and `submit --wait`) merged
// with the spec's `gate:` section, checked before any run starts, applied to
// the finished report; and `kreplay results show|diff`.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/gate/gate.h"
#include "controller/report/results_file.h"
#include "controller/spec/spec.h"
#include "services/model/registry.h"

namespace CLI {
class App;
}

namespace kreplay::cli {

struct GateFlags {
  std::string baseline;              // result folder or results.json
  std::vector<std::string> fail_if;  // replaces the spec's gate.fail_if when given
  double alpha = -1;                 // < 0: the spec's, else 0.05
  bool allow_model_change = false;
  bool no_gate = false;              // ignore the spec's gate: section (e.g. to make a new baseline)
};

// Adds the gate flags to a subcommand.
void AddGateFlags(CLI::App* cmd, GateFlags* flags);

// What to gate, resolved and checked before the study runs: rules parsed with
// the metrics' declared directions, the baseline loaded and its model
// versions compared with the spec's. Inactive when neither the spec nor the
// flags ask for a gate.
struct GatePlan {
  bool active = false;
  std::vector<gate::Rule> rules;
  std::optional<report::ResultSet> baseline;
  gate::Options options;
};
StatusOr<GatePlan> PlanGate(const spec::StudySpec& spec, const model::Registry& registry, const GateFlags& flags);

// InvalidArgument if the baseline folder is `out`: the run would overwrite the
// baseline it is judged against, and the next CI run would compare with this one.
Status CheckBaselineNotOut(const GatePlan& plan, const std::string& out);

// Applies an active plan to the finished report.
StatusOr<gate::GateResult> ApplyGate(const GatePlan& plan, const report::Report& report);

struct ResultsCli;
// `kreplay results show DIR` / `kreplay results diff BASE NEW [--fail-if ...]`.
std::shared_ptr<ResultsCli> AddResultsCommand(CLI::App& app);
bool ResultsSelected(const ResultsCli& r);
int RunResultsCommand(const model::Registry& registry, const ResultsCli& r);

}  // namespace kreplay::cli
