#include "controller/gate/gate.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "services/core/strings.h"

namespace kreplay::gate {
namespace {

using Json = nlohmann::ordered_json;

Json Num(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

std::string Fmt(const char* fmt, double v) {
  char b[64];
  std::snprintf(b, sizeof b, fmt, v);
  return b;
}

// A metric's values per seed for one group: NaN for a non-finite value.
using SeedValues = std::map<uint64_t, double>;

SeedValues ValuesOf(const std::vector<report::RunRecord>& runs, const std::string& variant,
                    const std::string& platform, const std::string& workload, const std::string& metric,
                    bool* reported) {
  SeedValues out;
  for (const auto& r : runs) {
    if (r.variant != variant || r.platform != platform || r.workload != workload) continue;
    auto it = r.result.scalars.find(metric);
    if (it == r.result.scalars.end()) continue;
    *reported = true;
    out[r.seed] = std::isfinite(it->second.value) ? it->second.value : NAN;
  }
  return out;
}

bool Constant(const std::vector<double>& v) {
  for (double x : v)
    if (x != v.front()) return false;
  return true;
}

Verdict Decide(const Rule& rule, const stats::PairedComparison& p, double alpha) {
  if (p.n < 2 || !(p.p_value < alpha)) return Verdict::kNoChange;
  // A zero reference mean leaves the relative change undefined: any change
  // then counts as beyond the threshold, in the direction of the difference.
  double rel = std::isfinite(p.rel_change_pct) ? p.rel_change_pct : (p.mean_diff > 0 ? INFINITY : -INFINITY);
  bool worse = rule.bad_is_increase ? p.mean_diff > 0 : p.mean_diff < 0;
  if (!worse) return p.mean_diff == 0 ? Verdict::kNoChange : Verdict::kImprovement;
  bool beyond = rule.bad_is_increase ? rel > rule.threshold_pct : rel < -rule.threshold_pct;
  return beyond ? Verdict::kRegression : Verdict::kWithinThreshold;
}

// Pairs two per-seed value sets and adds one check.
Status AddCheck(GateResult& g, const Rule& rule, const report::Group& grp, const std::string& compare_to,
                const SeedValues& base, const SeedValues& cand) {
  std::string group = grp.variant + " / " + grp.platform + " / " + grp.workload;
  std::vector<double> b, c;
  std::vector<std::string> lost;  // seeds finite before, non-finite now
  size_t skipped = 0;
  for (const auto& [seed, v] : cand) {
    auto it = base.find(seed);
    if (it == base.end()) continue;
    if (std::isnan(v) || std::isnan(it->second)) {
      ++skipped;
      if (std::isnan(v) && !std::isnan(it->second)) lost.push_back(std::to_string(seed));
      continue;
    }
    b.push_back(it->second);
    c.push_back(v);
  }
  if (skipped)
    g.notes.push_back("gate " + rule.text + ": " + group + ": " + std::to_string(skipped) +
                      " seed(s) left out for a non-finite value" +
                      (lost.empty() ? "" : " (non-finite now, finite in " + compare_to + ": seeds " + Join(lost, ",") + ")"));
  if (b.size() < 2) {
    std::string why = std::to_string(b.size()) + " seed(s) with a finite value on both sides" +
                      (skipped ? " (" + std::to_string(skipped) + " non-finite)" : "") +
                      "; the paired test needs at least 2 (the same seeds on both sides, e.g. `seeds: 5`)";
    if (g.options.lenient) {
      g.notes.push_back(rule.metric + " " + group + " vs " + compare_to + ": not compared: " + why);
      return OkStatus();
    }
    return InvalidArgument("gate " + rule.text + ": " + group + " vs " + compare_to + ": " + why);
  }
  auto paired = stats::ComparePaired(b, c);
  if (!paired.ok()) return paired.status().WithContext("gate " + rule.text + ": " + group);
  // Equal non-zero differences on every seed: exact when neither side varies
  // with the seed (a replay that ignores it); otherwise a coincidence the t
  // test cannot weigh (zero variance), so judge it by a sign test instead:
  // all n differences of one sign, two-sided p = 2^(1-n).
  if (paired->n >= 2 && paired->stddev_diff == 0 && paired->mean_diff != 0 && !(Constant(b) && Constant(c))) {
    paired->p_value = std::min(1.0, std::ldexp(1.0, 1 - static_cast<int>(paired->n)));
    g.notes.push_back("gate " + rule.text + ": " + group + ": the " + std::to_string(paired->n) +
                      " differences are all equal although the values vary by seed; judged by a sign test (p = " +
                      Fmt("%.3g", paired->p_value) + ")");
  }
  Verdict verdict = Decide(rule, *paired, g.options.alpha);
  // A metric that turned non-finite where it was finite is worse, whatever
  // the remaining seeds say.
  if (!lost.empty() && verdict != Verdict::kRegression) {
    verdict = Verdict::kRegression;
    g.notes.push_back("gate " + rule.text + ": " + group + ": counted as a regression: non-finite on seeds " +
                      Join(lost, ","));
  }
  Check ck{rule.text, rule.metric, grp.variant, grp.platform, grp.workload, compare_to, *paired, verdict};
  if (ck.verdict == Verdict::kRegression) ++g.regressions;
  if (ck.verdict == Verdict::kImprovement) ++g.improvements;
  g.checks.push_back(std::move(ck));
  return OkStatus();
}

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        if (static_cast<unsigned char>(ch) < 0x20 && ch != '\n' && ch != '\t' && ch != '\r') out += '?';
        else out += ch;
    }
  }
  return out;
}

std::string ChangeText(const stats::PairedComparison& p) {
  if (!std::isfinite(p.rel_change_pct)) return "diff " + Fmt("%+.4g", p.mean_diff);
  return Fmt("%+.2f%%", p.rel_change_pct) + " [" + Fmt("%+.2f", p.rel_ci_low_pct) + "," +
         Fmt("%+.2f", p.rel_ci_high_pct) + "]";
}

std::string CheckLine(const Check& c) {
  return std::string(VerdictName(c.verdict)) + ": " + c.metric + " " + c.variant + " / " + c.platform + " / " +
         c.workload + " vs " + c.compare_to + ": " + ChangeText(c.paired) + " (" + Fmt("%.6g", c.paired.reference_mean) +
         " -> " + Fmt("%.6g", c.paired.candidate_mean) + ", n=" + std::to_string(c.paired.n) + ", p=" +
         Fmt("%.3g", c.paired.p_value) + ")";
}

}  // namespace

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kRegression: return "regression";
    case Verdict::kWithinThreshold: return "within_threshold";
    case Verdict::kImprovement: return "improvement";
    case Verdict::kNoChange: return "no_change";
  }
  return "?";
}

MetricLookup LookupMetric(const model::Registry& registry, const std::vector<std::string>& models,
                          const std::string& metric) {
  MetricLookup out;
  for (const auto& name : models) {
    const model::ModelInfo* m = registry.Find(name);
    if (!m) continue;
    for (const auto& spec : m->metrics) {
      if (spec.name != metric) continue;
      if (!out.known || out.better == model::Better::kNone) out.better = spec.better;
      out.known = true;
    }
  }
  return out;
}

StatusOr<GateResult> GateAgainstReference(const report::Report& current, const std::vector<Rule>& rules,
                                          const Options& options) {
  GateResult g;
  g.mode = "reference";
  g.options = options;
  g.rules = rules;
  for (const auto& rule : rules) {
    bool any = false;
    for (const auto& grp : current.groups) {
      if (grp.compare_to.empty()) continue;
      const report::Group* ref = report::FindGroup(current, grp.compare_to, grp.platform, grp.workload);
      if (!ref) continue;
      bool rc = false, rr = false;
      SeedValues cand = ValuesOf(current.runs, grp.variant, grp.platform, grp.workload, rule.metric, &rc);
      SeedValues base = ValuesOf(current.runs, ref->variant, ref->platform, ref->workload, rule.metric, &rr);
      if (!rc || !rr) {
        g.notes.push_back("gate " + rule.text + ": " +
                          (!rc ? grp.variant + " (model " + grp.model + ")" : ref->variant + " (model " + ref->model + ")") +
                          " does not report '" + rule.metric + "' on " + grp.platform + " / " + grp.workload +
                          "; not gated");
        continue;
      }
      any = true;
      KREPLAY_RETURN_IF_ERROR(AddCheck(g, rule, grp, ref->variant, base, cand));
    }
    if (!any)
      return InvalidArgument("gate " + rule.text + ": no variant compared with a reference reports '" + rule.metric +
                             "' on both sides (or the study has no such variant; give --baseline to gate against "
                             "a recorded result set)");
  }
  return g;
}

StatusOr<GateResult> GateAgainstBaseline(const report::Report& current, const report::ResultSet& baseline,
                                         const std::vector<Rule>& rules, const Options& options) {
  GateResult g;
  g.mode = "baseline";
  g.options = options;
  g.rules = rules;
  g.baseline_path = baseline.path;
  g.baseline_study = baseline.layout.study;
  g.baseline_version = baseline.kreplay_version;
  if (baseline.schema_version != report::kResultsSchemaVersion) {
    std::string msg = baseline.path + ": results schema version " + std::to_string(baseline.schema_version) +
                      ", this kreplay writes version " + std::to_string(report::kResultsSchemaVersion);
    if (!options.allow_model_change)
      return FailedPrecondition(msg + ": refusing to compare; regenerate the baseline with this kreplay, or pass "
                                      "--allow-model-change to compare anyway");
    g.notes.push_back(msg + " (compared anyway: --allow-model-change)");
  }
  // Model and version of every baseline group.
  std::map<std::tuple<std::string, std::string, std::string>, std::pair<std::string, std::string>> base_model;
  for (const auto& r : baseline.runs) base_model.try_emplace({r.variant, r.platform, r.workload}, r.model, r.model_version);
  std::vector<std::string> changed;
  for (const auto& grp : current.groups) {
    auto it = base_model.find({grp.variant, grp.platform, grp.workload});
    if (it == base_model.end()) {
      g.notes.push_back(grp.variant + " / " + grp.platform + " / " + grp.workload +
                        ": not in the baseline (new); not gated");
      continue;
    }
    if (it->second.first != grp.model || it->second.second != grp.model_version)
      changed.push_back(grp.variant + " / " + grp.platform + " / " + grp.workload + ": baseline " +
                        it->second.first + " " + it->second.second + ", now " + grp.model + " " + grp.model_version);
  }
  for (const auto& [key, model] : base_model) {
    const auto& [variant, platform, workload] = key;
    if (!report::FindGroup(current, variant, platform, workload))
      g.notes.push_back(variant + " / " + platform + " / " + workload + ": in the baseline only; not compared");
  }
  // Same seed, other inputs: a regenerated trace, an edited platform file.
  // Often the point of the comparison, so noted rather than refused.
  std::map<std::tuple<std::string, std::string, std::string, uint64_t>, const report::RunRecord*> base_runs;
  for (const auto& r : baseline.runs) base_runs[{r.variant, r.platform, r.workload, r.seed}] = &r;
  std::set<std::string> input_changes;
  for (const auto& r : current.runs) {
    auto it = base_runs.find({r.variant, r.platform, r.workload, r.seed});
    if (it == base_runs.end()) continue;
    if (it->second->workload_digest != r.workload_digest)
      input_changes.insert("workload '" + r.workload + "' differs from the baseline's (content digest)");
    if (it->second->platform_digest != r.platform_digest)
      input_changes.insert("platform '" + r.platform + "' differs from the baseline's (content digest)");
  }
  for (const auto& c : input_changes) g.notes.push_back(c);
  if (!changed.empty()) {
    if (!options.allow_model_change)
      return FailedPrecondition(baseline.path + ": the baseline was made with other model versions, so its results "
                                "are not comparable run for run:\n  " + Join(changed, "\n  ") +
                                "\nregenerate the baseline, or pass --allow-model-change to compare anyway");
    for (auto& c : changed) g.notes.push_back("model changed (allowed): " + c);
  }
  for (const auto& rule : rules) {
    bool any = false;
    for (const auto& grp : current.groups) {
      if (!base_model.count({grp.variant, grp.platform, grp.workload})) continue;
      bool rc = false, rb = false;
      SeedValues cand = ValuesOf(current.runs, grp.variant, grp.platform, grp.workload, rule.metric, &rc);
      SeedValues base = ValuesOf(baseline.runs, grp.variant, grp.platform, grp.workload, rule.metric, &rb);
      if (!rc) {
        g.notes.push_back("gate " + rule.text + ": " + grp.variant + " (model " + grp.model + ") does not report '" +
                          rule.metric + "'; not gated");
        continue;
      }
      if (!rb) {
        std::string msg = "the baseline " + baseline.path + " has no metric '" + rule.metric + "' for " +
                          grp.variant + " / " + grp.platform + " / " + grp.workload;
        if (!options.lenient) return InvalidArgument("gate " + rule.text + ": " + msg);
        g.notes.push_back(msg + "; not compared");
        continue;
      }
      any = true;
      KREPLAY_RETURN_IF_ERROR(AddCheck(g, rule, grp, "baseline", base, cand));
    }
    if (!any && !options.lenient)
      return InvalidArgument("gate " + rule.text + ": no group of this run reports metric '" + rule.metric +
                             "' and is in the baseline " + baseline.path);
  }
  return g;
}

std::string GateJson(const GateResult& g) {
  Json j;
  j["mode"] = g.mode;
  if (g.mode == "baseline")
    j["baseline"] = {{"path", g.baseline_path}, {"study", g.baseline_study}, {"kreplay_version", g.baseline_version}};
  else
    j["baseline"] = nullptr;
  j["alpha"] = g.options.alpha;
  j["allow_model_change"] = g.options.allow_model_change;
  Json rules = Json::array();
  for (const auto& r : g.rules)
    rules.push_back({{"text", r.text}, {"metric", r.metric}, {"threshold_pct", r.threshold_pct},
                     {"bad_direction", r.bad_is_increase ? "increase" : "decrease"}});
  j["rules"] = rules;
  Json checks = Json::array();
  for (const auto& c : g.checks) {
    const auto& p = c.paired;
    checks.push_back({{"rule", c.rule}, {"metric", c.metric}, {"variant", c.variant}, {"platform", c.platform},
                      {"workload", c.workload}, {"compare_to", c.compare_to}, {"n", p.n},
                      {"baseline_mean", Num(p.reference_mean)}, {"candidate_mean", Num(p.candidate_mean)},
                      {"rel_change_pct", Num(p.rel_change_pct)}, {"rel_ci_low_pct", Num(p.rel_ci_low_pct)},
                      {"rel_ci_high_pct", Num(p.rel_ci_high_pct)}, {"p_value", Num(p.p_value)},
                      {"verdict", VerdictName(c.verdict)}});
  }
  j["checks"] = checks;
  j["notes"] = g.notes;
  j["regressions"] = g.regressions;
  j["improvements"] = g.improvements;
  j["passed"] = g.passed();
  return j.dump(2);
}

std::string GateJunitXml(const GateResult& g, const std::string& study) {
  std::string cases;
  int failures = 0;
  for (const auto& rule : g.rules) {
    std::string out, failed;
    int n = 0;
    for (const auto& c : g.checks) {
      if (c.rule != rule.text) continue;
      ++n;
      out += CheckLine(c) + "\n";
      if (c.verdict == Verdict::kRegression) failed += CheckLine(c) + "\n";
    }
    cases += "    <testcase classname=\"kreplay." + XmlEscape(study) + "\" name=\"" + XmlEscape(rule.text) + "\">\n";
    if (!failed.empty()) {
      ++failures;
      cases += "      <failure message=\"" + XmlEscape(rule.metric + " regressed beyond " + Fmt("%g", rule.threshold_pct) +
                                                   "% (p < " + Fmt("%g", g.options.alpha) + ")") +
               "\" type=\"regression\">" + XmlEscape(failed) + "</failure>\n";
    }
    cases += "      <system-out>" + XmlEscape(std::to_string(n) + " checks\n" + out) + "</system-out>\n";
    cases += "    </testcase>\n";
  }
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"kreplay.gate." +
         XmlEscape(study) + "\" tests=\"" + std::to_string(g.rules.size()) + "\" failures=\"" +
         std::to_string(failures) + "\" errors=\"0\" skipped=\"0\">\n" + cases + "  </testsuite>\n</testsuites>\n";
}

std::string GateMarkdown(const GateResult& g) {
  std::string out = std::string("## Regression gate: ") + (g.passed() ? "passed" : "**FAILED**") + "\n\n";
  out += std::to_string(g.regressions) + " regression(s), " + std::to_string(g.improvements) +
         " improvement(s); compared with " +
         (g.mode == "baseline" ? "baseline `" + g.baseline_path + "`" : std::string("each variant's reference")) +
         ", paired per seed, two-sided paired t-test at alpha " + Fmt("%g", g.options.alpha) + ".\n\n";
  out += "| rule | group | vs | change [95% CI] | mean before → after | n | p | verdict |\n";
  out += "| --- | --- | --- | ---: | ---: | ---: | ---: | --- |\n";
  for (const auto& c : g.checks) {
    out += "| `" + c.rule + "` | " + c.variant + " / " + c.platform + " / " + c.workload + " | " + c.compare_to +
           " | " + ChangeText(c.paired) + " | " + Fmt("%.6g", c.paired.reference_mean) + " → " +
           Fmt("%.6g", c.paired.candidate_mean) + " | " + std::to_string(c.paired.n) + " | " +
           Fmt("%.3g", c.paired.p_value) + " | " +
           (c.verdict == Verdict::kRegression ? "**regression**" : VerdictName(c.verdict)) + " |\n";
  }
  for (const auto& n : g.notes) out += "\n- " + n;
  if (!g.notes.empty()) out += "\n";
  return out + "\n";
}

std::string GateText(const GateResult& g, bool gating) {
  std::string out = std::string(gating ? "\nregression gate: " : "\nresults diff: ") +
                    (g.mode == "baseline" ? "vs baseline " + g.baseline_path : std::string("vs each reference variant")) +
                    ", paired per seed, alpha " + Fmt("%g", g.options.alpha) + "\n";
  std::vector<std::vector<std::string>> rows = {{"rule", "group", "vs", "change [95% CI]", "before -> after", "n", "p", "verdict"}};
  for (const auto& c : g.checks)
    rows.push_back({c.rule, c.variant + " / " + c.platform + " / " + c.workload, c.compare_to, ChangeText(c.paired),
                    Fmt("%.6g", c.paired.reference_mean) + " -> " + Fmt("%.6g", c.paired.candidate_mean),
                    std::to_string(c.paired.n), Fmt("%.3g", c.paired.p_value),
                    c.verdict == Verdict::kRegression ? (gating ? "REGRESSION" : "worse") : VerdictName(c.verdict)});
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  for (const auto& r : rows) {
    std::string line = " ";
    for (size_t i = 0; i < r.size(); ++i) line += " " + r[i] + (i + 1 < r.size() ? std::string(width[i] - r[i].size() + 1, ' ') : "");
    out += line + "\n";
  }
  for (const auto& n : g.notes) out += "  note: " + n + "\n";
  if (!gating)
    return out + std::to_string(g.regressions) + " significant change(s) in the bad direction, " +
           std::to_string(g.improvements) + " improvement(s); add --fail-if METRIC:+X% to gate\n";
  out += std::string("gate ") + (g.passed() ? "PASSED" : "FAILED") + ": " + std::to_string(g.regressions) +
         " regression(s), " + std::to_string(g.improvements) + " improvement(s)\n";
  return out;
}

}  // namespace kreplay::gate
