#include "controller/planner/planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "controller/spec/run_key.h"
#include "services/codec/convert.h"
#include "services/workload/block_workload.h"
#include "services/workload/synth.h"
#include "workers/models/builtin.h"

namespace kreplay::planner {
namespace {

using ::testing::HasSubstr;

const family::Catalog& Catalog() {
  static const family::Catalog* catalog = [] {
    auto* c = new family::Catalog;
    models::RegisterBuiltinFamilies(*c);
    return c;
  }();
  return *catalog;
}

spec::StudySpec Load(const std::string& yaml) {
  auto s = spec::ParseStudySpec(yaml, "study.yaml", KREPLAY_SPEC_TESTDATA, Catalog());
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : spec::StudySpec{};
}

// Two sched workloads: one generated per seed, one rt-app file (the same for
// every seed).
const char* kSched = R"(study: s
seeds: 3
platforms: [juno-r0, tc2]
workloads:
  - name: mixed
    synthetic:
      duration: 200ms
      groups:
        - {kind: periodic, count: 2, period: 16ms, run: 3ms}
  - name: video
    rtapp: video.json
variants:
  - {name: cfs, model: sched.cfs}
  - {name: hmp, model: sched.hmp}
)";

TEST(PlannerTest, NamesEachWorkloadOncePerSeedOrOncePerFile) {
  spec::StudySpec spec = Load(kSched);
  auto plan = StudyPlanner::PlanRuns(spec);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  // 3 synthetic instances (one per seed) + 1 rt-app instance.
  ASSERT_EQ(plan->instances.size(), 4u);
  ASSERT_EQ(plan->runs.size(), 2u * 2u * 2u * 3u);
  for (const auto& inst : plan->instances) {
    const auto& we = spec.workloads[inst.workload];
    if (we.kind == "synthetic") {
      // Named by the generator's inputs (synth.h), without generating it.
      EXPECT_EQ(inst.digest, workload::SyntheticWorkloadDigest(*we.As<workload::SynthSpec>(), inst.seed));
      EXPECT_FALSE(inst.travels_as_trace);
    } else {
      EXPECT_EQ(inst.seed, 0u);
      EXPECT_EQ(inst.digest, workload::SchedWorkloadDigest(*we.As<workload::SchedWorkload>()));
      EXPECT_TRUE(inst.travels_as_trace);
    }
    EXPECT_TRUE(inst.built.empty()) << "dropped unless keep_built";
  }
  // Every run key is the content key of its inputs.
  std::set<std::string> keys;
  for (const auto& pr : plan->runs) {
    const auto& inst = plan->instances[pr.instance];
    EXPECT_EQ(inst.workload, pr.run.workload);
    if (spec.workloads[pr.run.workload].per_seed()) {
      EXPECT_EQ(inst.seed, pr.run.seed);
    }
    EXPECT_EQ(pr.run_key, spec::ComputeRunKey(pr.run.model, pr.run.model_version, pr.run.params.Canonical(),
                                              spec.platforms[pr.run.platform].digest, inst.digest, pr.run.seed));
    keys.insert(pr.run_key);
  }
  EXPECT_EQ(keys.size(), plan->runs.size());
}

TEST(PlannerTest, KeepBuiltBuildsEveryWorkloadAsTheSpecDefinesIt) {
  spec::StudySpec spec = Load(kSched);
  PlanOptions opt;
  opt.keep_built = true;
  auto plan = StudyPlanner::PlanRuns(spec, opt);
  ASSERT_TRUE(plan.ok());
  for (const auto& inst : plan->instances) {
    const auto* built = inst.built.As<workload::SchedWorkload>();
    ASSERT_NE(built, nullptr);
    auto want = spec::BuildWorkload(spec, inst.workload, inst.seed);
    ASSERT_TRUE(want.ok());
    EXPECT_EQ(workload::SchedWorkloadDigest(*built),
              workload::SchedWorkloadDigest(*want->As<workload::SchedWorkload>()));
  }
}

TEST(PlannerTest, OnBuiltSeesEachTraceInstanceOnce) {
  std::string yaml = kSched;
  yaml.replace(yaml.find("    synthetic:"), 14, "    transport: trace\n    synthetic:");
  spec::StudySpec spec = Load(yaml);
  std::atomic<int> calls{0};
  std::mutex mu;
  std::set<size_t> seen;
  PlanOptions opt;
  opt.on_built = [&](size_t index, const WorkloadInstance& inst, const model::AnyValue& w) {
    EXPECT_TRUE(inst.travels_as_trace);
    EXPECT_NE(w.As<workload::SchedWorkload>(), nullptr);
    std::lock_guard<std::mutex> lock(mu);
    seen.insert(index);
    ++calls;
    return OkStatus();
  };
  auto plan = StudyPlanner::PlanRuns(spec, opt);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(calls.load(), 4);
  EXPECT_EQ(seen.size(), 4u);
  // Synthetic workloads keep their generator-input names whatever the transport.
  for (const auto& inst : plan->instances) {
    if (!spec.workloads[inst.workload].per_seed()) continue;
    EXPECT_EQ(inst.digest,
              workload::SyntheticWorkloadDigest(*spec.workloads[inst.workload].As<workload::SynthSpec>(), inst.seed));
  }

  opt.on_built = [](size_t, const WorkloadInstance&, const model::AnyValue&) {
    return Unavailable("disk full");
  };
  auto failed = StudyPlanner::PlanRuns(spec, opt);
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("disk full"));
}

TEST(PlannerTest, FilterPlansOnlyTheRunsItKeeps) {
  spec::StudySpec spec = Load(kSched);
  PlanOptions opt;
  opt.filter = [](const spec::RunSpec& r) { return r.seed == 2 && r.workload == 0; };
  auto plan = StudyPlanner::PlanRuns(spec, opt);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->runs.size(), 4u);  // 2 variants x 2 platforms
  ASSERT_EQ(plan->instances.size(), 1u);
  EXPECT_EQ(plan->instances[0].seed, 2u);
  auto all = StudyPlanner::PlanRuns(spec);
  ASSERT_TRUE(all.ok());
  for (const auto& pr : plan->runs) {
    bool found = false;
    for (const auto& q : all->runs) found |= q.run_key == pr.run_key;
    EXPECT_TRUE(found) << "a filtered plan names runs as the full plan does";
  }
}

TEST(PlannerTest, IdenticalRunsAreRefusedNamingBoth) {
  // Two workload entries naming one file are one content: their runs collide.
  std::string yaml = kSched;
  yaml.replace(yaml.find("variants:"), 9, "  - name: copy\n    rtapp: video.json\nvariants:");
  auto plan = StudyPlanner::PlanRuns(Load(yaml));
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(plan.status().message(), HasSubstr("'cfs/juno-r0/video/seed 1' and 'cfs/juno-r0/copy/seed 1'"));
}

TEST(PlannerTest, WorkItemCarriesWhatAWorkerNeeds) {
  spec::StudySpec spec = Load(kSched);
  auto plan = StudyPlanner::PlanRuns(spec);
  ASSERT_TRUE(plan.ok());
  for (const auto& pr : plan->runs) {
    v1::WorkItem wi = StudyPlanner::MakeWorkItem(spec, *plan, pr);
    const auto& inst = plan->instances[pr.instance];
    EXPECT_EQ(wi.run_key(), pr.run_key);
    EXPECT_EQ(wi.workload_digest(), inst.digest);
    EXPECT_EQ(wi.seed(), pr.run.seed);
    EXPECT_EQ(wi.system().digest(), spec.platforms[pr.run.platform].digest);
    EXPECT_EQ(wi.system().config(), codec::PlatformBytes(*spec.platforms[pr.run.platform].system.As<workload::Platform>()));
    EXPECT_EQ(codec::ParamsFromProto(wi.params()).Canonical(), pr.run.params.Canonical());
    // Generated workloads travel as their spec; files as trace chunks (the
    // caller adds the manifest).
    EXPECT_EQ(wi.synthetic_yaml().empty(), inst.travels_as_trace);
    // Scheduler cost grows with the CPUs simulated.
    EXPECT_DOUBLE_EQ(wi.estimated_cost(),
                     inst.cost * static_cast<double>(spec.platforms[pr.run.platform].system.As<workload::Platform>()->total_cpus()));
  }
}

const char* kBlock = R"(study: b
seeds: 2
workloads:
  - name: zipf
    block_synthetic:
      requests: 500
      arrival: {kind: fixed, rate: 1000}
      components:
        - {kind: zipf, footprint: 64MiB, size: 64KiB, weight: 1}
  - name: file
    blocktrace: trace.csv
variants:
  - {name: lru, model: block.lru}
)";

TEST(PlannerTest, BlockWorkloadsAreNamedByContent) {
  spec::StudySpec spec = Load(kBlock);
  auto plan = StudyPlanner::PlanRuns(spec);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->instances.size(), 3u);  // zipf x 2 seeds + the file
  for (const auto& inst : plan->instances) {
    auto built = spec::BuildWorkload(spec, inst.workload, inst.seed);
    ASSERT_TRUE(built.ok());
    const auto* w = built->As<workload::BlockWorkload>();
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(inst.digest, workload::BlockWorkloadDigest(*w));
    EXPECT_DOUBLE_EQ(inst.cost, static_cast<double>(w->requests.size()));
  }
  for (const auto& pr : plan->runs) {
    v1::WorkItem wi = StudyPlanner::MakeWorkItem(spec, *plan, pr);
    EXPECT_TRUE(wi.system().config().empty()) << "block runs have no platform";
  }
}

}  // namespace
}  // namespace kreplay::planner
