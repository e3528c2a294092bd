// The policy seams: kernel-base checks, and each placement policy run alone
// through RunSched() gives the registered model's result bit for bit.
#include <gtest/gtest.h>

#include "services/model/params.h"
#include "workers/models/sched/cfs_pick.h"
#include "workers/models/sched/cfs_placement.h"
#include "workers/models/sched/hmp_placement.h"
#include "workers/models/sched/sched_models.h"
#include "workers/models/sched/sched_test_util.h"

namespace kreplay::sched {
namespace {

namespace st = kreplay::sched::testing;
constexpr int64_t kMs = sim::kMs;

workload::SchedWorkload Mixed() {
  workload::SchedWorkload w;
  w.duration_ns = 1 * sim::kSec;
  w.tasks.push_back(st::Task("hog", 0, -1, {st::Work(50 * kMs)}, "batch"));
  for (int i = 0; i < 4; ++i) {
    auto t = st::Task("periodic" + std::to_string(i), 0, -1, {st::Work(1 * kMs), st::Timer(16 * kMs)}, "periodic");
    t.delay_ns = i * 3 * kMs;
    w.tasks.push_back(t);
  }
  for (int i = 0; i < 3; ++i) {
    w.tasks.push_back(st::Task("ui" + std::to_string(i), -2, -1, {st::Work((2 + i) * kMs), st::Sleep((20 + 7 * i) * kMs)},
                               "interactive"));
  }
  w.tasks.push_back(st::Task("batch", 5, 3, {st::Work(100 * kMs)}, "batch"));
  return w;
}

// A placement policy written for the mainline base: CFS decisions, other base.
class MainlinePlacement final : public PlacementPolicy {
 public:
  MainlinePlacement() : PlacementPolicy("mainline-test", KernelBase::kMainline, Needs{}) {}

 private:
  int DoSelectForkCpu(Task*, int parent_cpu) override { return parent_cpu; }
  int DoSelectWakeCpu(Task* t, int) override { return t->cpu; }
};

class MainlinePick final : public PickPolicy {
 public:
  MainlinePick() : PickPolicy("mainline-test", KernelBase::kMainline) {}

 private:
  void DoPlaceEntity(const CfsRq& rq, SchedEntity* se, bool initial) const override { rq.PlaceEntity(se, initial); }
  SchedEntity* DoPickNext(CfsRq& rq) const override { return rq.PickNext(); }
  bool DoWakeupPreempt(const CfsRq& rq, const SchedEntity* se) const override { return rq.WakeupPreempt(se); }
  bool DoTickPreempt(const CfsRq& rq) const override { return rq.TickPreempt(); }
};

// A platform that reaches the simulator without the platform parser's checks
// (a work item's bytes) and exceeds the balancing groups or the 64-bit CPU
// masks is refused, never overrun.
TEST(SchedSimInput, OversizedPlatformIsInvalidArgument) {
  workload::Platform many = st::Builtin("tc2");
  while (many.clusters.size() <= 64) many.clusters.push_back(many.clusters.front());
  SchedOptions o;
  auto r = RunSchedSim(many, Mixed(), o, 1, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  workload::Platform wide = st::Builtin("tc2");
  wide.clusters[0].cpus = 65;
  EXPECT_EQ(RunSchedSim(wide, Mixed(), o, 1, nullptr).status().code(), StatusCode::kInvalidArgument);
  workload::Platform ok = st::Builtin("tc2");
  EXPECT_TRUE(RunSchedSim(ok, Mixed(), o, 1, nullptr).ok());
}

TEST(SchedPolicy, StandardPoliciesAreLsk310) {
  EXPECT_EQ(CfsPlacement().base(), KernelBase::kLsk310);
  EXPECT_EQ(HmpPlacement().base(), KernelBase::kLsk310);
  EXPECT_EQ(CfsPick().base(), KernelBase::kLsk310);
  EXPECT_STREQ(HmpPlacement().name(), "hmp");
  EXPECT_EQ(HmpPlacement().needs().load, LoadTracking::kLsk310RunnableAvg);
  EXPECT_FALSE(HmpPlacement().needs().cross_cluster_balance);
  EXPECT_EQ(CfsPlacement().needs().load, LoadTracking::kNone);
  EXPECT_TRUE(CfsPlacement().needs().cross_cluster_balance);
}

TEST(SchedPolicy, BaseMismatchIsInvalidArgument) {
  workload::Platform p = st::Builtin("juno-r0");
  workload::SchedWorkload w = Mixed();
  SchedOptions o;
  CfsPick pick;
  HmpPlacement hmp;
  MainlinePlacement mainline_placement;
  MainlinePick mainline_pick;
  // A mainline placement policy in the 3.10 core.
  auto r = RunSched(kLsk310Traits, {&mainline_placement, &pick}, p, w, o, 1, nullptr);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("placement policy 'mainline-test' is for kernel base mainline"),
            std::string::npos)
      << r.status().ToString();
  // A mainline pick policy beside a 3.10 placement.
  r = RunSched(kLsk310Traits, {&hmp, &mainline_pick}, p, w, o, 1, nullptr);
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("pick policy"), std::string::npos) << r.status().ToString();
  // No core for the mainline base, even with policies that declare it.
  r = RunSched(kMainlineTraits, {&mainline_placement, &mainline_pick}, p, w, o, 1, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  // 3.10 policies asked to run on a mainline core.
  r = RunSched(kMainlineTraits, {&hmp, &pick}, p, w, o, 1, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  // Both policies are required.
  r = RunSched(kLsk310Traits, {&hmp, nullptr}, p, w, o, 1, nullptr);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

void ExpectIdentical(const model::Result& a, const model::Result& b, const std::string& what) {
  EXPECT_EQ(a.sim_events, b.sim_events) << what;
  EXPECT_EQ(a.sim_time_ns, b.sim_time_ns) << what;
  ASSERT_EQ(a.scalars.size(), b.scalars.size()) << what;
  for (const auto& [k, v] : a.scalars) {
    ASSERT_TRUE(b.scalars.count(k)) << what << " " << k;
    EXPECT_EQ(v.value, b.scalars.at(k).value) << what << " " << k;  // bit-identical
  }
  ASSERT_EQ(a.histograms.size(), b.histograms.size()) << what;
  for (const auto& [k, h] : a.histograms) EXPECT_TRUE(h == b.histograms.at(k)) << what << " " << k;
}

// The 3.10 core with one placement policy behaves as the registered model of
// that policy. `options.policy` is left at its default (kCfs): RunSched()
// takes the policies it is given.
TEST(SchedPolicy, EachPlacementAloneMatchesItsRegisteredModel) {
  model::Registry reg;
  ASSERT_TRUE(reg.RegisterFamily("sched").ok());
  ASSERT_TRUE(RegisterSchedModels(reg).ok());
  for (const char* plat : {"juno-r0", "tc2"}) {
    workload::Platform p = st::Builtin(plat);
    workload::SchedWorkload w = Mixed();
    for (const char* name : {"sched.cfs", "sched.hmp"}) {
      const model::ModelInfo* info = reg.Find(name);
      ASSERT_NE(info, nullptr);
      auto params = model::ResolveParams(info->params, {}, "params");
      ASSERT_TRUE(params.ok());
      model::RunInput in{&*params, 5, model::AnyRef::Of(&p), model::AnyRef::Of(&w), nullptr};
      auto registered = info->run(in);
      ASSERT_TRUE(registered.ok()) << registered.status().ToString();

      SchedOptions o;  // the registered defaults
      CfsPick pick;
      CfsPlacement cfs;
      HmpPlacement hmp;
      PlacementPolicy* placement = std::string(name) == "sched.hmp" ? static_cast<PlacementPolicy*>(&hmp) : &cfs;
      auto alone = RunSched(kLsk310Traits, {placement, &pick}, p, w, o, 5, nullptr);
      ASSERT_TRUE(alone.ok()) << alone.status().ToString();
      ExpectIdentical(*registered, *alone, std::string(name) + " on " + plat);
    }
  }
}

// The two placements do differ on this workload (so the test above has teeth).
TEST(SchedPolicy, HmpPlacementIsNotCfsPlacement) {
  workload::Platform p = st::Builtin("juno-r0");
  workload::SchedWorkload w = Mixed();
  SchedOptions o;
  CfsPick pick;
  CfsPlacement cfs;
  HmpPlacement hmp;
  auto a = RunSched(kLsk310Traits, {&cfs, &pick}, p, w, o, 1, nullptr);
  auto b = RunSched(kLsk310Traits, {&hmp, &pick}, p, w, o, 1, nullptr);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->scalars.at("migrations_forced").value + a->scalars.at("migrations_idle_pull").value, 0);
  EXPECT_NE(a->scalars.at("energy").value, b->scalars.at("energy").value);
}

}  // namespace
}  // namespace kreplay::sched
