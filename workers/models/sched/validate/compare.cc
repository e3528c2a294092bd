#include "workers/models/sched/validate/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace kreplay::sched::validate {

const char* VerdictName(Verdict v) {
  switch (v) {
    case Verdict::kPass: return "pass";
    case Verdict::kFail: return "FAIL";
    case Verdict::kReportOnly: return "report-only";
    case Verdict::kNotModelled: return "not modelled";
    case Verdict::kNoData: return "no data";
  }
  return "?";
}

void Evaluate(std::vector<Figure>& figures, const GateOptions& opt) {
  for (auto& f : figures) {
    f.error.reset();
    f.tolerance.reset();
    if (!f.kernel || !f.model) {
      f.verdict = !f.model && !f.model_note.empty() ? Verdict::kNotModelled : Verdict::kNoData;
      continue;
    }
    f.error = *f.model - *f.kernel;
    switch (f.gate) {
      case Gate::kShare:
        f.tolerance = opt.share_pp;
        break;
      case Gate::kLatency:
        if (opt.strict) f.tolerance = std::max(f.floor, opt.latency_rel * std::fabs(*f.kernel));
        break;
      case Gate::kInfo:
        break;
    }
    if (!f.tolerance) {
      f.verdict = Verdict::kReportOnly;
      continue;
    }
    // A tiny epsilon so that a difference printed as the tolerance passes.
    f.verdict = std::fabs(*f.error) <= *f.tolerance + 1e-9 ? Verdict::kPass : Verdict::kFail;
  }
}

namespace {

// Percentages with 2 decimals (their gate is in hundredths of a point), other
// values with 1 (0 from 100 up).
std::string Num(const std::optional<double>& v, const std::string& unit, bool sign = false) {
  if (!v) return "-";
  const int prec = unit == "%" || unit == "pp" ? 2 : (std::fabs(*v) >= 100 ? 0 : 1);
  char buf[64];
  std::snprintf(buf, sizeof buf, sign ? "%+.*f" : "%.*f", prec, *v);
  return std::string(buf) + (unit.empty() ? "" : " " + unit);
}

std::string GateText(const Figure& f) {
  if (f.verdict == Verdict::kNotModelled && !f.model_note.empty()) return f.model_note;
  std::string s = VerdictName(f.verdict);
  if (f.tolerance) s += " (±" + Num(f.tolerance, f.unit == "%" ? "pp" : f.unit) + ")";
  return s;
}

}  // namespace

std::string FormatTable(const ScenarioReport& r) {
  std::string out = "== " + r.scenario + ": " + r.summary + "\n";
  for (const auto& n : r.notes) out += "   note: " + n + "\n";
  if (r.skipped) return out + "   SKIPPED: " + r.skip_reason + "\n";
  std::vector<std::vector<std::string>> rows = {{"figure", "kernel", "model", "error", "gate"}};
  for (const auto& f : r.figures) {
    std::string err = Num(f.error, f.unit == "%" ? "pp" : f.unit, true);
    rows.push_back({f.name, Num(f.kernel, f.unit), f.model ? Num(f.model, f.unit) : "-", err, GateText(f)});
  }
  std::vector<size_t> w(5, 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], row[i].size());
  for (size_t k = 0; k < rows.size(); ++k) {
    std::string line = "   ";
    for (size_t i = 0; i < 5; ++i) {
      const auto& c = rows[k][i];
      const bool right = i >= 1 && i <= 3;
      std::string pad(w[i] - c.size(), ' ');
      line += (right ? pad + c : c + (i < 4 ? pad : "")) + (i < 4 ? " | " : "");
    }
    out += line + "\n";
    if (k == 0) {
      std::string sep = "   ";
      for (size_t i = 0; i < 5; ++i) sep += std::string(w[i], '-') + (i < 4 ? "-+-" : "");
      out += sep + "\n";
    }
  }
  return out;
}

std::string ToJson(const RunInfo& info, const std::vector<ScenarioReport>& reports) {
  using Json = nlohmann::ordered_json;
  Json j;
  j["kernel_release"] = info.kernel_release;
  j["model"] = info.model;
  if (!info.model_note.empty()) j["model_note"] = info.model_note;
  j["cpus"] = info.cpus;
  j["duration_s"] = info.duration_s;
  j["strict"] = info.strict;
  if (!info.fault.empty()) j["inject_fault"] = info.fault;
  auto opt = [](const std::optional<double>& v) { return v ? Json(*v) : Json(nullptr); };
  Json scen = Json::array();
  for (const auto& r : reports) {
    Json s;
    s["scenario"] = r.scenario;
    s["summary"] = r.summary;
    s["notes"] = r.notes;
    s["skipped"] = r.skipped;
    if (r.skipped) s["skip_reason"] = r.skip_reason;
    Json figs = Json::array();
    for (const auto& f : r.figures) {
      Json x;
      x["figure"] = f.name;
      x["unit"] = f.unit;
      x["kernel"] = opt(f.kernel);
      x["model"] = opt(f.model);
      x["error"] = opt(f.error);
      x["tolerance"] = opt(f.tolerance);
      x["gate"] = f.gate == Gate::kShare ? "share" : f.gate == Gate::kLatency ? "latency" : "info";
      x["verdict"] = VerdictName(f.verdict);
      if (!f.model_note.empty()) x["model_note"] = f.model_note;
      figs.push_back(std::move(x));
    }
    s["figures"] = std::move(figs);
    scen.push_back(std::move(s));
  }
  j["scenarios"] = std::move(scen);
  Tally t = Count(reports);
  j["tally"] = {{"passed", t.passed}, {"failed", t.failed}, {"report_only", t.report_only},
                {"not_modelled", t.not_modelled}, {"no_data", t.no_data}, {"skipped", t.skipped}};
  return j.dump(2) + "\n";
}

Tally Count(const std::vector<ScenarioReport>& reports) {
  Tally t;
  for (const auto& r : reports) {
    if (r.skipped) {
      ++t.skipped;
      continue;
    }
    for (const auto& f : r.figures) {
      switch (f.verdict) {
        case Verdict::kPass: ++t.passed; break;
        case Verdict::kFail: ++t.failed; break;
        case Verdict::kReportOnly: ++t.report_only; break;
        case Verdict::kNotModelled: ++t.not_modelled; break;
        case Verdict::kNoData: ++t.no_data; break;
      }
    }
  }
  return t;
}

std::optional<double> Percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size())));
  return v[rank == 0 ? 0 : rank - 1];
}

}  // namespace kreplay::sched::validate
