#include "controller/report/curves.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <tuple>
#include <utility>

#include "services/core/files.h"
#include "services/core/strings.h"
#include "services/sim/rng.h"
#include "services/stats/stats.h"

namespace kreplay::report {

namespace {

// ---- names ---------------------------------------------------------------------

bool IsParamName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

// The value of `name` in ParamSet::Canonical() text ("a=1;b=x;..."), or
// nullopt. Names are identifiers, so ";name=" cannot start inside a numeric
// value; a string value would have to contain it literally to mislead this.
std::optional<std::string> CanonicalParam(const std::string& canonical, const std::string& name) {
  std::string key = name + "=";
  size_t at = canonical.rfind(key, 0) == 0 ? 0 : canonical.find(";" + key);
  if (at == std::string::npos) return std::nullopt;
  if (canonical[at] == ';') ++at;
  size_t begin = at + key.size();
  size_t end = canonical.find(';', begin);
  return canonical.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
}

CurvePoint PointFrom(double x, const stats::Summary& s) {
  return CurvePoint{x, s.n, s.mean, s.mean - s.ci_half_width, s.mean + s.ci_half_width};
}

// ---- number text ---------------------------------------------------------------

std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v + 0.0);  // + 0.0: no "-0.00"
  std::string s = buf;
  if (s.find_first_not_of("-0.") == std::string::npos && s[0] == '-') s.erase(0, 1);
  return s;
}

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

std::string XmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// log2 from + - * / only (sim::DetLog), exact for powers of two, so tick and
// point positions are the same bits on every machine.
double DetLog2(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // x = m * 2^e, m in [0.5, 1): exact
  if (m == 0.5) return e - 1;
  return (e - 1) + sim::DetLog(2 * m) / sim::DetLog(2.0);
}

// The 1-2-5 step nearest above range / target_ticks.
double NiceStep(double range, int target_ticks) {
  double raw = range / target_ticks;
  if (!(raw > 0) || !std::isfinite(raw)) return 1;
  double p = 1;
  while (p * 10 <= raw) p *= 10;
  while (p > raw) p /= 10;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (p * m >= raw) return p * m;
  return p * 10;
}

int StepDecimals(double step) {
  int d = 0;
  for (double s = step; s < 0.999999 && d < 12; s *= 10) ++d;
  return d;
}


// ---- curve assembly ------------------------------------------------------------

// Curves are keyed by (label, platform, workload) and kept in order of first
// appearance; the report's runs and groups are already in canonical order.
struct CurveKey {
  std::string label, platform, workload;
  auto operator<=>(const CurveKey&) const = default;
};

Status AddGridCurves(const Report& r, const std::string& x_param, const std::vector<std::string>& metrics,
                     const std::string& x_unit, std::vector<Curve>* out) {
  struct Pending {
    CurveKey key;
    std::map<std::string, Curve> by_metric;
  };
  std::vector<Pending> pending;
  std::map<CurveKey, size_t> index;
  std::set<std::string> seen_metrics;
  bool any = false;
  for (const Group& g : r.groups) {
    const RunRecord* run = nullptr;
    for (const auto& rr : r.runs) {
      if (rr.variant == g.variant && rr.platform == g.platform && rr.workload == g.workload) {
        run = &rr;
        break;
      }
    }
    if (!run) continue;
    auto text = CanonicalParam(run->params, x_param);
    if (!text) continue;
    auto x = ParseDouble(*text);
    if (!x || !std::isfinite(*x))
      return InvalidArgument("run " + run->run_key + ": parameter " + x_param + " = '" + *text +
                             "' is not a number; curves need a numeric x");
    any = true;
    // The curve: the base variant at the other grid coordinates.
    const Layout::VariantRef* v = FindVariant(r, g.variant);
    std::vector<spec::GridCoord> rest;
    if (v)
      for (const auto& c : v->grid)
        if (c.key != x_param) rest.push_back(c);
    CurveKey key{spec::VariantName(v ? v->base_name : g.variant, rest), g.platform, g.workload};
    auto [it, fresh] = index.emplace(key, pending.size());
    if (fresh) pending.push_back(Pending{key, {}});
    Pending& p = pending[it->second];
    for (const auto& metric : metrics) {
      auto m = g.metrics.find(metric);
      if (m == g.metrics.end() || m->second.summary.n == 0) continue;
      seen_metrics.insert(metric);
      Curve& c = p.by_metric[metric];
      if (c.points.empty()) {
        c.label = key.label;
        c.platform = key.platform;
        c.workload = key.workload;
        c.metric = metric;
        c.unit = m->second.unit;
        c.x_param = x_param;
        c.x_unit = x_unit;
      }
      for (const auto& pt : c.points) {
        if (pt.x == *x)
          return InvalidArgument("variant " + g.variant + ": a second point at " + x_param + " = " + *text +
                                 " on curve '" + key.label + "'");
      }
      c.points.push_back(PointFrom(*x, m->second.summary));
    }
  }
  if (!any) return InvalidArgument("curves: no run has the parameter '" + x_param + "' (the x axis)");
  std::vector<std::string> missing;
  for (const auto& metric : metrics)
    if (!seen_metrics.count(metric)) missing.push_back(metric);
  if (!missing.empty())
    return InvalidArgument("curves: no run on the " + x_param + " sweep reports " + Join(missing, ", "));
  for (auto& p : pending) {
    for (const auto& metric : metrics) {
      auto it = p.by_metric.find(metric);
      if (it == p.by_metric.end()) continue;
      Curve& c = it->second;
      std::stable_sort(c.points.begin(), c.points.end(),
                       [](const CurvePoint& a, const CurvePoint& b) { return a.x < b.x; });
      out->push_back(std::move(c));
    }
  }
  return OkStatus();
}

Status AddSeriesCurves(const Report& r, const family::FamilyInfo::CurveSeries& series, std::vector<Curve>* out) {
  struct Pending {
    std::string variant, platform, workload, group;
    std::map<double, std::vector<double>> values;  // x -> per-seed values, seed order
  };
  std::vector<Pending> pending;
  std::map<std::tuple<std::string, std::string, std::string, std::string>, size_t> index;
  std::set<std::string> variants;
  const std::string grouped = series.series + "/";
  for (const auto& run : r.runs) {
    // The series itself, then its groups ("<series>/<group>", in name order).
    for (auto s = run.result.series.lower_bound(series.series); s != run.result.series.end(); ++s) {
      std::string group;
      if (s->first != series.series) {
        if (s->first.compare(0, grouped.size(), grouped) != 0) break;
        group = s->first.substr(grouped.size());
      }
      const model::TimeSeries& ts = s->second;
      if (ts.t.size() != ts.value.size())
        return InvalidArgument("run " + run.run_key + ": series " + s->first + " has " + std::to_string(ts.t.size()) +
                               " sizes but " + std::to_string(ts.value.size()) + " values");
      variants.insert(run.variant);
      const std::string workload = series.across_workloads ? "all" : run.workload;
      auto [it, fresh] = index.emplace(std::tuple{run.variant, run.platform, workload, group}, pending.size());
      if (fresh) pending.push_back(Pending{run.variant, run.platform, workload, group, {}});
      for (size_t i = 0; i < ts.t.size(); ++i) {
        if (std::isfinite(ts.value[i])) pending[it->second].values[static_cast<double>(ts.t[i])].push_back(ts.value[i]);
      }
    }
  }
  for (auto& p : pending) {
    Curve c;
    c.label = series.label + (p.group.empty() ? "" : " " + p.group);
    if (variants.size() > 1) c.label += " " + p.variant;
    c.platform = p.platform;
    c.workload = p.workload;
    c.metric = series.metric;
    c.unit = series.unit;
    c.x_param = series.x_param;
    c.x_unit = series.x_unit;
    for (const auto& [x, v] : p.values) c.points.push_back(PointFrom(x, stats::Summarize(v)));
    out->push_back(std::move(c));
  }
  return OkStatus();
}

// ---- SVG -----------------------------------------------------------------------

constexpr const char* kPalette[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                                    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};
constexpr size_t kPaletteSize = sizeof kPalette / sizeof kPalette[0];
constexpr size_t kMaxMarkers = 40;  // curves with more points (an MRC) are drawn without markers

// Plot geometry in SVG user units; kWidth - kRight leaves room for the last
// x label ("16 GiB") centred on the right edge.
constexpr double kWidth = 720, kLeft = 80, kRight = 680, kTop = 40, kBottom = 340;

// One axis: its range and labelled ticks in axis space (log2 of the value
// on a bytes axis, the value itself on a linear one).
struct Axis {
  bool log2 = false;
  double lo = 0, hi = 1;
  std::vector<double> ticks;
  std::vector<std::string> labels;

  // Where `v` (data) or `a` (axis space) falls, as a fraction of the axis.
  double FracOfValue(double v) const { return FracOfAxis(log2 ? DetLog2(v) : v); }
  double FracOfAxis(double a) const { return (a - lo) / (hi - lo); }
};

Axis LinearAxis(double lo, double hi, int target_ticks) {
  if (!(hi > lo)) {
    double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  double step = NiceStep(hi - lo, target_ticks);
  Axis a;
  a.lo = std::floor(lo / step) * step;
  a.hi = std::ceil(hi / step) * step;
  int decimals = StepDecimals(step);
  for (double k = std::floor(lo / step); k * step <= a.hi + step * 1e-9; k += 1) {
    a.ticks.push_back(k * step);
    a.labels.push_back(Fixed(k * step, decimals));
  }
  return a;
}

// Whole powers of two around [min_x, max_x], at most 9 of them labelled.
// A log2 axis; tick labels in bytes ("4 KiB") or as counts (pages).
Axis Log2Axis(double min_x, double max_x, bool bytes) {
  Axis a;
  a.log2 = true;
  double lo = std::floor(DetLog2(min_x)), hi = std::ceil(DetLog2(max_x));
  if (hi <= lo) hi = lo + 1;
  double step = std::ceil((hi - lo) / 8);
  a.lo = std::floor(lo / step) * step;
  a.hi = std::ceil(hi / step) * step;
  for (double k = a.lo; k <= a.hi; k += step) {
    a.ticks.push_back(k);
    const double v = std::ldexp(1.0, static_cast<int>(k));
    a.labels.push_back(bytes ? FormatBytes(v) : FormatDouble(v));
  }
  return a;
}

// The plot area and its two axes: data -> SVG user units.
struct Frame {
  Axis x, y;
  double X(double v) const { return kLeft + x.FracOfValue(v) * (kRight - kLeft); }
  double Y(double v) const { return kBottom - y.FracOfValue(v) * (kBottom - kTop); }
  double TickX(size_t i) const { return kLeft + x.FracOfAxis(x.ticks[i]) * (kRight - kLeft); }
  double TickY(size_t i) const { return kBottom - y.FracOfAxis(y.ticks[i]) * (kBottom - kTop); }
  std::string Point(double vx, double vy) const { return Fixed(X(vx), 2) + "," + Fixed(Y(vy), 2); }
};

std::string AxisTitle(const std::string& name, const std::string& unit) {
  return unit.empty() ? name : name + " [" + unit + "]";
}

using Attrs = std::vector<std::pair<const char*, std::string>>;

// One element on its own line: <name a="v"/> or <name a="v">text</name>.
std::string Elem(const char* name, const Attrs& attrs, const std::string& text = "") {
  std::string s = std::string("<") + name;
  for (const auto& [k, v] : attrs) s += std::string(" ") + k + "=\"" + XmlEscape(v) + "\"";
  if (text.empty()) return s + "/>\n";
  return s + ">" + XmlEscape(text) + "</" + name + ">\n";
}

std::string N(double v) { return Fixed(v, 2); }

// The y range: the means, widened by the intervals by at most half the
// means' span on each side, so that a two-seed interval (t = 12.7) does not
// flatten every curve (the bands are clipped to the plot area). Non-negative
// data far from zero reads best from a zero baseline.
std::pair<double, double> YRange(const std::vector<const Curve*>& sel) {
  double ymin = std::numeric_limits<double>::infinity(), ymax = -ymin;
  for (const Curve* c : sel) {
    for (const auto& p : c->points) {
      ymin = std::min(ymin, p.mean);
      ymax = std::max(ymax, p.mean);
    }
  }
  double span = ymax - ymin, lo = ymin, hi = ymax;
  for (const Curve* c : sel) {
    for (const auto& p : c->points) {
      if (std::isfinite(p.ci_low)) lo = std::min(lo, std::max(p.ci_low, ymin - span / 2));
      if (std::isfinite(p.ci_high)) hi = std::max(hi, std::min(p.ci_high, ymax + span / 2));
    }
  }
  if (lo >= 0 && lo <= hi / 2) lo = 0;
  return {lo, hi};
}

// Grid lines, the axis lines (a path, so that every <polyline> is a curve),
// tick marks, tick labels and axis titles.
std::string AxesSvg(const Frame& f, const std::string& x_title, const std::string& y_title) {
  std::string s = "<g stroke=\"#dddddd\">\n";
  for (size_t i = 0; i < f.x.ticks.size(); ++i)
    s += Elem("line", {{"x1", N(f.TickX(i))}, {"y1", N(kTop)}, {"x2", N(f.TickX(i))}, {"y2", N(kBottom)}});
  for (size_t i = 0; i < f.y.ticks.size(); ++i)
    s += Elem("line", {{"x1", N(kLeft)}, {"y1", N(f.TickY(i))}, {"x2", N(kRight)}, {"y2", N(f.TickY(i))}});
  s += "</g>\n<g stroke=\"black\" fill=\"none\">\n";
  s += Elem("path", {{"d", "M" + N(kLeft) + "," + N(kTop) + " V" + N(kBottom) + " H" + N(kRight)}});
  for (size_t i = 0; i < f.x.ticks.size(); ++i)
    s += Elem("line", {{"x1", N(f.TickX(i))}, {"y1", N(kBottom)}, {"x2", N(f.TickX(i))}, {"y2", N(kBottom + 5)}});
  for (size_t i = 0; i < f.y.ticks.size(); ++i)
    s += Elem("line", {{"x1", N(kLeft - 5)}, {"y1", N(f.TickY(i))}, {"x2", N(kLeft)}, {"y2", N(f.TickY(i))}});
  s += "</g>\n<g text-anchor=\"middle\">\n";
  for (size_t i = 0; i < f.x.ticks.size(); ++i)
    s += Elem("text", {{"x", N(f.TickX(i))}, {"y", N(kBottom + 18)}}, f.x.labels[i]);
  s += Elem("text", {{"x", N((kLeft + kRight) / 2)}, {"y", N(kBottom + 38)}}, x_title);
  double mid = (kTop + kBottom) / 2;
  s += Elem("text", {{"x", "18"}, {"y", N(mid)}, {"transform", "rotate(-90 18 " + N(mid) + ")"}}, y_title);
  s += "</g>\n<g text-anchor=\"end\">\n";
  for (size_t i = 0; i < f.y.ticks.size(); ++i)
    s += Elem("text", {{"x", N(kLeft - 8)}, {"y", N(f.TickY(i) + 4)}}, f.y.labels[i]);
  return s + "</g>\n";
}

Attrs Stroke(size_t i) {
  Attrs a = {{"stroke", kPalette[i % kPaletteSize]}, {"stroke-width", "2"}};
  if (i >= kPaletteSize) a.emplace_back("stroke-dasharray", "6 3");  // colours ran out
  return a;
}

// The interval as a band (or an error bar for a lone point with one), the
// line through the means, and a marker per point unless there are many.
std::string CurveSvg(const Curve& c, size_t i, const Frame& f) {
  const std::string colour = kPalette[i % kPaletteSize];
  std::string s = "<g class=\"curve\" clip-path=\"url(#plot)\">\n";
  std::vector<const CurvePoint*> finite;
  for (const auto& p : c.points)
    if (std::isfinite(p.ci_low) && std::isfinite(p.ci_high)) finite.push_back(&p);
  if (finite.size() >= 2) {
    std::string band;
    for (const CurvePoint* p : finite) band += (band.empty() ? "" : " ") + f.Point(p->x, p->ci_high);
    for (size_t k = finite.size(); k-- > 0;) band += " " + f.Point(finite[k]->x, finite[k]->ci_low);
    s += Elem("polygon", {{"points", band}, {"fill", colour}, {"fill-opacity", "0.18"}, {"stroke", "none"}});
  } else if (finite.size() == 1) {
    const CurvePoint& p = *finite.front();
    s += Elem("line", {{"x1", N(f.X(p.x))}, {"y1", N(f.Y(p.ci_low))}, {"x2", N(f.X(p.x))}, {"y2", N(f.Y(p.ci_high))},
                       {"stroke", colour}, {"stroke-opacity", "0.5"}});
  }
  std::string line;
  for (const auto& p : c.points) line += (line.empty() ? "" : " ") + f.Point(p.x, p.mean);
  Attrs attrs = {{"points", line}, {"fill", "none"}};
  for (auto& a : Stroke(i)) attrs.push_back(a);
  s += Elem("polyline", attrs);
  if (c.points.size() <= kMaxMarkers) {
    for (const auto& p : c.points)
      s += Elem("circle", {{"cx", N(f.X(p.x))}, {"cy", N(f.Y(p.mean))}, {"r", "3"}, {"fill", colour}});
  }
  return s + "</g>\n";
}

// One row per curve below the plot; platform and workload are named only
// when the plot mixes several.
std::string LegendSvg(const std::vector<const Curve*>& sel, double top) {
  std::set<std::pair<std::string, std::string>> cells;
  for (const Curve* c : sel) cells.emplace(c->platform, c->workload);
  std::string s = "<g class=\"legend\">\n";
  s += Elem("text", {{"x", N(kRight)}, {"y", N(top - 14)}, {"text-anchor", "end"}, {"fill", "#666666"}},
            "bands: 95 % interval over seeds");
  for (size_t i = 0; i < sel.size(); ++i) {
    double y = top + 18.0 * static_cast<double>(i);
    Attrs attrs = {{"x1", N(kLeft)}, {"y1", N(y)}, {"x2", N(kLeft + 24)}, {"y2", N(y)}};
    for (auto& a : Stroke(i)) attrs.push_back(a);
    s += Elem("line", attrs);
    std::string text = sel[i]->label;
    if (cells.size() > 1) text += " (" + sel[i]->platform + ", " + sel[i]->workload + ")";
    s += Elem("text", {{"x", N(kLeft + 32)}, {"y", N(y + 4)}}, text);
  }
  return s + "</g>\n";
}

}  // namespace

std::string FormatBytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  size_t u = 0;
  double v = bytes;
  while (std::fabs(v) >= 1024 && u + 1 < sizeof kUnits / sizeof kUnits[0]) {
    v /= 1024;  // exact: a division by a power of two
    ++u;
  }
  // At most 3 significant digits, trailing zeros dropped: 16, 1.5, 0.25, 100.
  double a = std::fabs(v);
  int decimals = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  std::string s = Fixed(v, decimals);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s + " " + kUnits[u];
}

std::string ChooseXParam(const spec::StudySpec& spec, const model::Registry& registry) {
  // Grid keys in the order the grid lists them (every variant has them all).
  std::vector<std::string> keys;
  for (const auto& v : spec.variants) {
    for (const auto& c : v.grid)
      if (std::find(keys.begin(), keys.end(), c.key) == keys.end()) keys.push_back(c.key);
  }
  std::vector<std::string> sizes;
  for (const auto& key : keys) {
    bool bytes = true;
    for (const auto& v : spec.variants) {
      const model::ModelInfo* info = registry.Find(v.model);
      const model::ParamSpec* ps = nullptr;
      if (info)
        for (const auto& p : info->params)
          if (p.name == key) ps = &p;
      bytes = bytes && ps && (ps->type == model::ParamType::kInt || ps->type == model::ParamType::kDouble) &&
              ps->unit == "bytes";
    }
    if (bytes) sizes.push_back(key);
  }
  return sizes.size() == 1 ? sizes.front() : "";
}

StatusOr<std::vector<Curve>> BuildCurves(const Report& r, const std::string& x_param,
                                         const std::vector<std::string>& metrics,
                                         const std::vector<family::FamilyInfo::CurveSeries>& series,
                                         const std::string& x_unit) {
  std::vector<Curve> curves;
  if (!x_param.empty()) KREPLAY_RETURN_IF_ERROR(AddGridCurves(r, x_param, metrics, x_unit, &curves));
  for (const auto& s : series) KREPLAY_RETURN_IF_ERROR(AddSeriesCurves(r, s, &curves));
  return curves;
}

std::string CurvesCsv(const std::vector<Curve>& curves) {
  std::string out = "curve,platform,workload,metric,unit,x_param,x_unit,x,mean,ci_low,ci_high,n\n";
  for (const auto& c : curves) {
    std::string prefix = CsvField(c.label) + "," + CsvField(c.platform) + "," + CsvField(c.workload) + "," +
                         CsvField(c.metric) + "," + CsvField(c.unit) + "," + CsvField(c.x_param) + "," +
                         CsvField(c.x_unit) + ",";
    for (const auto& p : c.points) {
      out += prefix + CsvNum(p.x) + "," + CsvNum(p.mean) + "," + CsvNum(p.ci_low) + "," + CsvNum(p.ci_high) + "," +
             std::to_string(p.n) + "\n";
    }
  }
  return out;
}

StatusOr<std::string> CurvesSvg(const std::vector<Curve>& curves, const std::string& metric) {
  std::vector<const Curve*> sel;
  for (const auto& c : curves)
    if (c.metric == metric && !c.points.empty()) sel.push_back(&c);
  if (sel.empty()) return NotFound("no curve of metric '" + metric + "'");

  // x: a log2 axis when every curve is in bytes (or every one in pages)
  // and every x is positive.
  const std::string& xu = sel.front()->x_unit;
  bool log2 = xu == "bytes" || xu == "pages";
  double xmin = std::numeric_limits<double>::infinity(), xmax = -xmin;
  for (const Curve* c : sel) {
    log2 = log2 && c->x_unit == xu;
    xmin = std::min(xmin, c->points.front().x);
    xmax = std::max(xmax, c->points.back().x);
  }
  log2 = log2 && xmin > 0;
  const bool bytes = log2 && xu == "bytes";
  auto [ylo, yhi] = YRange(sel);
  Frame f{log2 ? Log2Axis(xmin, xmax, bytes) : LinearAxis(xmin, xmax, 6), LinearAxis(ylo, yhi, 5)};

  const Curve& first = *sel.front();
  const std::string y_title = AxisTitle(metric, first.unit);
  const std::string title = y_title + " vs " + first.x_param;
  const double legend_top = kBottom + 64;
  const std::string height = Fixed(legend_top + 18.0 * static_cast<double>(sel.size()) + 10, 0);
  std::string s = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Fixed(kWidth, 0) + "\" height=\"" + height +
       "\" viewBox=\"0 0 " + Fixed(kWidth, 0) + " " + height + "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  s += Elem("title", {}, title);
  s += "<defs><clipPath id=\"plot\">" +
       Elem("rect", {{"x", N(kLeft)}, {"y", N(kTop)}, {"width", N(kRight - kLeft)}, {"height", N(kBottom - kTop)}}) +
       "</clipPath></defs>\n";
  s += Elem("rect", {{"width", "100%"}, {"height", "100%"}, {"fill", "white"}});
  s += Elem("text", {{"x", N(kWidth / 2)}, {"y", "24"}, {"text-anchor", "middle"}, {"font-size", "14"}}, title);
  s += AxesSvg(f, AxisTitle(first.x_param, log2 ? xu + ", log2 scale" : first.x_unit), y_title);
  for (size_t i = 0; i < sel.size(); ++i) s += CurveSvg(*sel[i], i, f);
  s += LegendSvg(sel, legend_top);
  return s + "</svg>\n";
}

Status WriteCurvesCsv(const std::string& path, const std::vector<Curve>& curves) {
  return WriteFileAtomic(path, CurvesCsv(curves));
}

Status WriteCurvesSvg(const std::string& path, const std::vector<Curve>& curves, const std::string& metric) {
  auto svg = CurvesSvg(curves, metric);
  if (!svg.ok()) return svg.status();
  return WriteFileAtomic(path, *svg);
}

Status WriteCurveFiles(const std::vector<Curve>& curves, const std::string& out_dir) {
  if (curves.empty()) return OkStatus();
  std::filesystem::path dir(out_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable(out_dir + ": cannot create directory: " + ec.message());
  KREPLAY_RETURN_IF_ERROR(WriteCurvesCsv((dir / "curves.csv").string(), curves));
  std::vector<std::string> metrics;
  for (const auto& c : curves)
    if (std::find(metrics.begin(), metrics.end(), c.metric) == metrics.end()) metrics.push_back(c.metric);
  for (const auto& m : metrics) {
    std::string file = "curves-";
    for (char ch : m) file += IsParamName(std::string_view(&ch, 1)) ? ch : '_';
    KREPLAY_RETURN_IF_ERROR(WriteCurvesSvg((dir / (file + ".svg")).string(), curves, m));
  }
  return OkStatus();
}

}  // namespace kreplay::report
