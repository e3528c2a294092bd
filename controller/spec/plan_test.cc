#include "controller/spec/plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "services/workload/synth.h"
#include "workers/models/blockcache/family.h"
#include "workers/models/sched/family.h"

namespace kreplay::spec {
namespace {

using ::testing::HasSubstr;

StatusOr<model::Result> NoRun(const model::RunInput&) { return model::Result{}; }

// The real families' tables (workload kinds, estimates) and fake models under
// the real names with the real models' measured rates; block.lru batches,
// bcache does not (as the real ones).
using Reg = std::unique_ptr<family::Catalog>;
Reg TestRegistry() {
  Reg catalog = std::make_unique<family::Catalog>();
  EXPECT_TRUE(catalog->RegisterFamily(sched::SchedFamilyInfo()).ok());
  EXPECT_TRUE(catalog->RegisterFamily(blockcache::BlockCacheFamilyInfo()).ok());
  model::Registry& reg = catalog->models();
  for (const char* name : {"sched.cfs", "sched.hmp"}) {
    model::ModelInfo m;
    m.name = name;
    m.family = "sched";
    m.version = "1";
    m.params.push_back(model::IntParam("sched_latency", "ns", 6000000, 100000, 1e9, "latency"));
    m.metrics = {{"energy", "J", model::Better::kLower, ""}};
    m.run = NoRun;
    m.work_unit = "events";
    m.work_per_core_s = 13e6;
    EXPECT_TRUE(reg.Register(std::move(m)).ok());
  }
  model::ModelInfo lru;
  lru.name = "block.lru";
  lru.family = "blockcache";
  lru.version = "1";
  lru.params.push_back(model::IntParam("block_size", "bytes", 4096, 512, 1 << 30, "block"));
  lru.params.push_back(model::IntParam("cache_size", "bytes", 1 << 30, 0, 4.6e18, "capacity"));
  lru.metrics = {{"miss_ratio", "ratio", model::Better::kLower, ""}};
  lru.run = NoRun;
  lru.work_unit = "block accesses";
  lru.work_per_core_s = 15e6;
  lru.run_batch = [](const model::RunInput&, const std::vector<const model::ParamSet*>& p) {
    return std::vector<StatusOr<model::Result>>(p.size(), model::Result{});
  };
  model::ModelInfo bcache = lru;
  bcache.name = "bcache";
  bcache.run_batch = nullptr;
  bcache.work_unit = "requests";
  bcache.work_per_core_s = 3.3e6;
  EXPECT_TRUE(reg.Register(std::move(lru)).ok());
  EXPECT_TRUE(reg.Register(std::move(bcache)).ok());
  return catalog;
}

StudySpec Load(const std::string& yaml, const Reg& reg) {
  auto s = ParseStudySpec(yaml, "study.yaml", KREPLAY_SPEC_TESTDATA, *reg);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : StudySpec{};
}

const char* kSched = R"(study: s
seeds: 3
platforms: [juno-r0, tc2]
workloads:
  - name: mixed
    synthetic:
      duration: 1s
      groups:
        - {kind: periodic, count: 2, period: 16ms, run: 3ms}
        - {kind: interactive, count: 3, run: {dist: exponential, mean: 2ms}, sleep: {dist: exponential, mean: 20ms}}
  - name: video
    rtapp: video.json
variants:
  - {name: cfs, model: sched.cfs}
  - {name: hmp, model: sched.hmp}
grid:
  sched_latency: [4ms, 6ms, 8ms]
)";

TEST(PlanTest, CountsRunsAsExpandRunsDoes) {
  auto reg = TestRegistry();
  StudySpec spec = Load(kSched, reg);
  StudyPlan p = PlanStudy(spec, *reg);
  EXPECT_EQ(p.runs, ExpandRuns(spec).size());
  EXPECT_EQ(p.runs, 2u * 3 * 2 * 2 * 3);  // variants x grid x platforms x workloads x seeds
  ASSERT_EQ(p.variants.size(), 6u);
  EXPECT_EQ(p.variants[0].name, spec.variants[0].name);
  for (const auto& v : p.variants) EXPECT_EQ(v.runs, 2u * 2 * 3);
  EXPECT_EQ(p.work_items, p.runs);  // no batching model
  EXPECT_EQ(p.batched_runs, 0u);
  EXPECT_EQ(p.platforms, (std::vector<std::string>{"juno-r0", "tc2"}));
  EXPECT_EQ(p.seeds, spec.seeds);
}

TEST(PlanTest, SchedWorkloadSizes) {
  auto reg = TestRegistry();
  StudySpec spec = Load(kSched, reg);
  StudyPlan p = PlanStudy(spec, *reg);
  ASSERT_EQ(p.workloads.size(), 2u);
  const WorkloadPlan& syn = p.workloads[0];
  EXPECT_EQ(syn.kind, "synthetic");
  EXPECT_TRUE(syn.per_seed);
  EXPECT_FALSE(syn.travels_as_trace);
  EXPECT_EQ(syn.instances, 3u);
  EXPECT_EQ(syn.tasks, static_cast<uint64_t>(workload::SyntheticTaskCount(*spec.workloads[0].As<workload::SynthSpec>())));
  EXPECT_DOUBLE_EQ(syn.phases, workload::SyntheticExpectedPhases(*spec.workloads[0].As<workload::SynthSpec>()));
  EXPECT_GT(syn.trace_bytes, syn.phases);  // several bytes a record
  const WorkloadPlan& rt = p.workloads[1];
  EXPECT_EQ(rt.kind, "rtapp");
  EXPECT_FALSE(rt.per_seed);
  EXPECT_TRUE(rt.travels_as_trace);
  EXPECT_EQ(rt.instances, 1u);
  EXPECT_EQ(rt.tasks, 2u);
  EXPECT_EQ(rt.trace_records, 4u);  // video.json: frame {run, timer}, bg {run, sleep}
  // frame loops until 1 s on a 16.667 ms timer (~60 loops of 2 phases); bg
  // runs its 10 loops of 2 phases: about 140 executed phases.
  EXPECT_NEAR(rt.phases, 60 * 2 + 10 * 2, 2);
  // Only the rt-app file travels as a trace, once.
  EXPECT_DOUBLE_EQ(p.trace_bytes, rt.trace_bytes);
}

TEST(PlanTest, SchedWorkGrowsWithSeedsDurationAndTraceTransport) {
  auto reg = TestRegistry();
  StudySpec a = Load(kSched, reg);
  std::string longer = kSched;
  longer.replace(longer.find("duration: 1s"), 12, "duration: 2s");
  longer.replace(longer.find("seeds: 3"), 8, "seeds: 6");
  StudySpec b = Load(longer, reg);
  StudyPlan pa = PlanStudy(a, *reg), pb = PlanStudy(b, *reg);
  EXPECT_GT(pa.core_seconds, 0);
  EXPECT_GT(pb.core_seconds, 2 * pa.core_seconds);  // twice the seeds, synthetic twice as long
  EXPECT_EQ(pa.variants[0].work_unit, "events");
  EXPECT_TRUE(pa.variants[0].rate_measured);
  EXPECT_DOUBLE_EQ(pa.variants[0].core_seconds, pa.variants[0].work / pa.variants[0].rate_per_core_s);

  std::string traced = kSched;
  traced.replace(traced.find("    synthetic:"), 14, "    transport: trace\n    synthetic:");
  StudyPlan pt = PlanStudy(Load(traced, reg), *reg);
  EXPECT_TRUE(pt.workloads[0].travels_as_trace);
  EXPECT_DOUBLE_EQ(pt.trace_bytes, pt.workloads[0].trace_bytes * 3 + pt.workloads[1].trace_bytes);
}

const char* kBlock = R"(study: b
seeds: 2
workloads:
  - name: zipf
    block_synthetic:
      requests: 1000
      arrival: {kind: fixed, rate: 1000}
      components:
        - {kind: zipf, footprint: 64MiB, size: 64KiB, weight: 1}
        - {kind: scan, footprint: 32MiB, size: 4KiB, weight: 3, volume: 1}
  - name: file
    blocktrace: trace.csv
variants:
  - {name: lru, model: block.lru}
grid:
  cache_size: [1MiB, 2MiB, 4MiB]
)";

TEST(PlanTest, BlockSizesAndAccesses) {
  auto reg = TestRegistry();
  StudySpec spec = Load(kBlock, reg);
  StudyPlan p = PlanStudy(spec, *reg);
  EXPECT_EQ(p.runs, ExpandRuns(spec).size());
  EXPECT_EQ(p.platforms, std::vector<std::string>{kNoPlatform});
  const WorkloadPlan& z = p.workloads[0];
  EXPECT_EQ(z.kind, "block_synthetic");
  EXPECT_DOUBLE_EQ(z.requests, 1000);
  EXPECT_EQ(z.volumes, 2u);
  EXPECT_EQ(z.footprint_bytes, (64u + 32u) << 20);
  EXPECT_DOUBLE_EQ(z.mean_request_bytes, (65536.0 + 3 * 4096.0) / 4);
  const WorkloadPlan& f = p.workloads[1];
  EXPECT_EQ(f.kind, "blocktrace");
  EXPECT_DOUBLE_EQ(f.requests, static_cast<double>(spec.workloads[1].As<blockcache::BlockTraceSpec>()->info.requests));
  EXPECT_EQ(f.volumes, spec.workloads[1].As<blockcache::BlockTraceSpec>()->info.volumes);
  EXPECT_TRUE(f.travels_as_trace);
  // block.lru counts block accesses: 64 KiB requests touch 16 blocks of 4 KiB,
  // 4 KiB ones one (weights 1:3); trace requests count one each (lower bound).
  const VariantPlan& v = p.variants[0];
  EXPECT_EQ(v.work_unit, "block accesses");
  EXPECT_TRUE(v.work_is_lower_bound);
  EXPECT_DOUBLE_EQ(v.work, 2 * (1000 * (16 + 3 * 1) / 4.0 + f.requests));
}

TEST(PlanTest, BlockSyntheticDurationCapsRequests) {
  auto reg = TestRegistry();
  std::string y = kBlock;
  y.replace(y.find("requests: 1000"), 14, "requests: 5000\n      duration: 2s");
  StudyPlan p = PlanStudy(Load(y, reg), *reg);
  EXPECT_DOUBLE_EQ(p.workloads[0].requests, 2000);  // 2 s at 1000/s before 5000 requests
}

TEST(PlanTest, BatchingModelsShareWorkItems) {
  auto reg = TestRegistry();
  StudySpec spec = Load(kBlock, reg);
  // 3 grid points share (model, workload, seed): 2 workloads x 2 seeds groups of 3.
  StudyPlan p = PlanStudy(spec, *reg);
  EXPECT_EQ(p.runs, 12u);
  EXPECT_EQ(p.work_items, 4u);
  EXPECT_EQ(p.batched_runs, 12u);
  PlanOptions two;
  two.max_batch_runs = 2;
  StudyPlan p2 = PlanStudy(spec, *reg, two);
  EXPECT_EQ(p2.work_items, 8u);    // each group of 3: an item of 2 and one alone
  EXPECT_EQ(p2.batched_runs, 8u);
  PlanOptions one;
  one.max_batch_runs = 1;
  EXPECT_EQ(PlanStudy(spec, *reg, one).work_items, 12u);
  // bcache has no batch function: one item per run.
  std::string y = kBlock;
  y.replace(y.find("model: block.lru"), 16, "model: bcache");
  StudyPlan pb = PlanStudy(Load(y, reg), *reg);
  EXPECT_EQ(pb.work_items, pb.runs);
  EXPECT_EQ(pb.variants[0].work_unit, "requests");
  EXPECT_FALSE(pb.variants[0].work_is_lower_bound);
}

TEST(PlanTest, ConfirmationAboveTheRunThreshold) {
  auto reg = TestRegistry();
  auto spec_with_seeds = [&](uint64_t n) {
    std::string y = kBlock;
    y.replace(y.find("seeds: 2"), 8, "seeds: " + std::to_string(n));
    y.replace(y.find("  - name: file\n    blocktrace: trace.csv\n"), 41, "");
    y.replace(y.find("[1MiB, 2MiB, 4MiB]"), 18, "[1MiB]");
    return Load(y, reg);
  };
  StudySpec at = spec_with_seeds(kPlanConfirmRuns);
  ASSERT_EQ(PlanStudy(at, *reg).runs, kPlanConfirmRuns);
  EXPECT_TRUE(CheckPlanSize(at, *reg, false).ok());
  StudySpec over = spec_with_seeds(kPlanConfirmRuns + 1);
  Status st = CheckPlanSize(over, *reg, false);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr(std::to_string(kPlanConfirmRuns + 1) + " runs"));
  EXPECT_THAT(st.message(), HasSubstr("--yes"));
  EXPECT_TRUE(CheckPlanSize(over, *reg, true).ok());
}

TEST(PlanTest, ConfirmationAboveTheWorkThreshold) {
  auto reg = TestRegistry();
  // Few runs, but 1e8 bcache requests each (~30 s of model work a run).
  std::string y = R"(study: heavy
seeds: 150
workloads:
  - name: big
    block_synthetic:
      requests: 100000000
      arrival: {kind: fixed, rate: 1000}
      components: [{kind: zipf, footprint: 1GiB}]
variants:
  - {name: b, model: bcache}
)";
  StudyPlan p = PlanStudy(Load(y, reg), *reg);
  ASSERT_LT(p.runs, kPlanConfirmRuns);
  ASSERT_GT(p.core_seconds, kPlanConfirmCoreSeconds);
  Status st = CheckPlanSize(p, false);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(st.message(), HasSubstr("--yes"));
  EXPECT_TRUE(CheckPlanSize(p, true).ok());
}

TEST(PlanTest, WallTimeDividesByCoresButNotBelowTheLongestRun) {
  StudyPlan p;
  p.core_seconds = 100;
  p.longest_run_core_seconds = 5;
  EXPECT_DOUBLE_EQ(EstimateWallSeconds(p, 2, 5), 10);
  EXPECT_DOUBLE_EQ(EstimateWallSeconds(p, 10, 10), 5);
  EXPECT_DOUBLE_EQ(EstimateWallSeconds(p, 0, 0), 100);  // clamped to one core
}

TEST(PlanTest, HumanSeconds) {
  EXPECT_EQ(HumanSeconds(0.25), "250 ms");
  EXPECT_EQ(HumanSeconds(42), "42.0 s");
  EXPECT_EQ(HumanSeconds(600), "10.0 min");
  EXPECT_EQ(HumanSeconds(3 * 3600), "3.0 h");
  EXPECT_EQ(HumanSeconds(3 * 86400), "3.0 days");
}

}  // namespace
}  // namespace kreplay::spec
