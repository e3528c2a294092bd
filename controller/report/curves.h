// What-if curves: metrics against a swept size, as a tidy CSV and SVG plots.
//
// Two sources of curves:
//  1. A grid over one numeric parameter (x_param, e.g. cache_size). Groups of
//     the report (variant, platform, workload) whose runs set x_param are
//     gathered into one curve per (base variant + the other grid coordinates,
//     platform, workload, metric); each group is one point: x from the
//     resolved parameters (RunRecord.params, so "16GiB"-style spec text and
//     plain numbers give the same x), mean and 95 % Student-t interval over
//     seeds from the group's aggregate. The grid coordinates come structured
//     from Report::variants (spec::Variant::grid), never from variant names.
//     Label: spec::VariantName of the base name and the other coordinates,
//     "wb[mode=writeback]" for the variant "wb[cache_size=1073741824,
//     mode=writeback]", the base name alone when x_param is the only grid
//     parameter.
//  2. Per-run result series the study family declares as curves
//     (family::FamilyInfo::curve_series, e.g. block.mrc's "fixed_lru_mrc":
//     t = cache size in bytes, value = miss ratio). Every run reporting one
//     gives a curve labelled with the series' label ("fixed-block LRU
//     (one-pass MRC)", with the variant name appended when several variants
//     report that series), drawn with the axes the table declares (metric,
//     unit, x_param, x_unit; block.mrc's is "miss_ratio" over "cache_size" in
//     bytes, so a per-size block.lru sweep and the MRC share a plot). Per x:
//     mean and interval over the seeds whose series holds that x.
//
// Ordering: curves by source (grid curves first, in the order of their first
// variant in the report, then series curves in the order of `series`), then
// platform and workload in report order, then metric in the order
// requested; points by x ascending.
// Every rendering is a pure function of the curves: same curves, same bytes.
//
// Thread-safety: pure functions of their arguments (the writers touch only
// the files they are given).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "controller/report/report.h"
#include "controller/spec/spec.h"
#include "services/core/status.h"
#include "services/family/family.h"
#include "services/model/registry.h"

namespace kreplay::report {

struct CurvePoint {
  double x = 0;
  size_t n = 0;        // seeds behind the mean
  double mean = 0;
  double ci_low = 0;   // 95 % interval; -inf/+inf when n == 1
  double ci_high = 0;
};

struct Curve {
  std::string label;     // legend text
  std::string platform;
  std::string workload;
  std::string metric;
  std::string unit;      // the metric's unit ("%", "us", "ratio", ...)
  std::string x_param;   // "cache_size"
  std::string x_unit;    // "bytes" for sizes (log2 axis in the SVG), else as declared or ""
  std::vector<CurvePoint> points;  // x strictly ascending
};

// The grid parameter to plot against: the one grid key (taken from the
// variants' grid coordinates) that every model using it declares as a numeric
// (int or double) parameter with unit "bytes". "" when there is none or more
// than one (then the caller must name it). Models the registry lacks count as
// "not bytes".
std::string ChooseXParam(const spec::StudySpec& spec, const model::Registry& registry);

// Builds grid curves over `x_param` ("" = none) for `metrics` (scalar metric
// names; a group lacking one simply has no point for it), plus the curves of
// `series` (the study family's FamilyInfo::curve_series). `x_unit` is
// recorded on the grid curves ("bytes" gives a log2 axis). A report rebuilt
// from results.json knows no grid coordinates (report.h Layout::VariantRef):
// each of its variants would be a curve of its own.
// InvalidArgument when x_param is set but no run has it, when a run's value
// of it is not a number, when a metric is reported by none of the groups on
// the sweep, or when a run's series has more or fewer x than values;
// messages name the run key or metric.
StatusOr<std::vector<Curve>> BuildCurves(const Report& r, const std::string& x_param,
                                         const std::vector<std::string>& metrics,
                                         const std::vector<family::FamilyInfo::CurveSeries>& series,
                                         const std::string& x_unit = "bytes");

// Tidy CSV, one row per point: curve,platform,workload,metric,unit,x_param,
// x,mean,ci_low,ci_high,n. Numbers in shortest round-trip form; an infinite
// interval bound (n == 1) is an empty field.
std::string CurvesCsv(const std::vector<Curve>& curves);

// A self-contained SVG line plot of every curve of `metric`: one colour per
// curve, the 95 % interval as a light band, a log2 x axis labelled in binary
// units (16 MiB) when x is in bytes, else linear; a legend. Coordinates with
// two decimals, so the bytes are deterministic. NotFound if no curve has
// `metric`.
StatusOr<std::string> CurvesSvg(const std::vector<Curve>& curves, const std::string& metric);

// Write the above to `path` (temporary name, then rename).
Status WriteCurvesCsv(const std::string& path, const std::vector<Curve>& curves);
Status WriteCurvesSvg(const std::string& path, const std::vector<Curve>& curves, const std::string& metric);

// Convenience for WriteReport: curves.csv plus curves-<metric>.svg per metric
// that has a curve (metric characters outside [A-Za-z0-9._-] become '_').
// Writes nothing when `curves` is empty. Creates `out_dir`.
Status WriteCurveFiles(const std::vector<Curve>& curves, const std::string& out_dir);

// "16 MiB", "1.5 GiB", "512 B": binary units, at most 3 significant digits.
std::string FormatBytes(double bytes);

}  // namespace kreplay::report
