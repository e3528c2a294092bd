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

const char* SchedPolicyName(SchedPolicy p) {
  switch (p) {
    case SchedPolicy::kNormal: return "SCHED_OTHER";
    case SchedPolicy::kBatch: return "SCHED_BATCH";
    case SchedPolicy::kIdle: return "SCHED_IDLE";
    case SchedPolicy::kFifo: return "SCHED_FIFO";
    case SchedPolicy::kRr: return "SCHED_RR";
    case SchedPolicy::kDeadline: return "SCHED_DEADLINE";
  }
  return "?";
}

std::string DeadlineParamsError(const SchedTaskSpec& t) {
  if (t.policy != SchedPolicy::kDeadline) {
    if (t.dl_runtime_ns != 0 || t.dl_deadline_ns != 0 || t.dl_period_ns != 0) {
      return std::string("dl_runtime_ns: deadline parameters are only used with SCHED_DEADLINE, the task is ") +
             SchedPolicyName(t.policy);
    }
    return "";
  }
  auto ns = [](int64_t v) { return std::to_string(v) + " ns"; };
  // The order of __checkparam_dl()'s tests. The kernel's values are u64
  // with the top bit refused, which a negative int64 here stands for.
  if (t.dl_deadline_ns == 0) return "dl_deadline_ns: must not be 0";
  if (t.dl_runtime_ns < kDlMinRuntimeNs)
    return "dl_runtime_ns: " + ns(t.dl_runtime_ns) + " is below 1024 ns (1 << DL_SCALE)";
  if (t.dl_deadline_ns < 0) return "dl_deadline_ns: negative";
  if (t.dl_period_ns < 0) return "dl_period_ns: negative";
  int64_t period = t.dl_period_ns != 0 ? t.dl_period_ns : t.dl_deadline_ns;
  if (period < t.dl_deadline_ns)
    return "dl_period_ns: " + ns(period) + " is below the deadline " + ns(t.dl_deadline_ns) +
           " (runtime <= deadline <= period)";
  if (t.dl_deadline_ns < t.dl_runtime_ns)
    return "dl_deadline_ns: " + ns(t.dl_deadline_ns) + " is below the runtime " + ns(t.dl_runtime_ns) +
           " (runtime <= deadline <= period)";
  const char* field = t.dl_period_ns != 0 ? "dl_period_ns" : "dl_deadline_ns";
  if (period < kDlPeriodMinNs)
    return std::string(field) + ": period " + ns(period) + " is below sched_dl_period_min_us (100 us)";
  if (period > kDlPeriodMaxNs)
    return std::string(field) + ": period " + ns(period) + " is above sched_dl_period_max_us (4194304 us)";
  return "";
}

uint64_t SharesFromCgroupWeight(uint64_t weight) {
  // DIV_ROUND_CLOSEST(weight * 1024, CGROUP_WEIGHT_DFL).
  return (weight * 1024 + 50) / 100;
}

struct SchedDigestBuilder::Impl {
  Sha256 h;
  std::string buf;  // fixed-width phase fields, fed in blocks
};

SchedDigestBuilder::SchedDigestBuilder(int64_t duration_ns, uint64_t calibration_khz,
                                       const std::string& calibration_cpu, size_t task_count)
    : impl_(std::make_unique<Impl>()) {
  Sha256& h = impl_->h;
  h.UpdateField("kreplay.sched_workload.v1");
  h.UpdateU64(static_cast<uint64_t>(duration_ns));
  h.UpdateU64(calibration_khz);
  h.UpdateField(calibration_cpu);
  h.UpdateU64(task_count);
}

SchedDigestBuilder::~SchedDigestBuilder() = default;

void SchedDigestBuilder::AddTask(const SchedTaskSpec& t) {
  Sha256& h = impl_->h;
  h.UpdateField(t.name);
  h.UpdateU64(static_cast<uint64_t>(static_cast<int64_t>(t.nice)));
  h.UpdateU64(static_cast<uint64_t>(t.delay_ns));
  h.UpdateU64(static_cast<uint64_t>(t.loops));
  h.UpdateU64(t.cpu_mask);
  h.UpdateU64(t.periodic ? 1 : 0);
  h.UpdateField(t.kind);
  h.UpdateU64(t.phases.size());
  // Added after the first format: only when set, so older digests stand.
  if (t.policy != SchedPolicy::kNormal || t.rt_priority != 0) {
    h.UpdateField("policy");
    h.UpdateU64(static_cast<uint64_t>(t.policy));
    h.UpdateU64(static_cast<uint64_t>(static_cast<int64_t>(t.rt_priority)));
  }
  if (!t.group.empty()) {
    h.UpdateField("group");
    h.UpdateField(t.group);
  }
  if (t.dl_runtime_ns != 0 || t.dl_deadline_ns != 0 || t.dl_period_ns != 0) {
    h.UpdateField("dl");
    h.UpdateU64(static_cast<uint64_t>(t.dl_runtime_ns));
    h.UpdateU64(static_cast<uint64_t>(t.dl_deadline_ns));
    h.UpdateU64(static_cast<uint64_t>(t.dl_period_ns));
  }
  // The same bytes as Sha256::UpdateU64 per field (little-endian), fed in
  // blocks: one digest call per 8-byte field costs more than the hashing.
  constexpr size_t kRecord = 24, kBlock = 64 * 1024;
  std::string& buf = impl_->buf;
  buf.resize(kBlock);
  size_t used = 0;
  auto put = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) buf[used++] = static_cast<char>(v >> (8 * i));
  };
  for (const auto& ph : t.phases) {
    if (used + kRecord > kBlock) {
      h.Update(std::string_view(buf.data(), used));
      used = 0;
    }
    put(static_cast<uint64_t>(ph.op));
    put(static_cast<uint64_t>(ph.a));
    put(static_cast<uint64_t>(ph.b));
  }
  h.Update(std::string_view(buf.data(), used));
}

void SchedDigestBuilder::AddGroups(const std::vector<TaskGroupSpec>& groups) {
  if (groups.empty()) return;
  Sha256& h = impl_->h;
  h.UpdateField("groups");
  h.UpdateU64(groups.size());
  for (const auto& g : groups) {
    h.UpdateField(g.path);
    h.UpdateU64(g.shares);
  }
}

std::string SchedDigestBuilder::Finish() { return impl_->h.HexDigest(); }

std::string SchedWorkloadDigest(const SchedWorkload& w) {
  SchedDigestBuilder b(w.duration_ns, w.calibration_khz, w.calibration_cpu, w.tasks.size());
  for (const auto& t : w.tasks) b.AddTask(t);
  b.AddGroups(w.groups);
  return b.Finish();
}

}  // namespace kreplay::workload
