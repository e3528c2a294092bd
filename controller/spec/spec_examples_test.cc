// The shipped example studies (examples/*.yaml) against the real model
// registry: they load, their workloads build, and the block cache example
// runs end to end within its stated budget.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>

#include "controller/planner/planner.h"
#include "controller/spec/spec.h"
#include "services/workload/block_workload.h"
#include "workers/executor/executor.h"
#include "workers/models/blockcache/family.h"
#include "workers/models/builtin.h"

namespace kreplay::spec {
namespace {

const std::string kExamples = KREPLAY_EXAMPLES;

// The shipped families, built once for the file.
const family::Catalog& Builtin() {
  static const family::Catalog* catalog = [] {
    auto* c = new family::Catalog;
    models::RegisterBuiltinFamilies(*c);
    return c;
  }();
  return *catalog;
}

TEST(ExamplesTest, SchedExamplesStillLoad) {
  const auto& reg = Builtin();
  for (const char* name : {"hello.yaml", "biglittle-cfs-vs-hmp.yaml"}) {
    auto s = LoadStudySpec(kExamples + "/" + name, reg);
    ASSERT_TRUE(s.ok()) << name << ": " << s.status().ToString();
    EXPECT_EQ(s->family, "sched") << name;
  }
}

TEST(ExamplesTest, BcacheTiersLoadsAndRuns) {
  const auto& reg = Builtin();
  auto s = LoadStudySpec(kExamples + "/bcache-tiers.yaml", reg);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->family, "blockcache");
  // 3 modes x 4 sizes x 2 policies.
  ASSERT_EQ(s->variants.size(), 24u);
  EXPECT_EQ(s->variants[0].name, "writethrough[cache_size=16MiB,cache_replacement_policy=lru]");
  EXPECT_EQ(s->variants[23].params.Int("cache_size"), 128 << 20);
  EXPECT_EQ(s->variants[23].params.Str("cache_mode"), "writearound");
  EXPECT_EQ(s->variants[23].compare_to, "writethrough[cache_size=128MiB,cache_replacement_policy=fifo]");
  // What examples/traces/README.md says `trace inspect` reports.
  ASSERT_EQ(s->workloads.size(), 1u);
  const auto* trace = s->workloads[0].As<blockcache::BlockTraceSpec>();
  ASSERT_NE(trace, nullptr);
  EXPECT_EQ(trace->info.requests, 3859u);
  EXPECT_EQ(trace->info.volumes, 1u);
  EXPECT_FALSE(trace->info.has_task_ids);

  // As `kreplay run --local` does: the planner, then ExecuteRun per run.
  auto t0 = std::chrono::steady_clock::now();
  planner::PlanOptions popt;
  popt.keep_built = true;
  auto plan = planner::StudyPlanner::PlanRuns(*s, popt);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->runs.size(), 24u);
  const auto* w = plan->instances[0].built.As<workload::BlockWorkload>();
  ASSERT_NE(w, nullptr);
  ASSERT_EQ(w->requests.size(), 3859u);
  for (const auto& pr : plan->runs) {
    const v1::WorkItem item = planner::StudyPlanner::MakeWorkItem(*s, *plan, pr);
    executor::RunRequest request;
    request.item = &item;
    request.params = {pr.run.params};
    request.workload = plan->instances[pr.instance].built;
    auto res = std::move(executor::ExecuteRun(reg, request).front());
    const std::string& name = s->variants[pr.run.variant].name;
    ASSERT_TRUE(res.ok()) << name << ": " << res.status().ToString();
    for (const auto& m : s->metrics) EXPECT_TRUE(res->scalars.count(m)) << name << " lacks " << m;
    EXPECT_EQ(res->scalars.at("requests").value, 3859) << name;
    const auto& v = res->scalars;
    std::printf("%-62s hit %5.1f %%  read mean %6.0f us  p99 %6.0f us  ssd written %5.1f MiB\n", name.c_str(),
                v.at("cache_hit_ratio").value, v.at("read_latency_mean_us").value, v.at("read_latency_p99_us").value,
                v.at("ssd_bytes_written").value / (1 << 20));
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("bcache-tiers: %zu runs in %.2f s (one core)\n", plan->runs.size(), seconds);
  EXPECT_LT(seconds, 60.0);  // the budget the example states is far below this
}

}  // namespace
}  // namespace kreplay::spec
