#include "controller/report/curves.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "services/core/strings.h"

namespace kreplay::report {
namespace {

constexpr int64_t kMiB = int64_t{1} << 20;
constexpr int64_t kGiB = int64_t{1} << 30;

// Student-t quantile for 2 degrees of freedom in closed form:
// t_p = (2p - 1) / sqrt(2 p (1 - p)).
double T2Quantile(double p) { return (2 * p - 1) / std::sqrt(2 * p * (1 - p)); }

// Mean and 95 % half-width of three values, computed plainly.
struct Three {
  double mean, half;
};
Three Stats3(double a, double b, double c) {
  double m = (a + b + c) / 3;
  double var = ((a - m) * (a - m) + (b - m) * (b - m) + (c - m) * (c - m)) / 2;
  return {m, T2Quantile(0.975) * std::sqrt(var) / std::sqrt(3.0)};
}

// The series block.mrc reports, as the blockcache family table declares it.
const family::FamilyInfo::CurveSeries kMrc{"fixed_lru_mrc", "fixed-block LRU (one-pass MRC)", "miss_ratio", "ratio",
                                           "cache_size", "bytes"};
const std::vector<family::FamilyInfo::CurveSeries> kSeries = {kMrc};

// A grid variant as spec.cc expands it: name from the base and coordinates.
spec::Variant GridVariant(const std::string& base, std::vector<spec::GridCoord> grid, const std::string& model) {
  spec::Variant v;
  v.base_name = base;
  v.grid = std::move(grid);
  v.shared_coords = v.grid.size();
  v.name = spec::VariantName(base, v.grid);
  v.model = model;
  return v;
}

// A bcache-like study: base variant "bc", grid cache_size (spec text "1GiB",
// "256MiB", in that order: the curves must sort them) x mode; two workloads;
// plus a block.mrc variant "mrc" outside the grid.
spec::StudySpec MakeSpec() {
  spec::StudySpec s;
  s.name = "curves";
  s.seeds = {1, 2, 3};
  spec::PlatformEntry p;
  p.name = "p1";
  s.platforms.push_back(p);
  for (const char* w : {"w1", "w2"}) {
    spec::WorkloadEntry e;
    e.name = w;
    s.workloads.push_back(e);
  }
  for (int64_t size : {kGiB, 256 * kMiB}) {
    for (const char* mode : {"writeback", "writethrough"}) {
      s.variants.push_back(GridVariant("bc",
                                       {{"cache_size", size == kGiB ? "1GiB" : "256MiB", size},
                                        {"mode", mode, std::string(mode)}},
                                       "fake.bcache"));
    }
  }
  spec::Variant m;
  m.name = m.base_name = "mrc";
  m.model = "block.mrc";
  s.variants.push_back(m);
  s.reference = "bc";
  return s;
}

// Hit ratio of the bc runs: a plain function of size, mode, workload and
// seed, so every expectation below can be recomputed by hand.
double HitRatio(int64_t size, bool writeback, const std::string& workload, uint64_t seed) {
  double base = size == kGiB ? 80 : 50;
  if (writeback) base += 5;
  if (workload == "w2") base -= 20;
  return base + static_cast<double>(seed);  // seeds 1, 2, 3: +1, +2, +3
}

RunRecord BcRun(int64_t size, bool writeback, const std::string& workload, uint64_t seed) {
  RunRecord r;
  std::string size_text = size == kGiB ? "1GiB" : "256MiB";
  std::string mode = writeback ? "writeback" : "writethrough";
  r.variant = "bc[cache_size=" + size_text + ",mode=" + mode + "]";
  r.run_key = r.variant + "/" + workload + "/" + std::to_string(seed);
  r.platform = "p1";
  r.workload = workload;
  r.seed = seed;
  r.model = "fake.bcache";
  r.params = "bucket_size=524288;cache_size=" + std::to_string(size) + ";mode=" + mode;
  r.result.Set("cache_hit_ratio", HitRatio(size, writeback, workload, seed), "%");
  r.result.Set("read_latency_p99_us", size == kGiB ? 100.0 * static_cast<double>(seed) : 400.0, "us");
  return r;
}

// block.mrc: sizes 4, 8, 16 KiB; seed 3 stops at 8 KiB.
RunRecord MrcRun(const std::string& variant, uint64_t seed) {
  RunRecord r;
  r.variant = variant;
  r.run_key = variant + "/w1/" + std::to_string(seed);
  r.platform = "p1";
  r.workload = "w1";
  r.seed = seed;
  r.model = "block.mrc";
  r.params = "block_size=4096";
  model::TimeSeries ts;
  ts.unit = "ratio";
  ts.t = {4096, 8192};
  ts.value = {0.9 - 0.01 * static_cast<double>(seed), 0.5};
  if (seed != 3) {
    ts.t.push_back(16384);
    ts.value.push_back(0.1 * static_cast<double>(seed));
  }
  r.result.series[kMrc.series] = ts;
  r.result.Set("max_hit_ratio", 0.9, "ratio");
  return r;
}

std::vector<RunRecord> Records() {
  std::vector<RunRecord> out;
  for (uint64_t seed : {3, 1, 2})  // arrival order must not matter
    for (const char* w : {"w2", "w1"})
      for (int64_t size : {256 * kMiB, kGiB})
        for (bool wb : {false, true}) out.push_back(BcRun(size, wb, w, seed));
  for (uint64_t seed : {2, 3, 1}) out.push_back(MrcRun("mrc", seed));
  return out;
}

Report Build(std::vector<RunRecord> recs, const spec::StudySpec& spec = MakeSpec()) {
  auto r = BuildReport(spec, std::move(recs));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

const std::vector<std::string> kMetrics = {"cache_hit_ratio", "read_latency_p99_us"};

std::vector<Curve> Curves(const Report& r, const std::vector<std::string>& metrics = kMetrics) {
  auto c = BuildCurves(r, "cache_size", metrics, kSeries);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? *c : std::vector<Curve>{};
}

// ---- ChooseXParam ----------------------------------------------------------------

model::Registry FakeRegistry() {
  model::Registry reg;
  EXPECT_TRUE(reg.RegisterFamily("blockcache").ok());
  model::ModelInfo m;
  m.name = "fake.bcache";
  m.family = "blockcache";
  m.params = {
      {"cache_size", model::ParamType::kInt, "bytes", int64_t{1}, {}, {}, {}, ""},
      {"bucket_size", model::ParamType::kInt, "bytes", int64_t{1}, {}, {}, {}, ""},
      {"mode", model::ParamType::kEnum, "", std::string("writeback"), {}, {}, {"writeback", "writethrough"}, ""},
      {"label", model::ParamType::kString, "bytes", std::string("x"), {}, {}, {}, ""},
      {"weight", model::ParamType::kDouble, "", 1.0, {}, {}, {}, ""},
  };
  EXPECT_TRUE(reg.Register(m).ok());
  model::ModelInfo other = m;
  other.name = "fake.other";
  other.params = {{"cache_size", model::ParamType::kDouble, "%", 1.0, {}, {}, {}, ""}};
  EXPECT_TRUE(reg.Register(other).ok());
  return reg;
}

// One variant "v" per grid point, each given as (key, text) coordinates;
// ChooseXParam reads the keys only, so the values are left as the texts.
using Point = std::vector<std::pair<std::string, std::string>>;
spec::StudySpec GridSpec(const std::vector<Point>& points, const std::string& model = "fake.bcache") {
  spec::StudySpec s;
  for (const auto& p : points) {
    std::vector<spec::GridCoord> grid;
    for (const auto& [key, text] : p) grid.push_back({key, text, text});
    s.variants.push_back(GridVariant("v", grid, model));
  }
  return s;
}

TEST(ChooseXParam, TheOneNumericBytesGridKey) {
  model::Registry reg = FakeRegistry();
  EXPECT_EQ(ChooseXParam(GridSpec({{{"cache_size", "1GiB"}, {"mode", "writeback"}},
                                   {{"cache_size", "2GiB"}, {"mode", "writeback"}}}),
                         reg),
            "cache_size");
  EXPECT_EQ(ChooseXParam(GridSpec({{{"mode", "writeback"}, {"cache_size", "1"}},
                                   {{"mode", "writethrough"}, {"cache_size", "1"}}}),
                         reg),
            "cache_size");
}

TEST(ChooseXParam, NoneWhenAmbiguousOrAbsent) {
  model::Registry reg = FakeRegistry();
  // Two bytes parameters: the caller must choose.
  EXPECT_EQ(ChooseXParam(GridSpec({{{"bucket_size", "1"}, {"cache_size", "1"}},
                                   {{"bucket_size", "2"}, {"cache_size", "1"}}}),
                         reg),
            "");
  // Not numeric, not bytes, not a grid at all.
  EXPECT_EQ(ChooseXParam(GridSpec({{{"label", "a"}}, {{"label", "b"}}}), reg), "");
  EXPECT_EQ(ChooseXParam(GridSpec({{{"weight", "1"}}, {{"weight", "2"}}}), reg), "");
  EXPECT_EQ(ChooseXParam(GridSpec({{}}), reg), "");
  // A model where the key is not in bytes, or a model the registry lacks.
  auto mixed = GridSpec({{{"cache_size", "1"}}});
  mixed.variants.push_back(GridSpec({{{"cache_size", "1"}}}, "fake.other").variants[0]);
  EXPECT_EQ(ChooseXParam(mixed, reg), "");
  EXPECT_EQ(ChooseXParam(GridSpec({{{"cache_size", "1"}}}, "no.such.model"), reg), "");
}

TEST(ChooseXParam, ReadsKeysNotTheTextOfValues) {
  model::Registry reg = FakeRegistry();
  // A string value that looks like another bytes key: no second key appears
  // (the name reads "v[label=a,bucket_size=1,cache_size=1]").
  auto s = GridSpec({{{"label", "a,bucket_size=1"}, {"cache_size", "1"}}, {{"label", "b"}, {"cache_size", "2"}}});
  EXPECT_EQ(s.variants[0].name, "v[label=a,bucket_size=1,cache_size=1]");
  EXPECT_EQ(ChooseXParam(s, reg), "cache_size");
}

// ---- BuildCurves -------------------------------------------------------------------

TEST(BuildCurves, GroupsByOtherGridValuesPlatformWorkloadAndMetric) {
  auto curves = Curves(Build(Records()));
  // 2 modes x 2 workloads x 2 metrics grid curves, then one MRC curve.
  ASSERT_EQ(curves.size(), 9u);
  // Canonical order: first variant bc[1GiB, writeback] -> label writeback;
  // then writethrough; workloads in spec order; metrics as requested.
  const char* labels[] = {"bc[mode=writeback]", "bc[mode=writeback]", "bc[mode=writeback]", "bc[mode=writeback]",
                          "bc[mode=writethrough]", "bc[mode=writethrough]", "bc[mode=writethrough]",
                          "bc[mode=writethrough]"};
  const char* workloads[] = {"w1", "w1", "w2", "w2", "w1", "w1", "w2", "w2"};
  for (size_t i = 0; i < 8; ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(curves[i].label, labels[i]);
    EXPECT_EQ(curves[i].platform, "p1");
    EXPECT_EQ(curves[i].workload, workloads[i]);
    EXPECT_EQ(curves[i].metric, kMetrics[i % 2]);
    EXPECT_EQ(curves[i].x_param, "cache_size");
    EXPECT_EQ(curves[i].x_unit, "bytes");
    ASSERT_EQ(curves[i].points.size(), 2u);
    // Sorted by x although the spec lists 1GiB first.
    EXPECT_EQ(curves[i].points[0].x, static_cast<double>(256 * kMiB));
    EXPECT_EQ(curves[i].points[1].x, static_cast<double>(kGiB));
  }
  EXPECT_EQ(curves[0].unit, "%");
  EXPECT_EQ(curves[1].unit, "us");
  EXPECT_EQ(curves[8].label, kMrc.label);
}

TEST(BuildCurves, PointsAreSeedMeansWithStudentTIntervals) {
  auto curves = Curves(Build(Records()));
  ASSERT_EQ(curves.size(), 9u);
  // bc[mode=writethrough] on w2, hit ratio at 1 GiB: 80 - 20 + seed.
  const Curve& c = curves[6];
  ASSERT_EQ(c.label, "bc[mode=writethrough]");
  ASSERT_EQ(c.workload, "w2");
  Three e = Stats3(61, 62, 63);
  EXPECT_EQ(c.points[1].n, 3u);
  EXPECT_NEAR(c.points[1].mean, e.mean, 1e-12);
  EXPECT_NEAR(c.points[1].ci_low, e.mean - e.half, 1e-9);
  EXPECT_NEAR(c.points[1].ci_high, e.mean + e.half, 1e-9);
  // 256 MiB writeback w1: 50 + 5 + seed.
  Three f = Stats3(56, 57, 58);
  EXPECT_NEAR(curves[0].points[0].mean, f.mean, 1e-12);
  EXPECT_NEAR(curves[0].points[0].ci_high - curves[0].points[0].ci_low, 2 * f.half, 1e-9);
  // p99 at 256 MiB is 400 for every seed: a zero-width interval.
  EXPECT_EQ(curves[1].points[0].mean, 400);
  EXPECT_EQ(curves[1].points[0].ci_low, 400);
  EXPECT_EQ(curves[1].points[0].ci_high, 400);
}

TEST(BuildCurves, MrcSeriesAveragedPerSizeOverTheSeedsThatHaveIt) {
  auto curves = Curves(Build(Records()));
  const Curve& m = curves.back();
  EXPECT_EQ(m.label, "fixed-block LRU (one-pass MRC)");
  EXPECT_EQ(m.metric, "miss_ratio");
  EXPECT_EQ(m.unit, "ratio");
  EXPECT_EQ(m.x_unit, "bytes");
  ASSERT_EQ(m.points.size(), 3u);
  EXPECT_EQ(m.points[0].x, 4096);
  EXPECT_EQ(m.points[1].x, 8192);
  EXPECT_EQ(m.points[2].x, 16384);
  EXPECT_NEAR(m.points[0].mean, Stats3(0.89, 0.88, 0.87).mean, 1e-12);
  EXPECT_EQ(m.points[0].n, 3u);
  EXPECT_EQ(m.points[1].mean, 0.5);
  // 16 KiB: seeds 1 and 2 only (0.1, 0.2); t(0.975, 1) = 12.706.
  EXPECT_EQ(m.points[2].n, 2u);
  EXPECT_NEAR(m.points[2].mean, 0.15, 1e-12);
  double half = 12.706204736174705 * (0.1 / std::sqrt(2.0)) / std::sqrt(2.0);
  EXPECT_NEAR(m.points[2].ci_high, 0.15 + half, 1e-9);
}

TEST(BuildCurves, SeveralMrcVariantsAreNamed) {
  auto spec = MakeSpec();
  spec::Variant m2 = spec.variants.back();
  m2.name = m2.base_name = "mrc64k";
  spec.variants.push_back(m2);
  auto recs = Records();
  recs.push_back(MrcRun("mrc64k", 1));
  auto curves = BuildCurves(Build(recs, spec), "", {}, kSeries);
  ASSERT_TRUE(curves.ok()) << curves.status().ToString();
  ASSERT_EQ(curves->size(), 2u);  // no x_param: MRC curves only
  EXPECT_EQ((*curves)[0].label, "fixed-block LRU (one-pass MRC) mrc");
  EXPECT_EQ((*curves)[1].label, "fixed-block LRU (one-pass MRC) mrc64k");
  EXPECT_EQ((*curves)[1].points[0].n, 1u);
  EXPECT_TRUE(std::isinf((*curves)[1].points[0].ci_high));
}

TEST(BuildCurves, OnlyGridParameterGivesTheBaseNameAsLabel) {
  spec::StudySpec s = MakeSpec();
  s.variants.clear();
  std::vector<RunRecord> recs;
  for (int64_t size : {kGiB, 16 * kMiB}) {
    spec::Variant v = GridVariant("lru", {{"cache_size", std::to_string(size), size}}, "block.lru");
    s.variants.push_back(v);
    RunRecord r;
    r.variant = v.name;
    r.run_key = v.name;
    r.platform = "p1";
    r.workload = "w1";
    r.seed = 1;
    r.params = "block_size=4096;cache_size=" + std::to_string(size) + ";policy=lru";
    r.result.Set("miss_ratio", size == kGiB ? 0.25 : 0.75, "ratio");
    recs.push_back(r);
  }
  auto curves = BuildCurves(Build(recs, s), "cache_size", {"miss_ratio"}, kSeries);
  ASSERT_TRUE(curves.ok()) << curves.status().ToString();
  ASSERT_EQ(curves->size(), 1u);
  const Curve& c = (*curves)[0];
  EXPECT_EQ(c.label, "lru");
  ASSERT_EQ(c.points.size(), 2u);
  EXPECT_EQ(c.points[0].x, static_cast<double>(16 * kMiB));
  EXPECT_EQ(c.points[0].mean, 0.75);
  EXPECT_EQ(c.points[1].mean, 0.25);
  // One seed: no interval.
  EXPECT_TRUE(std::isinf(c.points[0].ci_low) && c.points[0].ci_low < 0);
}

// A string grid value holding ",cache_size=": the curves group by the
// variants' coordinates, not by what their names read like.
TEST(BuildCurves, GridValuesWithCommasKeepTheirCurves) {
  spec::StudySpec s = MakeSpec();
  s.variants.clear();
  std::vector<RunRecord> recs;
  for (const char* tag : {"x", "x,cache_size=5"}) {
    for (int64_t size : {kGiB, 256 * kMiB}) {
      spec::Variant v = GridVariant("bc", {{"tag", tag, std::string(tag)}, {"cache_size", std::to_string(size), size}},
                                    "fake.bcache");
      s.variants.push_back(v);
      RunRecord r;
      r.variant = v.name;
      r.run_key = v.name;
      r.platform = "p1";
      r.workload = "w1";
      r.seed = 1;
      r.params = "cache_size=" + std::to_string(size) + ";tag=" + tag;
      r.result.Set("cache_hit_ratio", size == kGiB ? 90.0 : 60.0, "%");
      recs.push_back(r);
    }
  }
  EXPECT_EQ(s.variants[2].name, "bc[tag=x,cache_size=5,cache_size=1073741824]");
  auto curves = BuildCurves(Build(recs, s), "cache_size", {"cache_hit_ratio"}, kSeries);
  ASSERT_TRUE(curves.ok()) << curves.status().ToString();
  ASSERT_EQ(curves->size(), 2u);
  EXPECT_EQ((*curves)[0].label, "bc[tag=x]");
  EXPECT_EQ((*curves)[1].label, "bc[tag=x,cache_size=5]");
  for (const Curve& c : *curves) {
    ASSERT_EQ(c.points.size(), 2u);
    EXPECT_EQ(c.points[0].x, static_cast<double>(256 * kMiB));
    EXPECT_EQ(c.points[1].mean, 90.0);
  }
}

// The series drawn are the ones the caller passes (the family table's).
TEST(BuildCurves, SeriesComeFromTheFamilyTable) {
  Report r = Build(Records());
  auto none = BuildCurves(r, "", {}, {});
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
  auto other = BuildCurves(r, "", {}, {{"fixed_lru_mrc", "one-pass LRU", "miss_ratio", "ratio", "cache_size", "bytes"},
                                           {"no_such_series", "unused", "miss_ratio", "ratio", "cache_size", "bytes"}});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  ASSERT_EQ(other->size(), 1u);
  EXPECT_EQ((*other)[0].label, "one-pass LRU");
  EXPECT_EQ((*other)[0].points.size(), 3u);
}

// A series reported per run as one point with groups ("<series>/<group>"),
// joined across workloads: one curve per group and variant, x ascending.
TEST(BuildCurves, GroupedSeriesAcrossWorkloadsJoinOnePointPerRun) {
  std::vector<RunRecord> runs;
  for (uint64_t seed : {1, 2})
    for (auto [w, depth] : {std::pair{"qd32", 32}, std::pair{"qd1", 1}})
      for (const char* rw : {"read", "write"}) {
        RunRecord r;
        r.variant = "vduse";
        r.workload = std::string(w) + "-" + rw;
        r.run_key = r.variant + "/" + r.workload + "/" + std::to_string(seed);
        r.platform = "p1";
        r.seed = seed;
        r.model = "virtio.vduse";
        model::TimeSeries ts;
        ts.t = {depth};
        ts.value = {depth * (std::string(rw) == "read" ? 10.0 : 5.0) + static_cast<double>(seed)};
        r.result.series[std::string("kiops_by_depth/") + rw] = ts;
        runs.push_back(r);
      }
  spec::StudySpec sp;
  sp.name = "grouped";
  sp.seeds = {1, 2};
  spec::PlatformEntry pe;
  pe.name = "p1";
  sp.platforms.push_back(pe);
  for (const char* w : {"qd32-read", "qd32-write", "qd1-read", "qd1-write"}) {
    spec::WorkloadEntry e;
    e.name = w;
    sp.workloads.push_back(e);
  }
  spec::Variant v;
  v.name = v.base_name = "vduse";
  v.model = "virtio.vduse";
  sp.variants.push_back(v);
  sp.reference = "vduse";
  Report r = Build(runs, sp);
  const family::FamilyInfo::CurveSeries s{"kiops_by_depth", "throughput", "kiops", "kIOPS", "queue_depth", "requests",
                                          true};
  auto curves = BuildCurves(r, "", {}, {s});
  ASSERT_TRUE(curves.ok()) << curves.status().ToString();
  ASSERT_EQ(curves->size(), 2u);
  for (const Curve& c : *curves) {
    EXPECT_EQ(c.workload, "all");
    ASSERT_EQ(c.points.size(), 2u) << c.label;
    EXPECT_EQ(c.points[0].x, 1);
    EXPECT_EQ(c.points[1].x, 32);
    EXPECT_EQ(c.points[0].n, 2u);
  }
  const Curve& read = (*curves)[0].label == "throughput read" ? (*curves)[0] : (*curves)[1];
  EXPECT_EQ(read.label, "throughput read");
  EXPECT_DOUBLE_EQ(read.points[1].mean, 32 * 10.0 + 1.5);
}

TEST(BuildCurves, Errors) {
  Report r = Build(Records());
  auto no_param = BuildCurves(r, "ssd_size", kMetrics, kSeries);
  ASSERT_FALSE(no_param.ok());
  EXPECT_NE(no_param.status().message().find("ssd_size"), std::string::npos);
  auto no_metric = BuildCurves(r, "cache_size", {"cache_hit_ratio", "hit_ration"}, kSeries);
  ASSERT_FALSE(no_metric.ok());
  EXPECT_NE(no_metric.status().message().find("hit_ration"), std::string::npos);
  auto text = BuildCurves(r, "mode", kMetrics, kSeries);
  ASSERT_FALSE(text.ok());
  EXPECT_NE(text.status().message().find("not a number"), std::string::npos);
  EXPECT_NE(text.status().message().find("bc[cache_size=1GiB,mode=writeback]/w1/1"), std::string::npos);
}

// ---- CSV -----------------------------------------------------------------------------

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(CurvesCsv, OneTidyRowPerPoint) {
  auto curves = Curves(Build(Records()));
  auto lines = Lines(CurvesCsv(curves));
  ASSERT_EQ(lines.size(), 1u + 8 * 2 + 3);
  EXPECT_EQ(lines[0], "curve,platform,workload,metric,unit,x_param,x_unit,x,mean,ci_low,ci_high,n");
  // Text fields exactly; computed numbers to rounding (the interval's last
  // bit depends on the order of operations).
  auto check = [](const std::string& line, const std::string& prefix, double x, double mean, double half,
                  const std::string& n) {
    SCOPED_TRACE(line);
    ASSERT_EQ(line.rfind(prefix, 0), 0u);
    auto f = Split(std::string_view(line).substr(prefix.size()), ',');
    ASSERT_EQ(f.size(), 5u);
    EXPECT_EQ(ParseDouble(f[0]), x);
    EXPECT_NEAR(*ParseDouble(f[1]), mean, 1e-12);
    EXPECT_NEAR(*ParseDouble(f[2]), mean - half, 1e-9);
    EXPECT_NEAR(*ParseDouble(f[3]), mean + half, 1e-9);
    EXPECT_EQ(f[4], n);
  };
  Three e = Stats3(56, 57, 58);
  check(lines[1], "bc[mode=writeback],p1,w1,cache_hit_ratio,%,cache_size,bytes,", 268435456, e.mean, e.half, "3");
  EXPECT_EQ(lines[3], "bc[mode=writeback],p1,w1,read_latency_p99_us,us,cache_size,bytes,268435456,400,400,400,3");
  check(lines[4], "bc[mode=writeback],p1,w1,read_latency_p99_us,us,cache_size,bytes,", 1073741824, 200,
        Stats3(100, 200, 300).half, "3");
  check(lines.back(), "fixed-block LRU (one-pass MRC),p1,w1,miss_ratio,ratio,cache_size,bytes,", 16384, 0.15,
        12.706204736174705 * 0.1 / 2, "2");
}

TEST(CurvesCsv, QuotesLabelsWithCommasAndLeavesInfiniteBoundsEmpty) {
  Curve c;
  c.label = "bc[mode=writeback,policy=fifo]";
  c.platform = "p";
  c.workload = "w";
  c.metric = "m";
  c.unit = "%";
  c.x_param = "cache_size";
  c.x_unit = "bytes";
  double inf = std::numeric_limits<double>::infinity();
  c.points = {{1024, 1, 2.5, -inf, inf}};
  auto lines = Lines(CurvesCsv({c}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "\"bc[mode=writeback,policy=fifo]\",p,w,m,%,cache_size,bytes,1024,2.5,,,1");
}

// ---- SVG -----------------------------------------------------------------------------

size_t Count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// A small well-formedness check: tags nest and close, attributes are quoted,
// no bare '&' or '<' in text. Enough for the SVG this module writes.
bool WellFormed(const std::string& s, std::string* why) {
  std::vector<std::string> stack;
  size_t i = 0;
  if (s.rfind("<?xml", 0) == 0) i = s.find("?>") + 2;
  while (i < s.size()) {
    if (s[i] == '&') {
      size_t semi = s.find(';', i);
      std::string ent = s.substr(i, semi == std::string::npos ? 8 : semi - i + 1);
      if (ent != "&amp;" && ent != "&lt;" && ent != "&gt;" && ent != "&quot;") return *why = "bad entity " + ent, false;
      i = semi + 1;
      continue;
    }
    if (s[i] != '<') {
      ++i;
      continue;
    }
    size_t end = i + 1;
    bool in_quote = false;
    while (end < s.size() && (in_quote || s[end] != '>')) {
      if (s[end] == '"') in_quote = !in_quote;
      if (!in_quote && s[end] == '<') return *why = "'<' inside a tag at " + std::to_string(end), false;
      ++end;
    }
    if (end >= s.size()) return *why = "unterminated tag", false;
    std::string tag = s.substr(i + 1, end - i - 1);
    if (tag[0] == '/') {
      std::string name = tag.substr(1);
      if (stack.empty() || stack.back() != name) return *why = "mismatched </" + name + ">", false;
      stack.pop_back();
    } else if (tag.back() != '/') {
      stack.push_back(tag.substr(0, tag.find_first_of(" \n")));
    } else if (stack.empty()) {
      return *why = "element outside the root", false;
    }
    i = end + 1;
  }
  if (!stack.empty()) return *why = "unclosed <" + stack.back() + ">", false;
  return true;
}

TEST(CurvesSvg, TheWellFormednessCheckRejectsBrokenXml) {
  std::string why;
  EXPECT_TRUE(WellFormed("<svg><g a=\"x>y\"><line/></g></svg>", &why)) << why;
  EXPECT_FALSE(WellFormed("<svg><g></svg>", &why));
  EXPECT_FALSE(WellFormed("<svg><text>a & b</text></svg>", &why));
  EXPECT_FALSE(WellFormed("<svg><text>a</text>", &why));
}

TEST(CurvesSvg, WellFormedWithOnePolylinePerCurveAndAMarkerPerPoint) {
  auto curves = Curves(Build(Records()));
  auto svg = CurvesSvg(curves, "cache_hit_ratio");
  ASSERT_TRUE(svg.ok()) << svg.status().ToString();
  std::string why;
  EXPECT_TRUE(WellFormed(*svg, &why)) << why;
  EXPECT_EQ(Count(*svg, "<svg "), 1u);
  EXPECT_EQ(Count(*svg, "<polyline "), 4u);  // 2 modes x 2 workloads
  EXPECT_EQ(Count(*svg, "<circle "), 8u);
  EXPECT_EQ(Count(*svg, "<polygon "), 4u);   // interval bands
  // Log2 axis from 256 MiB (left edge, x = 80) to 1 GiB (right edge, x = 680).
  EXPECT_NE(svg->find(">256 MiB</text>"), std::string::npos);
  EXPECT_NE(svg->find(">512 MiB</text>"), std::string::npos);
  EXPECT_NE(svg->find(">1 GiB</text>"), std::string::npos);
  EXPECT_EQ(Count(*svg, "<circle cx=\"80.00\""), 4u);
  EXPECT_EQ(Count(*svg, "<circle cx=\"680.00\""), 4u);
  // Several workloads on one plot: the legend names them.
  EXPECT_NE(svg->find(">bc[mode=writethrough] (p1, w2)</text>"), std::string::npos);
  EXPECT_NE(svg->find("cache_hit_ratio [%]"), std::string::npos);
}

TEST(CurvesSvg, MrcCurveAndMissingMetric) {
  auto curves = Curves(Build(Records()));
  auto svg = CurvesSvg(curves, "miss_ratio");
  ASSERT_TRUE(svg.ok());
  std::string why;
  EXPECT_TRUE(WellFormed(*svg, &why)) << why;
  EXPECT_EQ(Count(*svg, "<polyline "), 1u);
  EXPECT_EQ(Count(*svg, "<circle "), 3u);
  EXPECT_NE(svg->find(">4 KiB</text>"), std::string::npos);
  EXPECT_NE(svg->find(">16 KiB</text>"), std::string::npos);
  EXPECT_NE(svg->find(">fixed-block LRU (one-pass MRC)</text>"), std::string::npos);
  auto none = CurvesSvg(curves, "nope");
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
}

TEST(CurvesSvg, EscapesTextAndUsesALinearAxisForOtherUnits) {
  Curve c;
  c.label = "a<b & \"c\"";
  c.platform = "p";
  c.workload = "w";
  c.metric = "m";
  c.unit = "us";
  c.x_param = "writeback_percent";
  c.x_unit = "%";
  c.points = {{0, 3, 10, 9, 11}, {10, 3, 20, 19, 21}, {40, 3, 30, 29, 31}};
  auto svg = CurvesSvg({c}, "m");
  ASSERT_TRUE(svg.ok());
  std::string why;
  EXPECT_TRUE(WellFormed(*svg, &why)) << why;
  EXPECT_NE(svg->find("a&lt;b &amp; &quot;c&quot;"), std::string::npos);
  EXPECT_NE(svg->find("writeback_percent [%]"), std::string::npos);
  // Linear 0..40: x = 10 sits a quarter of the way from 80 to 680.
  EXPECT_NE(svg->find("<circle cx=\"230.00\""), std::string::npos);
  EXPECT_EQ(svg->find("KiB"), std::string::npos);
}

// Pages, like bytes, go on a log2 axis, labelled as counts: 1 .. 1024
// spans ticks 2^0 .. 2^10, so x = 32 (2^5) sits half way from 80 to 680.
TEST(CurvesSvg, PagesUseALog2AxisWithCountLabels) {
  Curve c;
  c.label = "mean latency";
  c.metric = "alloc_latency_ms";
  c.unit = "ms";
  c.x_param = "request_size";
  c.x_unit = "pages";
  c.points = {{1, 1, 1, 1, 1}, {32, 1, 2, 2, 2}, {1024, 1, 3, 3, 3}};
  auto svg = CurvesSvg({c}, "alloc_latency_ms");
  ASSERT_TRUE(svg.ok());
  EXPECT_NE(svg->find("request_size [pages, log2 scale]"), std::string::npos);
  EXPECT_NE(svg->find("<circle cx=\"380.00\""), std::string::npos);
  EXPECT_NE(svg->find(">1024</text>"), std::string::npos);
  EXPECT_EQ(svg->find("KiB"), std::string::npos);
}

TEST(CurvesSvg, XmllintAcceptsIt) {
  if (std::system("which xmllint > /dev/null 2>&1") != 0) GTEST_SKIP() << "xmllint not installed";
  auto curves = Curves(Build(Records()));
  auto dir = std::filesystem::temp_directory_path() / ("curves_test_lint_" + std::to_string(::getpid()));
  ASSERT_TRUE(WriteCurveFiles(curves, dir.string()).ok());
  for (const char* f : {"curves-cache_hit_ratio.svg", "curves-read_latency_p99_us.svg", "curves-miss_ratio.svg"}) {
    std::string cmd = "xmllint --noout " + (dir / f).string() + " 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0) << f;
  }
  std::filesystem::remove_all(dir);
}

// ---- determinism and files ------------------------------------------------------------

TEST(Curves, SameRunsInAnotherOrderGiveTheSameBytes) {
  auto a = Curves(Build(Records()));
  auto recs = Records();
  std::reverse(recs.begin(), recs.end());
  auto b = Curves(Build(recs));
  EXPECT_EQ(CurvesCsv(a), CurvesCsv(b));
  for (const char* m : {"cache_hit_ratio", "read_latency_p99_us", "miss_ratio"}) {
    auto sa = CurvesSvg(a, m), sb = CurvesSvg(b, m);
    ASSERT_TRUE(sa.ok() && sb.ok());
    EXPECT_EQ(*sa, *sb) << m;
  }
}

TEST(Curves, WriteCurveFilesWritesCsvAndOneSvgPerMetric) {
  auto curves = Curves(Build(Records()));
  auto dir = std::filesystem::temp_directory_path() / ("curves_test_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  ASSERT_TRUE(WriteCurveFiles(curves, (dir / "sub").string()).ok());
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir / "sub")) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"curves-cache_hit_ratio.svg", "curves-miss_ratio.svg",
                                             "curves-read_latency_p99_us.svg", "curves.csv"}));
  std::ifstream in(dir / "sub" / "curves.csv");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), CurvesCsv(curves));
  std::filesystem::remove_all(dir);
  // Nothing to plot: nothing written.
  ASSERT_TRUE(WriteCurveFiles({}, (dir / "empty").string()).ok());
  EXPECT_FALSE(std::filesystem::exists(dir / "empty"));
}

TEST(FormatBytes, BinaryUnits) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(512), "512 B");
  EXPECT_EQ(FormatBytes(4096), "4 KiB");
  EXPECT_EQ(FormatBytes(16.0 * kMiB), "16 MiB");
  EXPECT_EQ(FormatBytes(1.5 * kGiB), "1.5 GiB");
  EXPECT_EQ(FormatBytes(256.0 * kGiB), "256 GiB");
  EXPECT_EQ(FormatBytes(2048.0 * kGiB), "2 TiB");
}

}  // namespace
}  // namespace kreplay::report
