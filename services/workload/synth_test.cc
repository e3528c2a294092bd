#include "services/workload/synth.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include <functional>

#include "services/workload/rtapp.h"

namespace kreplay::workload {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kMs = 1'000'000;

// The example of synth.h, as the `synthetic:` node of a study spec.
constexpr const char* kExample = R"(synthetic:
  duration: 10s
  groups:
    - kind: interactive
      count: 4
      nice: 0
      run: {dist: lognormal, mean: 2ms, sigma: 0.5}
      sleep: {dist: exponential, mean: 20ms}
    - kind: periodic
      count: 2
      period: 16ms
      run: 3ms
    - kind: batch
      count: 2
      nice: 5
      work: 2s
      run: 10ms
      start: 100ms
)";

StatusOr<SynthSpec> Parse(const std::string& yaml) {
  YAML::Node root = YAML::Load(yaml);
  return ParseSynthSpec(root["synthetic"], "workloads[0].synthetic");
}

std::string ErrorOf(const std::string& yaml) {
  auto s = Parse(yaml);
  if (s.ok()) return "";
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  return s.status().message();
}

// Values of op `op` in a task's phases.
std::vector<int64_t> Values(const SchedTaskSpec& t, PhaseOp op) {
  std::vector<int64_t> v;
  for (const auto& p : t.phases) {
    if (p.op == op) v.push_back(p.a);
  }
  return v;
}

double MeanOf(const std::vector<int64_t>& v) {
  double s = 0;
  for (int64_t x : v) s += static_cast<double>(x);
  return s / static_cast<double>(v.size());
}

TEST(ParseDuration, UnitsAndErrors) {
  EXPECT_EQ(*ParseDuration("10ms"), 10'000'000);
  EXPECT_EQ(*ParseDuration("250us"), 250'000);
  EXPECT_EQ(*ParseDuration("2s"), 2'000'000'000);
  EXPECT_EQ(*ParseDuration("500ns"), 500);
  EXPECT_EQ(*ParseDuration("3min"), 180'000'000'000);
  EXPECT_EQ(*ParseDuration("42"), 42);
  EXPECT_EQ(*ParseDuration("1.5ms"), 1'500'000);
  EXPECT_EQ(*ParseDuration("0.25s"), 250'000'000);
  EXPECT_EQ(*ParseDuration(" 7 ms "), 7'000'000);
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("-5ms").ok());
  EXPECT_FALSE(ParseDuration("1.5").ok());          // a bare number is integer ns
  EXPECT_FALSE(ParseDuration("1.5ns").ok());        // finer than 1 ns
  EXPECT_FALSE(ParseDuration("99999999999s").ok()); // overflows int64 ns
  EXPECT_THAT(ParseDuration("10 parsecs").status().message(), HasSubstr("allowed: ns, us, ms, s, min"));
}

TEST(ParseSynthSpec, ReadsTheDocumentedExample) {
  auto s = Parse(kExample);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->duration_ns, 10'000 * kMs);
  ASSERT_EQ(s->groups.size(), 3u);
  const SynthGroup& i = s->groups[0];
  EXPECT_EQ(i.kind, "interactive");
  EXPECT_EQ(i.name, "interactive");
  EXPECT_EQ(i.count, 4);
  EXPECT_EQ(i.run.kind, DurationDist::Kind::kLogNormal);
  EXPECT_EQ(i.run.a, 2 * kMs);
  EXPECT_EQ(i.run.b, 500);  // sigma 0.5 in milli-units
  EXPECT_EQ(i.sleep.kind, DurationDist::Kind::kExponential);
  EXPECT_EQ(i.sleep.a, 20 * kMs);
  const SynthGroup& p = s->groups[1];
  EXPECT_EQ(p.period_ns, 16 * kMs);
  EXPECT_EQ(p.run.kind, DurationDist::Kind::kFixed);
  EXPECT_EQ(p.run.a, 3 * kMs);
  const SynthGroup& b = s->groups[2];
  EXPECT_EQ(b.nice, 5);
  EXPECT_EQ(b.total_work_ns, 2000 * kMs);
  EXPECT_EQ(b.start_ns, 100 * kMs);
}

TEST(ParseSynthSpec, ErrorsNameFieldLineAndAllowedValues) {
  // Line numbers are 1-based lines of the YAML text.
  EXPECT_EQ(ErrorOf("synthetic:\n  duration: 1s\n  groups:\n    - kind: periodic\n      peroid: 16ms\n      run: 1ms\n"),
            "5: workloads[0].synthetic.groups[0].peroid: unknown key (allowed: count, cpus, kind, name, nice, "
            "period, run, start, start_jitter)");
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 1s\n  groups:\n    - kind: idle\n      run: 1ms\n"),
              HasSubstr("4: workloads[0].synthetic.groups[0].kind: unknown kind 'idle' (allowed: periodic, "
                        "interactive, batch)"));
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 1s\n  groups:\n    - kind: batch\n      work: 1s\n"
                      "      run: 1ms\n    - kind: interactive\n      sleep: 1ms\n      run: {dist: exponential}\n"),
              HasSubstr("workloads[0].synthetic.groups[1].run.mean: missing"));
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 1s\n  groups:\n    - kind: batch\n      work: 1s\n"
                      "      run: {dist: pareto, mean: 1ms}\n"),
              HasSubstr("6: workloads[0].synthetic.groups[0].run.dist: unknown distribution 'pareto' (allowed: fixed, "
                        "uniform, exponential, lognormal)"));
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 1s\n  groups:\n    - kind: periodic\n      run: 1ms\n"),
              HasSubstr("workloads[0].synthetic.groups[0].period: missing (required for kind periodic)"));
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 1s\n  groups:\n    - kind: batch\n      work: 1s\n      run: 1ms\n"
                      "      sleep: 1ms\n"),
              HasSubstr("7: workloads[0].synthetic.groups[0].sleep: unknown key"));
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 1s\n  groups:\n    - kind: batch\n      work: 1s\n      run: 1ms\n"
                      "      nice: 20\n"),
              HasSubstr("7: workloads[0].synthetic.groups[0].nice: must be in -20..19"));
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 1 fortnight\n  groups: []\n"),
              HasSubstr("2: workloads[0].synthetic.duration: invalid duration unit"));
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 1s\n  groups: []\n"),
              HasSubstr("workloads[0].synthetic.groups: expected a non-empty list"));
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 1s\n  groups:\n    - kind: batch\n      work: 1s\n"
                      "      run: {dist: uniform, min: 3ms, max: 1ms}\n"),
              HasSubstr("workloads[0].synthetic.groups[0].run.max: must be >= min"));
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 1h\n  groups: []\n"), HasSubstr("invalid duration unit 'h'"));
  EXPECT_THAT(ErrorOf("synthetic:\n  duration: 100s\n  groups:\n    - kind: interactive\n      run: 1us\n"
                      "      sleep: 1us\n"),
              HasSubstr("would expand to about"));
}

TEST(GenerateSynthetic, FollowsTheSpec) {
  auto s = Parse(kExample);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  SchedWorkload w = GenerateSynthetic(*s, 7);
  EXPECT_EQ(w.duration_ns, 10'000 * kMs);
  ASSERT_EQ(w.tasks.size(), 8u);
  std::vector<std::string> names;
  for (const auto& t : w.tasks) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"interactive-0", "interactive-1", "interactive-2", "interactive-3",
                                             "periodic-0", "periodic-1", "batch-0", "batch-1"}));
  for (const auto& t : w.tasks) {
    EXPECT_EQ(t.loops, 1) << t.name;
    for (const auto& p : t.phases) EXPECT_EQ(p.a % 1000, 0) << t.name << ": not whole us";
  }
  // Interactive: run/sleep pairs covering the duration, the last one
  // starting before it ends.
  for (int i = 0; i < 4; ++i) {
    const SchedTaskSpec& t = w.tasks[i];
    EXPECT_EQ(t.kind, "interactive");
    EXPECT_FALSE(t.periodic);
    ASSERT_EQ(t.phases.size() % 2, 0u);
    int64_t total = 0;
    for (size_t k = 0; k < t.phases.size(); k += 2) {
      EXPECT_EQ(t.phases[k].op, PhaseOp::kRun);
      EXPECT_EQ(t.phases[k + 1].op, PhaseOp::kSleep);
      EXPECT_GE(t.phases[k].a, 1000);
      total += t.phases[k].a + t.phases[k + 1].a;
    }
    int64_t last = t.phases[t.phases.size() - 2].a + t.phases.back().a;
    EXPECT_GE(total, w.duration_ns);
    EXPECT_LT(total - last, w.duration_ns);
  }
  // Periodic: ceil(10 s / 16 ms) = 625 activations of run 3 ms + timer 16 ms.
  for (int i = 4; i < 6; ++i) {
    const SchedTaskSpec& t = w.tasks[i];
    EXPECT_TRUE(t.periodic);
    EXPECT_EQ(t.kind, "periodic");
    EXPECT_EQ(Values(t, PhaseOp::kRun), std::vector<int64_t>(625, 3 * kMs));
    EXPECT_EQ(Values(t, PhaseOp::kTimer), std::vector<int64_t>(625, 16 * kMs));
    EXPECT_EQ(t.phases.size(), 1250u);
  }
  // Batch: 2 s of work in 10 ms chunks, starting at 100 ms, nice 5.
  for (int i = 6; i < 8; ++i) {
    const SchedTaskSpec& t = w.tasks[i];
    EXPECT_EQ(t.nice, 5);
    EXPECT_EQ(t.delay_ns, 100 * kMs);
    EXPECT_EQ(Values(t, PhaseOp::kRun), std::vector<int64_t>(200, 10 * kMs));
    EXPECT_EQ(t.phases.size(), 200u);
  }
}

TEST(GenerateSynthetic, SameSeedSameWorkloadDifferentSeedDifferent) {
  auto s = Parse(kExample);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(GenerateSynthetic(*s, 1), GenerateSynthetic(*s, 1));
  SchedWorkload a = GenerateSynthetic(*s, 1);
  SchedWorkload b = GenerateSynthetic(*s, 2);
  EXPECT_NE(a.tasks[0].phases, b.tasks[0].phases);
  // Fixed distributions do not depend on the seed.
  EXPECT_EQ(a.tasks[4].phases, b.tasks[4].phases);
  // Tasks of one group get different streams.
  EXPECT_NE(a.tasks[0].phases, a.tasks[1].phases);
}

TEST(GenerateSynthetic, TaskStreamGivesTheSameTasksAndDigest) {
  auto s = Parse(kExample);
  ASSERT_TRUE(s.ok());
  for (uint64_t seed : {1u, 2u, 99u}) {
    SchedWorkload whole = GenerateSynthetic(*s, seed);
    ASSERT_EQ(static_cast<size_t>(SyntheticTaskCount(*s)), whole.tasks.size());
    SchedDigestBuilder digest(whole.duration_ns, whole.calibration_khz, whole.calibration_cpu, whole.tasks.size());
    size_t i = 0;
    GenerateSyntheticTasks(*s, seed, [&](SchedTaskSpec& t) {
      ASSERT_LT(i, whole.tasks.size());
      EXPECT_EQ(t, whole.tasks[i]) << "task " << i << " seed " << seed;
      digest.AddTask(t);
      ++i;
    });
    EXPECT_EQ(i, whole.tasks.size());
    EXPECT_EQ(digest.Finish(), SchedWorkloadDigest(whole));
  }
}

TEST(SyntheticWorkloadDigest, NamesTheInputs) {
  auto s = Parse(kExample);
  ASSERT_TRUE(s.ok());
  const std::string base = SyntheticWorkloadDigest(*s, 1);
  EXPECT_EQ(base, SyntheticWorkloadDigest(*s, 1));
  EXPECT_NE(base, SyntheticWorkloadDigest(*s, 2));
  // Every field counts.
  std::vector<std::function<void(SynthSpec&)>> edits = {
      [](SynthSpec& x) { x.duration_ns += 1000; },
      [](SynthSpec& x) { x.groups[0].count += 1; },
      [](SynthSpec& x) { x.groups[0].nice += 1; },
      [](SynthSpec& x) { x.groups[0].name += "x"; },
      [](SynthSpec& x) { x.groups[0].run.a += 1; },
      [](SynthSpec& x) { x.groups[0].run.b += 1; },
      [](SynthSpec& x) { x.groups[0].sleep.a += 1; },
      [](SynthSpec& x) { x.groups[0].start_ns += 1; },
      [](SynthSpec& x) { x.groups[0].start_jitter_ns += 1; },
      [](SynthSpec& x) { x.groups[0].cpu_mask ^= 1; },
      [](SynthSpec& x) { x.groups[1].period_ns += 1; },
      [](SynthSpec& x) { x.groups[2].total_work_ns += 1; },
      [](SynthSpec& x) { x.groups.pop_back(); },
  };
  std::set<std::string> seen = {base};
  for (size_t i = 0; i < edits.size(); ++i) {
    SynthSpec c = *s;
    edits[i](c);
    EXPECT_TRUE(seen.insert(SyntheticWorkloadDigest(c, 1)).second) << "edit " << i;
  }
  // Spellings that parse to the same spec name the same workload.
  auto a = Parse("synthetic:\n  duration: 1s\n  groups: [{kind: batch, work: 2ms, run: 1ms}]\n");
  auto b = Parse("synthetic:\n  duration: 1000ms\n  groups: [{kind: batch, work: 2000us, run: 1000000}]\n");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(SyntheticWorkloadDigest(*a, 3), SyntheticWorkloadDigest(*b, 3));
}

// Run keys name synthetic workloads by their inputs and kSynthGeneratorVersion,
// so a generator change that leaves the version alone would silently reuse
// results of other workloads. This pins the generator's output: if it fails,
// bump kSynthGeneratorVersion and then update the pinned digest.
TEST(SyntheticWorkloadDigest, GeneratorOutputIsPinnedToItsVersion) {
  auto s = Parse(kExample);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(kSynthGeneratorVersion, 1);
  EXPECT_EQ(SchedWorkloadDigest(GenerateSynthetic(*s, 1)), "365f89abaa3a5a03ebc9ae4367fdfb8be77aca6c8c921ec2fe928585cd80419d");
}

TEST(GenerateSynthetic, AddingTasksDoesNotChangeOthers) {
  auto small = Parse(R"(synthetic:
  duration: 2s
  groups:
    - kind: interactive
      count: 2
      run: {dist: exponential, mean: 2ms}
      sleep: {dist: exponential, mean: 10ms}
)");
  auto big = Parse(R"(synthetic:
  duration: 2s
  groups:
    - kind: batch
      work: 1s
      run: {dist: uniform, min: 1ms, max: 9ms}
    - kind: interactive
      count: 3
      run: {dist: exponential, mean: 2ms}
      sleep: {dist: exponential, mean: 10ms}
)");
  ASSERT_TRUE(small.ok() && big.ok());
  SchedWorkload a = GenerateSynthetic(*small, 42);
  SchedWorkload b = GenerateSynthetic(*big, 42);
  ASSERT_EQ(b.tasks.size(), 4u);
  EXPECT_EQ(a.tasks[0], b.tasks[1]);
  EXPECT_EQ(a.tasks[1], b.tasks[2]);
}

TEST(GenerateSynthetic, ChangingSleepLeavesRunDrawsAlone) {
  auto a = Parse("synthetic:\n  duration: 1s\n  groups:\n    - kind: interactive\n"
                 "      run: {dist: exponential, mean: 2ms}\n      sleep: 5ms\n");
  auto b = Parse("synthetic:\n  duration: 1s\n  groups:\n    - kind: interactive\n"
                 "      run: {dist: exponential, mean: 2ms}\n      sleep: {dist: exponential, mean: 9ms}\n");
  ASSERT_TRUE(a.ok() && b.ok());
  auto ra = Values(GenerateSynthetic(*a, 3).tasks[0], PhaseOp::kRun);
  auto rb = Values(GenerateSynthetic(*b, 3).tasks[0], PhaseOp::kRun);
  size_t n = std::min(ra.size(), rb.size());
  ASSERT_GT(n, 50u);
  EXPECT_TRUE(std::equal(ra.begin(), ra.begin() + n, rb.begin()));
}

TEST(GenerateSynthetic, DistributionMeansAreRight) {
  // 200 s of 6 ms cycles: ~33 000 draws each; the tolerances are > 5 standard
  // errors of the sample mean.
  auto s = Parse(R"(synthetic:
  duration: 200s
  groups:
    - kind: interactive
      name: exp
      run: {dist: exponential, mean: 3ms}
      sleep: {dist: uniform, min: 1ms, max: 5ms}
    - kind: interactive
      name: logn
      run: {dist: lognormal, mean: 2ms, sigma: 0.5}
      sleep: 4ms
)");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  SchedWorkload w = GenerateSynthetic(*s, 11);
  auto exp_runs = Values(w.tasks[0], PhaseOp::kRun);
  auto uni_sleeps = Values(w.tasks[0], PhaseOp::kSleep);
  ASSERT_GT(exp_runs.size(), 30'000u);
  // Exponential: mean 3 ms, stddev 3 ms -> standard error ~0.017 ms.
  EXPECT_NEAR(MeanOf(exp_runs), 3.0 * kMs, 0.1 * kMs);
  // Exponential: P(X > mean) = e^-1.
  double above = static_cast<double>(std::count_if(exp_runs.begin(), exp_runs.end(),
                                                   [](int64_t x) { return x > 3 * kMs; })) /
                 static_cast<double>(exp_runs.size());
  EXPECT_NEAR(above, std::exp(-1.0), 0.015);
  EXPECT_NEAR(MeanOf(uni_sleeps), 3.0 * kMs, 0.04 * kMs);
  EXPECT_EQ(*std::min_element(uni_sleeps.begin(), uni_sleeps.end()) >= 1 * kMs, true);
  EXPECT_EQ(*std::max_element(uni_sleeps.begin(), uni_sleeps.end()) <= 5 * kMs, true);
  // Log-normal with mean 2 ms, sigma 0.5: median = mean * exp(-sigma^2 / 2).
  auto ln_runs = Values(w.tasks[1], PhaseOp::kRun);
  ASSERT_GT(ln_runs.size(), 30'000u);
  EXPECT_NEAR(MeanOf(ln_runs), 2.0 * kMs, 0.04 * kMs);
  std::sort(ln_runs.begin(), ln_runs.end());
  EXPECT_NEAR(static_cast<double>(ln_runs[ln_runs.size() / 2]), 2.0 * kMs * std::exp(-0.125), 0.03 * kMs);
}

TEST(GenerateSynthetic, StartJitterStaysInRange) {
  auto s = Parse("synthetic:\n  duration: 1s\n  groups:\n    - kind: periodic\n      count: 20\n"
                 "      period: 10ms\n      run: 1ms\n      start: 5ms\n      start_jitter: 10ms\n");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  SchedWorkload w = GenerateSynthetic(*s, 5);
  std::vector<int64_t> delays;
  for (const auto& t : w.tasks) {
    EXPECT_GE(t.delay_ns, 5 * kMs);
    EXPECT_LE(t.delay_ns, 15 * kMs);
    // ceil((1 s - delay) / 10 ms) activations.
    int64_t expected = (1000 * kMs - t.delay_ns + 10 * kMs - 1) / (10 * kMs);
    EXPECT_EQ(static_cast<int64_t>(Values(t, PhaseOp::kTimer).size()), expected);
    delays.push_back(t.delay_ns);
  }
  std::sort(delays.begin(), delays.end());
  EXPECT_GT(std::unique(delays.begin(), delays.end()) - delays.begin(), 10);
}

TEST(GenerateSynthetic, RoundTripsThroughRtApp) {
  auto s = Parse(kExample);
  ASSERT_TRUE(s.ok());
  SchedWorkload w = GenerateSynthetic(*s, 9);
  auto back = ParseRtApp(WriteRtApp(w), "synth.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, w);
}

}  // namespace
}  // namespace kreplay::workload
