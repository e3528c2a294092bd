#include "controller/report/report.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "services/core/files.h"
#include "services/core/strings.h"
#include "services/sim/histogram.h"

#ifndef KREPLAY_VERSION
#define KREPLAY_VERSION "unknown"
#endif

namespace kreplay::report {

namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kWakeupHistogram = "wakeup_latency";

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

// Keeps NaN and infinities out of JSON numbers (nlohmann writes them as null
// anyway; being explicit documents the intent).
Json Num(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string CsvNum(double v) { return std::isfinite(v) ? FormatDouble(v) : ""; }

std::string WithUnit(const std::string& name, const std::string& unit) {
  return unit.empty() ? name : name + " [" + unit + "]";
}

// Decimals that show `v` with 4 significant digits in fixed notation, or -1
// where fixed notation would be unreadable (very large or very small).
int FixedDecimals(double v) {
  double a = std::fabs(v);
  if (!std::isfinite(a) || a >= 1e9 || (a != 0 && a < 1e-3)) return -1;
  if (a == 0) return 0;
  int mag = static_cast<int>(std::floor(std::log10(a)));
  return std::max(0, 3 - mag);
}

std::string FixedOrSci(double v, int decimals) {
  if (decimals < 0) return Fmt("%.3e", v);
  char fmt[16];
  std::snprintf(fmt, sizeof fmt, "%%.%df", decimals);
  return Fmt(fmt, v);
}

// "12.30 ±4.97" (n >= 2; the interval with the mean's decimals, so the two
// read together), "12.30 (n=1)" or "-".
std::string MeanCell(const MetricAggregate* a) {
  if (!a || a->summary.n == 0) return "-";
  int decimals = FixedDecimals(a->summary.mean);
  std::string s = FixedOrSci(a->summary.mean, decimals);
  if (a->summary.n == 1) return s + " (n=1)";
  return s + " ±" + FixedOrSci(a->summary.ci_half_width, decimals < 0 ? -1 : decimals);
}

// "-12.3% [-14.0,-10.6]*": relative change with its interval; "*" when
// p < 0.05. Falls back to the absolute difference when the reference mean is 0.
std::string ChangeCell(const Comparison* c) {
  if (!c) return "";
  const auto& p = c->paired;
  std::string s;
  if (std::isfinite(p.rel_change_pct)) {
    s = Fmt("%+.1f%%", p.rel_change_pct);
    if (p.n >= 2) s += " [" + Fmt("%+.1f", p.rel_ci_low_pct) + "," + Fmt("%+.1f", p.rel_ci_high_pct) + "]";
  } else {
    s = "diff " + Fmt("%+.4g", p.mean_diff);
    if (p.n >= 2) s += " [" + Fmt("%+.3g", p.ci_low) + "," + Fmt("%+.3g", p.ci_high) + "]";
  }
  if (p.n >= 2 && p.p_value < 0.05) s += "*";
  return s;
}

std::string PooledCell(const Group& g, bool p99) {
  auto it = g.pooled.find(kWakeupHistogram);
  if (it == g.pooled.end() || it->second.count == 0) return "-";
  double us = static_cast<double>(p99 ? it->second.p99 : it->second.p50) / 1000.0;
  return FixedOrSci(us, FixedDecimals(us));
}

bool HasPooledWakeup(const Report& r) {
  for (const auto& g : r.groups)
    if (g.pooled.count(kWakeupHistogram)) return true;
  return false;
}

std::string MetricUnit(const Report& r, const std::string& metric) {
  for (const auto& g : r.groups) {
    auto it = g.metrics.find(metric);
    if (it != g.metrics.end() && !it->second.unit.empty()) return it->second.unit;
  }
  return "";
}

// The table's rows for one platform x workload block: a header row, then one
// row per variant; shared by the terminal table and Markdown.
std::vector<std::vector<std::string>> BlockRows(const Report& r, const std::string& platform,
                                                const std::string& workload, bool pooled) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header = {"variant"};
  for (const auto& m : r.metrics) header.push_back(WithUnit(m, MetricUnit(r, m)));
  if (pooled) {
    header.push_back("wakeup p50 pooled [us]");
    header.push_back("wakeup p99 pooled [us]");
  }
  rows.push_back(header);
  for (const auto& g : r.groups) {
    if (g.platform != platform || g.workload != workload) continue;
    std::vector<std::string> row = {g.compare_to.empty() ? g.variant + " (ref)" : g.variant};
    for (const auto& m : r.metrics) {
      auto it = g.metrics.find(m);
      std::string cell = MeanCell(it == g.metrics.end() ? nullptr : &it->second);
      std::string change = ChangeCell(FindComparison(r, g.variant, platform, workload, m));
      if (!change.empty()) cell += "  " + change;
      row.push_back(cell);
    }
    if (pooled) {
      row.push_back(PooledCell(g, false));
      row.push_back(PooledCell(g, true));
    }
    rows.push_back(row);
  }
  return rows;
}

// UTF-8 aware width: "±" is two bytes but one column.
size_t DisplayWidth(const std::string& s) {
  size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

std::string SeedsText(const Report& r) {
  std::set<uint64_t> seeds;
  for (const auto& run : r.runs) seeds.insert(run.seed);
  if (seeds.empty()) return "none";
  std::vector<std::string> parts;
  for (uint64_t s : seeds) parts.push_back(std::to_string(s));
  if (parts.size() > 6) return parts.front() + ".." + parts.back() + " (" + std::to_string(parts.size()) + ")";
  return Join(parts, ",");
}


}  // namespace

Layout LayoutOf(const spec::StudySpec& spec) {
  Layout l;
  l.study = spec.name;
  l.description = spec.description;
  l.reference = spec.reference;
  l.metrics = spec.metrics;
  for (const auto& v : spec.variants) l.variants.push_back({v.name, v.compare_to, v.base_name, v.grid});
  l.platforms = spec.platforms;
  for (const auto& w : spec.workloads) l.workloads.push_back(w.name);
  l.spec_yaml = spec.yaml;
  if (!spec.path.empty()) {
    std::error_code ec;
    auto abs = std::filesystem::absolute(spec.path, ec);
    l.spec_path = ec ? spec.path : abs.lexically_normal().string();
  }
  return l;
}

StatusOr<Report> BuildReport(const spec::StudySpec& spec, std::vector<RunRecord> runs, const std::string& host) {
  return BuildReport(LayoutOf(spec), std::move(runs), host);
}

StatusOr<Report> BuildReport(const Layout& spec, std::vector<RunRecord> runs, const std::string& host) {
  std::map<std::string, size_t> vidx, pidx, widx;
  for (size_t i = 0; i < spec.variants.size(); ++i) vidx[spec.variants[i].name] = i;
  for (size_t i = 0; i < spec.platforms.size(); ++i) pidx[spec.platforms[i].name] = i;
  for (size_t i = 0; i < spec.workloads.size(); ++i) widx[spec.workloads[i]] = i;
  using Key = std::tuple<size_t, size_t, size_t, uint64_t>;
  std::vector<std::pair<Key, size_t>> order;
  std::vector<std::string> errors;
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunRecord& r = runs[i];
    auto v = vidx.find(r.variant);
    auto p = pidx.find(r.platform);
    auto w = widx.find(r.workload);
    if (v == vidx.end()) errors.push_back("run " + r.run_key + ": unknown variant '" + r.variant + "'");
    if (p == pidx.end()) errors.push_back("run " + r.run_key + ": unknown platform '" + r.platform + "'");
    if (w == widx.end()) errors.push_back("run " + r.run_key + ": unknown workload '" + r.workload + "'");
    if (v == vidx.end() || p == pidx.end() || w == widx.end()) continue;
    order.push_back({Key{v->second, p->second, w->second, r.seed}, i});
  }
  std::sort(order.begin(), order.end());
  for (size_t i = 1; i < order.size(); ++i) {
    if (order[i].first == order[i - 1].first) {
      const RunRecord& r = runs[order[i].second];
      errors.push_back("runs " + runs[order[i - 1].second].run_key + " and " + r.run_key + " are both " +
                       r.variant + "/" + r.platform + "/" + r.workload + " seed " + std::to_string(r.seed));
    }
  }
  if (!errors.empty()) return InvalidArgument(Join(errors, "\n"));

  Report rep;
  rep.study = spec.study;
  rep.description = spec.description;
  rep.reference = spec.reference;
  rep.metrics = spec.metrics;
  rep.spec_yaml = spec.spec_yaml;
  rep.spec_path = spec.spec_path;
  rep.host = host;
  rep.variants = spec.variants;
  rep.platforms = spec.platforms;
  rep.workloads = spec.workloads;
  for (const auto& [key, i] : order) rep.runs.push_back(std::move(runs[i]));

  // Groups: consecutive runs with equal (variant, platform, workload).
  for (size_t begin = 0; begin < rep.runs.size();) {
    size_t end = begin;
    while (end < rep.runs.size() && std::get<0>(order[end].first) == std::get<0>(order[begin].first) &&
           std::get<1>(order[end].first) == std::get<1>(order[begin].first) &&
           std::get<2>(order[end].first) == std::get<2>(order[begin].first))
      ++end;
    Group g;
    const RunRecord& first = rep.runs[begin];
    g.variant = first.variant;
    g.platform = first.platform;
    g.workload = first.workload;
    g.model = first.model;
    g.model_version = first.model_version;
    g.compare_to = spec.variants[std::get<0>(order[begin].first)].compare_to;
    std::map<std::string, std::vector<double>> values;
    std::map<std::string, sim::Histogram> merged;
    for (size_t i = begin; i < end; ++i) {
      const RunRecord& r = rep.runs[i];
      g.seeds.push_back(r.seed);
      for (const auto& [name, scalar] : r.result.scalars) {
        MetricAggregate& a = g.metrics[name];
        if (a.unit.empty()) a.unit = scalar.unit;
        if (std::isfinite(scalar.value)) {
          values[name].push_back(scalar.value);
        } else {
          ++a.excluded;
        }
      }
      for (const auto& [name, h] : r.result.histograms) {
        auto [it, fresh] = merged.try_emplace(name, h.sub_bucket_bits());
        if (it->second.sub_bucket_bits() != h.sub_bucket_bits())
          return InvalidArgument("run " + r.run_key + ": histogram " + name + " has resolution " +
                                 std::to_string(h.sub_bucket_bits()) + ", other seeds " +
                                 std::to_string(it->second.sub_bucket_bits()));
        it->second.Merge(h);
      }
    }
    for (auto& [name, a] : g.metrics) a.summary = stats::Summarize(values[name]);
    for (const auto& [name, h] : merged) g.pooled[name] = PooledHistogram{h.count(), h.Percentile(0.5), h.Percentile(0.99)};
    rep.groups.push_back(std::move(g));
    begin = end;
  }

  // Comparisons, paired by seed.
  for (const auto& g : rep.groups) {
    if (g.compare_to.empty()) continue;
    const Group* ref = FindGroup(rep, g.compare_to, g.platform, g.workload);
    if (!ref) continue;
    auto seed_values = [&](const Group& grp, const std::string& metric) {
      std::map<uint64_t, double> out;
      for (const auto& r : rep.runs) {
        if (r.variant != grp.variant || r.platform != grp.platform || r.workload != grp.workload) continue;
        auto it = r.result.scalars.find(metric);
        if (it != r.result.scalars.end() && std::isfinite(it->second.value)) out[r.seed] = it->second.value;
      }
      return out;
    };
    for (const auto& [metric, agg] : g.metrics) {
      if (!ref->metrics.count(metric)) continue;
      auto cand = seed_values(g, metric);
      auto base = seed_values(*ref, metric);
      std::vector<double> rv, cv;
      for (const auto& [seed, v] : cand) {
        auto it = base.find(seed);
        if (it == base.end()) continue;
        rv.push_back(it->second);
        cv.push_back(v);
      }
      if (rv.empty()) continue;
      auto paired = stats::ComparePaired(rv, cv);
      if (!paired.ok()) return paired.status().WithContext("comparing " + g.variant + " with " + ref->variant);
      rep.comparisons.push_back(Comparison{g.variant, ref->variant, g.platform, g.workload, metric, agg.unit,
                                           *paired});
    }
  }
  return rep;
}

const Layout::VariantRef* FindVariant(const Report& r, const std::string& name) {
  for (const auto& v : r.variants)
    if (v.name == name) return &v;
  return nullptr;
}

const Group* FindGroup(const Report& r, const std::string& variant, const std::string& platform,
                       const std::string& workload) {
  for (const auto& g : r.groups)
    if (g.variant == variant && g.platform == platform && g.workload == workload) return &g;
  return nullptr;
}

const Comparison* FindComparison(const Report& r, const std::string& variant, const std::string& platform,
                                 const std::string& workload, const std::string& metric) {
  for (const auto& c : r.comparisons)
    if (c.variant == variant && c.platform == platform && c.workload == workload && c.metric == metric) return &c;
  return nullptr;
}

std::string FormatTable(const Report& r) {
  std::string out = "study " + r.study + ": " + std::to_string(r.runs.size()) + " runs, seeds " + SeedsText(r) +
                    ", reference " + r.reference + "\n";
  out += "cells: mean ±95% CI over seeds; vs reference: paired change % [95% CI], * p < 0.05\n";
  bool pooled = HasPooledWakeup(r);
  for (const auto& p : r.platforms) {
    for (const auto& w : r.workloads) {
      auto rows = BlockRows(r, p.name, w, pooled);
      if (rows.size() < 2) continue;
      std::vector<size_t> width(rows[0].size(), 0);
      for (const auto& row : rows)
        for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], DisplayWidth(row[c]));
      out += "\n" + p.name + " / " + w + "\n";
      for (size_t i = 0; i < rows.size(); ++i) {
        std::string line = " ";
        for (size_t c = 0; c < rows[i].size(); ++c) {
          line += " " + rows[i][c];
          if (c + 1 < rows[i].size()) line += std::string(width[c] - DisplayWidth(rows[i][c]) + 2, ' ');
        }
        out += line + "\n";
        if (i == 0) {
          size_t total = 1;
          for (size_t c = 0; c < width.size(); ++c) total += 1 + width[c] + (c + 1 < width.size() ? 2 : 0);
          out += "  " + std::string(total - 2, '-') + "\n";
        }
      }
    }
  }
  return out;
}

std::string ReportJson(const Report& r) { return ReportJson(r, "", ""); }

std::string ReportJson(const Report& r, const std::string& extra_key, const std::string& extra_json) {
  Json j;
  j["schema_version"] = 1;
  j["study"] = {{"name", r.study}, {"description", r.description}, {"reference", r.reference}, {"metrics", r.metrics}};

  Json prov;
  prov["kreplay_version"] = KREPLAY_VERSION;
  prov["host"] = r.host;
  prov["spec_path"] = r.spec_path;
  std::set<std::pair<std::string, std::string>> models;
  for (const auto& run : r.runs) models.insert({run.model, run.model_version});
  Json jm = Json::array();
  for (const auto& [name, version] : models) jm.push_back({{"name", name}, {"version", version}});
  prov["models"] = jm;
  Json jp = Json::array();
  for (const auto& p : r.platforms) jp.push_back({{"name", p.name}, {"source", p.source}, {"digest", p.digest}});
  prov["platforms"] = jp;
  // Synthetic workloads differ per seed, so the digests are listed per seed.
  Json jw = Json::array();
  for (const auto& w : r.workloads) {
    std::set<std::pair<uint64_t, std::string>> digests;
    for (const auto& run : r.runs)
      if (run.workload == w) digests.insert({run.seed, run.workload_digest});
    Json d = Json::array();
    for (const auto& [seed, digest] : digests) d.push_back({{"seed", seed}, {"digest", digest}});
    jw.push_back({{"name", w}, {"digests", d}});
  }
  prov["workloads"] = jw;
  Json keys = Json::array();
  for (const auto& run : r.runs) keys.push_back(run.run_key);
  prov["run_keys"] = keys;
  j["provenance"] = prov;

  Json runs = Json::array();
  for (const auto& run : r.runs) {
    Json scalars = Json::object();
    for (const auto& [name, s] : run.result.scalars) scalars[name] = {{"value", Num(s.value)}, {"unit", s.unit}};
    runs.push_back({{"run_key", run.run_key},
                    {"variant", run.variant},
                    {"platform", run.platform},
                    {"workload", run.workload},
                    {"seed", run.seed},
                    {"model", run.model},
                    {"model_version", run.model_version},
                    {"params", run.params},
                    {"platform_digest", run.platform_digest},
                    {"workload_digest", run.workload_digest},
                    {"sim_events", run.result.sim_events},
                    {"sim_time_ns", run.result.sim_time_ns},
                    {"scalars", scalars}});
  }
  j["runs"] = runs;

  Json aggs = Json::array();
  for (const auto& g : r.groups) {
    Json metrics = Json::object();
    for (const auto& [name, a] : g.metrics) {
      const auto& s = a.summary;
      metrics[name] = {{"unit", a.unit},
                       {"n", s.n},
                       {"excluded", a.excluded},
                       {"mean", Num(s.mean)},
                       {"stddev", Num(s.stddev)},
                       {"ci_half_width", Num(s.ci_half_width)},
                       {"ci_low", Num(s.mean - s.ci_half_width)},
                       {"ci_high", Num(s.mean + s.ci_half_width)},
                       {"confidence", s.confidence},
                       {"min", Num(s.min)},
                       {"max", Num(s.max)}};
    }
    Json pooled = Json::object();
    for (const auto& [name, h] : g.pooled)
      pooled[name] = {{"count", h.count}, {"pooled_p50", h.p50}, {"pooled_p99", h.p99}};
    aggs.push_back({{"variant", g.variant},
                    {"platform", g.platform},
                    {"workload", g.workload},
                    {"model", g.model},
                    {"model_version", g.model_version},
                    {"reference", g.compare_to.empty()},
                    {"compare_to", g.compare_to},
                    {"seeds", g.seeds},
                    {"metrics", metrics},
                    {"pooled_histograms", pooled}});
  }
  j["aggregates"] = aggs;

  Json comps = Json::array();
  for (const auto& c : r.comparisons) {
    const auto& p = c.paired;
    comps.push_back({{"variant", c.variant},
                     {"reference", c.reference},
                     {"platform", c.platform},
                     {"workload", c.workload},
                     {"metric", c.metric},
                     {"unit", c.unit},
                     {"n", p.n},
                     {"reference_mean", Num(p.reference_mean)},
                     {"candidate_mean", Num(p.candidate_mean)},
                     {"mean_diff", Num(p.mean_diff)},
                     {"ci_low", Num(p.ci_low)},
                     {"ci_high", Num(p.ci_high)},
                     {"rel_change_pct", Num(p.rel_change_pct)},
                     {"rel_ci_low_pct", Num(p.rel_ci_low_pct)},
                     {"rel_ci_high_pct", Num(p.rel_ci_high_pct)},
                     {"t", Num(p.t)},
                     {"p_value", Num(p.p_value)},
                     {"confidence", p.confidence}});
  }
  j["comparisons"] = comps;
  if (!extra_key.empty()) j[extra_key] = Json::parse(extra_json);
  return j.dump(2) + "\n";
}

std::string ResultsCsv(const Report& r) {
  std::string out = "run_key,variant,platform,workload,seed,model,model_version,metric,value,unit\n";
  for (const auto& run : r.runs) {
    for (const auto& [name, s] : run.result.scalars) {
      out += CsvField(run.run_key) + "," + CsvField(run.variant) + "," + CsvField(run.platform) + "," +
             CsvField(run.workload) + "," + std::to_string(run.seed) + "," + CsvField(run.model) + "," +
             CsvField(run.model_version) + "," + CsvField(name) + "," + CsvNum(s.value) + "," + CsvField(s.unit) +
             "\n";
    }
  }
  return out;
}

std::string AggregatesCsv(const Report& r) {
  std::string out =
      "variant,platform,workload,metric,unit,n,mean,stddev,ci_low,ci_high,reference,paired_n,mean_diff,"
      "diff_ci_low,diff_ci_high,rel_change_pct,rel_ci_low_pct,rel_ci_high_pct,p_value\n";
  for (const auto& g : r.groups) {
    for (const auto& [name, a] : g.metrics) {
      const auto& s = a.summary;
      out += CsvField(g.variant) + "," + CsvField(g.platform) + "," + CsvField(g.workload) + "," + CsvField(name) +
             "," + CsvField(a.unit) + "," + std::to_string(s.n) + "," + CsvNum(s.mean) + "," + CsvNum(s.stddev) + "," +
             CsvNum(s.mean - s.ci_half_width) + "," + CsvNum(s.mean + s.ci_half_width) + ",";
      if (const Comparison* c = FindComparison(r, g.variant, g.platform, g.workload, name)) {
        const auto& p = c->paired;
        out += CsvField(c->reference) + "," + std::to_string(p.n) + "," + CsvNum(p.mean_diff) + "," +
               CsvNum(p.ci_low) + "," + CsvNum(p.ci_high) + "," + CsvNum(p.rel_change_pct) + "," +
               CsvNum(p.rel_ci_low_pct) + "," + CsvNum(p.rel_ci_high_pct) + "," + CsvNum(p.p_value) + "\n";
      } else {
        out += ",,,,,,,,\n";
      }
    }
  }
  return out;
}

std::string SummaryMarkdown(const Report& r) {
  std::string out = "## kreplay study `" + r.study + "`\n\n";
  if (!r.description.empty()) out += r.description + "\n\n";
  out += std::to_string(r.runs.size()) + " runs, seeds " + SeedsText(r) + ", reference `" + r.reference +
         "`. Cells: mean ±95% CI over seeds; vs reference: paired change % [95% CI], * p < 0.05; "
         "wakeup percentiles are pooled over all seeds.\n";
  bool pooled = HasPooledWakeup(r);
  auto escape = [](const std::string& s) {
    std::string e;
    for (char c : s) {
      if (c == '|') e += '\\';
      e += c;
    }
    return e;
  };
  for (const auto& p : r.platforms) {
    for (const auto& w : r.workloads) {
      auto rows = BlockRows(r, p.name, w, pooled);
      if (rows.size() < 2) continue;
      out += "\n### " + p.name + " / " + w + "\n\n";
      for (size_t i = 0; i < rows.size(); ++i) {
        out += "|";
        for (const auto& cell : rows[i]) {
          // Appended piecewise: GCC 12 warns falsely (-Wrestrict, PR105651)
          // on "literal" + std::string temporaries here.
          out += ' ';
          out += escape(cell);
          out += " |";
        }
        out += "\n";
        if (i == 0) {
          out += "|";
          for (size_t c = 0; c < rows[i].size(); ++c) out += c == 0 ? " --- |" : " ---: |";
          out += "\n";
        }
      }
    }
  }
  return out;
}

Status WriteReport(const Report& r, const std::string& out_dir) { return WriteReport(r, out_dir, "", "", ""); }

Status WriteReport(const Report& r, const std::string& out_dir, const std::string& extra_key,
                   const std::string& extra_json, const std::string& summary_prefix) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Unavailable(out_dir + ": cannot create directory: " + ec.message());
  std::filesystem::path dir(out_dir);
  KREPLAY_RETURN_IF_ERROR(WriteFileAtomic((dir / "results.json").string(), ReportJson(r, extra_key, extra_json)));
  KREPLAY_RETURN_IF_ERROR(WriteFileAtomic((dir / "results.csv").string(), ResultsCsv(r)));
  KREPLAY_RETURN_IF_ERROR(WriteFileAtomic((dir / "aggregates.csv").string(), AggregatesCsv(r)));
  KREPLAY_RETURN_IF_ERROR(WriteFileAtomic((dir / "summary.md").string(), summary_prefix + SummaryMarkdown(r)));
  KREPLAY_RETURN_IF_ERROR(WriteFileAtomic((dir / "resolved-spec.yaml").string(), r.spec_yaml));
  return OkStatus();
}

std::string LocalHostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace kreplay::report
