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

struct SchedTaskSpec {
  std::string name;
  int nice = 0;              // -20..19
  int64_t delay_ns = 0;      // first activation
  int64_t loops = 1;         // program repetitions; -1 = until duration ends
  uint64_t cpu_mask = 0;     // 0 = any
  bool periodic = false;     // contains a timer phase
  std::string kind;          // "interactive" | "batch" | "periodic" | ...
  std::vector<Phase> phases;
  bool operator==(const SchedTaskSpec&) const = default;
};

struct SchedWorkload {
  std::vector<SchedTaskSpec> tasks;
  int64_t duration_ns = 0;   // 0 = until every task has finished its loops
  uint64_t calibration_khz = 0;     // top OPP of the calibration CPU
  std::string calibration_cpu;      // cluster name on the run's platform, "" = biggest
  bool operator==(const SchedWorkload&) const = default;
};

// Content digest: hex SHA-256 over every field (length-prefixed), so it
// changes whenever any input of a model run changes. Run keys use it, and a
// worker that regenerates a synthetic workload checks it.
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
  std::string Finish();  // REQUIRES: called once, after task_count AddTask calls

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kreplay::workload
