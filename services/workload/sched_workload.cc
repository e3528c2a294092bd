#include "services/workload/sched_workload.h"

namespace kreplay::workload {

const char* PhaseOpName(PhaseOp op) {
  switch (op) {
    case PhaseOp::kRun: return "run";
    case PhaseOp::kRuntime: return "runtime";
    case PhaseOp::kSleep: return "sleep";
    case PhaseOp::kTimer: return "timer";
    case PhaseOp::kWait: return "wait";
    case PhaseOp::kSignal: return "signal";
  }
  return "?";
}

}  // namespace kreplay::workload
