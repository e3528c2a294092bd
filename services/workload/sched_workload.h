// Scheduler workloads: closed-loop per-task programs of phases, which the
// model times itself (rt-app's model of a task).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace kreplay::workload {

enum class PhaseOp : uint8_t {
  // Fixed amount of work: `a` ns as measured on the calibration CPU at its
  // top OPP; takes longer on slower CPUs and lower frequencies (rt-app "run").
  kRun = 0,
  // Busy for `a` ns of wall (simulated) time, whatever the speed (rt-app "runtime").
  kRuntime = 1,
  // Sleep `a` ns (rt-app "sleep").
  kSleep = 2,
  // Periodic timer, period `a` ns: sleep until the previous expiry + period
  // (rt-app "timer" with mode absolute); an overrun is a deadline miss.
  kTimer = 3,
  // Block until resource `a` is signalled (rt-app "wait" on a condition).
  kWait = 4,
  // Wake one waiter of resource `a` (rt-app "signal").
  kSignal = 5,
};
constexpr int kPhaseOpCount = 6;
const char* PhaseOpName(PhaseOp op);

struct Phase {
  PhaseOp op = PhaseOp::kRun;
  int64_t a = 0;
  int64_t b = 0;  // reserved for op-specific extras (0 today)
  bool operator==(const Phase&) const = default;
};

// The task's scheduling policy (sched_setscheduler()); which ones a model
// runs is the model's to say (it refuses the others by name).
enum class SchedPolicy : uint8_t {
  kNormal = 0,  // SCHED_OTHER (SCHED_NORMAL): the fair class, weight from nice
  kBatch = 1,   // SCHED_BATCH: fair, never preempts at wake-up
  kIdle = 2,    // SCHED_IDLE: fair, weight 3 whatever the nice value
  kFifo = 3,    // SCHED_FIFO: real-time, fixed priority 1..99, no slice
  kRr = 4,      // SCHED_RR: real-time, fixed priority, round-robin slice
  kDeadline = 5,  // SCHED_DEADLINE: EDF + CBS with dl_runtime/dl_deadline/dl_period
};
constexpr int kSchedPolicyCount = 6;
// "SCHED_OTHER", "SCHED_BATCH", ... as sched_setscheduler(2) and rt-app name them.
const char* SchedPolicyName(SchedPolicy p);
inline bool IsRealTime(SchedPolicy p) { return p == SchedPolicy::kFifo || p == SchedPolicy::kRr; }

// A task group (a cgroup with the cpu controller): its path from the root
// ("/a", "/a/b") and its share of its parent, in the kernel's tg->shares
// units (1024 = the default; cgroup v1 cpu.shares as written, a v2
// cpu.weight w as w * 1024 / 100 rounded, as cpu_weight_write_u64() does).
struct TaskGroupSpec {
  std::string path;
  uint64_t shares = 1024;
  bool operator==(const TaskGroupSpec&) const = default;
};
// sched_group_set_shares() clamps to [MIN_SHARES, MAX_SHARES].
inline constexpr uint64_t kMinGroupShares = 2;
inline constexpr uint64_t kMaxGroupShares = uint64_t{1} << 18;
// cgroup v2 cpu.weight (1..10000, default 100) in tg->shares units.
uint64_t SharesFromCgroupWeight(uint64_t weight);

struct SchedTaskSpec {
  std::string name;
  int nice = 0;              // -20..19 (fair policies)
  int64_t delay_ns = 0;      // first activation
  int64_t loops = 1;         // program repetitions; -1 = until duration ends
  uint64_t cpu_mask = 0;     // 0 = any
  bool periodic = false;     // contains a timer phase
  std::string kind;          // "interactive" | "batch" | "periodic" | ...
  std::vector<Phase> phases;
  SchedPolicy policy = SchedPolicy::kNormal;
  int rt_priority = 0;       // 1..99 for SCHED_FIFO/SCHED_RR, else 0
  std::string group;         // task group path ("" = the root group)
  // SCHED_DEADLINE only (sched_setattr(2) sched_runtime, sched_deadline,
  // sched_period), else 0. dl_period_ns 0 means "= dl_deadline_ns", as in
  // the kernel.
  int64_t dl_runtime_ns = 0;
  int64_t dl_deadline_ns = 0;
  int64_t dl_period_ns = 0;
  bool operator==(const SchedTaskSpec&) const = default;
};

// __checkparam_dl() (kernel/sched/deadline.c, v5.15..v6.x) for a
// SCHED_DEADLINE task: deadline != 0, runtime >= 1 << DL_SCALE (1024 ns),
// runtime <= deadline <= period (period 0: the deadline), and the period
// within sysctl_sched_dl_period_min (100 us) .. sysctl_sched_dl_period_max
// (1 << 22 us, ~4.19 s), the sysctls' defaults. For other policies every
// dl_* field must be 0. Returns "" when valid, else "<field>: <what>" with
// the field as named in SchedTaskSpec (dl_runtime_ns, dl_deadline_ns,
// dl_period_ns).
std::string DeadlineParamsError(const SchedTaskSpec& t);
inline constexpr int64_t kDlMinRuntimeNs = int64_t{1} << 10;           // 1 << DL_SCALE
inline constexpr int64_t kDlPeriodMinNs = 100 * int64_t{1000};         // sysctl_sched_dl_period_min
inline constexpr int64_t kDlPeriodMaxNs = (int64_t{1} << 22) * 1000;   // sysctl_sched_dl_period_max

struct SchedWorkload {
  std::vector<SchedTaskSpec> tasks;
  int64_t duration_ns = 0;   // 0 = until every task has finished its loops
  uint64_t calibration_khz = 0;     // top OPP of the calibration CPU
  std::string calibration_cpu;      // cluster name on the run's platform, "" = biggest
  // Every task group a task names and each ancestor, parents first; empty
  // when all tasks are in the root group.
  std::vector<TaskGroupSpec> groups;
  bool operator==(const SchedWorkload&) const = default;
};

// Content digest: hex SHA-256 over every field (length-prefixed), so it
// changes whenever any input of a model run changes. Run keys use it, and a
// worker that regenerates a synthetic workload checks it. Policy, priority,
// group and the group table are hashed only when not the defaults, so a
// workload without them keeps the digest it had before they existed (and
// stored results stay reusable); so are the dl_* parameters.
std::string SchedWorkloadDigest(const SchedWorkload& w);

// SchedWorkloadDigest fed one task at a time, for producers that never hold
// the whole workload. Gives the same digest when given the same fields and
// every task, in order.
class SchedDigestBuilder {
 public:
  SchedDigestBuilder(int64_t duration_ns, uint64_t calibration_khz, const std::string& calibration_cpu,
                     size_t task_count);
  ~SchedDigestBuilder();
  void AddTask(const SchedTaskSpec& t);
  // The workload's group table; optional, at most once, before Finish().
  void AddGroups(const std::vector<TaskGroupSpec>& groups);
  std::string Finish();  // REQUIRES: called once, after task_count AddTask calls

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kreplay::workload
