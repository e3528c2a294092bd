// The regression gate: does a result set regress against a baseline (or a
// variant against its reference) by more than a threshold, with evidence?
//
// A rule "METRIC:+X%" makes an increase of the metric's mean by more than X %
// a regression ("-X%": a decrease; "X%": the metric's declared bad direction,
// model::MetricSpec::better). Comparisons are paired per seed: for every
// (variant, platform, workload) group, the seeds present on both sides give
// paired differences, their mean relative change with a Student-t interval and
// a two-sided paired t-test (services/stats). A check is
//   regression       relative change beyond the threshold in the bad direction
//                    and p < alpha;
//   within_threshold significant (p < alpha) in the bad direction, not beyond X;
//   improvement      significant in the good direction;
//   no_change        otherwise (p >= alpha; exact zero differences give p = 1).
// Equal non-zero differences on every seed are exact (p = 0) only when neither
// side varies with the seed; otherwise a sign test decides (p = 2^(1-n)). A
// metric that became non-finite on a seed where it was finite is a regression.
// Identical inputs and model versions give identical results, so "no change"
// is exact when nothing changed.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "controller/report/report.h"
#include "controller/report/results_file.h"
#include "controller/spec/gate_rule.h"
#include "services/core/status.h"
#include "services/model/registry.h"

namespace kreplay::gate {

using Rule = spec::GateRule;

// spec::ParseGateRule for command-line rules.
inline StatusOr<Rule> ParseRule(std::string_view text, model::Better declared,
                                const std::string& where = "--fail-if") {
  return spec::ParseGateRule(text, declared, where);
}

// The declared direction of `metric` among `models` (first that declares it),
// and whether any of them reports it at all.
struct MetricLookup {
  bool known = false;
  model::Better better = model::Better::kNone;
};
MetricLookup LookupMetric(const model::Registry& registry, const std::vector<std::string>& models,
                          const std::string& metric);

struct Options {
  double alpha = 0.05;
  bool allow_model_change = false;
  // Listing, not gating (`results diff` without rules): a check that cannot
  // be made (too few seeds, metric missing in the baseline) becomes a note.
  bool lenient = false;
};

enum class Verdict { kRegression, kWithinThreshold, kImprovement, kNoChange };
const char* VerdictName(Verdict v);

struct Check {
  std::string rule;  // Rule::text
  std::string metric;
  std::string variant, platform, workload;
  std::string compare_to;  // reference variant, or "baseline"
  stats::PairedComparison paired;  // reference = baseline side
  Verdict verdict = Verdict::kNoChange;
};

struct GateResult {
  std::string mode;  // "baseline" or "reference"
  std::string baseline_path, baseline_study, baseline_version;
  Options options;
  std::vector<Rule> rules;
  std::vector<Check> checks;           // rule order, then group order
  std::vector<std::string> notes;      // e.g. groups without a baseline, model changes allowed
  int regressions = 0;
  int improvements = 0;
  bool passed() const { return regressions == 0; }
};

// Each non-reference variant against its reference variant, in `current`.
// Groups whose model lacks a rule's metric are noted; InvalidArgument if no
// group has it or a comparison has fewer than 2 paired seeds.
StatusOr<GateResult> GateAgainstReference(const report::Report& current, const std::vector<Rule>& rules,
                                          const Options& options);

// Every group of `current` against the same group of `baseline`. Refuses
// (FailedPrecondition) a baseline of another schema version, or a group whose
// model or model version differs, unless options.allow_model_change. Groups
// the baseline lacks (and baseline groups this run lacks) are noted, not
// failed, and so are runs paired across different workload or platform
// digests. InvalidArgument for a gated metric missing on either side or fewer
// than 2 common seeds.
StatusOr<GateResult> GateAgainstBaseline(const report::Report& current, const report::ResultSet& baseline,
                                         const std::vector<Rule>& rules, const Options& options);

// Renderings: the "gate" object of results.json, JUnit XML (one test case per
// rule, a failure when any of its checks regresses), a Markdown section for
// summary.md and lines for the terminal.
std::string GateJson(const GateResult& g);
std::string GateJunitXml(const GateResult& g, const std::string& study);
std::string GateMarkdown(const GateResult& g);
// `gating` false: a plain listing of changes (`results diff` without rules).
std::string GateText(const GateResult& g, bool gating = true);

}  // namespace kreplay::gate
