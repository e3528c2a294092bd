// FtraceTextWriter: exact lines for fixed events (formats of the kernel's
// trace_print_context() and the sched/power TP_printk strings), and every
// line of a longer stream parses with the pattern trace readers use.
#include "services/codec/ftrace_text.h"

#include <gtest/gtest.h>

#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace kreplay::codec {
namespace {

using Ev = model::SchedTraceEvent;
using Kind = Ev::Kind;

Ev Switch(int64_t t, int cpu, model::SchedTaskRef prev, const char* state, model::SchedTaskRef next) {
  Ev e;
  e.time_ns = t;
  e.kind = Kind::kSwitch;
  e.cpu = cpu;
  e.task = prev;
  e.prev_state = state;
  e.next = next;
  return e;
}

std::vector<std::string> Lines(const std::string& text, bool body_only) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!body_only || (!line.empty() && line[0] != '#')) out.push_back(line);
  return out;
}

TEST(FtraceText, ContextColumnsAsTheKernelPrintsThem) {
  // comm right-aligned in 16, pid left-aligned in 7, CPU in 3 digits,
  // microseconds rounded (ns2usecs adds 500 ns).
  EXPECT_EQ(FtraceContext("task0", 1000, 2, 1234567), "           task0-1000    [002]      0.001235: ");
  EXPECT_EQ(FtraceContext("<idle>", 0, 11, 3723000000499), "          <idle>-0       [011]   3723.000000: ");
  EXPECT_EQ(FtraceContext("a-very-long-com", 1234567, 0, 999999500), " a-very-long-com-1234567 [000]      1.000000: ");
}

TEST(FtraceText, FixedEventsGiveExactLines) {
  std::ostringstream out;
  FtraceTextWriter w(out, 4, "test run");
  model::SchedTaskRef idle1{0, "swapper/1", 120}, t0{1000, "task0", 120}, t1{1001, "worker", 125};
  Ev e;
  e.time_ns = 0;
  e.kind = Kind::kCpuFrequency;
  e.cpu = 1;
  e.khz = 450000;
  w.On(e);
  e = Ev{};
  e.time_ns = 1000;
  e.kind = Kind::kWakeupNew;
  e.cpu = 0;
  e.task = t0;
  e.target_cpu = 1;
  w.On(e);
  e = Ev{};
  e.time_ns = 1000;
  e.kind = Kind::kMigrate;
  e.cpu = 0;
  e.task = t0;
  e.orig_cpu = 0;
  e.dest_cpu = 1;
  w.On(e);
  e = Ev{};
  e.time_ns = 1500;
  e.kind = Kind::kCpuIdle;
  e.cpu = 1;
  e.idle_state = -1;
  w.On(e);
  w.On(Switch(2000, 1, idle1, "R", t0));
  e = Ev{};
  e.time_ns = 2500;
  e.kind = Kind::kWakeup;
  e.cpu = 1;  // attributed to task0, now running on CPU 1
  e.task = t1;
  e.target_cpu = 3;
  w.On(e);
  w.On(Switch(5000000, 1, t0, "R+", t1));
  w.On(Switch(6000000, 1, t1, "S", idle1));
  e = Ev{};
  e.time_ns = 6000000;
  e.kind = Kind::kCpuIdle;
  e.cpu = 1;
  e.idle_state = 2;
  w.On(e);
  EXPECT_EQ(w.lines(), 9u);

  std::vector<std::string> all = Lines(out.str(), false);
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all[0], "# tracer: nop");
  std::vector<std::string> want = {
      "          <idle>-0       [001]      0.000000: cpu_frequency: state=450000 cpu_id=1",
      "          <idle>-0       [000]      0.000001: sched_wakeup_new: comm=task0 pid=1000 prio=120 target_cpu=001",
      "          <idle>-0       [000]      0.000001: sched_migrate_task: comm=task0 pid=1000 prio=120 orig_cpu=0 dest_cpu=1",
      "          <idle>-0       [001]      0.000002: cpu_idle: state=4294967295 cpu_id=1",
      "          <idle>-0       [001]      0.000002: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 "
      "prev_state=R ==> next_comm=task0 next_pid=1000 next_prio=120",
      "           task0-1000    [001]      0.000003: sched_wakeup: comm=worker pid=1001 prio=125 target_cpu=003",
      "           task0-1000    [001]      0.005000: sched_switch: prev_comm=task0 prev_pid=1000 prev_prio=120 "
      "prev_state=R+ ==> next_comm=worker next_pid=1001 next_prio=125",
      "          worker-1001    [001]      0.006000: sched_switch: prev_comm=worker prev_pid=1001 prev_prio=125 "
      "prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120",
      "          <idle>-0       [001]      0.006000: cpu_idle: state=2 cpu_id=1",
  };
  EXPECT_EQ(Lines(out.str(), true), want);
}

TEST(FtraceText, EveryLineOfAStreamParses) {
  std::ostringstream out;
  const int cpus = 3;
  FtraceTextWriter w(out, cpus, "parse");
  // A round-robin of tasks over the CPUs, with wake-ups and migrations.
  std::vector<std::string> names = {"alpha", "bravo charlie", "d"};
  std::vector<int> on(cpus, 0);
  int64_t t = 0;
  for (int i = 0; i < 300; ++i) {
    int cpu = i % cpus, task = (i / cpus) % 3;
    model::SchedTaskRef next{1000 + task, names[task], 120 + task};
    t += 1777;
    Ev e;
    e.time_ns = t;
    e.kind = Kind::kWakeup;
    e.cpu = cpu;
    e.task = next;
    e.target_cpu = cpu;
    w.On(e);
    model::SchedTaskRef prev = on[cpu] ? model::SchedTaskRef{on[cpu], names[on[cpu] - 1000], 120 + on[cpu] - 1000}
                                       : model::SchedTaskRef{0, "swapper", 120};
    if (prev.pid != next.pid) w.On(Switch(t, cpu, prev, "S", next));
    on[cpu] = next.pid;
  }
  // trace readers' line pattern (Catapult/Perfetto systrace import), with
  // the sched_switch body split into its fields.
  std::regex line(R"(^\s*(.+)-(\d+)\s+\[(\d{3})\]\s+(\d+)\.(\d{6}): (\w+): (.*)$)");
  std::regex sw(R"(^prev_comm=(.+) prev_pid=(\d+) prev_prio=(\d+) prev_state=(\S+) ==> next_comm=(.+) next_pid=(\d+) next_prio=(\d+)$)");
  std::vector<std::string> cur(cpus, "0");
  int switches = 0, lines = 0;
  int64_t last_us = -1;
  for (const auto& l : Lines(out.str(), true)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, line)) << l;
    ++lines;
    int cpu = std::stoi(m[3]);
    int64_t us = std::stoll(m[4]) * 1000000 + std::stoll(m[5]);
    EXPECT_GE(us, last_us);
    last_us = us;
    EXPECT_EQ(m[2].str(), cur[cpu]) << "line attributed to the CPU's running task: " << l;
    if (m[6] == "sched_switch") {
      std::smatch s;
      std::string body = m[7];
      ASSERT_TRUE(std::regex_match(body, s, sw)) << body;
      EXPECT_EQ(s[2].str(), cur[cpu]);
      cur[cpu] = s[6];
      ++switches;
    }
  }
  EXPECT_EQ(static_cast<uint64_t>(lines), w.lines());
  EXPECT_GT(switches, 0);
}

}  // namespace
}  // namespace kreplay::codec
