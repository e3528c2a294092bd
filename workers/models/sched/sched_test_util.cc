#include "workers/models/sched/sched_test_util.h"

#include <gtest/gtest.h>

#include "workers/models/sched/platforms/platforms.h"
#include "workers/models/sched/sched_models.h"

namespace kreplay::sched::testing {

workload::Platform FlatPlatform(int cpus) {
  workload::Platform p;
  p.name = "flat";
  p.power_unit = "relative";
  workload::Cluster c;
  c.name = "c0";
  c.core = "test";
  c.cpus = static_cast<uint32_t>(cpus);
  c.capacity = 1024;
  c.cpu_efficiency = 1024;
  c.big = true;
  c.opps.push_back(workload::Opp{1000000, 1024, 100, 10});
  c.idle_states.push_back(workload::IdleState{"wfi", 0, 1, 0, 0});
  p.clusters.push_back(c);
  return p;
}

workload::Platform Builtin(const std::string& name) {
  auto p = platforms::LoadBuiltinPlatform(name);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : workload::Platform{};
}

workload::SchedTaskSpec Task(const std::string& name, int nice, int64_t loops, std::vector<workload::Phase> phases,
                             const std::string& kind) {
  workload::SchedTaskSpec t;
  t.name = name;
  t.nice = nice;
  t.loops = loops;
  t.kind = kind;
  t.phases = std::move(phases);
  for (const auto& ph : t.phases) t.periodic = t.periodic || ph.op == workload::PhaseOp::kTimer;
  return t;
}

workload::Phase Work(int64_t ns) { return {workload::PhaseOp::kRun, ns, 0}; }
workload::Phase Runtime(int64_t ns) { return {workload::PhaseOp::kRuntime, ns, 0}; }
workload::Phase Sleep(int64_t ns) { return {workload::PhaseOp::kSleep, ns, 0}; }
workload::Phase Timer(int64_t ns) { return {workload::PhaseOp::kTimer, ns, 0}; }

SchedOptions Options(Policy policy, GovernorKind governor) {
  SchedOptions o;
  o.policy = policy;
  o.governor.kind = governor;
  return o;
}

model::Result RunOk(const workload::Platform& p, const workload::SchedWorkload& w, const SchedOptions& o,
                    SchedObserver* obs) {
  auto r = RunSchedSim(p, w, o, 1, nullptr, obs);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : model::Result{};
}

double Scalar(const model::Result& r, const std::string& key) { return r.scalars.at(key).value; }

workload::SchedWorkload NiceHogs(int64_t duration) {
  workload::SchedWorkload w;
  w.duration_ns = duration;
  w.tasks.push_back(Task("a", -3, -1, {Runtime(1 * sim::kSec)}));
  w.tasks.push_back(Task("b", 0, -1, {Runtime(1 * sim::kSec)}));
  w.tasks.push_back(Task("c", 5, -1, {Runtime(1 * sim::kSec)}));
  return w;
}

void ExpectNiceHogShares(const model::Result& r, double run_ms, double tol_ms, const std::string& label) {
  const double total = 1991.0 + 1024.0 + 335.0;
  EXPECT_NEAR(Scalar(r, "task.a.cpu_time_ms"), run_ms * 1991 / total, tol_ms) << label;
  EXPECT_NEAR(Scalar(r, "task.b.cpu_time_ms"), run_ms * 1024 / total, tol_ms) << label;
  EXPECT_NEAR(Scalar(r, "task.c.cpu_time_ms"), run_ms * 335 / total, tol_ms) << label;
  EXPECT_GT(Scalar(r, "context_switches"), 1000) << label;  // really time-shared
}

std::ostream& operator<<(std::ostream& os, const RunAt& r) {
  return os << "{" << r.t / sim::kMs << " ms, cpu " << r.cpu << ", task " << r.task << "}";
}

std::vector<RunAt> Recorder::Of(int task) const {
  std::vector<RunAt> out;
  for (const RunAt& r : runs)
    if (r.task == task) out.push_back(r);
  return out;
}

RegisteredModel::RegisteredModel(const std::string& name) {
  EXPECT_TRUE(reg_.RegisterFamily("sched").ok());
  EXPECT_TRUE(RegisterSchedModels(reg_).ok());
  info_ = reg_.Find(name);
  KREPLAY_CHECK(info_ != nullptr, "RegisteredModel: no model " + name);
}

StatusOr<model::Result> RegisteredModel::Run(const workload::Platform& p, const workload::SchedWorkload& w,
                                             const std::map<std::string, model::ParamValue>& given) const {
  KREPLAY_ASSIGN_OR_RETURN(model::ParamSet params, model::ResolveParams(info_->params, given, "params"));
  model::RunInput in{&params, 1, model::AnyRef::Of(&p), model::AnyRef::Of(&w), nullptr};
  return info_->run(in);
}

}  // namespace kreplay::sched::testing
