#include "controller/gate/gate.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace kreplay::gate {
namespace {

constexpr int kSeeds = 8;
// Fixed, zero-mean perturbations (no RNG: the test data is part of the test).
constexpr double kNoise[kSeeds] = {0.9, -0.4, 0.3, -1.1, 0.6, -0.2, 0.5, -0.6};

report::Layout OneGroupLayout() {
  report::Layout l;
  l.study = "s";
  l.reference = "cfs";
  l.metrics = {"energy"};
  l.variants = {{"cfs", ""}, {"hmp", "cfs"}};
  spec::PlatformEntry p;
  p.name = "juno-r0";
  l.platforms = {p};
  l.workloads = {"w"};
  return l;
}

report::RunRecord MakeRun(const std::string& variant, uint64_t seed, double energy, const std::string& version = "1.0") {
  report::RunRecord r;
  r.run_key = variant + std::to_string(seed);
  r.variant = variant;
  r.platform = "juno-r0";
  r.workload = "w";
  r.seed = seed;
  r.model = "sched." + variant;
  r.model_version = version;
  r.result.scalars["energy"] = model::Scalar{energy, "mJ"};
  r.result.scalars["hit_ratio"] = model::Scalar{0.5 + energy / 1e4, ""};
  return r;
}

// Runs of both variants: cfs = 100 + noise*spread, hmp = cfs * factor + noise*spread/2.
std::vector<report::RunRecord> Runs(double factor, double spread, const std::string& version = "1.0") {
  std::vector<report::RunRecord> runs;
  for (int i = 0; i < kSeeds; ++i) {
    double base = 100 + kNoise[i] * spread;
    runs.push_back(MakeRun("cfs", i + 1, base, version));
    runs.push_back(MakeRun("hmp", i + 1, base * factor + kNoise[(i + 3) % kSeeds] * spread / 2, version));
  }
  return runs;
}

report::Report Build(std::vector<report::RunRecord> runs) {
  auto r = report::BuildReport(OneGroupLayout(), std::move(runs));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return *r;
}

report::ResultSet AsBaseline(std::vector<report::RunRecord> runs) {
  report::ResultSet set;
  set.path = "base/results.json";
  set.schema_version = report::kResultsSchemaVersion;
  set.layout = OneGroupLayout();
  set.runs = std::move(runs);
  return set;
}

Rule EnergyUp3() { return *ParseRule("energy:+3%", model::Better::kLower); }

TEST(GateRule, ParsesSignsAndDeclaredDirections) {
  auto r = ParseRule("energy:+3%", model::Better::kLower);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->metric, "energy");
  EXPECT_DOUBLE_EQ(r->threshold_pct, 3);
  EXPECT_TRUE(r->bad_is_increase);
  auto h = ParseRule("hit_ratio:2.5%", model::Better::kHigher);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->bad_is_increase);
  EXPECT_TRUE(ParseRule("migrations:-1%", model::Better::kNone).ok());
}

TEST(GateRule, RejectsBadTextWithAHint) {
  for (const char* bad : {"energy", "energy:3", "energy:+x%", ":3%", "energy:-3%", "migrations:3%"}) {
    auto r = ParseRule(bad, std::string(bad).starts_with("migrations") ? model::Better::kNone : model::Better::kLower);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("--fail-if"), std::string::npos) << r.status().message();
  }
  auto r = ParseRule("energy:-3%", model::Better::kLower);
  EXPECT_NE(r.status().message().find("energy:+3%"), std::string::npos) << r.status().message();
}

TEST(GateBaseline, LowVarianceFivePercentRegressionFails) {
  auto base = AsBaseline(Runs(1.0, 1.0));
  // Same seeds, every variant 5 % worse with the same small noise.
  std::vector<report::RunRecord> now;
  for (int i = 0; i < kSeeds; ++i) {
    double b = 100 + kNoise[i];
    now.push_back(MakeRun("cfs", i + 1, b * 1.05 + kNoise[(i + 1) % kSeeds] * 0.2));
    now.push_back(MakeRun("hmp", i + 1, (b + kNoise[(i + 3) % kSeeds] / 2) * 1.05));
  }
  auto g = GateAgainstBaseline(Build(now), base, {EnergyUp3()}, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_EQ(g->checks.size(), 2u);
  EXPECT_EQ(g->regressions, 2);
  EXPECT_FALSE(g->passed());
  for (const auto& c : g->checks) {
    EXPECT_EQ(c.verdict, Verdict::kRegression);
    EXPECT_NEAR(c.paired.rel_change_pct, 5, 0.5);
    EXPECT_LT(c.paired.p_value, 0.001);
    EXPECT_GT(c.paired.rel_ci_low_pct, 3);
  }
}

TEST(GateBaseline, SameMeanChangeWithHighVariancePasses) {
  auto base = AsBaseline(Runs(1.0, 1.0));
  std::vector<report::RunRecord> now;
  for (int i = 0; i < kSeeds; ++i) {
    double b = 100 + kNoise[i];
    // +5 % on average, but seed to seed the change swings by +-40 %.
    now.push_back(MakeRun("cfs", i + 1, b * 1.05 + kNoise[(i + 2) % kSeeds] * 40));
    now.push_back(MakeRun("hmp", i + 1, (b + kNoise[(i + 3) % kSeeds] / 2) * 1.05 + kNoise[(i + 5) % kSeeds] * 40));
  }
  auto g = GateAgainstBaseline(Build(now), base, {EnergyUp3()}, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(g->passed());
  for (const auto& c : g->checks) {
    EXPECT_NEAR(c.paired.rel_change_pct, 5, 0.5);  // the same mean change as above
    EXPECT_GT(c.paired.p_value, 0.05);
    EXPECT_EQ(c.verdict, Verdict::kNoChange);
  }
}

TEST(GateBaseline, ImprovementPassesAndIsReported) {
  auto base = AsBaseline(Runs(1.0, 1.0));
  std::vector<report::RunRecord> now = Runs(1.0, 1.0);
  for (auto& r : now) r.result.scalars["energy"].value *= 0.9;
  auto g = GateAgainstBaseline(Build(now), base, {EnergyUp3()}, {});
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->passed());
  EXPECT_EQ(g->improvements, 2);
  EXPECT_NE(GateText(*g).find("improvement"), std::string::npos);
}

TEST(GateBaseline, IdenticalResultsAreExactlyNoChange) {
  auto g = GateAgainstBaseline(Build(Runs(1.02, 1.0)), AsBaseline(Runs(1.02, 1.0)), {*ParseRule("energy:+0%", model::Better::kLower)}, {});
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->passed());
  for (const auto& c : g->checks) {
    EXPECT_EQ(c.paired.mean_diff, 0);
    EXPECT_EQ(c.paired.p_value, 1);
    EXPECT_EQ(c.verdict, Verdict::kNoChange);
  }
}

TEST(GateBaseline, SmallSignificantChangeIsWithinThreshold) {
  auto base = AsBaseline(Runs(1.0, 1.0));
  std::vector<report::RunRecord> now = Runs(1.0, 1.0);
  for (auto& r : now) r.result.scalars["energy"].value *= 1.01;
  auto g = GateAgainstBaseline(Build(now), base, {EnergyUp3()}, {});
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->passed());
  EXPECT_EQ(g->checks[0].verdict, Verdict::kWithinThreshold);
}

TEST(GateBaseline, MissingMetricIsAClearError) {
  auto base = AsBaseline(Runs(1.0, 1.0));
  for (auto& r : base.runs) r.result.scalars.erase("energy");
  auto g = GateAgainstBaseline(Build(Runs(1.0, 1.0)), base, {EnergyUp3()}, {});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(g.status().message().find("baseline base/results.json has no metric 'energy'"), std::string::npos)
      << g.status().message();
  // A metric no run reports at all.
  auto none = GateAgainstBaseline(Build(Runs(1.0, 1.0)), AsBaseline(Runs(1.0, 1.0)),
                                  {*ParseRule("wakeups:+1%", model::Better::kLower)}, {});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("'wakeups'"), std::string::npos);
}

TEST(GateBaseline, ModelVersionMismatchIsRefusedUnlessAllowed) {
  auto base = AsBaseline(Runs(1.0, 1.0, "0.9"));
  auto g = GateAgainstBaseline(Build(Runs(1.0, 1.0)), base, {EnergyUp3()}, {});
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(g.status().message().find("baseline sched.cfs 0.9, now sched.cfs 1.0"), std::string::npos)
      << g.status().message();
  EXPECT_NE(g.status().message().find("--allow-model-change"), std::string::npos);
  Options allow;
  allow.allow_model_change = true;
  auto ok = GateAgainstBaseline(Build(Runs(1.0, 1.0)), base, {EnergyUp3()}, allow);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->notes.size(), 2u);
}

TEST(GateBaseline, OtherSchemaIsRefused) {
  auto base = AsBaseline(Runs(1.0, 1.0));
  base.schema_version = 2;
  auto g = GateAgainstBaseline(Build(Runs(1.0, 1.0)), base, {EnergyUp3()}, {});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("schema version 2"), std::string::npos);
}

TEST(GateBaseline, TooFewCommonSeedsIsAnError) {
  auto base = AsBaseline(Runs(1.0, 1.0));
  std::vector<report::RunRecord> now;
  for (auto r : Runs(1.0, 1.0)) {
    r.seed += 7;  // seeds 8..15: only seed 8 in common
    now.push_back(r);
  }
  auto g = GateAgainstBaseline(Build(now), base, {EnergyUp3()}, {});
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.status().message().find("1 seed(s)"), std::string::npos) << g.status().message();
}

TEST(GateBaseline, EqualDifferencesByCoincidenceAreNotExact) {
  // Two seeds whose values differ, shifted by the same +8: the t test sees
  // zero variance, but nothing says the shift is not chance.
  auto two = [](double a, double b) {
    std::vector<report::RunRecord> r;
    r.push_back(MakeRun("cfs", 1, a));
    r.push_back(MakeRun("cfs", 2, b));
    return r;
  };
  auto layout = OneGroupLayout();
  layout.variants = {{"cfs", ""}};
  auto now = report::BuildReport(layout, two(18, 28));
  ASSERT_TRUE(now.ok());
  auto base = AsBaseline(two(10, 20));
  base.layout = layout;
  auto g = GateAgainstBaseline(*now, base, {EnergyUp3()}, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->checks[0].paired.p_value, 0.5);  // sign test, n = 2
  EXPECT_EQ(g->checks[0].verdict, Verdict::kNoChange);
  // A replay that ignores the seed: both sides constant, the shift is exact.
  auto exact_now = report::BuildReport(layout, two(18, 18));
  auto exact_base = AsBaseline(two(10, 10));
  exact_base.layout = layout;
  auto e = GateAgainstBaseline(*exact_now, exact_base, {EnergyUp3()}, {});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->checks[0].paired.p_value, 0);
  EXPECT_EQ(e->checks[0].verdict, Verdict::kRegression);
}

TEST(GateBaseline, AMetricTurningNonFiniteIsARegression) {
  auto base = AsBaseline(Runs(1.0, 1.0));
  auto now = Runs(1.0, 1.0);
  now[3].result.scalars["energy"].value = NAN;  // hmp, seed 2
  auto g = GateAgainstBaseline(Build(now), base, {EnergyUp3()}, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_EQ(g->regressions, 1);
  EXPECT_EQ(g->checks[1].variant, "hmp");
  EXPECT_EQ(g->checks[1].verdict, Verdict::kRegression);
  EXPECT_EQ(g->checks[1].paired.n, 7u);
  bool noted = false;
  for (const auto& n : g->notes) noted |= n.find("non-finite on seeds 2") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(GateBaseline, LenientListingNotesWhatItCannotCompare) {
  auto base = AsBaseline(Runs(1.0, 1.0));
  for (auto& r : base.runs) r.seed += 100;  // no common seed
  Options lenient;
  lenient.lenient = true;
  auto g = GateAgainstBaseline(Build(Runs(1.0, 1.0)), base, {EnergyUp3()}, lenient);
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  EXPECT_TRUE(g->checks.empty());
  EXPECT_EQ(g->notes.size(), 2u);
}

TEST(GateReference, VariantAgainstItsReference) {
  auto g = GateAgainstReference(Build(Runs(1.06, 1.0)), {EnergyUp3()}, {});
  ASSERT_TRUE(g.ok());
  ASSERT_EQ(g->checks.size(), 1u);
  EXPECT_EQ(g->checks[0].variant, "hmp");
  EXPECT_EQ(g->checks[0].compare_to, "cfs");
  EXPECT_EQ(g->checks[0].verdict, Verdict::kRegression);
  auto ok = GateAgainstReference(Build(Runs(0.97, 1.0)), {EnergyUp3()}, {});
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->passed());
}

TEST(GateOutputs, JunitHasOneCasePerRuleAndFailures) {
  auto g = GateAgainstReference(Build(Runs(1.06, 1.0)),
                                {EnergyUp3(), *ParseRule("hit_ratio:-1%", model::Better::kHigher)}, {});
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  std::string x = GateJunitXml(*g, "s<&>");
  EXPECT_NE(x.find("tests=\"2\" failures=\"1\""), std::string::npos) << x;
  EXPECT_NE(x.find("name=\"energy:+3%\""), std::string::npos);
  EXPECT_NE(x.find("kreplay.s&lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(x.find("s<&>"), std::string::npos);
  auto j = nlohmann::json::parse(GateJson(*g));
  EXPECT_EQ(j["regressions"], 1);
  EXPECT_EQ(j["passed"], false);
  EXPECT_EQ(j["checks"].size(), 2u);
  EXPECT_EQ(j["rules"][1]["bad_direction"], "decrease");
  EXPECT_NE(GateMarkdown(*g).find("**FAILED**"), std::string::npos);
}

}  // namespace
}  // namespace kreplay::gate
