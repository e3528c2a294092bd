#include "services/codec/sched_trace.h"

#include "services/codec/columns.h"
#include "services/codec/convert.h"
#include "services/core/crc32c.h"
#include "services/core/digest.h"

namespace kreplay::codec {
namespace {

const std::vector<std::string>& SchedColumns() {
  static const std::vector<std::string> kNames = {"task", "op", "a", "b"};
  return kNames;
}

v1::SchedWorkloadHeader MakeHeader(const workload::SchedWorkload& w) {
  v1::SchedWorkloadHeader h;
  h.set_duration_ns(w.duration_ns);
  h.set_calibration_khz(w.calibration_khz);
  h.set_calibration_cpu(w.calibration_cpu);
  for (const auto& t : w.tasks) {
    auto* p = h.add_tasks();
    p->set_name(t.name);
    p->set_nice(t.nice);
    p->set_delay_ns(t.delay_ns);
    p->set_loops(t.loops);
    p->set_cpu_mask(t.cpu_mask);
    p->set_periodic(t.periodic);
    p->set_kind(t.kind);
    p->set_phase_count(t.phases.size());
    p->set_policy(static_cast<uint32_t>(t.policy));
    p->set_rt_priority(t.rt_priority);
    p->set_group(t.group);
    p->set_dl_runtime_ns(t.dl_runtime_ns);
    p->set_dl_deadline_ns(t.dl_deadline_ns);
    p->set_dl_period_ns(t.dl_period_ns);
  }
  for (const auto& g : w.groups) {
    auto* p = h.add_groups();
    p->set_path(g.path);
    p->set_shares(g.shares);
  }
  return h;
}

}  // namespace

struct SchedTraceAssembler::DigestState {
  Sha256 sha;
};

v1::TraceManifest EncodeSchedWorkload(const workload::SchedWorkload& w, size_t max_chunk_bytes,
                                      const ChunkSink& sink, const std::string& source) {
  v1::TraceManifest m;
  m.set_family("sched");
  m.set_source(source);
  m.set_header(DeterministicBytes(MakeHeader(w)));
  Sha256 sha;
  sha.UpdateField(m.family());
  sha.UpdateField(m.header());

  ColumnWriter writer(SchedColumns());
  uint32_t index = 0;
  uint64_t first = 0, total = 0, bytes = 0;
  auto flush = [&] {
    if (writer.rows() == 0) return;
    v1::TraceChunk c;
    c.set_index(index++);
    c.set_first_record(first);
    c.set_record_count(static_cast<uint32_t>(writer.rows()));
    first += writer.rows();
    std::string payload = writer.TakePayload();
    c.set_crc32c(Crc32c(payload));
    sha.UpdateField(payload);
    bytes += payload.size();
    c.set_payload(std::move(payload));
    sink(std::move(c));
  };
  for (size_t t = 0; t < w.tasks.size(); ++t) {
    for (const auto& ph : w.tasks[t].phases) {
      int64_t row[4] = {static_cast<int64_t>(t), static_cast<int64_t>(ph.op), ph.a, ph.b};
      writer.Append(row);
      ++total;
      if (writer.EstimatedBytes() >= max_chunk_bytes) flush();
    }
  }
  flush();
  m.set_chunk_count(index);
  m.set_record_count(total);
  m.set_payload_bytes(bytes);
  m.set_digest(sha.HexDigest());
  return m;
}

SchedTraceAssembler::SchedTraceAssembler(v1::TraceManifest manifest)
    : manifest_(std::move(manifest)), digest_(std::make_unique<DigestState>()) {
  digest_->sha.UpdateField(manifest_.family());
  digest_->sha.UpdateField(manifest_.header());
  v1::SchedWorkloadHeader h;
  if (h.ParseFromString(manifest_.header())) {
    w_.duration_ns = h.duration_ns();
    w_.calibration_khz = h.calibration_khz();
    w_.calibration_cpu = h.calibration_cpu();
    for (const auto& t : h.tasks()) {
      workload::SchedTaskSpec s;
      s.name = t.name();
      s.nice = t.nice();
      s.delay_ns = t.delay_ns();
      s.loops = t.loops();
      s.cpu_mask = t.cpu_mask();
      s.periodic = t.periodic();
      s.kind = t.kind();
      s.phases.reserve(t.phase_count());
      // An out-of-range policy (a newer sender) is kept out of the enum: the
      // assembler reports it instead of running a wrong policy.
      if (t.policy() >= static_cast<uint32_t>(workload::kSchedPolicyCount)) bad_policy_ = true;
      s.policy = static_cast<workload::SchedPolicy>(bad_policy_ ? 0 : t.policy());
      s.rt_priority = t.rt_priority();
      s.group = t.group();
      s.dl_runtime_ns = t.dl_runtime_ns();
      s.dl_deadline_ns = t.dl_deadline_ns();
      s.dl_period_ns = t.dl_period_ns();
      w_.tasks.push_back(std::move(s));
    }
    for (const auto& g : h.groups()) w_.groups.push_back({g.path(), g.shares()});
  } else {
    next_ = UINT32_MAX;  // Add() reports it
  }
}

SchedTraceAssembler::~SchedTraceAssembler() = default;

Status SchedTraceAssembler::Add(const v1::TraceChunk& c) {
  const std::string where = "trace " + manifest_.digest().substr(0, 12) + " chunk " + std::to_string(c.index());
  if (next_ == UINT32_MAX) return DataLoss("trace " + manifest_.digest() + ": manifest header does not parse");
  if (manifest_.family() != "sched") return InvalidArgument(where + ": family '" + manifest_.family() + "' is not sched");
  if (bad_policy_) return InvalidArgument(where + ": a task has an unknown scheduling policy (sent by a newer kreplay?)");
  if (c.digest() != manifest_.digest()) return DataLoss(where + ": chunk belongs to trace " + c.digest());
  if (c.index() != next_) return DataLoss(where + ": expected chunk " + std::to_string(next_));
  if (Crc32c(c.payload()) != c.crc32c()) return DataLoss(where + ": CRC32C mismatch");
  if (c.first_record() != records_) return DataLoss(where + ": first_record " + std::to_string(c.first_record()) + ", expected " + std::to_string(records_));
  auto cols = DecodeColumns(c.payload(), SchedColumns());
  if (!cols.ok()) return cols.status().WithContext(where);
  const auto& task = (*cols)[0];
  const auto& op = (*cols)[1];
  const auto& a = (*cols)[2];
  const auto& b = (*cols)[3];
  if (task.size() != c.record_count()) return DataLoss(where + ": record count mismatch");
  for (size_t r = 0; r < task.size(); ++r) {
    if (task[r] < 0 || static_cast<size_t>(task[r]) >= w_.tasks.size())
      return DataLoss(where + ": record for unknown task " + std::to_string(task[r]));
    if (op[r] < 0 || op[r] >= workload::kPhaseOpCount) return DataLoss(where + ": unknown phase op " + std::to_string(op[r]));
    auto& phases = w_.tasks[static_cast<size_t>(task[r])].phases;
    phases.push_back({static_cast<workload::PhaseOp>(op[r]), a[r], b[r]});
  }
  digest_->sha.UpdateField(c.payload());
  records_ += c.record_count();
  ++next_;
  return OkStatus();
}

StatusOr<workload::SchedWorkload> SchedTraceAssembler::Finish() {
  if (!complete()) return DataLoss("trace " + manifest_.digest() + ": only " + std::to_string(next_) + " of " + std::to_string(manifest_.chunk_count()) + " chunks");
  if (records_ != manifest_.record_count()) return DataLoss("trace " + manifest_.digest() + ": record count mismatch");
  std::string got = digest_->sha.HexDigest();
  if (got != manifest_.digest()) return DataLoss("trace " + manifest_.digest() + ": digest mismatch (got " + got + ")");
  return std::move(w_);
}

StatusOr<workload::SchedWorkload> RoundTrip(const workload::SchedWorkload& w, size_t max_chunk_bytes) {
  std::vector<v1::TraceChunk> chunks;
  v1::TraceManifest m = EncodeSchedWorkload(w, max_chunk_bytes, [&](v1::TraceChunk&& c) { chunks.push_back(std::move(c)); }, "roundtrip");
  SchedTraceAssembler a(m);
  for (auto& c : chunks) {
    c.set_digest(m.digest());
    KREPLAY_RETURN_IF_ERROR(a.Add(c));
  }
  return a.Finish();
}

}  // namespace kreplay::codec
