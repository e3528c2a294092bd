// The simulated schedule of a scheduler-family run, event by event, as the
// kernel's sched and power tracepoints would have reported it
// (include/trace/events/sched.h, include/trace/events/power.h). Models report
// through SchedObserver when model::RunInput::observer holds one; the
// ftrace text writer (services/codec/ftrace_text.h) is one observer.
//
// Identity conventions shared by models and observers: task i of the workload
// is pid kSchedTaskPidBase + i with comm = its name truncated to
// kSchedCommMax characters (TASK_COMM_LEN 16 with the NUL); a CPU's idle task
// is pid 0, comm "swapper/N", as in the kernel.
#pragma once

#include <cstdint>
#include <string_view>

#include "services/sim/time.h"

namespace kreplay::model {

inline constexpr int kSchedTaskPidBase = 1000;
inline constexpr size_t kSchedCommMax = 15;
// prio of a CFS task (kernel MAX_RT_PRIO + 20 + nice); the idle task's too.
inline constexpr int SchedPrio(int nice) { return 120 + nice; }

// One side of an event: a task, or a CPU's idle task (pid 0).
struct SchedTaskRef {
  int pid = 0;
  std::string_view comm;  // valid only during SchedObserver::On()
  int prio = 120;
};

struct SchedTraceEvent {
  enum class Kind : uint8_t {
    kWakeup,        // sched_wakeup: `task` becomes runnable, queued on target_cpu
    kWakeupNew,     // sched_wakeup_new: a new task, queued on target_cpu
    kSwitch,        // sched_switch on `cpu`: prev leaves, next runs
    kMigrate,       // sched_migrate_task: `task` moves orig_cpu -> dest_cpu
    kCpuFrequency,  // cpu_frequency: `cpu` now runs at khz
    kCpuIdle,       // cpu_idle: `cpu` enters idle_state, or leaves idle (idle_state -1)
  };
  sim::Time time_ns = 0;
  Kind kind = Kind::kSwitch;
  // The CPU the event happens on (ftrace's [NNN] column): the switching CPU,
  // the waker's CPU, the CPU whose frequency or idle state changes.
  int cpu = 0;
  SchedTaskRef task;  // kWakeup, kWakeupNew, kMigrate; kSwitch: prev
  SchedTaskRef next;  // kSwitch
  // kSwitch: prev's state as sched_switch prints it: "R+" (preempted, still
  // runnable), "S" (sleeping), "X" (exited), "R" (the idle task).
  const char* prev_state = "R";
  int target_cpu = 0;  // kWakeup, kWakeupNew
  int orig_cpu = 0;    // kMigrate
  int dest_cpu = 0;    // kMigrate
  uint32_t khz = 0;    // kCpuFrequency
  int idle_state = 0;  // kCpuIdle: state index, -1 = leaving idle (PWR_EVENT_EXIT)
};

// Receives a run's events in simulated-time order (ties in the order the
// model made them). Called synchronously from the model's thread; must not
// call back into the model. Ownership stays with the caller of the run.
class SchedObserver {
 public:
  virtual ~SchedObserver() = default;
  virtual void On(const SchedTraceEvent& e) = 0;
};

}  // namespace kreplay::model
