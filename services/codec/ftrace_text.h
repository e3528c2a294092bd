// The simulated schedule of a scheduler run as ftrace text: the format of
// /sys/kernel/tracing/trace (nop tracer, irq-info off) with the sched and
// power events, so tools that read kernel traces as text (Perfetto and
// Catapult's systrace import, trace-cmd-style scripts) can read a simulated
// run as they read a board's trace. Event bodies follow the TP_printk formats
// of include/trace/events/sched.h and power.h.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "services/model/sched_observer.h"

namespace kreplay::codec {

// Streams each event as one line; memory does not grow with the run (a line
// buffer and the task running on each CPU). Not thread-safe: one run's
// observer. `out` must outlive the writer; the caller checks it for errors.
class FtraceTextWriter final : public model::SchedObserver {
 public:
  // Writes the header ("# tracer: nop", `title` as a comment, the CPU count).
  FtraceTextWriter(std::ostream& out, int cpus, std::string_view title);

  void On(const model::SchedTraceEvent& e) override;

  uint64_t lines() const { return lines_; }

 private:
  struct Current {
    std::string comm;
    int pid = 0;
  };
  std::ostream& out_;
  std::vector<Current> current_;  // per CPU, the task the lines are attributed to
  uint64_t lines_ = 0;
};

// One line's context as the kernel prints it (trace_print_context()):
// "<comm>-<pid> [<cpu>] <s>.<us>: ". Time is rounded to the microsecond as
// ns2usecs() does.
std::string FtraceContext(std::string_view comm, int pid, int cpu, int64_t time_ns);

}  // namespace kreplay::codec
