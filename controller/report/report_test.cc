#include "controller/report/report.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace kreplay::report {
namespace {

// Student-t quantile for 2 degrees of freedom has a closed form:
// t_p = (2p - 1) / sqrt(2 p (1 - p)); the two-sided p-value of t is
// 1 - |t| / sqrt(2 + t^2). Used as independent expectations.
double T2Quantile(double p) { return (2 * p - 1) / std::sqrt(2 * p * (1 - p)); }
double T2PValue(double t) { return 1 - std::fabs(t) / std::sqrt(2 + t * t); }

spec::StudySpec MakeSpec() {
  spec::StudySpec s;
  s.name = "unit-study";
  s.description = "hand-made";
  s.seeds = {1, 2, 3};
  spec::PlatformEntry p;
  p.name = "p1";
  p.source = "builtin:p1";
  p.digest = "pdigest";
  s.platforms.push_back(p);
  spec::WorkloadEntry w;
  w.name = "w1";
  s.workloads.push_back(w);
  spec::Variant cfs;
  cfs.name = cfs.base_name = "cfs";
  cfs.model = "m.cfs";
  cfs.model_version = "1";
  spec::Variant hmp;
  hmp.name = hmp.base_name = "hmp";
  hmp.model = "m.hmp";
  hmp.model_version = "2";
  hmp.compare_to = "cfs";
  s.variants = {cfs, hmp};
  s.reference = "cfs";
  s.metrics = {"energy", "makespan_ms"};
  s.yaml = "study: unit-study\n# raw text\n";
  return s;
}

RunRecord Rec(const std::string& variant, uint64_t seed, double energy, double makespan,
              std::vector<int64_t> wakeups = {}) {
  RunRecord r;
  r.run_key = "k-" + variant + "-" + std::to_string(seed);
  r.variant = variant;
  r.platform = "p1";
  r.workload = "w1";
  r.seed = seed;
  r.model = variant == "cfs" ? "m.cfs" : "m.hmp";
  r.model_version = variant == "cfs" ? "1" : "2";
  r.params = "x=1";
  r.platform_digest = "pdigest";
  r.workload_digest = "wd" + std::to_string(seed);
  r.result.Set("energy", energy, "J");
  r.result.Set("makespan_ms", makespan, "ms");
  if (!wakeups.empty()) {
    sim::Histogram h;
    for (int64_t v : wakeups) h.Record(v);
    r.result.histograms.emplace("wakeup_latency", h);
  }
  return r;
}

// cfs energy 10,12,14 (mean 12, sd 2); hmp 9,10,11 (diffs -1,-2,-3).
std::vector<RunRecord> Records() {
  return {Rec("cfs", 1, 10, 100, {100, 200}), Rec("cfs", 2, 12, 100, {150}), Rec("cfs", 3, 14, 100, {250}),
          Rec("hmp", 1, 9, 90),  Rec("hmp", 2, 10, 95), Rec("hmp", 3, 11, 100)};
}

Report Build(std::vector<RunRecord> recs) {
  auto r = BuildReport(MakeSpec(), std::move(recs), "testhost");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

TEST(ReportTest, AggregatesOverSeeds) {
  Report rep = Build(Records());
  ASSERT_EQ(rep.groups.size(), 2u);
  const Group* cfs = FindGroup(rep, "cfs", "p1", "w1");
  ASSERT_NE(cfs, nullptr);
  const auto& e = cfs->metrics.at("energy");
  EXPECT_EQ(e.unit, "J");
  EXPECT_EQ(e.summary.n, 3u);
  EXPECT_DOUBLE_EQ(e.summary.mean, 12.0);
  EXPECT_NEAR(e.summary.stddev, 2.0, 1e-12);
  double t = T2Quantile(0.975);
  EXPECT_NEAR(t, 4.302652729911275, 1e-9);  // the textbook value
  EXPECT_NEAR(e.summary.ci_half_width, t * 2.0 / std::sqrt(3.0), 1e-9);
  EXPECT_EQ(cfs->seeds, (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_TRUE(cfs->compare_to.empty());

  // Pooled over seeds: {100,200} + {150} + {250}; nearest rank 2 of 4 is 150,
  // rank 4 is 250 (values below 256 are exact in the histogram).
  const auto& pooled = cfs->pooled.at("wakeup_latency");
  EXPECT_EQ(pooled.count, 4u);
  EXPECT_EQ(pooled.p50, 150);
  EXPECT_EQ(pooled.p99, 250);
}

TEST(ReportTest, KnowsEachVariantsGridPoint) {
  spec::StudySpec s = MakeSpec();
  spec::Variant& hmp = s.variants[1];
  hmp.grid = {{"tag", "a,b", std::string("a,b")}, {"up", "600", int64_t{600}}};
  hmp.shared_coords = 1;
  hmp.name = spec::VariantName(hmp.base_name, hmp.grid);
  std::vector<RunRecord> recs = Records();
  for (auto& r : recs)
    if (r.variant == "hmp") r.variant = hmp.name;
  auto rep = BuildReport(s, std::move(recs));
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  ASSERT_EQ(rep->variants.size(), 2u);
  const Layout::VariantRef* v = FindVariant(*rep, "hmp[tag=a,b,up=600]");
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->base_name, "hmp");
  EXPECT_EQ(v->grid, hmp.grid);
  EXPECT_EQ(v->compare_to, "cfs");
  EXPECT_TRUE(FindVariant(*rep, "cfs")->grid.empty());
  EXPECT_EQ(FindVariant(*rep, "hmp"), nullptr);
}

TEST(ReportTest, PairedComparisonAgainstReference) {
  Report rep = Build(Records());
  const Comparison* c = FindComparison(rep, "hmp", "p1", "w1", "energy");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->reference, "cfs");
  const auto& p = c->paired;
  EXPECT_EQ(p.n, 3u);
  EXPECT_NEAR(p.mean_diff, -2.0, 1e-12);
  EXPECT_NEAR(p.stddev_diff, 1.0, 1e-12);
  double half = T2Quantile(0.975) * 1.0 / std::sqrt(3.0);
  EXPECT_NEAR(p.ci_low, -2.0 - half, 1e-9);
  EXPECT_NEAR(p.ci_high, -2.0 + half, 1e-9);
  EXPECT_NEAR(p.rel_change_pct, -100.0 * 2.0 / 12.0, 1e-9);
  EXPECT_NEAR(p.rel_ci_low_pct, 100.0 * (-2.0 - half) / 12.0, 1e-9);
  double tstat = -2.0 / (1.0 / std::sqrt(3.0));
  EXPECT_NEAR(p.p_value, T2PValue(tstat), 1e-9);
  // The reference is not compared with itself.
  EXPECT_EQ(FindComparison(rep, "cfs", "p1", "w1", "energy"), nullptr);
  // Makespan: diffs -10, -5, 0 against a constant 100.
  const Comparison* m = FindComparison(rep, "hmp", "p1", "w1", "makespan_ms");
  ASSERT_NE(m, nullptr);
  EXPECT_NEAR(m->paired.mean_diff, -5.0, 1e-12);
  EXPECT_NEAR(m->paired.rel_change_pct, -5.0, 1e-12);
}

TEST(ReportTest, PairsOnlyCommonSeeds) {
  auto recs = Records();
  recs.erase(recs.begin() + 5);  // hmp seed 3 missing
  Report rep = Build(recs);
  const Comparison* c = FindComparison(rep, "hmp", "p1", "w1", "energy");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->paired.n, 2u);
  EXPECT_NEAR(c->paired.mean_diff, -1.5, 1e-12);  // (-1 + -2) / 2
  EXPECT_NEAR(c->paired.reference_mean, 11.0, 1e-12);
}

TEST(ReportTest, OutputIndependentOfInputOrder) {
  auto recs = Records();
  std::string a = ReportJson(Build(recs));
  std::reverse(recs.begin(), recs.end());
  std::rotate(recs.begin(), recs.begin() + 2, recs.end());
  Report shuffled = Build(recs);
  EXPECT_EQ(ReportJson(shuffled), a);
  EXPECT_EQ(shuffled.runs.front().run_key, "k-cfs-1");
  EXPECT_EQ(shuffled.runs.back().run_key, "k-hmp-3");
}

TEST(ReportTest, JsonHasProvenanceAndRoundTripNumbers) {
  auto recs = Records();
  recs[0].result.Set("energy", 0.1 + 0.2, "J");  // not representable briefly
  auto j = nlohmann::json::parse(ReportJson(Build(recs)));
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["study"]["name"], "unit-study");
  EXPECT_EQ(j["provenance"]["host"], "testhost");
  EXPECT_EQ(j["provenance"]["kreplay_version"], KREPLAY_VERSION);
  ASSERT_EQ(j["provenance"]["models"].size(), 2u);
  EXPECT_EQ(j["provenance"]["models"][1]["version"], "2");
  EXPECT_EQ(j["provenance"]["platforms"][0]["digest"], "pdigest");
  EXPECT_EQ(j["provenance"]["workloads"][0]["digests"][2]["digest"], "wd3");
  EXPECT_EQ(j["provenance"]["run_keys"].size(), 6u);
  EXPECT_EQ(j["runs"][0]["scalars"]["energy"]["value"].get<double>(), 0.1 + 0.2);  // bit-exact
  EXPECT_EQ(j["comparisons"].size(), 2u);
  EXPECT_EQ(j["aggregates"][0]["pooled_histograms"]["wakeup_latency"]["pooled_p50"], 150);
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(ReportTest, CsvRows) {
  Report rep = Build(Records());
  auto rows = Lines(ResultsCsv(rep));
  ASSERT_EQ(rows.size(), 1u + 6 * 2);  // header + runs x scalars
  EXPECT_EQ(rows[0], "run_key,variant,platform,workload,seed,model,model_version,metric,value,unit");
  EXPECT_EQ(rows[1], "k-cfs-1,cfs,p1,w1,1,m.cfs,1,energy,10,J");
  EXPECT_EQ(rows[12], "k-hmp-3,hmp,p1,w1,3,m.hmp,2,makespan_ms,100,ms");

  auto agg = Lines(AggregatesCsv(rep));
  ASSERT_EQ(agg.size(), 1u + 2 * 2);
  EXPECT_EQ(agg[1].substr(0, std::string("cfs,p1,w1,energy,J,3,12,2,").size()), "cfs,p1,w1,energy,J,3,12,2,");
  EXPECT_NE(agg[3].find(",cfs,3,-2,"), std::string::npos) << agg[3];
}

TEST(ReportTest, CsvQuotesGridVariantNames) {
  auto s = MakeSpec();
  s.variants[1].name = "hmp[a=1,b=2]";
  auto recs = Records();
  for (auto& r : recs)
    if (r.variant == "hmp") r.variant = "hmp[a=1,b=2]";
  auto rep = BuildReport(s, recs);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_NE(ResultsCsv(*rep).find(",\"hmp[a=1,b=2]\",p1,"), std::string::npos);
}

TEST(ReportTest, TableCells) {
  Report rep = Build(Records());
  std::string table = FormatTable(rep);
  double half = T2Quantile(0.975) / std::sqrt(3.0);
  char change[64];
  std::snprintf(change, sizeof change, "%+.1f%% [%+.1f,%+.1f]", -200.0 / 12.0, 100.0 * (-2 - half) / 12.0,
                100.0 * (-2 + half) / 12.0);
  EXPECT_EQ(std::string(change), "-16.7% [-37.4,+4.0]");
  auto lines = Lines(table);
  std::string cfs_line, hmp_line, header;
  for (const auto& l : lines) {
    if (l.find("cfs (ref)") != std::string::npos) cfs_line = l;
    if (l.find("  hmp ") != std::string::npos) hmp_line = l;
    if (l.find("variant") != std::string::npos) header = l;
  }
  EXPECT_NE(header.find("energy [J]"), std::string::npos) << table;
  EXPECT_NE(header.find("makespan_ms [ms]"), std::string::npos) << table;
  EXPECT_NE(header.find("wakeup p50 pooled [us]"), std::string::npos) << table;
  // Means with 4 significant digits, the interval with the mean's decimals:
  // cfs energy 12 ± t*2/sqrt(3) = 4.968; hmp 10 ± t/sqrt(3) = 2.484.
  char cfs_cell[64], hmp_cell[160];
  std::snprintf(cfs_cell, sizeof cfs_cell, "%.2f ±%.2f", 12.0, T2Quantile(0.975) * 2 / std::sqrt(3.0));
  std::snprintf(hmp_cell, sizeof hmp_cell, "%.2f ±%.2f  %s", 10.0, half, change);
  EXPECT_EQ(std::string(cfs_cell), "12.00 ±4.97");
  EXPECT_NE(cfs_line.find(cfs_cell), std::string::npos) << table;
  EXPECT_NE(hmp_line.find(hmp_cell), std::string::npos) << table;
  // Pooled p50 150 ns = 0.15 us, 4 significant digits.
  EXPECT_NE(cfs_line.find("0.1500"), std::string::npos) << table;
  EXPECT_EQ(hmp_line.find('*'), std::string::npos) << "p = 0.074 is not significant";
  EXPECT_NE(table.find("p1 / w1"), std::string::npos);
  // Columns line up: the last cell (pooled p99 = 250 ns = 0.25 us) starts at
  // the same display column as its header ("±" is 2 bytes, 1 column).
  auto column = [](const std::string& l, size_t pos) {
    size_t c = 0;
    for (size_t i = 0; i < pos; ++i) c += (static_cast<unsigned char>(l[i]) & 0xC0) != 0x80;
    return c;
  };
  ASSERT_NE(cfs_line.rfind("0.2500"), std::string::npos) << table;
  EXPECT_EQ(column(header, header.find("wakeup p99")), column(cfs_line, cfs_line.rfind("0.2500"))) << table;

  std::string md = SummaryMarkdown(rep);
  EXPECT_NE(md.find("| cfs (ref) |"), std::string::npos) << md;
  EXPECT_NE(md.find("-16.7% [-37.4,+4.0]"), std::string::npos) << md;
}

TEST(ReportTest, RejectsUnknownAndDuplicateRuns) {
  auto recs = Records();
  recs.push_back(Rec("eevdf", 1, 1, 1));
  auto bad = BuildReport(MakeSpec(), recs);
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("unknown variant 'eevdf'"), std::string::npos);

  recs = Records();
  recs.push_back(Rec("cfs", 2, 1, 1));
  auto dup = BuildReport(MakeSpec(), recs);
  EXPECT_EQ(dup.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(dup.status().message().find("seed 2"), std::string::npos) << dup.status().message();
}

TEST(ReportTest, WritesAllFiles) {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kreplay_report_XXXXXX").string();
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  std::string out = tmpl + "/nested/out";
  Report rep = Build(Records());
  ASSERT_TRUE(WriteReport(rep, out).ok());
  for (const char* f : {"results.json", "results.csv", "aggregates.csv", "summary.md", "resolved-spec.yaml"})
    EXPECT_TRUE(std::filesystem::exists(out + "/" + f)) << f;
  std::ifstream in(out + "/resolved-spec.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), MakeSpec().yaml);
  std::ifstream js(out + "/results.json");
  std::stringstream jss;
  jss << js.rdbuf();
  EXPECT_EQ(jss.str(), ReportJson(rep));
  std::filesystem::remove_all(tmpl);
}

}  // namespace
}  // namespace kreplay::report
