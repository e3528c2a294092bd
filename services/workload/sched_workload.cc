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
  }
  return "?";
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
