#include "controller/cli/gate_cli.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <algorithm>
#include <map>
#include <set>

#include "controller/cli/exit_codes.h"
#include "services/core/files.h"
#include "services/core/strings.h"

namespace kreplay::cli {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> ModelsOf(const spec::StudySpec& spec) {
  std::vector<std::string> out;
  for (const auto& v : spec.variants)
    if (std::find(out.begin(), out.end(), v.model) == out.end()) out.push_back(v.model);
  return out;
}

std::string RuleMetric(const std::string& text) {
  return std::string(Trim(text.substr(0, text.rfind(':'))));
}

StatusOr<gate::Rule> ParseCliRule(const std::string& text, const model::Registry& registry,
                                  const std::vector<std::string>& models) {
  std::string metric = RuleMetric(text);
  auto found = gate::LookupMetric(registry, models, metric);
  if (!found.known) {
    std::set<std::string> known;
    for (const auto& name : models)
      if (const auto* m = registry.Find(name))
        for (const auto& ms : m->metrics) known.insert(ms.name);
    return InvalidArgument("--fail-if '" + text + "': '" + metric + "' is not a metric of " + Join(models, ", ") +
                           " (metrics: " + Join(std::vector<std::string>(known.begin(), known.end()), ", ") + ")");
  }
  return gate::ParseRule(text, found.better, "--fail-if");
}

int Fail(const Status& s) { return ReportFailure(s); }


}  // namespace

void AddGateFlags(CLI::App* cmd, GateFlags* f) {
  cmd->add_option("--baseline", f->baseline,
                  "Regression gate: compare with this recorded result folder (or its results.json), paired per seed");
  cmd->add_option("--fail-if", f->fail_if,
                  "Gate rule METRIC:+X% (an increase beyond X% fails), METRIC:-X% (a decrease), METRIC:X% (the "
                  "metric's bad direction); repeatable; replaces the spec's gate.fail_if. Without --baseline, "
                  "each variant is gated against its reference");
  cmd->add_option("--alpha", f->alpha, "Gate: level of the paired t-test (default: the spec's gate.alpha, else 0.05)")
      ->check(CLI::Range(1e-9, 0.999999));
  cmd->add_flag("--allow-model-change", f->allow_model_change,
                "Gate: compare with a baseline made by other model versions or another results schema");
  cmd->add_flag("--no-gate", f->no_gate, "Ignore the spec's gate: section (e.g. to record a new baseline)");
}

StatusOr<GatePlan> PlanGate(const spec::StudySpec& spec, const model::Registry& registry, const GateFlags& flags) {
  GatePlan plan;
  if (flags.no_gate) {
    if (!flags.baseline.empty() || !flags.fail_if.empty())
      return InvalidArgument("--no-gate contradicts --baseline/--fail-if");
    return plan;
  }
  std::vector<std::string> models = ModelsOf(spec);
  if (!flags.fail_if.empty()) {
    std::vector<std::string> errors;
    for (const auto& text : flags.fail_if) {
      auto r = ParseCliRule(text, registry, models);
      if (r.ok()) plan.rules.push_back(*r);
      else errors.push_back(r.status().message());
    }
    if (!errors.empty()) return InvalidArgument(Join(errors, "\n"));
  } else {
    plan.rules = spec.gate.fail_if;
  }
  std::string baseline = !flags.baseline.empty() ? flags.baseline : spec.gate.baseline;
  plan.options.alpha = flags.alpha > 0 ? flags.alpha : spec.gate.alpha;
  plan.options.allow_model_change = flags.allow_model_change;
  plan.active = !plan.rules.empty() || !baseline.empty();
  if (!plan.active) return plan;
  if (plan.rules.empty())
    return InvalidArgument("--baseline " + baseline +
                           ": no gate rules; add --fail-if METRIC:+X% (e.g. --fail-if energy:+3%) or a gate.fail_if "
                           "list to the spec");
  if (spec.seeds.size() < 2)
    return InvalidArgument(spec.path + ": seeds: the regression gate pairs runs by seed and needs at least 2 seeds "
                           "(a replay that ignores the seed, such as a recorded block trace, then gives equal "
                           "differences and an exact verdict)");
  if (baseline.empty()) {
    bool compared = false;
    for (const auto& v : spec.variants) compared |= !v.compare_to.empty();
    if (!compared)
      return InvalidArgument("gate: no --baseline and no variant compared with a reference (a single variant); "
                             "give --baseline DIR to gate against a recorded result set");
    return plan;
  }
  auto set = report::LoadResults(baseline);
  if (!set.ok())
    return set.status().WithContext(!flags.baseline.empty() ? std::string("--baseline")
                                                            : spec.path + ": gate.baseline");
  // Fail before running anything: versions and seeds are known now.
  std::vector<std::string> changed;
  std::set<std::string> seen;
  std::set<uint64_t> base_seeds;
  for (const auto& r : set->runs) {
    base_seeds.insert(r.seed);
    int vi = spec.FindVariant(r.variant);
    if (vi < 0 || !seen.insert(r.variant).second) continue;
    const auto& v = spec.variants[static_cast<size_t>(vi)];
    if (v.model != r.model || v.model_version != r.model_version)
      changed.push_back(r.variant + ": baseline " + r.model + " " + r.model_version + ", now " + v.model + " " +
                        v.model_version);
  }
  if (!plan.options.allow_model_change) {
    if (set->schema_version != report::kResultsSchemaVersion)
      return FailedPrecondition(set->path + ": results schema version " + std::to_string(set->schema_version) +
                                ", this kreplay reads version " + std::to_string(report::kResultsSchemaVersion) +
                                "; regenerate the baseline, or pass --allow-model-change");
    if (!changed.empty())
      return FailedPrecondition(set->path + ": the baseline was made with other model versions:\n  " +
                                Join(changed, "\n  ") +
                                "\nregenerate the baseline, or pass --allow-model-change to compare anyway");
  }
  if (seen.empty())
    return InvalidArgument("--baseline " + set->path + ": none of its variants (study '" + set->layout.study +
                           "') is in this study; the gate compares variants of the same names");
  for (const auto& rule : plan.rules) {
    bool reported = false;
    for (const auto& r : set->runs) reported |= spec.FindVariant(r.variant) >= 0 && r.result.scalars.count(rule.metric) > 0;
    if (!reported)
      return InvalidArgument("--baseline " + set->path + ": no run of a variant of this study reports '" + rule.metric +
                             "' (gate " + rule.text + ")");
  }
  size_t common = 0;
  for (uint64_t s : spec.seeds) common += base_seeds.count(s);
  if (common < 2)
    return InvalidArgument("--baseline " + set->path + ": " + std::to_string(common) +
                           " seed(s) in common with this study; the gate pairs runs by seed and needs at least 2 "
                           "(use the baseline's seeds)");
  plan.baseline = std::move(*set);
  return plan;
}

Status CheckBaselineNotOut(const GatePlan& plan, const std::string& out) {
  if (!plan.baseline) return OkStatus();
  std::error_code ec;
  fs::path base_dir = fs::path(plan.baseline->path).parent_path();
  if (base_dir.empty()) base_dir = ".";
  if (fs::exists(out, ec) && fs::equivalent(base_dir, out, ec))
    return InvalidArgument("--out " + out + " is the baseline's folder: the run would overwrite the baseline it is "
                           "judged against; write to another folder");
  return OkStatus();
}

StatusOr<gate::GateResult> ApplyGate(const GatePlan& plan, const report::Report& report) {
  if (plan.baseline) return gate::GateAgainstBaseline(report, *plan.baseline, plan.rules, plan.options);
  return gate::GateAgainstReference(report, plan.rules, plan.options);
}

// ---- kreplay results ----------------------------------------------------------

struct ResultsCli {
  CLI::App* cmd = nullptr;
  CLI::App* show = nullptr;
  CLI::App* diff = nullptr;
  std::string show_dir;
  std::string base, cand;
  GateFlags flags;
  std::string junit;
};

std::shared_ptr<ResultsCli> AddResultsCommand(CLI::App& app) {
  auto r = std::make_shared<ResultsCli>();
  r->cmd = app.add_subcommand("results", "Recorded result folders: `results show DIR`, `results diff BASE NEW`");
  r->cmd->require_subcommand(1);
  r->show = r->cmd->add_subcommand("show", "Print the comparison table of a result folder (written by run --out)");
  r->show->add_option("dir", r->show_dir, "Result folder or results.json")->required();
  r->diff = r->cmd->add_subcommand(
      "diff",
      "Compare two result folders run for run, paired per seed: every table metric's change with its 95% CI and "
      "p-value. With --fail-if, apply the regression gate (exit 1 on a regression) without running anything");
  r->diff->add_option("base", r->base, "Baseline result folder or results.json")->required();
  r->diff->add_option("new", r->cand, "New result folder or results.json")->required();
  r->diff->add_option("--fail-if", r->flags.fail_if, "Gate rule METRIC:+X% / METRIC:-X% / METRIC:X% (repeatable)");
  r->diff->add_option("--alpha", r->flags.alpha, "Level of the paired t-test (default 0.05)")->check(CLI::Range(1e-9, 0.999999));
  r->diff->add_flag("--allow-model-change", r->flags.allow_model_change,
                    "Compare even when model versions or the results schema differ");
  r->diff->add_option("--junit", r->junit, "Also write JUnit XML (one test case per rule) to this file");
  return r;
}

bool ResultsSelected(const ResultsCli& r) { return r.cmd->parsed(); }

int RunResultsCommand(const model::Registry& registry, const ResultsCli& r) {
  if (r.show->parsed()) {
    auto set = report::LoadResults(r.show_dir);
    if (!set.ok()) return Fail(set.status());
    auto rep = report::ReportFromResults(*set);
    if (!rep.ok()) return Fail(rep.status());
    std::fputs(report::FormatTable(*rep).c_str(), stdout);
    return kExitOk;
  }
  auto base = report::LoadResults(r.base);
  if (!base.ok()) return Fail(base.status());
  auto cand = report::LoadResults(r.cand);
  if (!cand.ok()) return Fail(cand.status());
  auto rep = report::ReportFromResults(*cand);
  if (!rep.ok()) return Fail(rep.status());
  std::vector<std::string> models;
  for (const auto& run : cand->runs)
    if (std::find(models.begin(), models.end(), run.model) == models.end()) models.push_back(run.model);
  std::vector<gate::Rule> rules;
  bool gating = !r.flags.fail_if.empty();
  if (gating) {
    std::vector<std::string> errors;
    for (const auto& text : r.flags.fail_if) {
      auto rule = ParseCliRule(text, registry, models);
      if (rule.ok()) rules.push_back(*rule);
      else errors.push_back(rule.status().message());
    }
    if (!errors.empty()) return Fail(InvalidArgument(Join(errors, "\n")));
  } else {
    // No rules: every table metric, threshold 0, only to list the changes.
    for (const auto& m : rep->metrics) {
      auto found = gate::LookupMetric(registry, models, m);
      auto rule = gate::ParseRule(m + ":" + (found.better == model::Better::kHigher ? "-" : "+") + "0%", found.better);
      if (rule.ok()) rules.push_back(*rule);
    }
  }
  gate::Options options;
  options.alpha = r.flags.alpha > 0 ? r.flags.alpha : 0.05;
  options.allow_model_change = r.flags.allow_model_change;
  options.lenient = !gating;
  auto g = gate::GateAgainstBaseline(*rep, *base, rules, options);
  if (!g.ok()) return Fail(g.status());
  std::string text = gate::GateText(*g, gating);
  std::fputs(text.c_str(), stdout);
  if (!r.junit.empty()) {
    Status st = WriteFileAtomic(r.junit, gate::GateJunitXml(*g, rep->study));
    if (!st.ok()) return Fail(st);
  }
  return gating && !g->passed() ? kExitRegression : kExitOk;
}

}  // namespace kreplay::cli
