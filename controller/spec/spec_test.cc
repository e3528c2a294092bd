#include "controller/spec/spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "controller/spec/run_key.h"
#include "services/blocktrace/synth.h"
#include "services/core/digest.h"
#include "services/core/strings.h"
#include "services/workload/synth.h"
#include "workers/models/blockcache/family.h"
#include "workers/models/sched/family.h"
#include "workers/models/sched/platforms/platforms.h"

namespace kreplay::spec {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The real families' tables (workload kinds), a family specs do not support
// (no workload kinds), and fake models, so the tests do not depend on the real
// models. The catalog outlives the specs parsed with it.
using Reg = std::unique_ptr<family::Catalog>;

// Two fake scheduler models.
Reg TestRegistry() {
  Reg catalog = std::make_unique<family::Catalog>();
  EXPECT_TRUE(catalog->RegisterFamily(sched::SchedFamilyInfo()).ok());
  EXPECT_TRUE(catalog->RegisterFamily(blockcache::BlockCacheFamilyInfo()).ok());
  family::FamilyInfo net;
  net.name = "net";
  EXPECT_TRUE(catalog->RegisterFamily(net).ok());
  model::Registry& reg = catalog->models();
  EXPECT_TRUE(reg.Reserve("sched.eas", "sched", "a later issue builds it").ok());
  auto common_params = [] {
    std::vector<model::ParamSpec> p;
    p.push_back({"governor", model::ParamType::kEnum, "", std::string("ondemand"), {}, {},
                 {"ondemand", "performance", "schedutil", "powersave"}, "DVFS governor"});
    p.push_back({"sched_latency", model::ParamType::kInt, "ns", int64_t{6000000}, 100000.0, 1e9, {}, "latency"});
    return p;
  };
  model::ModelInfo cfs;
  cfs.name = "test.cfs";
  cfs.family = "sched";
  cfs.version = "3";
  cfs.params = common_params();
  cfs.metrics = {{"energy", "J", model::Better::kLower, ""},
                 {"makespan_ms", "ms", model::Better::kLower, ""},
                 {"wakeup_latency_p99_us", "us", model::Better::kLower, ""}};
  cfs.run = [](const model::RunInput&) -> StatusOr<model::Result> { return model::Result{}; };
  model::ModelInfo hmp = cfs;
  hmp.name = "test.hmp";
  hmp.version = "7";
  hmp.params.push_back({"hmp_up_threshold", model::ParamType::kInt, "", int64_t{700}, 0.0, 1024.0, {}, "up"});
  hmp.metrics.push_back({"hmp_migrations", "", model::Better::kNone, ""});
  hmp.metrics.push_back({"cluster.<name>.utilization", "ratio", model::Better::kNone, ""});
  EXPECT_TRUE(reg.Register(std::move(cfs)).ok());
  EXPECT_TRUE(reg.Register(std::move(hmp)).ok());
  return catalog;
}

constexpr const char* kGood = R"(study: biglittle-cfs-vs-hmp
description: "CFS against HMP"
seeds: 5
base_seed: 10
platforms: [juno-r0, tc2]
workloads:
  - name: mixed
    synthetic:
      duration: 1s
      groups:
        - kind: periodic
          count: 2
          period: 16ms
          run: 3ms
        - kind: interactive
          run: {dist: exponential, mean: 2ms}
          sleep: {dist: exponential, mean: 20ms}
  - name: video
    rtapp: video.json
variants:
  - name: cfs
    model: test.cfs
  - name: hmp
    model: test.hmp
    params: { hmp_up_threshold: 600, sched_latency: 4ms }
grid:
  governor: [performance, schedutil]
reference: cfs
metrics: [energy, makespan_ms]
)";

StatusOr<StudySpec> Parse(const std::string& yaml, const Reg& reg) {
  return ParseStudySpec(yaml, "study.yaml", KREPLAY_SPEC_TESTDATA, *reg);
}

// Workload `i` built for `seed`, as its family's type.
template <typename T>
StatusOr<T> BuildAs(const StudySpec& s, size_t i, uint64_t seed) {
  auto w = BuildWorkload(s, i, seed);
  if (!w.ok()) return w.status();
  const T* t = w->As<T>();
  if (!t) return Internal("workload " + std::to_string(i) + " is of another type");
  return *t;
}
StatusOr<workload::SchedWorkload> SchedOf(const StudySpec& s, size_t i, uint64_t seed) {
  return BuildAs<workload::SchedWorkload>(s, i, seed);
}
StatusOr<workload::BlockWorkload> BlockOf(const StudySpec& s, size_t i, uint64_t seed) {
  return BuildAs<workload::BlockWorkload>(s, i, seed);
}

TEST(SpecTest, ParsesAndExpandsAGoodSpec) {
  auto reg = TestRegistry();
  auto s = Parse(kGood, reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->name, "biglittle-cfs-vs-hmp");
  EXPECT_EQ(s->description, "CFS against HMP");
  EXPECT_EQ(s->seeds, (std::vector<uint64_t>{10, 11, 12, 13, 14}));
  ASSERT_EQ(s->platforms.size(), 2u);
  EXPECT_EQ(s->platforms[0].name, "juno-r0");
  EXPECT_EQ(s->platforms[0].source, "builtin:juno-r0");
  const auto* juno = s->platforms[0].system.As<workload::Platform>();
  ASSERT_NE(juno, nullptr);
  EXPECT_EQ(s->platforms[0].canonical, platforms::CanonicalPlatformText(*juno));
  EXPECT_EQ(s->platforms[0].digest, Sha256Hex(s->platforms[0].canonical));
  EXPECT_EQ(s->platforms[0].cpus, static_cast<int>(juno->total_cpus()));
  EXPECT_NE(s->platforms[0].digest, s->platforms[1].digest);
  ASSERT_EQ(s->workloads.size(), 2u);
  EXPECT_EQ(s->workloads[0].kind, "synthetic");
  EXPECT_EQ(s->workloads[0].As<workload::SynthSpec>()->groups.size(), 2u);
  EXPECT_EQ(s->workloads[1].kind, "rtapp");
  EXPECT_EQ(s->workloads[1].parsed.path, std::string(KREPLAY_SPEC_TESTDATA) + "/video.json");
  EXPECT_EQ(s->workloads[1].As<workload::SchedWorkload>()->tasks.size(), 2u);

  // Grid: each base variant at each governor, first axis outermost.
  ASSERT_EQ(s->variants.size(), 4u);
  EXPECT_EQ(s->variants[0].name, "cfs[governor=performance]");
  EXPECT_EQ(s->variants[1].name, "cfs[governor=schedutil]");
  EXPECT_EQ(s->variants[3].name, "hmp[governor=schedutil]");
  EXPECT_EQ(s->variants[3].base_name, "hmp");
  EXPECT_EQ(s->variants[3].grid, (std::vector<GridCoord>{{"governor", "schedutil", std::string("schedutil")}}));
  EXPECT_EQ(s->variants[3].shared_coords, 1u);
  EXPECT_EQ(GridPointText(s->variants[3].grid), "governor=schedutil");
  EXPECT_FALSE(s->variants[3].own_grid());
  EXPECT_EQ(s->variants[3].model, "test.hmp");
  EXPECT_EQ(s->variants[3].model_version, "7");
  // Resolved: given values, grid values, durations in ns, defaults filled in.
  const auto& p = s->variants[3].params;
  EXPECT_EQ(p.Str("governor"), "schedutil");
  EXPECT_EQ(p.Int("hmp_up_threshold"), 600);
  EXPECT_EQ(p.Int("sched_latency"), 4000000);
  EXPECT_EQ(s->variants[0].params.Int("sched_latency"), 6000000);
  // Compared with the reference at the same grid point.
  EXPECT_EQ(s->variants[0].compare_to, "");
  EXPECT_EQ(s->variants[2].compare_to, "cfs[governor=performance]");
  EXPECT_EQ(s->variants[3].compare_to, "cfs[governor=schedutil]");
  EXPECT_EQ(s->metrics, (std::vector<std::string>{"energy", "makespan_ms"}));
  EXPECT_EQ(s->yaml, kGood);

  auto runs = ExpandRuns(*s);
  ASSERT_EQ(runs.size(), 4u * 2 * 2 * 5);
  // Canonical order: seed fastest, then workload, platform, variant.
  EXPECT_EQ(runs[0].seed, 10u);
  EXPECT_EQ(runs[1].seed, 11u);
  EXPECT_EQ(runs[5].workload, 1u);
  EXPECT_EQ(runs[10].platform, 1u);
  EXPECT_EQ(runs[20].variant, 1u);
  EXPECT_EQ(runs.back().variant, 3u);
  EXPECT_EQ(runs.back().model, "test.hmp");
  EXPECT_EQ(runs.back().params.Canonical(), p.Canonical());
}

TEST(SpecTest, DefaultsReferenceAndMetrics) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: [5, 2]
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: a, model: test.hmp}
  - {name: b, model: test.cfs, params: {governor: powersave}}
)", reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->seeds, (std::vector<uint64_t>{5, 2}));  // list order kept
  EXPECT_EQ(s->reference, "a");
  EXPECT_EQ(s->variants[1].compare_to, "a");
  // Default metrics: the first model's, restricted to those every model has.
  EXPECT_EQ(s->metrics, (std::vector<std::string>{"energy", "makespan_ms", "wakeup_latency_p99_us"}));
}

TEST(SpecTest, CollectsEveryErrorWithLineAndField) {
  auto reg = TestRegistry();
  const std::string yaml = R"(study: Bad Name
seed: 3
platforms: [juno-r1, tc2]
workloads:
  - name: w
    rtapp: missing.json
    extra: 1
variants:
  - name: a
    model: test.cfz
  - name: b
    model: test.hmp
    params: {hmp_up_threshold: 2000, governr: performance, governor: turbo}
metrics: [energy, hmp_migrations]
)";
  auto s = Parse(yaml, reg);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  const std::string m = s.status().message();
  EXPECT_THAT(m, HasSubstr("study.yaml:1: study: 'Bad Name' must match [a-z0-9._-]+"));
  EXPECT_THAT(m, HasSubstr("study.yaml:2: seed: unknown field (did you mean 'seeds'?)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:1: seeds: required field missing"));
  EXPECT_THAT(m, HasSubstr("study.yaml:3: platforms[0]: unknown platform 'juno-r1' (did you mean 'juno-r0'?)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:7: workloads[0].extra: unknown field"));
  EXPECT_THAT(m, HasSubstr("study.yaml:10: variants[0].model: unknown model 'test.cfz' (did you mean 'test.cfs'?)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:13: variants[1].params.hmp_up_threshold: 2000 is out of bounds [0, 1024]"));
  EXPECT_THAT(m, HasSubstr("study.yaml:13: variants[1].params.governr: unknown parameter (did you mean 'governor'?)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:13: variants[1].params.governor: 'turbo' is not one of: ondemand, "
                           "performance, schedutil, powersave"));
  // The rt-app file is missing; the error names the spec field and the file.
  EXPECT_THAT(m, HasSubstr("study.yaml:6: workloads[0].rtapp: "));
  EXPECT_THAT(m, HasSubstr("missing.json: cannot open file (No such file or directory)"));
  // Every line has the file:line: field: shape.
  for (auto line : Split(m, '\n')) EXPECT_TRUE(std::string(line).rfind("study.yaml:", 0) == 0) << line;
}

TEST(SpecTest, MetricMustBeDeclaredByEveryModel) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: a, model: test.cfs}
  - {name: b, model: test.hmp}
metrics: [energy, hmp_migrations, energy]
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("study.yaml:8: metrics[1]: 'hmp_migrations' is not a metric of model test.cfs (only of "
                        "test.hmp; every variant's model must declare it)"));
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:8: metrics[2]: duplicate metric 'energy'"));
}

TEST(SpecTest, MetricPlaceholders) {
  auto reg = TestRegistry();
  const std::string head = R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: b, model: test.hmp}]
)";
  auto ok = Parse(head + "metrics: [cluster.a15.utilization]\n", reg);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->metrics, (std::vector<std::string>{"cluster.a15.utilization"}));
  for (const char* bad : {"cluster.utilization", "cluster..utilization", "cluster.a15.x.utilization"}) {
    auto s = Parse(head + "metrics: [\"" + bad + "\"]\n", reg);
    EXPECT_FALSE(s.ok()) << bad;
  }
  // Defaults never include a pattern.
  auto def = Parse(head, reg);
  ASSERT_TRUE(def.ok());
  for (const auto& m : def->metrics) EXPECT_EQ(m.find('<'), std::string::npos) << m;
}

TEST(SpecTest, UnknownParameterNamesTheModelThatHasIt) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: a, model: test.cfs, params: {hmp_up_threshold: 600}}]
metrics: [energy, wakeup_p99]
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:5: variants[0].params.hmp_up_threshold: unknown parameter "
                                              "(a parameter of model test.hmp) (known: governor, sched_latency)"));
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:6: metrics[1]: 'wakeup_p99' is not a metric of model "
                                              "test.cfs (declared: energy, makespan_ms, wakeup_latency_p99_us)"));
}

TEST(SpecTest, SeedRules) {
  auto reg = TestRegistry();
  const std::string rest = R"(
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: a, model: test.cfs}]
)";
  auto dup = Parse("study: s\nseeds: [1, 2, 1]\nbase_seed: 4" + rest, reg);
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.status().message(), HasSubstr("study.yaml:2: seeds[2]: duplicate seed 1"));
  EXPECT_THAT(dup.status().message(), HasSubstr("study.yaml:3: base_seed: only allowed when seeds is a count"));
  auto zero = Parse("study: s\nseeds: 0" + rest, reg);
  EXPECT_THAT(zero.status().message(), HasSubstr("study.yaml:2: seeds: count must be in [1, 100000]"));
  auto neg = Parse("study: s\nseeds: [-1]" + rest, reg);
  EXPECT_THAT(neg.status().message(), HasSubstr("seeds[0]: expected a non-negative integer, got '-1'"));
  auto def = Parse("study: s\nseeds: 3" + rest, reg);
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  EXPECT_EQ(def->seeds, (std::vector<uint64_t>{1, 2, 3}));  // base_seed defaults to 1
}

TEST(SpecTest, QuotedScalarsStayStrings) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: a, model: test.hmp, params: {hmp_up_threshold: "600"}}]
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("study.yaml:5: variants[0].params.hmp_up_threshold: expected int, got '600'"));
}

TEST(SpecTest, GridErrors) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: a, model: test.cfs}
  - {name: b, model: test.hmp, params: {governor: performance}}
grid:
  hmp_up_threshold: [500, 600]
  governor: [performance, performance]
)", reg);
  ASSERT_FALSE(s.ok());
  const std::string m = s.status().message();
  EXPECT_THAT(m, HasSubstr("study.yaml:9: grid.hmp_up_threshold: not a parameter of model test.cfs (variant 'a')"));
  EXPECT_THAT(m, HasSubstr("study.yaml:10: grid.governor[1]: duplicate value 'performance'"));

  auto conflict = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: b, model: test.hmp, params: {governor: performance}}
grid:
  governor: [performance, powersave, turbo]
)", reg);
  ASSERT_FALSE(conflict.ok());
  EXPECT_THAT(conflict.status().message(),
              HasSubstr("study.yaml:6: variants[0].params.governor: also set by grid.governor (line 8)"));
}

TEST(SpecTest, GridValueErrorsNameTheGrid) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: b, model: test.hmp}]
grid:
  governor: [performance, turbo]
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:7: grid.governor: 'turbo' is not one of"));
}

TEST(SpecTest, ReferenceRules) {
  auto reg = TestRegistry();
  const std::string head = R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants: [{name: a, model: test.cfs}, {name: b, model: test.hmp}]
grid: {governor: [performance, schedutil]}
)";
  // One expanded name: every other variant compares with it.
  auto s = Parse(head + "reference: b[governor=schedutil]\n", reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (const auto& v : s->variants)
    EXPECT_EQ(v.compare_to, v.name == "b[governor=schedutil]" ? "" : "b[governor=schedutil]") << v.name;
  auto bad = Parse(head + "reference: c\n", reg);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("study.yaml:7: reference: unknown variant 'c'"));
}

TEST(SpecTest, IdenticalVariantsAreRejected) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: a, model: test.cfs}
  - {name: b, model: test.cfs, params: {governor: ondemand}}
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(),
              HasSubstr("study.yaml:7: variants[1]: 'b' has the same model and parameters as 'a'"));
}

TEST(SpecTest, SyntaxAndShapeErrors) {
  auto reg = TestRegistry();
  auto syn = Parse("study: s\nseeds: [1, 2\n", reg);
  ASSERT_FALSE(syn.ok());
  EXPECT_THAT(syn.status().message(), HasSubstr("study.yaml:"));
  EXPECT_THAT(syn.status().message(), HasSubstr("YAML syntax error"));
  auto list = Parse("- a\n- b\n", reg);
  EXPECT_THAT(list.status().message(), HasSubstr("study.yaml:1: (document): expected a mapping"));
  auto empty = Parse("", reg);
  EXPECT_FALSE(empty.ok());
}

TEST(SpecTest, SyntheticErrorsKeepTheirLine) {
  auto reg = TestRegistry();
  auto s = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads:
  - name: w
    synthetic:
      duration: 1s
      groups:
        - kind: sporadic
          run: 1ms
variants: [{name: a, model: test.cfs}]
)", reg);
  ASSERT_FALSE(s.ok());
  // The synthetic parser reports line 9 and its own field path.
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:9: workloads[0].synthetic.groups[0].kind"));
}

TEST(SpecTest, LoadsFilesRelativeToTheSpec) {
  auto reg = TestRegistry();
  auto s = LoadStudySpec(std::string(KREPLAY_SPEC_TESTDATA) + "/study.yaml", *reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->platforms.size(), 1u);
  EXPECT_EQ(s->platforms[0].name, "toy-soc");
  EXPECT_EQ(s->platforms[0].source, std::string(KREPLAY_SPEC_TESTDATA) + "/platforms/toy.yaml");
  const auto* toy = s->platforms[0].system.As<workload::Platform>();
  ASSERT_NE(toy, nullptr);
  ASSERT_EQ(toy->clusters.size(), 2u);
  EXPECT_EQ(toy->clusters[1].opps[0].cpu_power, 600);
  EXPECT_EQ(s->seeds, (std::vector<uint64_t>{3, 1, 2}));
  EXPECT_EQ(s->workloads[0].As<workload::SchedWorkload>()->tasks.size(), 2u);

  auto missing = LoadStudySpec("/nonexistent/study.yaml", *reg);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(SpecTest, BuildWorkloadPerSeed) {
  auto reg = TestRegistry();
  auto s = Parse(kGood, reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto a1 = SchedOf(*s, 0, 1), a1b = SchedOf(*s, 0, 1), a2 = SchedOf(*s, 0, 2);
  ASSERT_TRUE(a1.ok() && a1b.ok() && a2.ok());
  EXPECT_EQ(*a1, *a1b);
  EXPECT_EQ(workload::SchedWorkloadDigest(*a1), workload::SchedWorkloadDigest(*a1b));
  // Interactive bursts are drawn from the seed.
  EXPECT_NE(workload::SchedWorkloadDigest(*a1), workload::SchedWorkloadDigest(*a2));
  auto r1 = SchedOf(*s, 1, 1), r2 = SchedOf(*s, 1, 2);
  ASSERT_TRUE(r1.ok() && r2.ok());
  EXPECT_EQ(workload::SchedWorkloadDigest(*r1), workload::SchedWorkloadDigest(*r2));  // rt-app: the same for every seed
  EXPECT_EQ(BuildWorkload(*s, 2, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(SpecTest, WorkloadTransport) {
  auto reg = TestRegistry();
  auto s = Parse(kGood, reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->workloads[0].transport, WorkloadEntry::Transport::kGenerate);  // synthetic default
  EXPECT_EQ(s->workloads[1].transport, WorkloadEntry::Transport::kTrace);     // rt-app: always a trace
  // The kept YAML re-parses to the same generator spec, so a worker generates
  // the same workload as the controller.
  auto again = workload::ParseSynthSpec(YAML::Load(s->workloads[0].parsed.generator_yaml), "synthetic");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(workload::GenerateSynthetic(*again, 7), workload::GenerateSynthetic(*s->workloads[0].As<workload::SynthSpec>(), 7));

  std::string traced = kGood;
  traced.replace(traced.find("  - name: mixed\n"), 16, "  - name: mixed\n    transport: trace\n");
  auto t = Parse(traced, reg);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->workloads[0].transport, WorkloadEntry::Transport::kTrace);

  std::string bad = kGood;
  bad.replace(bad.find("  - name: mixed\n"), 16, "  - name: mixed\n    transport: carrier-pigeon\n");
  bad.replace(bad.find("    rtapp: video.json"), 21, "    rtapp: video.json\n    transport: generate");
  auto b = Parse(bad, reg);
  ASSERT_FALSE(b.ok());
  EXPECT_THAT(b.status().message(), HasSubstr("study.yaml:8: workloads[0].transport: unknown transport 'carrier-pigeon' (allowed: generate, trace)"));
  EXPECT_THAT(b.status().message(), HasSubstr("workloads[1].transport: an rt-app workload travels as a trace"));
}

TEST(SpecTest, WorkloadDigestCoversEveryField) {
  workload::SchedWorkload w;
  w.duration_ns = 1000;
  w.tasks.push_back({"t", 0, 0, 1, 0, false, "batch", {{workload::PhaseOp::kRun, 5, 0}}});
  const std::string base = workload::SchedWorkloadDigest(w);
  EXPECT_EQ(base.size(), 64u);
  auto changed = [&](auto mutate) {
    workload::SchedWorkload c = w;
    mutate(c);
    return workload::SchedWorkloadDigest(c) != base;
  };
  EXPECT_TRUE(changed([](auto& c) { c.duration_ns = 1001; }));
  EXPECT_TRUE(changed([](auto& c) { c.calibration_khz = 1; }));
  EXPECT_TRUE(changed([](auto& c) { c.calibration_cpu = "big"; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].name = "u"; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].nice = -1; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].delay_ns = 1; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].loops = -1; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].cpu_mask = 2; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].periodic = true; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].kind = "x"; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].phases[0].op = workload::PhaseOp::kSleep; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].phases[0].a = 6; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].phases[0].b = 1; }));
  EXPECT_TRUE(changed([](auto& c) { c.tasks[0].phases.push_back({}); }));
}

TEST(SpecTest, RunKey) {
  const std::string k = ComputeRunKey("m", "1", "a=1", "pd", "wd", 7);
  EXPECT_EQ(k.size(), 64u);
  EXPECT_EQ(k, ComputeRunKey("m", "1", "a=1", "pd", "wd", 7));
  std::set<std::string> keys = {k,
                                ComputeRunKey("n", "1", "a=1", "pd", "wd", 7),
                                ComputeRunKey("m", "2", "a=1", "pd", "wd", 7),
                                ComputeRunKey("m", "1", "a=2", "pd", "wd", 7),
                                ComputeRunKey("m", "1", "a=1", "pe", "wd", 7),
                                ComputeRunKey("m", "1", "a=1", "pd", "we", 7),
                                ComputeRunKey("m", "1", "a=1", "pd", "wd", 8),
                                // Field boundaries matter: ("m1", "") vs ("m", "1").
                                ComputeRunKey("m1", "", "a=1", "pd", "wd", 7)};
  EXPECT_EQ(keys.size(), 8u);
  // The layout, spelled out independently with the same primitives.
  Sha256 h;
  for (const char* f : {"kreplay.run_key.v1", "m", "1", "a=1", "pd", "wd"}) h.UpdateField(f);
  h.UpdateU64(7);
  EXPECT_EQ(k, h.HexDigest());
}

// ---- the blockcache family ---------------------------------------------------

// The scheduler fakes plus two block cache fakes (their parameters shaped like
// the real bcache and block.lru ones) and one model of a family specs do not
// support.
Reg MixedRegistry() {
  Reg catalog = TestRegistry();
  model::Registry& reg = catalog->models();
  auto int_param = [](const char* name, const char* unit, int64_t def, double lo, double hi) {
    return model::ParamSpec{name, model::ParamType::kInt, unit, def, lo, hi, {}, ""};
  };
  model::ModelInfo bc;
  bc.name = "test.bcache";
  bc.family = "blockcache";
  bc.version = "1";
  bc.params.push_back({"cache_mode", model::ParamType::kEnum, "", std::string("writethrough"), {}, {},
                       {"writethrough", "writeback", "writearound", "none"}, "mode"});
  bc.params.push_back({"cache_replacement_policy", model::ParamType::kEnum, "", std::string("lru"), {}, {},
                       {"lru", "fifo", "random"}, "policy"});
  bc.params.push_back(int_param("cache_size", "bytes", int64_t{32} << 30, 4 << 20, 4.6e18));
  bc.params.push_back(int_param("congested_read_threshold_us", "us", 2000, 0, 1e9));
  bc.params.push_back(int_param("writeback_delay", "s", 30, 0, 86400));
  bc.metrics = {{"cache_hit_ratio", "%", model::Better::kHigher, ""},
                {"read_latency_p99_us", "us", model::Better::kLower, ""},
                {"requests", "count", model::Better::kNone, ""}};
  bc.run = [](const model::RunInput&) -> StatusOr<model::Result> { return model::Result{}; };
  model::ModelInfo lru;
  lru.name = "test.lru";
  lru.family = "blockcache";
  lru.version = "1";
  lru.params.push_back(int_param("cache_size", "bytes", int64_t{1} << 30, 0, 4.6e18));
  lru.params.push_back(int_param("block_size", "bytes", 4096, 512, 1 << 30));
  lru.metrics = {{"miss_ratio", "ratio", model::Better::kLower, ""}, {"requests", "count", model::Better::kNone, ""}};
  lru.run = bc.run;
  model::ModelInfo net = lru;
  net.name = "test.net";
  net.family = "net";
  EXPECT_TRUE(reg.Register(std::move(bc)).ok());
  EXPECT_TRUE(reg.Register(std::move(lru)).ok());
  EXPECT_TRUE(reg.Register(std::move(net)).ok());
  return catalog;
}

constexpr const char* kBlockGood = R"(study: tiers
seeds: 2
workloads:
  - name: recorded
    blocktrace: trace.csv
  - name: zipf
    block_synthetic:
      requests: 50
      arrival: {kind: fixed, rate: 1000}
      components:
        - kind: zipf
          footprint: 1MiB
          read_fraction: 0.5
variants:
  - name: bc
    model: test.bcache
    params: {cache_mode: writeback, congested_read_threshold_us: 3ms, writeback_delay: 2min}
  - name: lru
    model: test.lru
    params: {block_size: 64KiB}
grid:
  cache_size: [16MiB, 1GiB, 4194304]
metrics: [requests]
)";

// The requests of testdata/trace.csv, written out by hand: volumes in order of
// first appearance (sda = 0, sdb = 1), task column kept.
std::vector<workload::BlockRequest> TraceCsvRequests() {
  using workload::BlockOp;
  return {{0, 0, 4096, 0, 7, BlockOp::kRead},
          {1000, 8192, 8192, 0, 7, BlockOp::kWrite},
          {2500, 4096, 4096, 1, 9, BlockOp::kRead},
          {4000, 0, 0, 0, 7, BlockOp::kFlush},
          {6000, 0, 65536, 1, 9, BlockOp::kWrite}};
}

TEST(BlockSpecTest, ParsesABlockStudy) {
  auto reg = MixedRegistry();
  auto s = Parse(kBlockGood, reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->family, "blockcache");
  EXPECT_TRUE(s->platforms[0].implicit);
  // The one implicit platform: "-", no canonical text, SHA-256 of "" (the
  // well-known constant).
  ASSERT_EQ(s->platforms.size(), 1u);
  EXPECT_EQ(s->platforms[0].name, "-");
  EXPECT_EQ(s->platforms[0].canonical, "");
  EXPECT_EQ(s->platforms[0].digest, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

  ASSERT_EQ(s->workloads.size(), 2u);
  const WorkloadEntry& t = s->workloads[0];
  EXPECT_EQ(t.kind, "blocktrace");
  EXPECT_EQ(t.transport, WorkloadEntry::Transport::kTrace);
  EXPECT_EQ(t.parsed.path, std::string(KREPLAY_SPEC_TESTDATA) + "/trace.csv");
  EXPECT_FALSE(t.per_seed());
  EXPECT_EQ(t.As<blockcache::BlockTraceSpec>()->info.requests, 5u);
  EXPECT_EQ(t.As<blockcache::BlockTraceSpec>()->info.volumes, 2u);
  EXPECT_TRUE(t.As<blockcache::BlockTraceSpec>()->info.has_task_ids);
  EXPECT_EQ(t.As<blockcache::BlockTraceSpec>()->info.format, blocktrace::Format::kCsv);  // detected from the header
  EXPECT_EQ(t.As<blockcache::BlockTraceSpec>()->info.clamped_times, 0u);
  const WorkloadEntry& z = s->workloads[1];
  EXPECT_EQ(z.kind, "block_synthetic");
  EXPECT_EQ(z.transport, WorkloadEntry::Transport::kGenerate);
  EXPECT_TRUE(z.per_seed());
  EXPECT_EQ(z.As<blocktrace::BlockSynthSpec>()->requests, 50u);
  ASSERT_EQ(z.As<blocktrace::BlockSynthSpec>()->components.size(), 1u);
  EXPECT_EQ(z.As<blocktrace::BlockSynthSpec>()->components[0].footprint, 1u << 20);

  // Mixing models of one family is fine; byte sizes and durations resolve.
  ASSERT_EQ(s->variants.size(), 6u);
  EXPECT_EQ(s->variants[0].name, "bc[cache_size=16MiB]");
  EXPECT_EQ(s->variants[0].params.Int("cache_size"), 16 * 1024 * 1024);
  EXPECT_EQ(s->variants[1].params.Int("cache_size"), int64_t{1} << 30);
  EXPECT_EQ(s->variants[2].params.Int("cache_size"), 4194304);
  EXPECT_EQ(s->variants[0].params.Int("congested_read_threshold_us"), 3000);
  EXPECT_EQ(s->variants[0].params.Int("writeback_delay"), 120);
  EXPECT_EQ(s->variants[0].params.Str("cache_mode"), "writeback");
  EXPECT_EQ(s->variants[4].name, "lru[cache_size=1GiB]");
  EXPECT_EQ(s->variants[4].params.Int("block_size"), 65536);
  EXPECT_EQ(s->variants[4].compare_to, "bc[cache_size=1GiB]");

  // Runs keep their shape: platform index 0 throughout.
  auto runs = ExpandRuns(*s);
  ASSERT_EQ(runs.size(), 6u * 1 * 2 * 2);
  for (const auto& r : runs) EXPECT_EQ(r.platform, 0u);
  EXPECT_EQ(runs[2].workload, 1u);
  EXPECT_EQ(runs[4].variant, 1u);
}

TEST(BlockSpecTest, BuildBlockWorkloadFromATrace) {
  auto reg = MixedRegistry();
  auto s = Parse(kBlockGood, reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto w1 = BlockOf(*s, 0, 1), w2 = BlockOf(*s, 0, 2);
  ASSERT_TRUE(w1.ok()) << w1.status().ToString();
  ASSERT_TRUE(w2.ok());
  EXPECT_EQ(w1->volumes, (std::vector<std::string>{"sda", "sdb"}));
  EXPECT_TRUE(w1->has_task_ids);
  EXPECT_EQ(w1->requests, TraceCsvRequests());
  EXPECT_EQ(*w1, *w2);  // a trace is the same for every seed

  // max_requests keeps the first n.
  std::string capped = kBlockGood;
  capped.replace(capped.find("    blocktrace: trace.csv\n"), 26, "    blocktrace: trace.csv\n    max_requests: 2\n");
  auto c = Parse(capped, reg);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->workloads[0].As<blockcache::BlockTraceSpec>()->max_requests, 2u);
  EXPECT_EQ(c->workloads[0].As<blockcache::BlockTraceSpec>()->info.requests, 2u);
  EXPECT_EQ(c->workloads[0].As<blockcache::BlockTraceSpec>()->info.volumes, 1u);  // sdb first appears in request 3
  auto cw = BlockOf(*c, 0, 1);
  ASSERT_TRUE(cw.ok()) << cw.status().ToString();
  auto want = TraceCsvRequests();
  want.resize(2);
  EXPECT_EQ(cw->requests, want);
  EXPECT_EQ(cw->volumes, (std::vector<std::string>{"sda"}));

  // Each kind builds its own family's type; a bad index is an error.
  EXPECT_NE(BuildWorkload(*s, 1, 1)->As<workload::BlockWorkload>(), nullptr);
  EXPECT_EQ(BuildWorkload(*s, 1, 1)->As<workload::SchedWorkload>(), nullptr);
  EXPECT_EQ(BuildWorkload(*s, 2, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(BlockSpecTest, BuildBlockWorkloadFromAGenerator) {
  auto reg = MixedRegistry();
  auto s = Parse(kBlockGood, reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto a1 = BlockOf(*s, 1, 1), a1b = BlockOf(*s, 1, 1), a2 = BlockOf(*s, 1, 2);
  ASSERT_TRUE(a1.ok() && a1b.ok() && a2.ok());
  EXPECT_EQ(a1->requests.size(), 50u);
  EXPECT_EQ(*a1, *a1b);
  EXPECT_NE(*a1, *a2);  // offsets and read/write draws follow the seed
  // Fixed arrivals at 1000/s: request i at i ms, whatever the seed.
  for (size_t i = 0; i < a1->requests.size(); ++i) EXPECT_EQ(a1->requests[i].time_ns, int64_t(i) * 1000000) << i;
  for (const auto& r : a1->requests) {
    EXPECT_LT(r.offset, 1u << 20);
    EXPECT_EQ(r.bytes, 4096u);  // the default size
  }
  // What a worker does: re-parse the kept YAML and generate the same requests.
  auto again = blocktrace::ParseBlockSynthSpec(YAML::Load(s->workloads[1].parsed.generator_yaml), "block_synthetic");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(blocktrace::GenerateBlockSynthetic(*again, 2), *a2);

  std::string traced = kBlockGood;
  traced.replace(traced.find("  - name: zipf\n"), 15, "  - name: zipf\n    transport: trace\n");
  auto t = Parse(traced, reg);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->workloads[1].transport, WorkloadEntry::Transport::kTrace);
}

TEST(BlockSpecTest, TraceChangedSinceLoadIsRefused) {
  auto reg = MixedRegistry();
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("kreplay_spec_test_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(std::string(KREPLAY_SPEC_TESTDATA) + "/trace.csv", dir / "t.csv",
                             std::filesystem::copy_options::overwrite_existing);
  auto s = ParseStudySpec(R"(study: s
seeds: 1
workloads: [{name: t, blocktrace: t.csv}]
variants: [{name: a, model: test.lru}]
)", "study.yaml", dir.string(), *reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_TRUE(BlockOf(*s, 0, 1).ok());
  {
    std::ofstream out(dir / "t.csv", std::ios::app);
    out << "7000,sda,read,0,4096,7\n";
  }
  auto w = BlockOf(*s, 0, 1);
  EXPECT_EQ(w.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(w.status().message(), HasSubstr("changed since the study was loaded (now 6 requests"));
  std::filesystem::remove(dir / "t.csv");
  auto gone = BlockOf(*s, 0, 1);
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(gone.status().message(), HasSubstr("workload 't'"));
  std::filesystem::remove_all(dir);
}

TEST(BlockSpecTest, OneFamilyPerStudy) {
  auto reg = MixedRegistry();
  auto mixed = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
variants:
  - {name: cfs, model: test.cfs}
  - {name: bc, model: test.bcache}
  - {name: other, model: test.net}
)", reg);
  ASSERT_FALSE(mixed.ok());
  EXPECT_THAT(mixed.status().message(),
              HasSubstr("study.yaml:7: variants[1].model: model 'test.bcache' is of family 'blockcache', but the "
                        "study's models are of family 'sched' (variant 'cfs', model test.cfs): all variants of a "
                        "study share one family"));
  EXPECT_THAT(mixed.status().message(),
              HasSubstr("study.yaml:8: variants[2].model: model 'test.net' is of family 'net', which study specs "
                        "do not support (supported: blockcache, sched)"));

  // The first variant with a usable model sets the family; here a block one,
  // so the platform and the rt-app workload are the odd ones out.
  auto block_first = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads:
  - {name: v, rtapp: video.json}
  - {name: t, blocktrace: trace.csv}
variants:
  - {name: nope, model: test.zzz}
  - {name: lru, model: test.lru}
  - {name: cfs, model: test.cfs}
)", reg);
  ASSERT_FALSE(block_first.ok());
  const std::string m = block_first.status().message();
  EXPECT_THAT(m, HasSubstr("study.yaml:3: platforms: a blockcache study takes no platforms: the study's models are "
                           "of family 'blockcache' (variant 'lru', model test.lru)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:5: workloads[0].rtapp: a scheduler workload needs a sched study, but the "
                           "study's models are of family 'blockcache'"));
  EXPECT_THAT(m, HasSubstr("study.yaml:10: variants[2].model: model 'test.cfs' is of family 'sched', but the "
                           "study's models are of family 'blockcache' (variant 'lru', model test.lru)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:8: variants[0].model: unknown model 'test.zzz'"));
  EXPECT_THAT(m, Not(HasSubstr("workloads[1]")));
}

TEST(BlockSpecTest, WorkloadKindsFollowTheFamily) {
  auto reg = MixedRegistry();
  auto sched = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads:
  - name: t
    blocktrace: trace.csv
  - name: z
    block_synthetic: {requests: 10, components: [{kind: scan, footprint: 1MiB}]}
  - name: none
  - name: two
    rtapp: video.json
    blocktrace: trace.csv
variants: [{name: a, model: test.cfs}]
)", reg);
  ASSERT_FALSE(sched.ok());
  std::string m = sched.status().message();
  EXPECT_THAT(m, HasSubstr("study.yaml:6: workloads[0].blocktrace: a block workload needs a blockcache study, but the "
                           "study's models are of family 'sched' (variant 'a', model test.cfs) (allowed here: "
                           "synthetic, rtapp; one family per study)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:8: workloads[1].block_synthetic: a block workload needs a blockcache study"));
  EXPECT_THAT(m, HasSubstr("study.yaml:9: workloads[2]: exactly one of 'synthetic' or 'rtapp' is required\n"));
  EXPECT_THAT(m, HasSubstr("study.yaml:10: workloads[3]: exactly one of 'synthetic' or 'rtapp' is required (got "
                           "rtapp, blocktrace)"));

  auto block = Parse(R"(study: s
seeds: 1
workloads:
  - name: s
    synthetic: {duration: 1s, groups: [{kind: batch, work: 10ms}]}
  - name: none
variants: [{name: a, model: test.lru}]
)", reg);
  ASSERT_FALSE(block.ok());
  m = block.status().message();
  EXPECT_THAT(m, HasSubstr("study.yaml:5: workloads[0].synthetic: a scheduler workload needs a sched study, but the "
                           "study's models are of family 'blockcache' (variant 'a', model test.lru) (allowed here: "
                           "blocktrace, block_synthetic; one family per study)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:6: workloads[1]: exactly one of 'blocktrace' or 'block_synthetic' is required"));
  // No platform is asked for.
  EXPECT_THAT(m, Not(HasSubstr("platforms")));

  // With no known model, the workloads decide whether platforms are needed.
  auto unknown = Parse(R"(study: s
seeds: 1
workloads: [{name: t, blocktrace: trace.csv}]
variants: [{name: a, model: test.zzz}]
)", reg);
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.status().message(), Not(HasSubstr("platforms")));
  EXPECT_THAT(unknown.status().message(), HasSubstr("unknown model 'test.zzz'"));

  // A reserved name is not "unknown": the message says why it cannot run.
  auto reserved = Parse(R"(study: s
seeds: 1
platforms: [tc2]
workloads: [{name: t, rtapp: t.json}]
variants: [{name: a, model: sched.eas}]
)", reg);
  ASSERT_FALSE(reserved.ok());
  EXPECT_THAT(reserved.status().message(),
              HasSubstr("variants[0].model: model 'sched.eas' is reserved and not built yet (a later issue builds it)"));
  auto unknown_sched = Parse(R"(study: s
seeds: 1
workloads: [{name: v, rtapp: video.json}]
variants: [{name: a, model: test.zzz}]
)", reg);
  EXPECT_THAT(unknown_sched.status().message(), HasSubstr("study.yaml:1: platforms: required field missing"));
}

TEST(BlockSpecTest, TraceErrorsNameSpecLineFieldAndTraceLine) {
  auto reg = MixedRegistry();
  auto with = [&](const std::string& workload) {
    return Parse("study: s\nseeds: 1\nworkloads:\n  - name: t\n" + workload +
                     "variants: [{name: a, model: test.lru}]\n",
                 reg);
  };
  // Line 5 of the spec is the first line of `workload`.
  auto broken = with("    blocktrace: broken_trace.csv\n");
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(broken.status().message(),
              HasSubstr("study.yaml:5: workloads[0].blocktrace: broken_trace.csv:3: field 'size': "));
  auto missing = with("    blocktrace: nope.csv\n");
  EXPECT_THAT(missing.status().message(), HasSubstr("study.yaml:5: workloads[0].blocktrace: nope.csv: "));
  auto empty = with("    blocktrace: empty_trace.csv\n");
  EXPECT_THAT(empty.status().message(),
              HasSubstr("study.yaml:5: workloads[0].blocktrace: empty_trace.csv: the trace has no requests"));
  auto stdin_trace = with("    blocktrace: \"-\"\n");
  EXPECT_THAT(stdin_trace.status().message(),
              HasSubstr("study.yaml:5: workloads[0].blocktrace: stdin ('-') cannot be a study workload"));
  // Clamped by default, an error with strict_time_order.
  auto clamped = with("    blocktrace: unordered_trace.csv\n");
  ASSERT_TRUE(clamped.ok()) << clamped.status().ToString();
  EXPECT_EQ(clamped->workloads[0].As<blockcache::BlockTraceSpec>()->info.clamped_times, 1u);
  auto strict = with("    blocktrace: unordered_trace.csv\n    strict_time_order: true\n");
  EXPECT_THAT(strict.status().message(),
              HasSubstr("study.yaml:5: workloads[0].blocktrace: unordered_trace.csv:4: field 'time': "));
  // Forced to the wrong format, the same file fails on its first line.
  auto msr = with("    blocktrace: trace.csv\n    format: msr\n");
  EXPECT_THAT(msr.status().message(), HasSubstr("study.yaml:5: workloads[0].blocktrace: trace.csv:1: field '"));
}

TEST(BlockSpecTest, TraceReaderOptions) {
  auto reg = MixedRegistry();
  auto with = [&](const std::string& workload) {
    return Parse("study: s\nseeds: 1\nworkloads:\n  - name: t\n" + workload +
                     "variants: [{name: a, model: test.lru}]\n",
                 reg);
  };
  auto mapped = with("    blocktrace: mapped_trace.csv\n    format: csv\n"
                     "    csv_mapping: \"time=0:us,op=1,offset=2:sectors,size=3:sectors\"\n");
  ASSERT_TRUE(mapped.ok()) << mapped.status().ToString();
  EXPECT_EQ(mapped->workloads[0].As<blockcache::BlockTraceSpec>()->options.format, blocktrace::Format::kCsv);
  auto w = BlockOf(*mapped, 0, 1);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  // 10 us and 12 us, relative to the first; sectors of 512 bytes; one volume.
  using workload::BlockOp;
  EXPECT_EQ(w->requests, (std::vector<workload::BlockRequest>{{0, 4096, 4096, 0, 0, BlockOp::kRead},
                                                               {2000, 8192, 8192, 0, 0, BlockOp::kWrite}}));
  EXPECT_FALSE(w->has_task_ids);

  auto bad_mapping = with("    blocktrace: mapped_trace.csv\n    format: csv\n    csv_mapping: \"time=0,op=1\"\n");
  EXPECT_THAT(bad_mapping.status().message(),
              HasSubstr("study.yaml:7: workloads[0].csv_mapping: missing column 'offset'"));
  auto no_csv = with("    blocktrace: mapped_trace.csv\n    csv_mapping: \"time=0\"\n");
  EXPECT_THAT(no_csv.status().message(),
              HasSubstr("study.yaml:6: workloads[0].csv_mapping: needs format: csv (format is auto, the default)"));
  auto bad_format = with("    blocktrace: trace.csv\n    format: spc\n");
  EXPECT_THAT(bad_format.status().message(), HasSubstr("study.yaml:6: workloads[0].format: unknown format 'spc'"));
  auto bad_event = with("    blocktrace: trace.csv\n    blkparse_event: C\n");
  EXPECT_THAT(bad_event.status().message(),
              HasSubstr("study.yaml:6: workloads[0].blkparse_event: expected Q (bios as queued) or D"));
  auto event_msr = with("    blocktrace: trace.csv\n    format: msr\n    blkparse_event: D\n");
  EXPECT_THAT(event_msr.status().message(),
              HasSubstr("study.yaml:7: workloads[0].blkparse_event: only for format blkparse (format is msr)"));
  auto d_ok = with("    blocktrace: trace.csv\n    blkparse_event: D\n");
  ASSERT_TRUE(d_ok.ok()) << d_ok.status().ToString();
  EXPECT_EQ(d_ok->workloads[0].As<blockcache::BlockTraceSpec>()->options.blkparse_event, blocktrace::BlkparseEvent::kIssue);
  auto zero = with("    blocktrace: trace.csv\n    max_requests: 0\n    strict_time_order: maybe\n");
  EXPECT_THAT(zero.status().message(), HasSubstr("study.yaml:6: workloads[0].max_requests: must be at least 1"));
  EXPECT_THAT(zero.status().message(),
              HasSubstr("study.yaml:7: workloads[0].strict_time_order: expected true or false"));
  auto generate = with("    blocktrace: trace.csv\n    transport: generate\n");
  EXPECT_THAT(generate.status().message(),
              HasSubstr("study.yaml:6: workloads[0].transport: a block trace workload travels as a trace"));
  auto stray = with("    block_synthetic: {requests: 5, components: [{kind: scan, footprint: 1MiB}]}\n"
                    "    format: csv\n    max_requests: 3\n");
  EXPECT_THAT(stray.status().message(), HasSubstr("study.yaml:6: workloads[0].format: only for a blocktrace workload"));
  EXPECT_THAT(stray.status().message(),
              HasSubstr("study.yaml:7: workloads[0].max_requests: only for a blocktrace workload"));
}

TEST(BlockSpecTest, BlockSyntheticErrorsKeepTheirLine) {
  auto reg = MixedRegistry();
  auto s = Parse(R"(study: s
seeds: 1
workloads:
  - name: z
    block_synthetic:
      requests: 10
      arrival: {kind: poisson, rate: 100}
      components:
        - kind: zipf
          footprint: 1MiB
          size: 3 bytes
variants: [{name: a, model: test.lru}]
)", reg);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("study.yaml:11: workloads[0].block_synthetic.components[0].size"));
  auto bad_transport = Parse(R"(study: s
seeds: 1
workloads:
  - name: z
    transport: pigeon
    block_synthetic: {requests: 5, arrival: {kind: fixed, rate: 10}, components: [{kind: scan, footprint: 1MiB}]}
variants: [{name: a, model: test.lru}]
)", reg);
  EXPECT_THAT(bad_transport.status().message(),
              HasSubstr("study.yaml:5: workloads[0].transport: unknown transport 'pigeon' (allowed: generate, trace)"));
}

TEST(BlockSpecTest, ByteSizeAndDurationParams) {
  auto reg = MixedRegistry();
  auto with = [&](const std::string& params, const std::string& grid = "") {
    return Parse("study: s\nseeds: 1\nworkloads: [{name: t, blocktrace: trace.csv}]\n"
                 "variants:\n  - name: a\n    model: test.bcache\n    params: " + params + "\n" + grid,
                 reg);
  };
  auto ok = with("{cache_size: 512MiB, congested_read_threshold_us: 250us, writeback_delay: 5s}");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->variants[0].params.Int("cache_size"), int64_t{512} * 1024 * 1024);
  EXPECT_EQ(ok->variants[0].params.Int("congested_read_threshold_us"), 250);
  EXPECT_EQ(ok->variants[0].params.Int("writeback_delay"), 5);
  auto plain = with("{cache_size: 8388608, congested_read_threshold_us: 7}");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->variants[0].params.Int("cache_size"), 8388608);
  EXPECT_EQ(plain->variants[0].params.Int("congested_read_threshold_us"), 7);
  // A quoted bare number stays a string for a coarse time unit (it is not
  // read as ns and scaled).
  auto quoted_us = with("{congested_read_threshold_us: \"2000\"}");
  EXPECT_THAT(quoted_us.status().message(),
              HasSubstr("study.yaml:7: variants[0].params.congested_read_threshold_us: expected int, got '2000'"));
  // Quoted sizes convert too (they are strings either way).
  auto quoted = with("{cache_size: \"4GiB\"}");
  ASSERT_TRUE(quoted.ok()) << quoted.status().ToString();
  EXPECT_EQ(quoted->variants[0].params.Int("cache_size"), int64_t{4} << 30);

  auto bad = with("{cache_size: 16MB, congested_read_threshold_us: 1500ns, writeback_delay: soon}");
  ASSERT_FALSE(bad.ok());
  const std::string m = bad.status().message();
  EXPECT_THAT(m, HasSubstr("study.yaml:7: variants[0].params.cache_size: expected int (bytes) or a size such as "
                           "512MiB, got '16MB'"));
  EXPECT_THAT(m, HasSubstr("study.yaml:7: variants[0].params.congested_read_threshold_us: '1500ns' is not a whole "
                           "number of us"));
  EXPECT_THAT(m, HasSubstr("study.yaml:7: variants[0].params.writeback_delay: expected int (s) or a duration such "
                           "as 4ms, got 'soon'"));
  EXPECT_THAT(m, Not(HasSubstr("expected int, got")));  // reported once, not again as a type error
  // Bounds apply to the converted value.
  auto small = with("{cache_size: 1MiB}");
  EXPECT_THAT(small.status().message(),
              HasSubstr("study.yaml:7: variants[0].params.cache_size: 1048576 is out of bounds [4194304, "));
  auto huge = with("{cache_size: 16777216TiB}");
  EXPECT_THAT(huge.status().message(), HasSubstr("variants[0].params.cache_size: "));

  // Grid values convert the same way and keep their text in variant names;
  // a bad one names the grid line.
  auto grid = with("{cache_mode: writeback}",
                   "grid:\n  cache_size: [16MiB, 32MiB]\n  cache_replacement_policy: [lru, fifo]\n");
  ASSERT_TRUE(grid.ok()) << grid.status().ToString();
  ASSERT_EQ(grid->variants.size(), 4u);
  EXPECT_EQ(grid->variants[1].name, "a[cache_size=16MiB,cache_replacement_policy=fifo]");
  EXPECT_EQ(grid->variants[3].params.Int("cache_size"), 32 << 20);
  auto bad_grid = with("{cache_mode: writeback}", "grid:\n  cache_size: [16MiB, 32 MiBs]\n");
  EXPECT_THAT(bad_grid.status().message(),
              HasSubstr("study.yaml:9: grid.cache_size: expected int (bytes) or a size such as 512MiB, got '32 MiBs'"));
  // Two spellings of one size are one variant twice.
  auto same = with("{cache_mode: writeback}", "grid:\n  cache_size: [16MiB, 16777216]\n");
  EXPECT_THAT(same.status().message(), HasSubstr("has the same model and parameters as 'a[cache_size=16MiB]'"));
}

// The study fields the gate and own-grid tests share; they add variants.
constexpr const char* kRtAppHead = R"(study: s
seeds: 3
platforms: [tc2]
workloads: [{name: v, rtapp: video.json}]
)";

const std::string kGateHead = std::string(kRtAppHead) + R"(variants:
  - {name: a, model: test.cfs}
  - {name: b, model: test.hmp}
)";

TEST(SpecGateTest, ParsesRulesBaselineAndAlpha) {
  auto reg = TestRegistry();
  auto s = Parse(kGateHead + R"(gate:
  baseline: base/results.json
  alpha: 0.01
  fail_if: ["energy:+3%", "makespan_ms:2.5%", "hmp_migrations:-10%"]
)", reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(s->gate.present);
  EXPECT_EQ(s->gate.baseline, std::string(KREPLAY_SPEC_TESTDATA) + "/base/results.json");
  EXPECT_EQ(s->gate.alpha, 0.01);
  ASSERT_EQ(s->gate.fail_if.size(), 3u);
  EXPECT_EQ(s->gate.fail_if[0].metric, "energy");
  EXPECT_TRUE(s->gate.fail_if[1].bad_is_increase);  // makespan: lower is better
  EXPECT_DOUBLE_EQ(s->gate.fail_if[1].threshold_pct, 2.5);
  EXPECT_FALSE(s->gate.fail_if[2].bad_is_increase);
}

TEST(SpecGateTest, EveryBadRuleIsReportedWithItsLine) {
  auto reg = TestRegistry();
  auto s = Parse(kGateHead + R"(gate:
  alpha: 2
  fail_if:
    - "energyy:+3%"
    - "energy:-3%"
    - "hmp_migrations:5%"
    - "makespan_ms:+3"
  extra: 1
)", reg);
  ASSERT_FALSE(s.ok());
  const std::string& m = s.status().message();
  EXPECT_THAT(m, HasSubstr("study.yaml:15: gate.extra: unknown field"));
  // Fields() stops at an unknown key; the rules are checked once it is fixed.
  auto t = Parse(kGateHead + R"(gate:
  alpha: 2
  fail_if:
    - "energyy:+3%"
    - "energy:-3%"
    - "hmp_migrations:5%"
    - "makespan_ms:+3"
)", reg);
  ASSERT_FALSE(t.ok());
  const std::string& n = t.status().message();
  EXPECT_THAT(n, HasSubstr("study.yaml:9: gate.alpha: expected a level in (0, 1)"));
  EXPECT_THAT(n, HasSubstr("study.yaml:11: gate.fail_if[0]: 'energyy' is not a metric of model test.cfs, test.hmp "
                           "(did you mean 'energy'?)"));
  EXPECT_THAT(n, HasSubstr("study.yaml:12: gate.fail_if[1]: 'energy:-3%': metric 'energy' is lower-is-better"));
  EXPECT_THAT(n, HasSubstr("study.yaml:13: gate.fail_if[2]: 'hmp_migrations:5%': metric 'hmp_migrations' declares no "
                           "good direction"));
  EXPECT_THAT(n, HasSubstr("study.yaml:14: gate.fail_if[3]: 'makespan_ms:+3': the threshold must be a percentage"));
}


TEST(SpecOwnGridTest, SweepsOneVariantAgainstTheReference) {
  auto reg = TestRegistry();
  auto s = Parse(std::string(kRtAppHead) + R"(variants:
  - {name: cfs, model: test.cfs}
  - name: hmp
    model: test.hmp
    grid: {hmp_up_threshold: [600, 800], sched_latency: [4ms, 6ms]}
grid:
  governor: [performance, schedutil]
)", reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  // 2 study-grid points x (1 cfs + 4 own hmp points).
  ASSERT_EQ(s->variants.size(), 10u);
  EXPECT_EQ(s->variants[0].name, "cfs[governor=performance]");
  EXPECT_EQ(s->variants[2].name, "hmp[governor=performance,hmp_up_threshold=600,sched_latency=4ms]");
  EXPECT_EQ(s->variants[2].compare_to, "cfs[governor=performance]");
  EXPECT_EQ(s->variants[9].name, "hmp[governor=schedutil,hmp_up_threshold=800,sched_latency=6ms]");
  EXPECT_EQ(s->variants[9].compare_to, "cfs[governor=schedutil]");
  EXPECT_EQ(s->variants[9].params.Int("hmp_up_threshold"), 800);
  EXPECT_EQ(s->variants[9].params.Int("sched_latency"), 6000000);
  EXPECT_EQ(ExpandRuns(*s).size(), 10u * s->seeds.size());
  // Coordinates: the study grid's first, then the variant's own, each with
  // its spec text and resolved value.
  const Variant& v = s->variants[9];
  EXPECT_EQ(v.grid, (std::vector<GridCoord>{{"governor", "schedutil", std::string("schedutil")},
                                            {"hmp_up_threshold", "800", int64_t{800}},
                                            {"sched_latency", "6ms", int64_t{6000000}}}));
  EXPECT_EQ(v.shared_coords, 1u);
  ASSERT_EQ(v.shared_grid().size(), 1u);
  EXPECT_EQ(v.shared_grid()[0].key, "governor");
  EXPECT_TRUE(v.own_grid());
  EXPECT_EQ(VariantName(v.base_name, v.grid), v.name);
  EXPECT_FALSE(s->variants[0].own_grid());
}

// A string grid value may hold ',' and '=': the coordinates keep it whole
// (variant names show it verbatim; nothing parses them back).
TEST(SpecGridTest, ValuesWithCommasKeepTheirCoordinates) {
  auto reg = TestRegistry();
  model::ModelInfo tagged = *reg->models().Find("test.cfs");
  tagged.name = "test.tagged";
  tagged.params.push_back({"tag", model::ParamType::kString, "", std::string(""), {}, {}, {}, "a label"});
  ASSERT_TRUE(reg->models().Register(std::move(tagged)).ok());
  auto s = Parse(std::string(kRtAppHead) + R"(variants:
  - {name: ref, model: test.tagged}
  - name: t
    model: test.tagged
    grid: {sched_latency: [4ms]}
grid:
  tag: ["a,b", "a,governor=schedutil"]
  governor: [performance]
)", reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_EQ(s->variants.size(), 4u);
  const Variant& v = s->variants[3];
  EXPECT_EQ(v.name, "t[tag=a,governor=schedutil,governor=performance,sched_latency=4ms]");
  EXPECT_EQ(v.grid, (std::vector<GridCoord>{{"tag", "a,governor=schedutil", std::string("a,governor=schedutil")},
                                            {"governor", "performance", std::string("performance")},
                                            {"sched_latency", "4ms", int64_t{4000000}}}));
  EXPECT_EQ(v.shared_coords, 2u);
  EXPECT_EQ(v.params.Str("tag"), "a,governor=schedutil");
  EXPECT_EQ(v.compare_to, "ref[tag=a,governor=schedutil,governor=performance]");
  EXPECT_EQ(s->variants[0].grid[0], (GridCoord{"tag", "a,b", std::string("a,b")}));
  EXPECT_EQ(s->variants[0].compare_to, "");
  EXPECT_EQ(s->variants[2].compare_to, "ref[tag=a,b,governor=performance]");
}

TEST(SpecOwnGridTest, ErrorsNameTheVariantsGrid) {
  auto reg = TestRegistry();
  auto s = Parse(std::string(kRtAppHead) + R"(variants:
  - {name: cfs, model: test.cfs, grid: {hmp_up_threshold: [600]}}
  - name: hmp
    model: test.hmp
    params: {sched_latency: 4ms}
    grid: {governor: [performance], sched_latency: [5ms], hmp_up_threshold: [5000]}
grid:
  governor: [schedutil]
)", reg);
  ASSERT_FALSE(s.ok());
  const std::string& m = s.status().message();
  EXPECT_THAT(m, HasSubstr("study.yaml:6: variants[0].grid.hmp_up_threshold: not a parameter of model test.cfs"));
  EXPECT_THAT(m, HasSubstr("study.yaml:10: variants[1].grid.governor: also swept by grid.governor (line 12)"));
  EXPECT_THAT(m, HasSubstr("study.yaml:9: variants[1].params.sched_latency: also set by variants[1].grid.sched_latency"));
  EXPECT_THAT(m, HasSubstr("study.yaml:10: variants[1].grid.hmp_up_threshold:"));

  auto r = Parse(std::string(kRtAppHead) + R"(variants:
  - {name: hmp, model: test.hmp, grid: {hmp_up_threshold: [600, 800]}}
  - {name: cfs, model: test.cfs}
)", reg);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("study.yaml:1: reference: the default reference is the first variant: variant 'hmp' sweeps a grid of its own"));
  auto ok = Parse(std::string(kRtAppHead) + R"(variants:
  - {name: hmp, model: test.hmp, grid: {hmp_up_threshold: [600, 800]}}
  - {name: cfs, model: test.cfs}
reference: "hmp[hmp_up_threshold=600]"
)", reg);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->variants[2].compare_to, "hmp[hmp_up_threshold=600]");
}

}  // namespace
}  // namespace kreplay::spec
