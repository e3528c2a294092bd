#include "controller/server/server.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "controller/planner/planner.h"
#include "controller/server/trace_store.h"
#include "controller/spec/spec.h"
#include "controller/store/store.h"
#include "kreplay/v1/controller.grpc.pb.h"
#include "services/bus/producer.h"
#include "services/bus/topics.h"
#include "services/codec/convert.h"
#include "services/core/digest.h"
#include "services/metrics/metrics.h"
#include "services/rpc/status.h"
#include "services/workload/block_workload.h"
#include "services/workload/synth.h"

namespace kreplay::server {
namespace {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;

enum class Phase { kPending, kPublished, kLeased, kDone, kFailed };

struct RunTrack {
  std::string item;               // serialized WorkItem
  double cost = 0;
  Phase phase = Phase::kPending;
  std::string worker;             // the claimer, else the worker it was published to
  std::string workload;           // content digest: runs of one workload go to one worker when they can
  std::string batch_key;          // runs with equal non-empty keys may share a work item (RunBatchFn)
  TimePoint deadline{};           // lease or claim deadline
  uint32_t attempt = 0;
  std::vector<std::string> studies;
};

struct StudyTrack {
  std::string id;
  std::string name;
  v1::StudyState state = v1::STUDY_RUNNING;
  uint64_t total = 0, done = 0, failed = 0, reused = 0, republished = 0;
  std::deque<std::string> queue;  // pending run keys, longest first
  TimePoint started = Clock::now();
  double elapsed_at_finish = -1;
  std::string message;
  uint64_t sim_events = 0;
};

struct WorkerTrack {
  v1::WorkerInfo info;
  TimePoint last_seen;
  bool alive = true;
  std::vector<int32_t> partitions;  // its work-topic partitions, as last reported
  size_t next_partition = 0;        // round robin over `partitions`
  std::deque<std::string> recent_workloads;  // digests it was given lately, newest first
};

struct Stream {
  std::string id, digest, worker;
  int32_t partition = 0;
  uint32_t from = 0, next_publish = 0, acked = 0, count = 0;
  std::map<uint32_t, uint64_t> start_pos;  // chunk -> partition byte position
  int64_t first_offset = -1;
  Status error;
  TimePoint last_activity = Clock::now();
};

struct PartitionState {
  uint64_t head = 0;  // bytes published so far (with per-message overhead)
  std::set<std::string> streams;
};

constexpr uint64_t kMessageOverhead = 256;  // record batch framing, headers


}  // namespace

struct ControllerServer::Impl {
  ControllerOptions opt;
  const family::Catalog* catalog = nullptr;  // opt.catalog
  std::unique_ptr<store::Store> store;
  std::unique_ptr<TraceStore> traces;
  std::unique_ptr<bus::Producer> producer;
  bus::TopicNames topics;
  int trace_partitions = 1;
  uint64_t epoch = 0;

  std::mutex mu;
  std::condition_variable cv;        // state changed: pumps and watchers wake
  bool stopping = false;
  std::map<std::string, RunTrack> runs;
  std::map<std::string, StudyTrack> studies;
  std::vector<std::string> study_order;
  std::map<std::string, WorkerTrack> workers;
  std::map<std::string, Stream> streams;
  std::vector<PartitionState> partitions;
  std::set<std::string> in_flight;   // runs Published or Leased: the work window

  uint64_t stream_seq = 0;
  uint64_t trace_resends = 0;
  // digest -> a complete publication (reuse_published_traces only).
  struct Publication {
    std::string stream_id;
    int32_t partition = 0;
    int64_t first_offset = -1;
  };
  std::map<std::string, Publication> published;

  std::unique_ptr<metrics::MetricsServer> metrics_server;  // may be null
  std::unique_ptr<metrics::ControllerProbe> probe;          // null without metrics
  std::unique_ptr<grpc::Server> server;
  std::unique_ptr<grpc::Service> controller_svc, gateway_svc;
  int port = 0;
  std::thread work_pump, trace_pump;

  // ---- studies ------------------------------------------------------------
  Status LoadStudyLocked(const std::string& study_id);
  grpc::Status Submit(const v1::SubmitStudyRequest& req, v1::SubmitStudyResponse* resp);
  v1::StudyProgress ProgressLocked(const StudyTrack& s) const;
  void MaybeFinishLocked(StudyTrack& s);
  void UnloadStudyLocked(const std::string& study_id);
  void RequeueLocked(const std::string& key, RunTrack& r);
  // The one place a run changes phase; keeps `in_flight` true.
  void SetPhaseLocked(const std::string& key, RunTrack& r, Phase phase);

  // ---- workers ------------------------------------------------------------
  grpc::Status Claim(const v1::ClaimRunRequest& req, v1::ClaimRunResponse* resp);
  grpc::Status Report(const v1::ReportResultRequest& req, v1::ReportResultResponse* resp);

  // ---- traces -------------------------------------------------------------
  grpc::Status OpenTrace(const v1::OpenTraceRequest& req, v1::OpenTraceResponse* resp);
  void AckTrace(const v1::AckTraceRequest& req);

  void WorkPumpLoop();
  void SampleMetricsLocked();
  void TracePumpLoop();
  // The next pending run for `w`: the longest one, or among the first few a
  // run of a workload `w` already holds (saves it a fetch or a generation).
  // Removed from its study queue; "" if none.
  std::string PickRunLocked(WorkerTrack& w);
};

// ---------------------------------------------------------------------------
// Studies

Status ControllerServer::Impl::LoadStudyLocked(const std::string& study_id) {
  auto row = store->FindStudy(study_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return NotFound("study " + study_id);
  auto counts = store->CountStudyRuns(study_id);
  if (!counts.ok()) return counts.status();
  auto pending_rows = store->PendingRuns(study_id);
  if (!pending_rows.ok()) return pending_rows.status();
  StudyTrack s;
  s.id = study_id;
  s.name = (*row)->name;
  s.total = counts->total;
  s.done = counts->done;
  s.failed = counts->failed;
  std::vector<std::pair<double, std::string>> pending;
  for (const auto& r : *pending_rows) {
    auto& track = runs[r.run_key];
    if (track.item.empty()) {
      track.item = r.work_item;
      v1::WorkItem wi;
      if (wi.ParseFromString(r.work_item)) {
        track.cost = wi.estimated_cost();
        track.workload = wi.workload_digest();
        const model::ModelInfo* info = catalog->models().Find(wi.model());
        if (info && info->run_batch)
          track.batch_key = wi.model() + "\n" + wi.model_version() + "\n" + wi.system().digest() + "\n" +
                            wi.workload_digest() + "\n" + std::to_string(wi.seed());
      }
    }
    if (std::find(track.studies.begin(), track.studies.end(), study_id) == track.studies.end())
      track.studies.push_back(study_id);
    if (track.phase == Phase::kPending) pending.emplace_back(track.cost, r.run_key);
  }
  // Longest first; ties in key order so the order is reproducible.
  std::sort(pending.begin(), pending.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (auto& [_, k] : pending) s.queue.push_back(k);
  auto [it, inserted] = studies.emplace(study_id, std::move(s));
  if (inserted) study_order.push_back(study_id);
  MaybeFinishLocked(it->second);
  cv.notify_all();
  return OkStatus();
}

void ControllerServer::Impl::SetPhaseLocked(const std::string& key, RunTrack& r, Phase phase) {
  r.phase = phase;
  if (phase == Phase::kPublished || phase == Phase::kLeased) in_flight.insert(key);
  else in_flight.erase(key);
}

void ControllerServer::Impl::UnloadStudyLocked(const std::string& study_id) {
  if (!studies.erase(study_id)) return;
  std::erase(study_order, study_id);
  for (auto& [_, r] : runs) std::erase(r.studies, study_id);
}

void ControllerServer::Impl::MaybeFinishLocked(StudyTrack& s) {
  if (s.state != v1::STUDY_RUNNING && s.state != v1::STUDY_PENDING) return;
  if (s.done + s.failed < s.total) return;
  s.state = s.failed ? v1::STUDY_FAILED : v1::STUDY_SUCCEEDED;
  if (s.failed && s.message.empty()) s.message = std::to_string(s.failed) + " run(s) failed";
  s.elapsed_at_finish = std::chrono::duration<double>(Clock::now() - s.started).count();
  Status st = store->SetStudyState(s.id, v1::StudyState_Name(s.state), s.message);
  if (!st.ok()) s.message += " (ledger: " + st.ToString() + ")";
  cv.notify_all();
}

v1::StudyProgress ControllerServer::Impl::ProgressLocked(const StudyTrack& s) const {
  v1::StudyProgress p;
  p.set_study_id(s.id);
  p.set_state(s.state);
  p.set_runs_total(s.total);
  p.set_runs_done(s.done);
  p.set_runs_failed(s.failed);
  p.set_runs_reused(s.reused);
  p.set_republished(s.republished);
  p.set_trace_resends(trace_resends);
  uint32_t alive = 0;
  for (const auto& [_, w] : workers) alive += w.alive ? 1 : 0;
  p.set_workers_alive(alive);
  double elapsed = s.elapsed_at_finish >= 0 ? s.elapsed_at_finish
                                            : std::chrono::duration<double>(Clock::now() - s.started).count();
  p.set_elapsed_seconds(elapsed);
  if (elapsed > 0) p.set_sim_events_per_second(static_cast<double>(s.sim_events) / elapsed);
  p.set_message(s.message);
  return p;
}

void ControllerServer::Impl::RequeueLocked(const std::string& key, RunTrack& r) {
  SetPhaseLocked(key, r, Phase::kPending);
  r.worker.clear();
  for (const auto& sid : r.studies) {
    auto it = studies.find(sid);
    if (it == studies.end() || it->second.state != v1::STUDY_RUNNING) continue;
    it->second.queue.push_front(key);  // overdue work goes first
    ++it->second.republished;
    if (probe) probe->Republished();
    break;
  }
}

grpc::Status ControllerServer::Impl::Submit(const v1::SubmitStudyRequest& req, v1::SubmitStudyResponse* resp) {
  if (!req.request_id().empty()) {
    auto existing = store->FindStudyByRequestId(req.request_id());
    if (!existing.ok()) return rpc::ToGrpc(existing.status());
    if (existing->has_value()) {
      std::lock_guard<std::mutex> lock(mu);
      const std::string& id = (*existing)->study_id;
      if (!studies.count(id)) {
        Status st = LoadStudyLocked(id);
        if (!st.ok()) return rpc::ToGrpc(st);
      }
      const auto& s = studies.at(id);
      resp->set_study_id(id);
      resp->set_existing(true);
      resp->set_runs_total(s.total);
      resp->set_runs_reused(s.done);
      return grpc::Status::OK;
    }
  }
  std::string base_dir = std::filesystem::path(req.spec_path()).parent_path().string();
  auto spec = spec::ParseStudySpec(req.spec_yaml(), req.spec_path().empty() ? "<spec>" : req.spec_path(),
                                   base_dir, catalog->models());
  if (!spec.ok()) return rpc::ToGrpc(spec.status());
  const std::string spec_digest = Sha256Hex(req.spec_yaml());

  if (req.resume()) {
    auto all = store->ListStudies();
    if (!all.ok()) return rpc::ToGrpc(all.status());
    for (const auto& row : *all) {
      if (row.spec_digest != spec_digest) continue;
      std::lock_guard<std::mutex> lock(mu);
      auto loaded = studies.find(row.study_id);
      bool active = loaded != studies.end() && loaded->second.state == v1::STUDY_RUNNING;
      if (!active) {
        // Re-open a finished, failed or cancelled study: its unrecorded runs
        // are queued again; recorded ones stay recorded.
        if (row.state != "STUDY_SUCCEEDED") {
          Status st = store->SetStudyState(row.study_id, "STUDY_RUNNING", "resumed");
          if (!st.ok()) return rpc::ToGrpc(st);
        }
        UnloadStudyLocked(row.study_id);
        Status st = LoadStudyLocked(row.study_id);
        if (!st.ok()) return rpc::ToGrpc(st);
      }
      const auto& st = studies.at(row.study_id);
      resp->set_study_id(row.study_id);
      resp->set_existing(true);
      resp->set_runs_total(st.total);
      resp->set_runs_reused(st.done);  // recorded before this request: not recomputed
      return grpc::Status::OK;
    }
  }

  // Name every workload once (the planner); the ones that travel as trace
  // chunks are encoded into the trace store as they are built.
  std::vector<v1::TraceManifest> manifests;
  std::mutex manifests_mu;
  planner::PlanOptions popt;
  const family::FamilyInfo* fam = catalog->Find(spec->family);
  if (!fam) return rpc::ToGrpc(Internal("study family " + spec->family + " is not registered"));
  popt.on_built = [&](size_t index, const planner::WorkloadInstance& inst, const model::AnyValue& w) -> Status {
    auto m = traces->Put(*fam, w, opt.chunk_bytes, inst.source);
    if (!m.ok()) return m.status();
    std::lock_guard<std::mutex> lock(manifests_mu);
    if (manifests.size() <= index) manifests.resize(index + 1);
    manifests[index] = std::move(*m);
    return OkStatus();
  };
  auto plan = planner::StudyPlanner::PlanRuns(*spec, popt);
  if (!plan.ok()) return rpc::ToGrpc(plan.status());
  manifests.resize(plan->instances.size());

  std::string study_id = "s-" + Sha256Hex(req.request_id().empty()
                                              ? spec_digest + std::to_string(::getpid()) +
                                                    std::to_string(Clock::now().time_since_epoch().count())
                                              : req.request_id()).substr(0, 16);
  store::StudyRow row;
  row.study_id = study_id;
  row.name = spec->name;
  row.spec_yaml = req.spec_yaml();
  row.spec_digest = spec_digest;
  row.request_id = req.request_id().empty() ? study_id : req.request_id();
  row.state = "STUDY_RUNNING";
  std::vector<store::StudyRunRow> rows;
  for (const auto& pr : plan->runs) {
    v1::WorkItem wi = planner::StudyPlanner::MakeWorkItem(*spec, *plan, pr);
    wi.set_study_id(study_id);
    wi.set_controller_epoch(epoch);
    if (plan->instances[pr.instance].travels_as_trace) *wi.mutable_workload() = manifests[pr.instance];
    store::StudyRunRow rr;
    rr.study_id = study_id;
    rr.run_key = pr.run_key;
    rr.variant = spec->variants[pr.run.variant].name;
    rr.platform = spec->platforms[pr.run.platform].name;
    rr.workload = spec->workloads[pr.run.workload].name;
    rr.seed = pr.run.seed;
    rr.work_item = codec::DeterministicBytes(wi);
    rows.push_back(std::move(rr));
  }
  Status st = store->CreateStudy(row, rows);
  if (!st.ok()) return rpc::ToGrpc(st);

  std::lock_guard<std::mutex> lock(mu);
  st = LoadStudyLocked(study_id);
  if (!st.ok()) return rpc::ToGrpc(st);
  auto& s = studies.at(study_id);
  s.reused = s.done;  // recorded by earlier studies: not recomputed
  resp->set_study_id(study_id);
  resp->set_runs_total(s.total);
  resp->set_runs_reused(s.reused);
  return grpc::Status::OK;
}

// ---------------------------------------------------------------------------
// Workers

grpc::Status ControllerServer::Impl::Claim(const v1::ClaimRunRequest& req, v1::ClaimRunResponse* resp) {
  std::lock_guard<std::mutex> lock(mu);
  auto w = workers.find(req.worker_id());
  if (w != workers.end()) {
    w->second.last_seen = Clock::now();
    w->second.alive = true;
  }
  auto it = runs.find(req.run_key());
  if (it == runs.end()) {
    resp->set_decision(v1::ClaimRunResponse::SKIP);
    resp->set_reason("not a pending run of an active study");
    return grpc::Status::OK;
  }
  RunTrack& r = it->second;
  auto now = Clock::now();
  if (r.phase == Phase::kDone || r.phase == Phase::kFailed) {
    resp->set_decision(v1::ClaimRunResponse::SKIP);
    resp->set_reason("already recorded");
    return grpc::Status::OK;
  }
  if (r.phase == Phase::kLeased && r.worker != req.worker_id() && r.deadline > now) {
    resp->set_decision(v1::ClaimRunResponse::SKIP);
    resp->set_reason("leased by " + r.worker);
    return grpc::Status::OK;
  }
  SetPhaseLocked(req.run_key(), r, Phase::kLeased);
  r.worker = req.worker_id();
  r.deadline = now + std::chrono::milliseconds(static_cast<int64_t>(opt.lease_seconds * 1000));
  resp->set_decision(v1::ClaimRunResponse::RUN);
  resp->set_lease_seconds(opt.lease_seconds);
  return grpc::Status::OK;
}

grpc::Status ControllerServer::Impl::Report(const v1::ReportResultRequest& req, v1::ReportResultResponse* resp) {
  std::string model, version;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = runs.find(req.run_key());
    if (it != runs.end()) {
      v1::WorkItem wi;
      if (wi.ParseFromString(it->second.item)) {
        model = wi.model();
        version = wi.model_version();
      }
    }
  }
  bool failed = !req.error().empty();
  store::RecordOutcome outcome = store::RecordOutcome::kInserted;
  if (failed) {
    Status st = store->RecordFailure(req.run_key(), req.error(), req.error_is_data_loss());
    if (!st.ok()) return rpc::ToGrpc(st);
  } else {
    auto res = store->RecordResult(req.run_key(), model, version, req.result(),
                                   codec::DeterministicBytes(req.provenance()));
    if (!res.ok()) return rpc::ToGrpc(res.status());  // not recorded: the worker retries
    outcome = *res;
  }
  resp->set_recorded(true);
  if (probe)
    probe->RunRecorded(failed ? "failed"
                       : outcome == store::RecordOutcome::kInserted         ? "ok"
                       : outcome == store::RecordOutcome::kDuplicateMismatch ? "mismatch"
                                                                             : "duplicate");
  resp->set_duplicate(outcome != store::RecordOutcome::kInserted);
  resp->set_determinism_mismatch(outcome == store::RecordOutcome::kDuplicateMismatch);

  uint64_t events = 0;
  if (!failed) {
    v1::ModelResult mr;
    if (mr.ParseFromString(req.result())) events = mr.sim_events();
  }
  std::lock_guard<std::mutex> lock(mu);
  if (auto w = workers.find(req.worker_id()); w != workers.end()) {
    w->second.last_seen = Clock::now();
    if (!failed) w->second.info.set_runs_done(w->second.info.runs_done() + 1);
  }
  auto it = runs.find(req.run_key());
  if (it == runs.end()) return grpc::Status::OK;  // recorded by an earlier controller epoch
  RunTrack& r = it->second;
  if (r.phase == Phase::kDone || r.phase == Phase::kFailed) {
    if (outcome == store::RecordOutcome::kDuplicateMismatch) {
      for (const auto& sid : r.studies)
        if (auto s = studies.find(sid); s != studies.end())
          s->second.message = "determinism bug: run " + req.run_key() + " gave different bytes on " + req.worker_id();
    }
    return grpc::Status::OK;
  }
  SetPhaseLocked(req.run_key(), r, failed ? Phase::kFailed : Phase::kDone);
  for (const auto& sid : r.studies) {
    auto s = studies.find(sid);
    if (s == studies.end()) continue;
    if (failed) {
      ++s->second.failed;
      if (s->second.message.empty()) s->second.message = "run " + req.run_key().substr(0, 12) + ": " + req.error();
    } else {
      ++s->second.done;
      s->second.sim_events += events;
    }
    MaybeFinishLocked(s->second);
  }
  r.item.clear();
  r.item.shrink_to_fit();
  cv.notify_all();
  return grpc::Status::OK;
}

void ControllerServer::Impl::SampleMetricsLocked() {
  if (!probe) return;
  metrics::ControllerProbe::Snapshot snap;
  for (const auto& [_, st] : studies) {
    if (st.state != v1::STUDY_RUNNING) continue;
    ++snap.studies_running;
    snap.runs_pending += static_cast<int64_t>(st.total - st.done - st.failed);
  }
  snap.runs_in_flight = static_cast<int64_t>(in_flight.size());
  for (const auto& [_, w] : workers) {
    if (!w.alive) continue;
    ++snap.workers_alive;
    snap.worker_threads += w.info.threads();
  }
  snap.trace_streams = static_cast<int64_t>(streams.size());
  probe->Set(snap);
}

std::string ControllerServer::Impl::PickRunLocked(WorkerTrack& w) {
  constexpr size_t kAffinityScan = 64, kRecentWorkloads = 16;
  for (const auto& sid : study_order) {
    auto& s = studies.at(sid);
    if (s.state != v1::STUDY_RUNNING) continue;
    auto pending = [&](const std::string& key) {
      auto it = runs.find(key);
      return it != runs.end() && it->second.phase == Phase::kPending ? &it->second : nullptr;
    };
    while (!s.queue.empty() && !pending(s.queue.front())) s.queue.pop_front();
    if (s.queue.empty()) continue;
    // First choice: a workload `w` holds; second: one no other live worker
    // holds (so workloads are not split between workers); else the longest.
    auto held_by = [](const WorkerTrack& t, const std::string& digest) {
      return std::find(t.recent_workloads.begin(), t.recent_workloads.end(), digest) != t.recent_workloads.end();
    };
    size_t choice = 0;
    std::optional<size_t> fresh;
    for (size_t i = 0; i < std::min(s.queue.size(), kAffinityScan); ++i) {
      const RunTrack* r = pending(s.queue[i]);
      if (!r) continue;
      if (held_by(w, r->workload)) {
        fresh.reset();
        choice = i;
        break;
      }
      if (!fresh) {
        bool elsewhere = false;
        for (const auto& [_, other] : workers) elsewhere |= &other != &w && other.alive && held_by(other, r->workload);
        if (!elsewhere) fresh = i;
      }
    }
    if (fresh) choice = *fresh;
    std::string key = s.queue[choice];
    s.queue.erase(s.queue.begin() + static_cast<std::ptrdiff_t>(choice));
    const std::string& workload = runs.at(key).workload;
    auto& recent = w.recent_workloads;
    recent.erase(std::remove(recent.begin(), recent.end(), workload), recent.end());
    recent.push_front(workload);
    if (recent.size() > kRecentWorkloads) recent.pop_back();
    return key;
  }
  return "";
}

void ControllerServer::Impl::WorkPumpLoop() {
  bool warmed = false;
  std::unique_lock<std::mutex> lock(mu);
  while (!stopping) {
    cv.wait_for(lock, std::chrono::milliseconds(100));
    if (stopping) break;
    auto now = Clock::now();
    // Workers that stopped heartbeating: their leases end now.
    std::set<std::string> dead;
    for (auto& [id, w] : workers) {
      if (w.alive && now - w.last_seen > std::chrono::duration<double>(opt.worker_timeout_seconds)) {
        w.alive = false;
        dead.insert(id);
      }
    }
    // Only in-flight runs can expire: scan the window, not every run.
    std::vector<std::string> expired;
    for (const auto& key : in_flight) {
      RunTrack& r = runs.at(key);
      if (dead.count(r.worker)) r.deadline = now;  // leased by it, or published to its partitions
      if (r.deadline <= now) expired.push_back(key);
    }
    for (const auto& key : expired) RequeueLocked(key, runs.at(key));
    SampleMetricsLocked();
    // Top every live worker up to items_per_thread x threads unfinished
    // items, published to its own partitions. `worker` names the claimer,
    // or the worker an unclaimed item was published to.
    std::map<std::string, uint32_t> held;
    for (const auto& key : in_flight) {
      const RunTrack& r = runs.at(key);
      if (!r.worker.empty()) ++held[r.worker];
    }
    struct Send {
      std::string key, bytes;
      int32_t partition;
      std::vector<std::string> keys;  // every run the item carries, `key` first
    };
    std::vector<Send> plan;
    for (auto& [wid, w] : workers) {
      if (!w.alive || w.partitions.empty()) continue;
      const uint32_t cap = opt.items_per_thread * std::max(1u, w.info.threads());
      while (held[wid] < cap) {
        std::string key = PickRunLocked(w);
        if (key.empty()) break;
        RunTrack& r = runs.at(key);
        v1::WorkItem wi;
        wi.ParseFromString(r.item);
        wi.set_attempt(r.attempt++);
        wi.set_controller_epoch(epoch);
        SetPhaseLocked(key, r, Phase::kPublished);
        r.worker = wid;
        r.deadline = now + std::chrono::milliseconds(static_cast<int64_t>(opt.claim_timeout_seconds * 1000));
        ++held[wid];
        // Companions for a batch: pending runs of the same study that differ
        // only in their parameters, each tracked (claimed, leased, recorded)
        // on its own.
        if (!r.batch_key.empty() && opt.max_batch_runs > 1) {
          for (const auto& sid : r.studies) {
            auto st = studies.find(sid);
            if (st == studies.end() || st->second.state != v1::STUDY_RUNNING) continue;
            // Runs of one workload and seed have equal costs, so they sit
            // close together in the longest-first queue: a bounded scan finds
            // them without making each publication O(queue) on large sweeps.
            constexpr size_t kBatchScan = 256;
            auto& q = st->second.queue;
            size_t idx = 0;  // by index: erasing from a deque invalidates its iterators
            for (size_t scanned = 0; idx < q.size() && scanned < kBatchScan &&
                                     static_cast<uint32_t>(wi.batch_size()) + 1 < opt.max_batch_runs;
                 ++scanned) {
              const std::string other_key = q[idx];
              auto other = runs.find(other_key);
              if (other == runs.end() || other->second.phase != Phase::kPending ||
                  other->second.batch_key != r.batch_key) {
                ++idx;
                continue;
              }
              v1::WorkItem owi;
              owi.ParseFromString(other->second.item);
              auto* b = wi.add_batch();
              b->set_run_key(other_key);
              *b->mutable_params() = owi.params();
              ++other->second.attempt;
              SetPhaseLocked(other_key, other->second, Phase::kPublished);
              other->second.worker = wid;
              other->second.deadline = r.deadline;
              ++held[wid];
              q.erase(q.begin() + static_cast<std::ptrdiff_t>(idx));
            }
            break;
          }
        }
        std::vector<std::string> keys = {key};
        for (const auto& b : wi.batch()) keys.push_back(b.run_key());
        plan.push_back({key, codec::DeterministicBytes(wi), w.partitions[w.next_partition++ % w.partitions.size()],
                        std::move(keys)});
      }
    }
    if (plan.empty()) continue;
    lock.unlock();
    if (!warmed) warmed = producer->WarmUp(topics.work).ok();
    std::vector<std::string> unsent;
    for (const auto& snd : plan) {
      Status st = producer->Produce(topics.work, snd.partition, snd.key, snd.bytes,
                                    {{"kreplay-epoch", std::to_string(epoch)}},
                                    [this, keys = snd.keys](const bus::DeliveryReport& rep) {
                                      if (rep.status.ok()) return;
                                      std::lock_guard<std::mutex> l(mu);
                                      for (const auto& k : keys) {
                                        auto i = runs.find(k);
                                        if (i != runs.end() && i->second.phase == Phase::kPublished)
                                          i->second.deadline = Clock::now();  // pump re-queues it
                                      }
                                    });
      // Local queue full or broker gone: next round.
      if (!st.ok()) unsent.insert(unsent.end(), snd.keys.begin(), snd.keys.end());
    }
    lock.lock();
    for (const auto& key : unsent) {
      auto i = runs.find(key);
      if (i == runs.end() || i->second.phase != Phase::kPublished) continue;
      SetPhaseLocked(key, i->second, Phase::kPending);
      i->second.worker.clear();
      for (const auto& sid : i->second.studies) {
        auto s = studies.find(sid);
        if (s == studies.end() || s->second.state != v1::STUDY_RUNNING) continue;
        s->second.queue.push_front(key);
        break;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Traces

grpc::Status ControllerServer::Impl::OpenTrace(const v1::OpenTraceRequest& req, v1::OpenTraceResponse* resp) {
  // Fills the answer that points a reader at a publication.
  auto answer = [&](const v1::TraceManifest& manifest, const std::string& stream_id, int32_t partition,
                    int64_t offset) {
    *resp->mutable_manifest() = manifest;
    resp->set_stream_id(stream_id);
    resp->set_topic(topics.traces);
    resp->set_partition(partition);
    resp->set_start_offset(offset);
    return grpc::Status::OK;
  };
  auto m = traces->Manifest(req.digest());
  if (!m.ok()) return rpc::ToGrpc(m.status());
  if (req.from_chunk() >= m->chunk_count())
    return rpc::ToGrpc(InvalidArgument("trace " + req.digest() + " has " + std::to_string(m->chunk_count()) + " chunks"));
  std::unique_lock<std::mutex> lock(mu);
  if (req.from_chunk() > 0) {
    ++trace_resends;
    if (probe) probe->TraceResend();
  }
  if (opt.reuse_published_traces && req.from_chunk() == 0) {
    if (auto p = published.find(req.digest()); p != published.end()) {
      return answer(*m, p->second.stream_id, p->second.partition, p->second.first_offset);
    }
  }
  std::string joined;
  if (opt.reuse_published_traces && req.from_chunk() == 0) {
    // A publication of the whole trace is under way: read that one too.
    // (Acks of either reader advance its window; that is safe only with the
    // long retention --reuse-traces is meant for.)
    for (const auto& [id, st] : streams)
      if (st.digest == req.digest() && st.from == 0 && st.error.ok()) joined = id;
  }
  if (!joined.empty()) {
    bool ready = cv.wait_for(lock, std::chrono::seconds(60), [&] {
      auto it = streams.find(joined);
      return stopping || it == streams.end() || it->second.first_offset >= 0 || !it->second.error.ok();
    });
    auto it = streams.find(joined);
    if (ready && it != streams.end() && it->second.first_offset >= 0) {
      return answer(*m, joined, it->second.partition, it->second.first_offset);
    }
    if (auto p = published.find(req.digest()); p != published.end()) {  // finished meanwhile
      return answer(*m, p->second.stream_id, p->second.partition, p->second.first_offset);
    }
  }
  Stream s;
  s.id = "t" + std::to_string(epoch) + "-" + std::to_string(++stream_seq);
  s.digest = req.digest();
  s.worker = req.worker_id();
  s.from = s.next_publish = s.acked = req.from_chunk();
  s.count = m->chunk_count();
  size_t best = 0;
  for (size_t p = 1; p < partitions.size(); ++p)
    if (partitions[p].streams.size() < partitions[best].streams.size()) best = p;
  s.partition = static_cast<int32_t>(best);
  std::string id = s.id;
  partitions[best].streams.insert(id);
  streams.emplace(id, std::move(s));
  cv.notify_all();
  // Wait until the pump has published the first chunk: its offset is where
  // the worker starts reading.
  bool ok = cv.wait_for(lock, std::chrono::seconds(60), [&] {
    auto it = streams.find(id);
    return stopping || it == streams.end() || it->second.first_offset >= 0 || !it->second.error.ok();
  });
  auto it = streams.find(id);
  if (!ok || it == streams.end() || stopping)
    return rpc::ToGrpc(Unavailable("trace " + req.digest() + ": could not publish within 60 s"));
  if (!it->second.error.ok()) {
    Status e = it->second.error;
    partitions[static_cast<size_t>(it->second.partition)].streams.erase(id);
    streams.erase(it);
    return rpc::ToGrpc(e);
  }
  return answer(*m, id, it->second.partition, it->second.first_offset);
}

void ControllerServer::Impl::AckTrace(const v1::AckTraceRequest& req) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = streams.find(req.stream_id());
  if (it == streams.end()) return;
  Stream& s = it->second;
  s.acked = std::max(s.acked, std::min(req.next_chunk(), s.count));
  s.last_activity = Clock::now();
  if (req.done() || s.acked >= s.count) {
    partitions[static_cast<size_t>(s.partition)].streams.erase(s.id);
    streams.erase(it);
  }
  cv.notify_all();
}

void ControllerServer::Impl::TracePumpLoop() {
  bool warmed = false;
  std::unique_lock<std::mutex> lock(mu);
  size_t rr = 0;  // round-robin start, so one big trace does not starve others
  while (!stopping) {
    // Drop streams whose reader went quiet (it will re-open from its gap).
    auto now = Clock::now();
    for (auto it = streams.begin(); it != streams.end();) {
      if (now - it->second.last_activity > std::chrono::seconds(30)) {
        partitions[static_cast<size_t>(it->second.partition)].streams.erase(it->first);
        it = streams.erase(it);
      } else {
        ++it;
      }
    }
    // Find one chunk that fits its partition's window.
    std::string pick;
    uint64_t pick_bytes = 0;
    std::vector<std::string> ids;
    for (const auto& [id, _] : streams) ids.push_back(id);
    for (size_t k = 0; k < ids.size() && pick.empty(); ++k) {
      Stream& s = streams.at(ids[(rr + k) % ids.size()]);
      if (s.next_publish >= s.count || !s.error.ok()) continue;
      auto bytes = traces->ChunkBytes(s.digest, s.next_publish);
      if (!bytes.ok()) {
        s.error = bytes.status();
        cv.notify_all();
        continue;
      }
      PartitionState& p = partitions[static_cast<size_t>(s.partition)];
      uint64_t low = p.head;
      for (const auto& other_id : p.streams) {
        const Stream& o = streams.at(other_id);
        if (o.acked < o.next_publish) low = std::min(low, o.start_pos.at(o.acked));
      }
      uint64_t size = *bytes + kMessageOverhead;
      // Always allow one chunk on an idle partition, even above the window.
      if (low == p.head || p.head + size - low <= opt.trace_window_bytes) {
        pick = s.id;
        pick_bytes = size;
      }
    }
    if (pick.empty()) {
      cv.wait_for(lock, std::chrono::milliseconds(200));
      continue;
    }
    ++rr;
    Stream& s = streams.at(pick);
    uint32_t index = s.next_publish++;
    size_t part = static_cast<size_t>(s.partition);
    s.start_pos[index] = partitions[part].head;
    partitions[part].head += pick_bytes;
    std::string digest = s.digest, sid = s.id;
    lock.unlock();
    if (!warmed) warmed = producer->WarmUp(topics.traces).ok();
    Status err;
    auto chunk = traces->ReadChunk(digest, index);
    int64_t offset = -1;
    if (!chunk.ok()) {
      err = chunk.status();
    } else {
      chunk->set_stream_id(sid);
      std::string bytes;
      chunk->SerializeToString(&bytes);
      auto rep = producer->ProduceSync(topics.traces, static_cast<int32_t>(part), digest, bytes,
                                       {{"kreplay-stream", sid}});
      if (rep.ok()) {
        offset = rep->offset;
        if (probe) probe->TraceChunkPublished(bytes.size());
      } else {
        err = rep.status();
      }
    }
    lock.lock();
    auto it = streams.find(sid);
    if (it == streams.end()) continue;
    if (!err.ok()) {
      it->second.error = err;
    } else {
      if (index == it->second.from) it->second.first_offset = offset;
      // A whole trace published from chunk 0 can be read again by others.
      if (opt.reuse_published_traces && it->second.from == 0 && index + 1 == it->second.count)
        published[it->second.digest] = {sid, it->second.partition, it->second.first_offset};
    }
    cv.notify_all();
  }
}

// ---------------------------------------------------------------------------
// gRPC services: thin adapters over Impl.

namespace {

class ControllerService final : public v1::Controller::Service {
 public:
  explicit ControllerService(ControllerServer::Impl* impl) : impl_(impl) {}

  grpc::Status SubmitStudy(grpc::ServerContext*, const v1::SubmitStudyRequest* req,
                           v1::SubmitStudyResponse* resp) override {
    return impl_->Submit(*req, resp);
  }

  grpc::Status GetStudy(grpc::ServerContext*, const v1::GetStudyRequest* req, v1::GetStudyResponse* resp) override {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->studies.find(req->study_id());
    if (it == impl_->studies.end()) {
      auto row = impl_->store->FindStudy(req->study_id());
      if (!row.ok()) return rpc::ToGrpc(row.status());
      if (!row->has_value()) return rpc::ToGrpc(NotFound("no study " + req->study_id()));
      Status st = impl_->LoadStudyLocked(req->study_id());
      if (!st.ok()) return rpc::ToGrpc(st);
      it = impl_->studies.find(req->study_id());
      v1::StudyState state;
      if (v1::StudyState_Parse((*row)->state, &state)) it->second.state = state;
      it->second.message = (*row)->message;
    }
    *resp->mutable_progress() = impl_->ProgressLocked(it->second);
    auto row = impl_->store->FindStudy(req->study_id());
    if (row.ok() && row->has_value()) resp->set_spec_yaml((*row)->spec_yaml);
    return grpc::Status::OK;
  }

  grpc::Status GetStudyRuns(grpc::ServerContext* ctx, const v1::GetStudyRunsRequest* req,
                            grpc::ServerWriter<v1::StudyRun>* writer) override {
    auto rows = impl_->store->ListStudyRuns(req->study_id());
    if (!rows.ok()) return rpc::ToGrpc(rows.status());
    for (const auto& r : *rows) {
      if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
      v1::StudyRun out;
      out.set_run_key(r.run_key);
      out.set_variant(r.variant);
      out.set_platform(r.platform);
      out.set_workload(r.workload);
      out.set_seed(r.seed);
      v1::WorkItem wi;
      if (wi.ParseFromString(r.work_item)) {
        out.set_model(wi.model());
        out.set_model_version(wi.model_version());
        *out.mutable_params() = wi.params();
        out.set_platform_digest(wi.system().digest());
        out.set_workload_digest(wi.workload_digest());
      }
      if (r.has_result) {
        out.set_result(r.result);  // ListStudyRuns already joined the result
        out.set_state(v1::RUN_DONE);
      } else if (r.failed) {
        out.set_state(v1::RUN_FAILED);
        out.set_error(r.error);
      } else {
        out.set_state(v1::RUN_PENDING);
      }
      if (!writer->Write(out)) return grpc::Status::CANCELLED;
    }
    return grpc::Status::OK;
  }

  grpc::Status WatchStudy(grpc::ServerContext* ctx, const v1::WatchStudyRequest* req,
                          grpc::ServerWriter<v1::StudyProgress>* writer) override {
    std::unique_lock<std::mutex> lock(impl_->mu);
    for (;;) {
      auto it = impl_->studies.find(req->study_id());
      if (it == impl_->studies.end()) return rpc::ToGrpc(NotFound("no active study " + req->study_id()));
      v1::StudyProgress p = impl_->ProgressLocked(it->second);
      lock.unlock();
      if (!writer->Write(p)) return grpc::Status::CANCELLED;
      bool terminal = p.state() != v1::STUDY_RUNNING && p.state() != v1::STUDY_PENDING;
      if (terminal) return grpc::Status::OK;
      lock.lock();
      impl_->cv.wait_for(lock, std::chrono::milliseconds(250));
      if (impl_->stopping) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "controller shutting down");
      if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
    }
  }

  grpc::Status ListStudies(grpc::ServerContext*, const v1::ListStudiesRequest*, v1::ListStudiesResponse* resp) override {
    auto rows = impl_->store->ListStudies();
    if (!rows.ok()) return rpc::ToGrpc(rows.status());
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (const auto& row : *rows) {
      auto it = impl_->studies.find(row.study_id);
      if (it != impl_->studies.end()) {
        *resp->add_studies() = impl_->ProgressLocked(it->second);
      } else {
        auto* p = resp->add_studies();
        p->set_study_id(row.study_id);
        v1::StudyState state;
        if (v1::StudyState_Parse(row.state, &state)) p->set_state(state);
        p->set_message(row.message);
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status CancelStudy(grpc::ServerContext*, const v1::CancelStudyRequest* req, v1::CancelStudyResponse* resp) override {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->studies.find(req->study_id());
    if (it == impl_->studies.end()) return rpc::ToGrpc(NotFound("no active study " + req->study_id()));
    auto& s = it->second;
    if (s.state == v1::STUDY_RUNNING || s.state == v1::STUDY_PENDING) {
      s.state = v1::STUDY_CANCELLED;
      s.message = "cancelled";
      s.queue.clear();
      s.elapsed_at_finish = std::chrono::duration<double>(Clock::now() - s.started).count();
      Status st = impl_->store->SetStudyState(s.id, "STUDY_CANCELLED", "cancelled");
      if (!st.ok()) return rpc::ToGrpc(st);
    }
    *resp->mutable_progress() = impl_->ProgressLocked(s);
    impl_->cv.notify_all();
    return grpc::Status::OK;
  }

  grpc::Status ListWorkers(grpc::ServerContext*, const v1::ListWorkersRequest*, v1::ListWorkersResponse* resp) override {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto now = Clock::now();
    for (const auto& [_, w] : impl_->workers) {
      auto* out = resp->add_workers();
      *out = w.info;
      out->set_last_seen_seconds_ago(std::chrono::duration<double>(now - w.last_seen).count());
    }
    return grpc::Status::OK;
  }

 private:
  ControllerServer::Impl* impl_;
};

class GatewayService final : public v1::WorkerGateway::Service {
 public:
  explicit GatewayService(ControllerServer::Impl* impl) : impl_(impl) {}

  grpc::Status RegisterWorker(grpc::ServerContext*, const v1::RegisterWorkerRequest* req,
                              v1::RegisterWorkerResponse* resp) override {
    if (req->worker().worker_id().empty()) return rpc::ToGrpc(InvalidArgument("worker.worker_id is empty"));
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto& w = impl_->workers[req->worker().worker_id()];
    w.info = req->worker();
    w.last_seen = Clock::now();
    w.alive = true;
    resp->set_controller_epoch(impl_->epoch);
    resp->set_heartbeat_seconds(impl_->opt.heartbeat_seconds);
    impl_->cv.notify_all();
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest* req, v1::HeartbeatResponse* resp) override {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->workers.find(req->worker_id());
    if (it == impl_->workers.end())
      return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "unknown worker: register first");
    it->second.last_seen = Clock::now();
    it->second.alive = true;
    it->second.info.set_in_flight(static_cast<uint32_t>(req->in_flight_size()));
    if (req->assignment_known()) {
      std::vector<int32_t> parts(req->work_partitions().begin(), req->work_partitions().end());
      std::sort(parts.begin(), parts.end());
      if (parts != it->second.partitions) {
        it->second.partitions = std::move(parts);
        impl_->cv.notify_all();  // the pump may publish to it now
      }
    }
    auto lease = std::chrono::milliseconds(static_cast<int64_t>(impl_->opt.lease_seconds * 1000));
    for (const auto& key : req->in_flight()) {
      auto r = impl_->runs.find(key);
      bool wanted = r != impl_->runs.end() && (r->second.phase == Phase::kLeased || r->second.phase == Phase::kPublished ||
                                               r->second.phase == Phase::kPending);
      if (wanted) {
        bool any_active = false;
        for (const auto& sid : r->second.studies) {
          auto s = impl_->studies.find(sid);
          any_active |= s != impl_->studies.end() && s->second.state == v1::STUDY_RUNNING;
        }
        wanted = any_active;
      }
      if (!wanted) {
        resp->add_cancel(key);
        continue;
      }
      if (r->second.phase == Phase::kLeased && r->second.worker == req->worker_id())
        r->second.deadline = Clock::now() + lease;
    }
    return grpc::Status::OK;
  }

  grpc::Status ClaimRun(grpc::ServerContext*, const v1::ClaimRunRequest* req, v1::ClaimRunResponse* resp) override {
    return impl_->Claim(*req, resp);
  }

  grpc::Status ReportResult(grpc::ServerContext*, const v1::ReportResultRequest* req,
                            v1::ReportResultResponse* resp) override {
    return impl_->Report(*req, resp);
  }

  grpc::Status OpenTrace(grpc::ServerContext*, const v1::OpenTraceRequest* req, v1::OpenTraceResponse* resp) override {
    return impl_->OpenTrace(*req, resp);
  }

  grpc::Status AckTrace(grpc::ServerContext*, const v1::AckTraceRequest* req, v1::AckTraceResponse*) override {
    impl_->AckTrace(*req);
    return grpc::Status::OK;
  }

 private:
  ControllerServer::Impl* impl_;
};

}  // namespace

// ---------------------------------------------------------------------------

StatusOr<std::unique_ptr<ControllerServer>> ControllerServer::Start(const ControllerOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  if (impl->opt.data_dir.empty()) return InvalidArgument("controller: --data-dir is required");
  std::error_code ec;
  std::filesystem::create_directories(impl->opt.data_dir, ec);
  if (ec) return InvalidArgument("controller: cannot create data directory " + impl->opt.data_dir + ": " + ec.message());
  if (impl->opt.db_path.empty()) impl->opt.db_path = impl->opt.data_dir + "/kreplay.db";
  if (!impl->opt.catalog) return InvalidArgument("controller: no model catalog");
  impl->catalog = impl->opt.catalog;

  auto st = store::Store::Open(impl->opt.db_path);
  if (!st.ok()) return st.status();
  impl->store = std::move(*st);
  auto ts = TraceStore::Open(impl->opt.data_dir + "/traces");
  if (!ts.ok()) return ts.status();
  impl->traces = std::move(*ts);
  auto topics = bus::KreplayTopics(impl->opt.topic_prefix);
  if (!topics.ok()) return topics.status();
  impl->topics = *topics;
  // Chunks are published one at a time behind acks: batching delay only adds
  // latency to every window turn (user -X wins).
  bus::KafkaConfig producer_kafka = impl->opt.kafka;
  producer_kafka.properties.insert(producer_kafka.properties.begin(), {"linger.ms", "0"});
  auto producer = bus::Producer::Create(producer_kafka);
  if (!producer.ok()) return producer.status();
  impl->producer = std::move(*producer);
  auto parts = impl->producer->PartitionCount(impl->topics.traces, std::chrono::seconds(10));
  if (!parts.ok())
    return Unavailable("controller: cannot read metadata of topic " + impl->topics.traces + " from " +
                       impl->opt.kafka.bootstrap_servers + ": " + parts.status().ToString() +
                       " (create the kreplay topics first; see README)");
  impl->trace_partitions = *parts;
  impl->partitions.resize(static_cast<size_t>(*parts));
  // A new epoch per start: streams and items of an earlier incarnation are
  // told apart from this one's.
  impl->epoch = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());

  // Reload unfinished studies: their pending runs are re-published.
  auto rows = impl->store->ListStudies();
  if (!rows.ok()) return rows.status();
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    for (const auto& row : *rows) {
      if (row.state != "STUDY_RUNNING" && row.state != "STUDY_PENDING") continue;
      Status s = impl->LoadStudyLocked(row.study_id);
      if (!s.ok()) return s;
    }
  }

  if (!impl->opt.metrics_listen.empty()) {
    auto ms = metrics::MetricsServer::Start(impl->opt.metrics_listen);
    if (!ms.ok()) return ms.status();
    impl->metrics_server = std::move(*ms);
    impl->probe = std::make_unique<metrics::ControllerProbe>(*impl->metrics_server);
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(impl->opt.listen, grpc::InsecureServerCredentials(), &impl->port);
  builder.SetMaxReceiveMessageSize(impl->opt.max_message_bytes);
  builder.SetMaxSendMessageSize(impl->opt.max_message_bytes);
  impl->controller_svc = std::make_unique<ControllerService>(impl.get());
  impl->gateway_svc = std::make_unique<GatewayService>(impl.get());
  builder.RegisterService(impl->controller_svc.get());
  builder.RegisterService(impl->gateway_svc.get());
  impl->server = builder.BuildAndStart();
  if (!impl->server || impl->port == 0)
    return Unavailable("controller: cannot listen on " + impl->opt.listen + " (address in use?)");
  impl->work_pump = std::thread([p = impl.get()] { p->WorkPumpLoop(); });
  impl->trace_pump = std::thread([p = impl.get()] { p->TracePumpLoop(); });
  return std::unique_ptr<ControllerServer>(new ControllerServer(std::move(impl)));
}

ControllerServer::ControllerServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControllerServer::~ControllerServer() { Shutdown(); }

int ControllerServer::port() const { return impl_->port; }
int ControllerServer::metrics_port() const { return impl_->metrics_server ? impl_->metrics_server->port() : 0; }
std::string ControllerServer::address() const { return "127.0.0.1:" + std::to_string(impl_->port); }

void ControllerServer::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  if (impl_->work_pump.joinable()) impl_->work_pump.join();
  if (impl_->trace_pump.joinable()) impl_->trace_pump.join();
  (void)impl_->producer->Flush(std::chrono::seconds(5));
}

}  // namespace kreplay::server
