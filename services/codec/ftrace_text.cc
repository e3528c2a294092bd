#include "services/codec/ftrace_text.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

namespace kreplay::codec {
namespace {

using Kind = model::SchedTraceEvent::Kind;

// Appends printf output to `buf` at `*len` (bounded by `cap`).
template <typename... Args>
void Append(char* buf, size_t cap, size_t* len, const char* fmt, Args... args) {
  if (*len >= cap) return;
  int n = std::snprintf(buf + *len, cap - *len, fmt, args...);
  if (n > 0) *len += std::min(static_cast<size_t>(n), cap - *len - 1);
}

size_t Context(char* buf, size_t cap, std::string_view comm, int pid, int cpu, int64_t time_ns) {
  // ns2usecs(): rounded to the nearest microsecond.
  uint64_t us = (static_cast<uint64_t>(time_ns) + 500) / 1000;
  size_t len = 0;
  // trace_print_context() (5.14+): "%16s-%-7d " "[%03d] " " %5lu.%06lu: ".
  Append(buf, cap, &len, "%16.*s-%-7d [%03d]  %5" PRIu64 ".%06" PRIu64 ": ", static_cast<int>(comm.size()), comm.data(),
         pid, cpu, us / 1000000, us % 1000000);
  return len;
}

int Comm(std::string_view s) { return static_cast<int>(s.size()); }

}  // namespace

std::string FtraceContext(std::string_view comm, int pid, int cpu, int64_t time_ns) {
  char buf[128];
  size_t len = Context(buf, sizeof buf, comm, pid, cpu, time_ns);
  return std::string(buf, len);
}

FtraceTextWriter::FtraceTextWriter(std::ostream& out, int cpus, std::string_view title) : out_(out) {
  current_.resize(static_cast<size_t>(std::max(cpus, 0)));
  for (int cpu = 0; cpu < cpus; ++cpu) current_[cpu].comm = "<idle>";
  out_ << "# tracer: nop\n#\n# kreplay simulated schedule: " << title << "\n# cpus=" << cpus
       << " (simulated: no events lost)\n#\n"
       << "#           TASK-PID     CPU#     TIMESTAMP  FUNCTION\n"
       << "#              | |         |         |         |\n";
}

void FtraceTextWriter::On(const model::SchedTraceEvent& e) {
  if (e.cpu < 0) return;
  if (static_cast<size_t>(e.cpu) >= current_.size()) current_.resize(e.cpu + 1, Current{"<idle>", 0});
  Current& cur = current_[e.cpu];
  char buf[512];
  const size_t cap = sizeof buf;
  // A switch is logged by the task leaving; the idle task shows as <idle>.
  std::string_view who = cur.comm;
  int who_pid = cur.pid;
  if (e.kind == Kind::kSwitch) {
    who = e.task.pid == 0 ? std::string_view("<idle>") : e.task.comm;
    who_pid = e.task.pid;
  }
  size_t len = Context(buf, cap, who, who_pid, e.cpu, e.time_ns);
  switch (e.kind) {
    case Kind::kSwitch:
      Append(buf, cap, &len,
             "sched_switch: prev_comm=%.*s prev_pid=%d prev_prio=%d prev_state=%s ==> next_comm=%.*s next_pid=%d "
             "next_prio=%d\n",
             Comm(e.task.comm), e.task.comm.data(), e.task.pid, e.task.prio, e.prev_state, Comm(e.next.comm),
             e.next.comm.data(), e.next.pid, e.next.prio);
      cur.comm.assign(e.next.pid == 0 ? std::string_view("<idle>") : e.next.comm);
      cur.pid = e.next.pid;
      break;
    case Kind::kWakeup:
    case Kind::kWakeupNew:
      Append(buf, cap, &len, "%s: comm=%.*s pid=%d prio=%d target_cpu=%03d\n",
             e.kind == Kind::kWakeup ? "sched_wakeup" : "sched_wakeup_new", Comm(e.task.comm), e.task.comm.data(),
             e.task.pid, e.task.prio, e.target_cpu);
      break;
    case Kind::kMigrate:
      Append(buf, cap, &len, "sched_migrate_task: comm=%.*s pid=%d prio=%d orig_cpu=%d dest_cpu=%d\n",
             Comm(e.task.comm), e.task.comm.data(), e.task.pid, e.task.prio, e.orig_cpu, e.dest_cpu);
      break;
    case Kind::kCpuFrequency:
      Append(buf, cap, &len, "cpu_frequency: state=%" PRIu32 " cpu_id=%d\n", e.khz, e.cpu);
      break;
    case Kind::kCpuIdle:
      // Leaving idle is state PWR_EVENT_EXIT, (u32)-1.
      Append(buf, cap, &len, "cpu_idle: state=%" PRIu32 " cpu_id=%d\n", static_cast<uint32_t>(e.idle_state), e.cpu);
      break;
  }
  if (len == cap - 1) buf[len - 1] = '\n';  // truncated (never with 15-character comms): keep one line
  out_.write(buf, static_cast<std::streamsize>(len));
  ++lines_;
}

}  // namespace kreplay::codec
