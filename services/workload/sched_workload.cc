#include "services/workload/sched_workload.h"

#include "services/core/digest.h"

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

std::string SchedWorkloadDigest(const SchedWorkload& w) {
  Sha256 h;
  h.UpdateField("kreplay.sched_workload.v1");
  h.UpdateU64(static_cast<uint64_t>(w.duration_ns));
  h.UpdateU64(w.calibration_khz);
  h.UpdateField(w.calibration_cpu);
  h.UpdateU64(w.tasks.size());
  constexpr size_t kBlock = 64 * 1024;
  std::string buf;
  buf.reserve(kBlock);
  for (const auto& t : w.tasks) {
    h.UpdateField(t.name);
    h.UpdateU64(static_cast<uint64_t>(static_cast<int64_t>(t.nice)));
    h.UpdateU64(static_cast<uint64_t>(t.delay_ns));
    h.UpdateU64(static_cast<uint64_t>(t.loops));
    h.UpdateU64(t.cpu_mask);
    h.UpdateU64(t.periodic ? 1 : 0);
    h.UpdateField(t.kind);
    h.UpdateU64(t.phases.size());
    // The same bytes as UpdateU64 per field, fed in blocks: one digest call
    // per 8-byte field would cost more than the hashing itself.
    for (const auto& ph : t.phases) {
      if (buf.size() + 24 > kBlock) {
        h.Update(buf);
        buf.clear();
      }
      for (uint64_t v : {static_cast<uint64_t>(ph.op), static_cast<uint64_t>(ph.a), static_cast<uint64_t>(ph.b)})
        for (int i = 0; i < 8; ++i) buf.push_back(static_cast<char>(v >> (8 * i)));
    }
    h.Update(buf);
    buf.clear();
  }
  return h.HexDigest();
}

}  // namespace kreplay::workload
