#include "services/workload/rtapp.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace kreplay::workload {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kUs = 1000;
constexpr int64_t kMs = 1000 * kUs;

std::string ReadTestdata(const std::string& name) {
  std::ifstream in(std::string(KREPLAY_WORKLOAD_TESTDATA) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Phase P(PhaseOp op, int64_t a) { return Phase{op, a, 0}; }

// The error message of parsing `json` as "x.json" (empty if it parsed).
std::string ErrorOf(const std::string& json) {
  auto w = ParseRtApp(json, "x.json");
  if (w.ok()) return "";
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
  return w.status().message();
}

TEST(RtApp, ParsesInstancesPhasesLoopsTimersCommentsTrailingCommas) {
  auto w = ParseRtApp(ReadTestdata("periodic.json"), "periodic.json");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->duration_ns, 2'000'000'000);
  ASSERT_EQ(w->tasks.size(), 3u);
  // warmup (loop 2) is repeated, then steady; "runtime" is its own event.
  const std::vector<Phase> decoder = {
      P(PhaseOp::kRun, 1 * kMs),       P(PhaseOp::kSleep, 500 * kUs), P(PhaseOp::kRun, 1 * kMs),
      P(PhaseOp::kSleep, 500 * kUs),   P(PhaseOp::kRuntime, 250 * kUs), P(PhaseOp::kRun, 4 * kMs),
      P(PhaseOp::kTimer, 16 * kMs)};
  for (int i = 0; i < 2; ++i) {
    const SchedTaskSpec& t = w->tasks[i];
    EXPECT_EQ(t.name, "decoder-" + std::to_string(i));
    EXPECT_EQ(t.nice, -5);
    EXPECT_EQ(t.cpu_mask, 0b101u);
    EXPECT_EQ(t.delay_ns, 1500 * kUs);
    EXPECT_EQ(t.loops, 3);
    EXPECT_TRUE(t.periodic);
    EXPECT_EQ(t.phases, decoder);
  }
  const SchedTaskSpec& helper = w->tasks[2];
  EXPECT_EQ(helper.name, "helper");  // one instance keeps its name
  EXPECT_EQ(helper.loops, -1);
  EXPECT_FALSE(helper.periodic);
  EXPECT_EQ(helper.cpu_mask, 0u);
  EXPECT_EQ(helper.phases, (std::vector<Phase>{P(PhaseOp::kRun, 2 * kMs), P(PhaseOp::kSleep, 8 * kMs)}));
}

TEST(RtApp, WaitAndSignalGetResourceIdsInOrderOfFirstAppearance) {
  auto w = ParseRtApp(ReadTestdata("wait_signal.json"), "wait_signal.json");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->duration_ns, 0);  // no global: rt-app runs until the loops end
  ASSERT_EQ(w->tasks.size(), 2u);
  EXPECT_EQ(w->tasks[0].name, "producer");
  EXPECT_EQ(w->tasks[0].loops, 5);
  EXPECT_EQ(w->tasks[0].phases,
            (std::vector<Phase>{P(PhaseOp::kRun, 100 * kUs), P(PhaseOp::kSignal, 0), P(PhaseOp::kWait, 1),
                                P(PhaseOp::kSleep, 1 * kMs)}));
  EXPECT_EQ(w->tasks[1].phases,
            (std::vector<Phase>{P(PhaseOp::kWait, 0), P(PhaseOp::kRun, 300 * kUs), P(PhaseOp::kSignal, 1)}));
}

TEST(RtApp, DefaultLoopsFollowRtApp) {
  // With "phases" a task loops forever by default; in the one-phase form the
  // phase runs once.
  auto w = ParseRtApp(R"({"tasks": {"a": {"phases": {"p": {"run": 1}}}, "b": {"run": 1}}})", "x.json");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->tasks[0].loops, -1);
  EXPECT_EQ(w->tasks[1].loops, 1);
}

TEST(RtApp, TrailingCommaInsideStringsAndCommentsIsKept) {
  auto w = ParseRtApp("{\"tasks\": {\"a,}\": {\"run\": 10, // a, }\n \"sleep\": 5, /* , ] */ }, }}", "x.json");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->tasks.size(), 1u);
  EXPECT_EQ(w->tasks[0].name, "a,}");
  EXPECT_EQ(w->tasks[0].phases, (std::vector<Phase>{P(PhaseOp::kRun, 10 * kUs), P(PhaseOp::kSleep, 5 * kUs)}));
}

TEST(RtApp, ExpandsPhaseLoopMinusOneInFirstPhase) {
  auto w = ParseRtApp(R"({"tasks": {"a": {"loop": 3, "phases": {"p": {"loop": -1, "run": 7}}}}})", "x.json");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->tasks[0].loops, -1);
  EXPECT_EQ(w->tasks[0].phases, (std::vector<Phase>{P(PhaseOp::kRun, 7 * kUs)}));
}

TEST(RtApp, ErrorsNameSourceAndFieldPath) {
  EXPECT_EQ(ErrorOf(R"({"global": {}})"), "x.json: tasks: missing");
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"run": "10"}}})"),
              HasSubstr("x.json: tasks.t.run: expected an integer"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"sleep": -5}}})"), HasSubstr("x.json: tasks.t.sleep: negative duration"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"phases": {"p": {"run": -1}}}}})"),
              HasSubstr("x.json: tasks.t.phases.p.run: negative duration"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"loop": 0, "run": 1}}})"), HasSubstr("tasks.t.loop: loop must be -1"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"timer": {"ref": "u"}}}})"), HasSubstr("tasks.t.timer.period: missing"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"timer": {"period": 10, "mode": "late"}}}})"),
              HasSubstr("tasks.t.timer.mode: unknown mode 'late' (expected relative, absolute)"));
  EXPECT_THAT(ErrorOf(R"({"global": {"duration": -3}, "tasks": {"t": {"run": 1}}})"),
              HasSubstr("x.json: global.duration: must be -1"));
  EXPECT_THAT(ErrorOf(R"({"global": {"duraton": 3}, "tasks": {"t": {"run": 1}}})"),
              HasSubstr("global.duraton: unknown key"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"run": 1, "colour": 1}}})"), HasSubstr("tasks.t.colour: unknown key"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"policy": "SCHED_DEADLINE", "run": 1}}})"),
              HasSubstr("x.json: tasks.t.dl-runtime: missing"));
  EXPECT_THAT(ErrorOf(R"({"global": {"default_policy": "SCHED_EDF"}, "tasks": {"t": {"run": 1}}})"),
              HasSubstr("global.default_policy: unknown policy 'SCHED_EDF'"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"policy": "SCHED_FIFO", "priority": 0, "run": 1}}})"),
              HasSubstr("tasks.t.priority: SCHED_FIFO priority must be in 1..99, got 0"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"taskgroup": "a", "run": 1}}})"),
              HasSubstr("tasks.t.taskgroup: task group 'a' must start with '/'"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"taskgroup": "/a//b", "run": 1}}})"),
              HasSubstr("tasks.t.taskgroup: task group '/a//b' has an empty"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"taskgroup": "/a/../b", "run": 1}}})"), HasSubstr("'..' component"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"phases": {"p": {"taskgroup": "/a", "run": 1}}}}})"),
              HasSubstr("tasks.t.phases.p.taskgroup: unsupported key"));
  EXPECT_THAT(ErrorOf(R"({"global": {"kreplay_taskgroups": {"/a": {"cpu.weight": 0}}}, "tasks": {"t": {"run": 1}}})"),
              HasSubstr("global.kreplay_taskgroups./a.cpu.weight: must be in 1..10000, got 0"));
  EXPECT_THAT(ErrorOf(R"({"global": {"kreplay_taskgroups": {"/a": {"cpu.shares": 2, "cpu.weight": 5}}}, "tasks": {"t": {"run": 1}}})"),
              HasSubstr("global.kreplay_taskgroups./a: give one of cpu.shares"));
  EXPECT_THAT(ErrorOf(R"({"global": {"kreplay_taskgroups": {"/a": {"cpu.max": 5}}}, "tasks": {"t": {"run": 1}}})"),
              HasSubstr("global.kreplay_taskgroups./a.cpu.max: unknown key"));
  EXPECT_THAT(ErrorOf(R"({"global": {"kreplay_taskgroups": {"/": {"cpu.shares": 5}}}, "tasks": {"t": {"run": 1}}})"),
              HasSubstr("the root group's weight cannot be set"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"priority": 25, "run": 1}}})"), HasSubstr("tasks.t.priority: nice value"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"cpus": [1, 64], "run": 1}}})"), HasSubstr("tasks.t.cpus[1]: CPU number"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"loop": 2}}})"), HasSubstr("tasks.t: no events"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"phases": {"a": {"run": 1}, "b": {"loop": -1, "run": 1}}}}})"),
              HasSubstr("tasks.t.phases.b.loop: loop -1 is only supported"));
  EXPECT_THAT(ErrorOf(R"({"tasks": []})"), HasSubstr("x.json: tasks: expected an object"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"instance": 2, "run": 1}, "t-1": {"run": 1}}})"),
              HasSubstr("tasks.t-1: duplicate task name"));
}

TEST(RtApp, PoliciesAndPrioritiesFollowRtApp) {
  // rt-app: "priority" is the nice value for the fair policies and the
  // sched_priority for real-time ones, 0 and 10 when not given.
  auto w = ParseRtApp(R"({"global": {"default_policy": "SCHED_FIFO"}, "tasks": {
      "rt": {"run": 1}, "rr": {"policy": "SCHED_RR", "priority": 42, "run": 1},
      "idle": {"policy": "SCHED_IDLE", "run": 1}, "batch": {"policy": "SCHED_BATCH", "priority": 5, "run": 1},
      "other": {"policy": "SCHED_OTHER", "priority": -4, "run": 1}}})",
                      "x.json");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->tasks.size(), 5u);
  EXPECT_EQ(w->tasks[0].policy, SchedPolicy::kFifo);
  EXPECT_EQ(w->tasks[0].rt_priority, 10);
  EXPECT_EQ(w->tasks[1].policy, SchedPolicy::kRr);
  EXPECT_EQ(w->tasks[1].rt_priority, 42);
  EXPECT_EQ(w->tasks[2].policy, SchedPolicy::kIdle);
  EXPECT_EQ(w->tasks[3].policy, SchedPolicy::kBatch);
  EXPECT_EQ(w->tasks[3].nice, 5);
  EXPECT_EQ(w->tasks[3].rt_priority, 0);
  EXPECT_EQ(w->tasks[4].nice, -4);
  auto again = ParseRtApp(WriteRtApp(*w), "again.json");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *w);
}

TEST(RtApp, TaskGroupsGetSharesAndTheirAncestors) {
  auto w = ParseRtApp(R"({"global": {"kreplay_taskgroups": {
      "/fg": {"cpu.weight": 200}, "/bg/low": {"cpu.shares": 1}, "/bg/big": {"cpu.shares": 999999}}},
    "tasks": {"a": {"taskgroup": "/fg/app", "run": 1}, "b": {"taskgroup": "/bg/low", "run": 1},
              "c": {"taskgroup": "/", "run": 1}, "d": {"run": 1}}})",
                      "x.json");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  // cgroup v2 weight 200 -> 200 * 1024 / 100 = 2048; v1 shares clamp to
  // [2, 2^18]; groups without a declaration get the default 1024; parents
  // first.
  std::vector<TaskGroupSpec> want = {{"/bg", 1024}, {"/bg/big", 262144}, {"/bg/low", 2}, {"/fg", 2048},
                                     {"/fg/app", 1024}};
  EXPECT_EQ(w->groups, want);
  EXPECT_EQ(w->tasks[0].group, "/fg/app");
  EXPECT_EQ(w->tasks[1].group, "/bg/low");
  EXPECT_EQ(w->tasks[2].group, "");  // "/" is the root group
  EXPECT_EQ(w->tasks[3].group, "");
  auto again = ParseRtApp(WriteRtApp(*w), "again.json");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, *w);
  EXPECT_EQ(SharesFromCgroupWeight(100), 1024u);
  EXPECT_EQ(SharesFromCgroupWeight(1), 10u);  // 10.24 rounds to 10
  EXPECT_EQ(SharesFromCgroupWeight(10000), 102400u);
}

TEST(RtApp, DeadlineTasksTakeRtAppKeysInMicrosecondsWithRtAppDefaults) {
  // rt-app (doc/tutorial.txt): dl-runtime, dl-period (default: the runtime)
  // and dl-deadline (default: the period), all in us.
  auto w = ParseRtApp(R"({"tasks": {
      "constrained": {"policy": "SCHED_DEADLINE", "dl-runtime": 10000, "dl-period": 100000, "dl-deadline": 30000,
                      "run": 5000, "sleep": 95000},
      "implicit": {"policy": "SCHED_DEADLINE", "dl-runtime": 5000, "dl-period": 20000, "run": 1},
      "whole": {"policy": "SCHED_DEADLINE", "dl-runtime": 2000, "run": 1}}})",
                      "x.json");
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_EQ(w->tasks.size(), 3u);
  EXPECT_EQ(w->tasks[0].policy, SchedPolicy::kDeadline);
  EXPECT_EQ(w->tasks[0].dl_runtime_ns, 10 * kMs);
  EXPECT_EQ(w->tasks[0].dl_period_ns, 100 * kMs);
  EXPECT_EQ(w->tasks[0].dl_deadline_ns, 30 * kMs);
  EXPECT_EQ(w->tasks[0].rt_priority, 0);
  EXPECT_EQ(w->tasks[1].dl_deadline_ns, 20 * kMs);  // = the period
  EXPECT_EQ(w->tasks[2].dl_period_ns, 2 * kMs);     // = the runtime
  EXPECT_EQ(w->tasks[2].dl_deadline_ns, 2 * kMs);   // = the period
  auto again = ParseRtApp(WriteRtApp(*w), "again.json");
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << WriteRtApp(*w);
  EXPECT_EQ(*again, *w);
  auto j = nlohmann::ordered_json::parse(WriteRtApp(*w));
  EXPECT_EQ(j["tasks"]["constrained"]["dl-deadline"], 30000);
  EXPECT_FALSE(j["tasks"]["constrained"].contains("priority"));
}

TEST(RtApp, DeadlineParametersAreCheckedAsCheckparamDlWithTheKeyNamed) {
  auto dl = [](const std::string& keys) {
    return ErrorOf(R"({"tasks": {"t": {"policy": "SCHED_DEADLINE", )" + keys + R"(, "run": 1}}})");
  };
  // 1 us = 1000 ns < 1 << DL_SCALE.
  EXPECT_EQ(dl(R"("dl-runtime": 1, "dl-period": 1000)"),
            "x.json: tasks.t.dl-runtime: 1000 ns is below 1024 ns (1 << DL_SCALE) (sched_setattr() would fail with "
            "EINVAL)");
  EXPECT_THAT(dl(R"("dl-runtime": 1000, "dl-period": 10000, "dl-deadline": 20000)"),
              HasSubstr("tasks.t.dl-period: 10000000 ns is below the deadline 20000000 ns"));
  EXPECT_THAT(dl(R"("dl-runtime": 5000, "dl-period": 10000, "dl-deadline": 2000)"),
              HasSubstr("tasks.t.dl-deadline: 2000000 ns is below the runtime 5000000 ns"));
  EXPECT_THAT(dl(R"("dl-runtime": 1000, "dl-period": 10000, "dl-deadline": 0)"),
              HasSubstr("tasks.t.dl-deadline: must not be 0"));
  EXPECT_THAT(dl(R"("dl-runtime": 10, "dl-period": 50)"),
              HasSubstr("tasks.t.dl-period: period 50000 ns is below sched_dl_period_min_us (100 us)"));
  // 1 << 22 us is the largest period; one more us is refused.
  EXPECT_EQ(dl(R"("dl-runtime": 1000, "dl-period": 4194304)"), "");
  EXPECT_THAT(dl(R"("dl-runtime": 1000, "dl-period": 4194305)"),
              HasSubstr("tasks.t.dl-period: period 4194305000 ns is above sched_dl_period_max_us"));
  EXPECT_THAT(dl(R"("dl-runtime": 1000, "dl-period": 10000, "priority": 5)"),
              HasSubstr("tasks.t.priority: not used with SCHED_DEADLINE"));
  EXPECT_THAT(dl(R"("dl-runtime": 1000, "dl-period": 10000, "cpus": [0])"),
              HasSubstr("tasks.t.cpus: a SCHED_DEADLINE task must be allowed on every CPU"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"policy": "SCHED_FIFO", "dl-runtime": 1000, "run": 1}}})"),
              HasSubstr("tasks.t.dl-runtime: only used with policy SCHED_DEADLINE, the task is SCHED_FIFO"));
  EXPECT_THAT(ErrorOf(R"({"tasks": {"t": {"dl-period": 1000, "run": 1}}})"),
              HasSubstr("tasks.t.dl-period: only used with policy SCHED_DEADLINE, the task is SCHED_OTHER"));
}

TEST(SchedWorkloadDigest, NewFieldsCountOnlyWhenSet) {
  auto w = ParseRtApp(R"({"tasks": {"a": {"run": 1}, "b": {"run": 2}}})", "x.json");
  ASSERT_TRUE(w.ok());
  const std::string base = SchedWorkloadDigest(*w);
  SchedWorkload v = *w;
  v.tasks[0].policy = SchedPolicy::kFifo;
  v.tasks[0].rt_priority = 10;
  EXPECT_NE(SchedWorkloadDigest(v), base);
  v = *w;
  v.tasks[1].group = "/g";
  EXPECT_NE(SchedWorkloadDigest(v), base);
  std::string with_group = SchedWorkloadDigest(v);
  v.groups = {{"/g", 2048}};
  EXPECT_NE(SchedWorkloadDigest(v), with_group);
  // SCHED_DEADLINE and each of its parameters count.
  v = *w;
  v.tasks[0].policy = SchedPolicy::kDeadline;
  v.tasks[0].dl_runtime_ns = 1'000'000;
  v.tasks[0].dl_deadline_ns = 10'000'000;
  const std::string dl = SchedWorkloadDigest(v);
  EXPECT_NE(dl, base);
  v.tasks[0].dl_period_ns = 20'000'000;
  EXPECT_NE(SchedWorkloadDigest(v), dl);
  v.tasks[0].dl_period_ns = 0;
  v.tasks[0].dl_runtime_ns = 2'000'000;
  EXPECT_NE(SchedWorkloadDigest(v), dl);
  // The defaults hash as before the fields existed: this workload's digest
  // as computed by the format without them (pinned when they were added).
  SchedWorkload old;
  old.duration_ns = 2'000'000'000;
  old.calibration_khz = 1'100'000;
  old.calibration_cpu = "A57";
  SchedTaskSpec a;
  a.name = "a";
  a.nice = -3;
  a.delay_ns = 5;
  a.loops = -1;
  a.cpu_mask = 3;
  a.periodic = true;
  a.kind = "periodic";
  a.phases = {{PhaseOp::kRun, 1'000'000, 0}, {PhaseOp::kTimer, 16'000'000, 0}};
  SchedTaskSpec b;
  b.name = "b";
  b.phases = {{PhaseOp::kRuntime, 7, 0}, {PhaseOp::kSleep, 9, 0}};
  old.tasks = {a, b};
  EXPECT_EQ(SchedWorkloadDigest(old), "6953d658c18c05ab81b9525c41076d0a7d08bccd6130a80497841a4382e0204f");
}

TEST(RtApp, BadJsonReportsLineAndColumn) {
  std::string msg = ErrorOf("{\n \"tasks\": {\n  \"t\": {\"run\": 10 \"sleep\": 5}\n }\n}");
  EXPECT_THAT(msg, HasSubstr("x.json: invalid JSON"));
  EXPECT_THAT(msg, HasSubstr("line 3, column"));
}

TEST(RtApp, UnsupportedEventsAreRejectedWithExactMessage) {
  EXPECT_EQ(ErrorOf(R"({"tasks": {"t": {"phases": {"p1": {"run": 10, "lock": "m"}}}}})"),
            "x.json: unsupported event lock at tasks.t.phases.p1");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"t": {"run": 10, "barrier0": "b"}}})"),
            "x.json: unsupported event barrier0 at tasks.t");
  EXPECT_EQ(ErrorOf(R"({"tasks": {"t": {"broad": "c"}}})"), "x.json: unsupported event broad at tasks.t");
  // "resume" starts with "r" but is not "run".
  EXPECT_EQ(ErrorOf(R"({"tasks": {"t": {"resume": "u"}}})"), "x.json: unsupported event resume at tasks.t");
}

TEST(RtApp, WriteThenParseGivesTheSameWorkload) {
  SchedWorkload w;
  w.duration_ns = 1'500'000'000;  // not whole seconds: carried in kreplay_duration_ns
  w.calibration_cpu = "a57";
  w.calibration_khz = 1'100'000;
  SchedTaskSpec a;
  a.name = "video";
  a.nice = 3;
  a.delay_ns = 250 * kUs;
  a.loops = -1;
  a.cpu_mask = 0b1010;
  a.periodic = true;
  a.kind = "periodic";
  a.phases = {P(PhaseOp::kRun, 3 * kMs), P(PhaseOp::kRuntime, 20 * kUs), P(PhaseOp::kSignal, 0),
              P(PhaseOp::kTimer, 16 * kMs)};
  SchedTaskSpec b;
  b.name = "sink";
  b.loops = 7;
  b.phases = {P(PhaseOp::kWait, 0), P(PhaseOp::kRun, 1 * kMs), P(PhaseOp::kSleep, 2 * kMs)};
  w.tasks = {a, b};

  std::string text = WriteRtApp(w);
  auto back = ParseRtApp(text, "written.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << text;
  EXPECT_EQ(*back, w);

  // What rt-app itself reads: whole seconds, us, events in program order.
  auto j = nlohmann::ordered_json::parse(text);
  EXPECT_EQ(j["global"]["duration"], 2);
  const auto& events = j["tasks"]["video"]["phases"]["p0"];
  std::vector<std::string> keys;
  for (const auto& [k, v] : events.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"run0", "runtime1", "signal2", "timer3"}));
  EXPECT_EQ(events["run0"], 3000);
  EXPECT_EQ(events["timer3"]["period"], 16000);
  EXPECT_EQ(j["tasks"]["video"]["cpus"], (nlohmann::json{1, 3}));
}

TEST(RtApp, TestdataRoundTrips) {
  for (const char* name : {"periodic.json", "wait_signal.json"}) {
    auto w = ParseRtApp(ReadTestdata(name), name);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    auto back = ParseRtApp(WriteRtApp(*w), name);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, *w) << name;
  }
}

TEST(RtApp, WriteRoundsToMicroseconds) {
  SchedWorkload w;
  SchedTaskSpec t;
  t.name = "t";
  t.phases = {P(PhaseOp::kRun, 1499), P(PhaseOp::kSleep, 1500)};
  w.tasks = {t};
  auto back = ParseRtApp(WriteRtApp(w), "w.json");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->tasks[0].phases, (std::vector<Phase>{P(PhaseOp::kRun, 1000), P(PhaseOp::kSleep, 2000)}));
  EXPECT_EQ(back->duration_ns, 0);
}

}  // namespace
}  // namespace kreplay::workload
