#include "workers/executor/executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "services/blocktrace/synth.h"
#include "services/codec/convert.h"
#include "services/workload/synth.h"

namespace kreplay::executor {
namespace {

using ::testing::HasSubstr;

// What a fake model saw of its input.
struct Seen {
  std::vector<int64_t> params;  // "x" of each call
  int run_calls = 0, batch_calls = 0;
  uint64_t seed = 0;
  std::string platform_name;
  bool had_block = false;
  const std::atomic<bool>* cancel = nullptr;
};

model::Result ResultOf(int64_t x) {
  model::Result r;
  r.sim_events = static_cast<uint64_t>(x);
  return r;
}

model::Registry FakeRegistry(Seen& seen) {
  model::Registry reg;
  model::ModelInfo m;
  m.name = "fake.one";
  m.family = "sched";
  m.version = "7";
  m.params.push_back(model::IntParam("x", "", 0, 0, 1000, "x"));
  m.run = [&seen](const model::RunInput& in) -> StatusOr<model::Result> {
    ++seen.run_calls;
    seen.seed = in.seed;
    seen.platform_name = in.platform ? in.platform->name : "";
    seen.had_block = in.block != nullptr;
    seen.cancel = in.cancel;
    int64_t x = in.params->Int("x");
    seen.params.push_back(x);
    return ResultOf(x);
  };
  model::ModelInfo b = m;
  b.name = "fake.batch";
  b.run_batch = [&seen](const model::RunInput&, const std::vector<const model::ParamSet*>& ps) {
    ++seen.batch_calls;
    std::vector<StatusOr<model::Result>> out;
    for (const auto* p : ps) out.push_back(ResultOf(p->Int("x") * 10));
    return out;
  };
  model::ModelInfo bad = b;
  bad.name = "fake.badbatch";
  bad.run_batch = [](const model::RunInput&, const std::vector<const model::ParamSet*>&) {
    return std::vector<StatusOr<model::Result>>(1, ResultOf(0));
  };
  EXPECT_TRUE(reg.Register(std::move(m)).ok());
  EXPECT_TRUE(reg.Register(std::move(b)).ok());
  EXPECT_TRUE(reg.Register(std::move(bad)).ok());
  return reg;
}

model::ParamSet X(int64_t x) { return model::ParamSet({{"x", model::ParamValue(x)}}); }

Workload SchedWorkload() {
  Workload w;
  w.sched = std::make_shared<const workload::SchedWorkload>();
  return w;
}

v1::WorkItem Item(const std::string& model, const std::string& version) {
  v1::WorkItem item;
  item.set_model(model);
  item.set_model_version(version);
  item.set_seed(42);
  workload::Platform p;
  p.name = "toy";
  item.mutable_system()->set_config(codec::PlatformBytes(p));
  return item;
}

TEST(ExecuteRunTest, RunsEachConfigurationWithTheItemsInputs) {
  Seen seen;
  model::Registry reg = FakeRegistry(seen);
  v1::WorkItem item = Item("fake.one", "7");
  std::atomic<bool> cancel{false};
  RunRequest req;
  req.item = &item;
  req.params = {X(1), X(2), X(3)};
  req.workload = SchedWorkload();
  req.cancel = &cancel;
  auto results = ExecuteRun(reg, req);
  ASSERT_EQ(results.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(results[i].ok());
    EXPECT_EQ(results[i]->sim_events, static_cast<uint64_t>(i + 1));
  }
  EXPECT_EQ(seen.params, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(seen.seed, 42u);
  EXPECT_EQ(seen.platform_name, "toy") << "the platform comes from the item's system bytes";
  EXPECT_EQ(seen.cancel, &cancel);
}

TEST(ExecuteRunTest, BatchModelsRunOnePassForSeveralConfigurations) {
  Seen seen;
  model::Registry reg = FakeRegistry(seen);
  v1::WorkItem item = Item("fake.batch", "7");
  RunRequest req;
  req.item = &item;
  req.params = {X(1), X(2)};
  req.workload = SchedWorkload();
  auto results = ExecuteRun(reg, req);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[1]->sim_events, 20u);
  EXPECT_EQ(seen.batch_calls, 1);
  EXPECT_EQ(seen.run_calls, 0);
  // A single configuration goes through run().
  req.params = {X(5)};
  results = ExecuteRun(reg, req);
  EXPECT_EQ(results[0]->sim_events, 5u);
  EXPECT_EQ(seen.run_calls, 1);

  item.set_model("fake.badbatch");
  req.params = {X(1), X(2)};
  results = ExecuteRun(reg, req);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(ExecuteRunTest, UnknownModelOrOtherVersionFailsEveryRun) {
  Seen seen;
  model::Registry reg = FakeRegistry(seen);
  v1::WorkItem item = Item("fake.nope", "7");
  RunRequest req;
  req.item = &item;
  req.params = {X(1), X(2)};
  req.workload = SchedWorkload();
  for (const auto& r : ExecuteRun(reg, req)) EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  item = Item("fake.one", "6");
  for (const auto& r : ExecuteRun(reg, req)) {
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(r.status().message(), HasSubstr("version 7"));
  }
  EXPECT_EQ(seen.run_calls, 0);
}

const char* kSynth = "duration: 100ms\ngroups:\n  - {kind: periodic, count: 2, period: 16ms, run: 3ms}\n";

TEST(GenerateWorkloadTest, SchedIsGeneratedOnlyUnderTheExpectedName) {
  auto spec = workload::ParseSynthSpec(YAML::Load(kSynth), "synthetic");
  ASSERT_TRUE(spec.ok());
  const std::string want = workload::SyntheticWorkloadDigest(*spec, 3);
  auto g = GenerateWorkload("sched", kSynth, 3, want);
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->digest, want);
  ASSERT_TRUE(g->workload.sched);
  EXPECT_EQ(workload::SchedWorkloadDigest(*g->workload.sched),
            workload::SchedWorkloadDigest(workload::GenerateSynthetic(*spec, 3)));
  auto other = GenerateWorkload("sched", kSynth, 3, "someone else's digest");
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->digest, want);
  EXPECT_TRUE(other->workload.empty()) << "not generated under a name the study does not use";
}

TEST(GenerateWorkloadTest, BlockIsNamedByContent) {
  const char* yaml = "requests: 100\narrival: {kind: fixed, rate: 1000}\ncomponents:\n"
                     "  - {kind: zipf, footprint: 1MiB, size: 4KiB, weight: 1}\n";
  auto g = GenerateWorkload("blockcache", yaml, 9, "");
  ASSERT_TRUE(g.ok()) << g.status().ToString();
  ASSERT_TRUE(g->workload.block);
  EXPECT_EQ(g->workload.block->requests.size(), 100u);
  EXPECT_EQ(g->digest, workload::BlockWorkloadDigest(*g->workload.block));
}

TEST(GenerateWorkloadTest, BadInputIsAnError) {
  EXPECT_EQ(GenerateWorkload("sched", "groups: [", 1, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateWorkload("sched", "duration: 1s\n", 1, "").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateWorkload("nosuch", kSynth, 1, "").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kreplay::executor
