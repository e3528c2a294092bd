#include "controller/report/results_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "services/core/files.h"

namespace kreplay::report {
namespace {

namespace fs = std::filesystem;

class ResultsFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("kreplay-results-file-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

Layout TwoVariants() {
  Layout l;
  l.study = "rt";
  l.description = "round trip, with \"quotes\"";
  l.reference = "a";
  l.metrics = {"energy", "odd"};
  l.variants = {{"a", ""}, {"b", "a"}};
  spec::PlatformEntry p;
  p.name = "juno-r0";
  p.source = "builtin:juno-r0";
  p.digest = "abc";
  l.platforms = {p};
  l.workloads = {"w1", "w2"};
  l.spec_yaml = "study: rt\n";
  l.spec_path = "/tmp/rt.yaml";
  return l;
}

std::vector<RunRecord> SomeRuns() {
  // Values that only survive a text round trip when written exactly.
  const double tricky[] = {0.1 + 0.2, 1e-300, 123456789.123456789, -0.0, 5e-324, 1.0 / 3};
  std::vector<RunRecord> runs;
  int k = 0;
  for (const char* v : {"a", "b"})
    for (const char* w : {"w1", "w2"})
      for (uint64_t seed : {3, 7, 11}) {
        RunRecord r;
        r.run_key = std::string(v) + w + std::to_string(seed);
        r.variant = v;
        r.platform = "juno-r0";
        r.workload = w;
        r.seed = seed;
        r.model = "sched.x";
        r.model_version = "1.2";
        r.params = "p=1";
        r.platform_digest = "abc";
        r.workload_digest = "d" + std::to_string(seed);
        r.result.sim_events = 1000 + k;
        r.result.sim_time_ns = 5'000'000'000LL + k;
        r.result.scalars["energy"] = model::Scalar{100 + tricky[k % 6] + k, "mJ"};
        r.result.scalars["odd"] = model::Scalar{k == 4 ? NAN : tricky[(k + 1) % 6], ""};
        sim::Histogram h(5);
        for (int i = 1; i <= 100; ++i) h.Record(i * 1000 + k);
        r.result.histograms["wakeup_latency"] = h;
        runs.push_back(r);
        ++k;
      }
  return runs;
}

TEST_F(ResultsFileTest, RoundTripsRunsExactlyAndRebuildsTheSameTable) {
  auto rep = BuildReport(TwoVariants(), SomeRuns(), "host1");
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  ASSERT_TRUE(WriteReport(*rep, dir_.string()).ok());
  auto set = LoadResults(dir_.string());  // the folder
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  EXPECT_EQ(set->schema_version, kResultsSchemaVersion);
  EXPECT_EQ(set->host, "host1");
  EXPECT_EQ(set->layout.spec_path, "/tmp/rt.yaml");
  EXPECT_EQ(set->layout.description, TwoVariants().description);
  // Names only: results.json records no grid coordinates.
  ASSERT_EQ(set->layout.variants.size(), 2u);
  EXPECT_EQ(set->layout.variants[1].name, "b");
  EXPECT_EQ(set->layout.variants[1].compare_to, "a");
  EXPECT_EQ(set->layout.variants[1].base_name, "b");
  EXPECT_TRUE(set->layout.variants[1].grid.empty());
  ASSERT_EQ(set->runs.size(), rep->runs.size());
  for (size_t i = 0; i < rep->runs.size(); ++i) {
    const auto& a = rep->runs[i];
    const auto& b = set->runs[i];
    EXPECT_EQ(a.run_key, b.run_key);
    EXPECT_EQ(a.seed, b.seed);
    EXPECT_EQ(a.result.sim_events, b.result.sim_events);
    EXPECT_EQ(a.result.sim_time_ns, b.result.sim_time_ns);
    ASSERT_EQ(a.result.scalars.size(), b.result.scalars.size());
    for (const auto& [name, s] : a.result.scalars) {
      const auto& t = b.result.scalars.at(name);
      if (std::isnan(s.value)) {
        EXPECT_TRUE(std::isnan(t.value));
      } else {
        EXPECT_EQ(std::memcmp(&s.value, &t.value, sizeof(double)) == 0 || (s.value == 0 && t.value == 0), true)
            << name << " " << s.value << " vs " << t.value;
      }
      EXPECT_EQ(s.unit, t.unit);
    }
  }
  auto again = ReportFromResults(*set);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(FormatTable(*again), FormatTable(*rep));
  EXPECT_EQ(AggregatesCsv(*again), AggregatesCsv(*rep));
}

TEST_F(ResultsFileTest, ErrorsNameTheFileAndField) {
  auto missing = LoadResults((dir_ / "nope").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  fs::create_directories(dir_);
  std::string file = (dir_ / "results.json").string();
  ASSERT_TRUE(WriteFileAtomic(file, "{not json").ok());
  auto bad = LoadResults(file);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(file + ": not valid JSON"), std::string::npos);

  auto rep = BuildReport(TwoVariants(), SomeRuns());
  ASSERT_TRUE(rep.ok());
  std::string json = ReportJson(*rep);
  size_t at = json.find("\"seed\": 3", json.find("\"runs\": ["));
  ASSERT_NE(at, std::string::npos);
  json.replace(at, 9, "\"seed\": \"3\"");
  ASSERT_TRUE(WriteFileAtomic(file, json).ok());
  auto typed = LoadResults(file);
  ASSERT_FALSE(typed.ok());
  EXPECT_NE(typed.status().message().find("runs[0].seed: expected an unsigned integer, got string"), std::string::npos)
      << typed.status().message();
}

}  // namespace
}  // namespace kreplay::report
