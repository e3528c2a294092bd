#include "workers/executor/executor.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "services/codec/convert.h"
#include "services/workload/block_workload.h"
#include "services/workload/platform.h"
#include "services/workload/sched_workload.h"
#include "services/workload/synth.h"
#include "services/blocktrace/synth.h"
#include "workers/models/builtin.h"

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

// A family whose system is a platform (decoded from the item's bytes) and
// three fake models.
void FakeCatalog(Seen& seen, family::Catalog& catalog) {
  family::FamilyInfo f;
  f.name = "fake";
  f.decode_system = [](std::string_view config) -> StatusOr<model::AnyValue> {
    v1::Platform pp;
    if (!pp.ParseFromArray(config.data(), static_cast<int>(config.size()))) return InvalidArgument("bad platform");
    return model::AnyValue::Make(codec::PlatformFromProto(pp), 1);
  };
  ASSERT_TRUE(catalog.RegisterFamily(f).ok());
  model::Registry& reg = catalog.models();
  model::ModelInfo m;
  m.name = "fake.one";
  m.family = "fake";
  m.version = "7";
  m.params.push_back(model::IntParam("x", "", 0, 0, 1000, "x"));
  m.run = [&seen](const model::RunInput& in) -> StatusOr<model::Result> {
    ++seen.run_calls;
    seen.seed = in.seed;
    const auto* platform = in.SystemAs<workload::Platform>();
    seen.platform_name = platform ? platform->name : "";
    seen.had_block = in.WorkloadAs<workload::BlockWorkload>() != nullptr;
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
}

model::ParamSet X(int64_t x) { return model::ParamSet({{"x", model::ParamValue(x)}}); }

model::AnyValue SchedWorkload() { return model::AnyValue::Make(workload::SchedWorkload{}, 1); }

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
  family::Catalog reg;
  FakeCatalog(seen, reg);
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
  family::Catalog reg;
  FakeCatalog(seen, reg);
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
  family::Catalog reg;
  FakeCatalog(seen, reg);
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
  item = Item("fake.one", "7");
  item.mutable_system()->set_config("\xff\xff not a platform");
  for (const auto& r : ExecuteRun(reg, req)) EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  item = Item("fake.one", "6");
  for (const auto& r : ExecuteRun(reg, req)) {
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(r.status().message(), HasSubstr("version 7"));
  }
  EXPECT_EQ(seen.run_calls, 0);
}

const char* kSynth = "duration: 100ms\ngroups:\n  - {kind: periodic, count: 2, period: 16ms, run: 3ms}\n";

family::Catalog& Builtin() {
  static family::Catalog* c = [] {
    auto* cat = new family::Catalog;
    models::RegisterBuiltinFamilies(*cat);
    return cat;
  }();
  return *c;
}

v1::WorkItem Generated(const std::string& family, const std::string& yaml, uint64_t seed, const std::string& digest) {
  v1::WorkItem item;
  item.mutable_system()->set_family(family);
  item.set_synthetic_yaml(yaml);
  item.set_seed(seed);
  item.set_workload_digest(digest);
  return item;
}

TEST(GenerateWorkloadTest, SchedIsGeneratedOnlyUnderTheExpectedName) {
  auto spec = workload::ParseSynthSpec(YAML::Load(kSynth), "synthetic");
  ASSERT_TRUE(spec.ok());
  const std::string want = workload::SyntheticWorkloadDigest(*spec, 3);
  auto w = GenerateWorkload(Builtin(), Generated("sched", kSynth, 3, want));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_NE(w->As<workload::SchedWorkload>(), nullptr);
  EXPECT_EQ(workload::SchedWorkloadDigest(*w->As<workload::SchedWorkload>()),
            workload::SchedWorkloadDigest(workload::GenerateSynthetic(*spec, 3)));
  auto other = GenerateWorkload(Builtin(), Generated("sched", kSynth, 3, "someone else's digest"));
  EXPECT_EQ(other.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(other.status().message(), HasSubstr(want.substr(0, 16)));
}

TEST(GenerateWorkloadTest, BlockIsNamedByContent) {
  const char* yaml = "requests: 100\narrival: {kind: fixed, rate: 1000}\ncomponents:\n"
                     "  - {kind: zipf, footprint: 1MiB, size: 4KiB, weight: 1}\n";
  auto probe = GenerateWorkload(Builtin(), Generated("blockcache", yaml, 9, ""));
  ASSERT_EQ(probe.status().code(), StatusCode::kFailedPrecondition);
  // The digest is the content's: generate once to learn it, then as a worker would.
  auto spec = blocktrace::ParseBlockSynthSpec(YAML::Load(yaml), "block_synthetic");
  ASSERT_TRUE(spec.ok());
  const std::string digest = workload::BlockWorkloadDigest(blocktrace::GenerateBlockSynthetic(*spec, 9));
  auto w = GenerateWorkload(Builtin(), Generated("blockcache", yaml, 9, digest));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_NE(w->As<workload::BlockWorkload>(), nullptr);
  EXPECT_EQ(w->As<workload::BlockWorkload>()->requests.size(), 100u);
}

// A family with several generated kinds: the item names the one its YAML is for.
TEST(GenerateWorkloadTest, TheItemNamesItsGeneratedKind) {
  const char* net = "size: 64\npackets: 100\n";
  auto named = Generated("virtio", net, 4, "");
  named.set_generator_kind("virtio_net");
  auto probe = GenerateWorkload(Builtin(), named);
  ASSERT_EQ(probe.status().code(), StatusCode::kFailedPrecondition) << probe.status().ToString();
  // Without the kind the YAML would be read by whichever kind comes first.
  auto unnamed = GenerateWorkload(Builtin(), Generated("virtio", net, 4, ""));
  EXPECT_EQ(unnamed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(unnamed.status().message(), HasSubstr("several"));
  auto wrong = Generated("virtio", net, 4, "");
  wrong.set_generator_kind("virtio_block");
  EXPECT_EQ(GenerateWorkload(Builtin(), wrong).status().code(), StatusCode::kInvalidArgument);
}

TEST(GenerateWorkloadTest, BadInputIsAnError) {
  EXPECT_EQ(GenerateWorkload(Builtin(), Generated("sched", "groups: [", 1, "")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateWorkload(Builtin(), Generated("sched", "duration: 1s\n", 1, "")).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(GenerateWorkload(Builtin(), Generated("nosuch", kSynth, 1, "")).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kreplay::executor
