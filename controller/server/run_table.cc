#include "controller/server/run_table.h"

#include <algorithm>

#include "services/codec/convert.h"

namespace kreplay::server {

RunTable::RunTable(RunTableOptions options, Ledger* ledger, Publisher* publisher, const Clock* clock,
                   BatchableFn batchable, metrics::ControllerProbe* probe)
    : opt_(std::move(options)),
      ledger_(ledger),
      publisher_(publisher),
      clock_(clock),
      batchable_(std::move(batchable)),
      probe_(probe) {}

// ---------------------------------------------------------------------------
// Studies

Status RunTable::LoadLocked(const std::string& study_id) {
  auto row = ledger_->FindStudy(study_id);
  if (!row.ok()) return row.status();
  if (!row->has_value()) return NotFound("study " + study_id);
  auto counts = ledger_->CountStudyRuns(study_id);
  if (!counts.ok()) return counts.status();
  auto pending_rows = ledger_->PendingRuns(study_id);
  if (!pending_rows.ok()) return pending_rows.status();
  StudyTrack s;
  s.id = study_id;
  s.name = (*row)->name;
  s.total = counts->total;
  s.done = counts->done;
  s.failed = counts->failed;
  s.started = clock_->Now();
  std::vector<std::pair<double, std::string>> pending;
  for (const auto& r : *pending_rows) {
    auto& track = runs_[r.run_key];
    if (track.item.empty()) {
      track.item = r.work_item;
      v1::WorkItem wi;
      if (wi.ParseFromString(r.work_item)) {
        track.model = wi.model();
        track.model_version = wi.model_version();
        track.cost = wi.estimated_cost();
        track.workload = wi.workload_digest();
        if (batchable_ && batchable_(wi.model()))
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
  auto [it, inserted] = studies_.emplace(study_id, std::move(s));
  if (inserted) study_order_.push_back(study_id);
  MaybeFinishLocked(it->second);
  cv_.notify_all();
  return OkStatus();
}

void RunTable::UnloadLocked(const std::string& study_id) {
  if (!studies_.erase(study_id)) return;
  std::erase(study_order_, study_id);
  for (auto& [_, r] : runs_) std::erase(r.studies, study_id);
}

StatusOr<RunTable::Totals> RunTable::Load(const std::string& study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!studies_.count(study_id)) KREPLAY_RETURN_IF_ERROR(LoadLocked(study_id));
  const auto& s = studies_.at(study_id);
  return Totals{s.total, s.done, s.reused};
}

StatusOr<RunTable::Totals> RunTable::Add(const std::string& study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  KREPLAY_RETURN_IF_ERROR(LoadLocked(study_id));
  auto& s = studies_.at(study_id);
  s.reused = s.done;  // recorded by earlier studies: not recomputed
  return Totals{s.total, s.done, s.reused};
}

StatusOr<RunTable::Totals> RunTable::Resume(const std::string& study_id, const std::string& ledger_state) {
  std::lock_guard<std::mutex> lock(mu_);
  auto loaded = studies_.find(study_id);
  bool active = loaded != studies_.end() && loaded->second.state == v1::STUDY_RUNNING;
  if (!active) {
    // Re-open a finished, failed or cancelled study: its unrecorded runs
    // are queued again; recorded ones stay recorded.
    if (ledger_state != "STUDY_SUCCEEDED")
      KREPLAY_RETURN_IF_ERROR(ledger_->SetStudyState(study_id, "STUDY_RUNNING", "resumed"));
    UnloadLocked(study_id);
    KREPLAY_RETURN_IF_ERROR(LoadLocked(study_id));
  }
  const auto& s = studies_.at(study_id);
  return Totals{s.total, s.done, s.reused};
}

void RunTable::MaybeFinishLocked(StudyTrack& s) {
  if (s.state != v1::STUDY_RUNNING && s.state != v1::STUDY_PENDING) return;
  if (s.done + s.failed < s.total) return;
  s.state = s.failed ? v1::STUDY_FAILED : v1::STUDY_SUCCEEDED;
  if (s.failed && s.message.empty()) s.message = std::to_string(s.failed) + " run(s) failed";
  s.elapsed_at_finish = std::chrono::duration<double>(clock_->Now() - s.started).count();
  Status st = ledger_->SetStudyState(s.id, v1::StudyState_Name(s.state), s.message);
  if (!st.ok()) s.message += " (ledger: " + st.ToString() + ")";
  cv_.notify_all();
}

v1::StudyProgress RunTable::ProgressLocked(const StudyTrack& s) const {
  v1::StudyProgress p;
  p.set_study_id(s.id);
  p.set_state(s.state);
  p.set_runs_total(s.total);
  p.set_runs_done(s.done);
  p.set_runs_failed(s.failed);
  p.set_runs_reused(s.reused);
  p.set_republished(s.republished);
  uint32_t alive = 0;
  for (const auto& [_, w] : workers_) alive += w.alive ? 1 : 0;
  p.set_workers_alive(alive);
  double elapsed = s.elapsed_at_finish >= 0 ? s.elapsed_at_finish
                                            : std::chrono::duration<double>(clock_->Now() - s.started).count();
  p.set_elapsed_seconds(elapsed);
  if (elapsed > 0) p.set_sim_events_per_second(static_cast<double>(s.sim_events) / elapsed);
  p.set_message(s.message);
  return p;
}

StatusOr<v1::StudyProgress> RunTable::Progress(const std::string& study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = studies_.find(study_id);
  if (it == studies_.end()) {
    auto row = ledger_->FindStudy(study_id);
    if (!row.ok()) return row.status();
    if (!row->has_value()) return NotFound("no study " + study_id);
    KREPLAY_RETURN_IF_ERROR(LoadLocked(study_id));
    it = studies_.find(study_id);
    v1::StudyState state;
    if (v1::StudyState_Parse((*row)->state, &state)) it->second.state = state;
    it->second.message = (*row)->message;
  }
  return ProgressLocked(it->second);
}

StatusOr<v1::StudyProgress> RunTable::LoadedProgress(const std::string& study_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = studies_.find(study_id);
  if (it == studies_.end()) return NotFound("no active study " + study_id);
  return ProgressLocked(it->second);
}

StatusOr<v1::StudyProgress> RunTable::Cancel(const std::string& study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = studies_.find(study_id);
  if (it == studies_.end()) return NotFound("no active study " + study_id);
  auto& s = it->second;
  if (s.state == v1::STUDY_RUNNING || s.state == v1::STUDY_PENDING) {
    s.state = v1::STUDY_CANCELLED;
    s.message = "cancelled";
    s.queue.clear();
    s.elapsed_at_finish = std::chrono::duration<double>(clock_->Now() - s.started).count();
    KREPLAY_RETURN_IF_ERROR(ledger_->SetStudyState(s.id, "STUDY_CANCELLED", "cancelled"));
  }
  v1::StudyProgress p = ProgressLocked(s);
  cv_.notify_all();
  return p;
}

// ---------------------------------------------------------------------------
// Runs

void RunTable::SetPhaseLocked(const std::string& key, RunTrack& r, Phase phase) {
  r.phase = phase;
  if (phase == Phase::kPublished || phase == Phase::kLeased) in_flight_.insert(key);
  else in_flight_.erase(key);
}

void RunTable::RequeueLocked(const std::string& key, RunTrack& r) {
  SetPhaseLocked(key, r, Phase::kPending);
  r.worker.clear();
  for (const auto& sid : r.studies) {
    auto it = studies_.find(sid);
    if (it == studies_.end() || it->second.state != v1::STUDY_RUNNING) continue;
    it->second.queue.push_front(key);  // overdue work goes first
    ++it->second.republished;
    if (probe_) probe_->Republished();
    break;
  }
}

std::optional<RunTable::RunView> RunTable::Inspect(const std::string& run_key) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = runs_.find(run_key);
  if (it == runs_.end()) return std::nullopt;
  return RunView{it->second.phase, it->second.worker, it->second.attempt};
}

// ---------------------------------------------------------------------------
// Workers

Status RunTable::RegisterWorker(const v1::WorkerInfo& info) {
  if (info.worker_id().empty()) return InvalidArgument("worker.worker_id is empty");
  std::lock_guard<std::mutex> lock(mu_);
  auto& w = workers_[info.worker_id()];
  w.info = info;
  w.last_seen = clock_->Now();
  w.alive = true;
  cv_.notify_all();
  return OkStatus();
}

StatusOr<v1::HeartbeatResponse> RunTable::Heartbeat(const v1::HeartbeatRequest& req) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = workers_.find(req.worker_id());
  if (it == workers_.end()) return FailedPrecondition("unknown worker: register first");
  const auto now = clock_->Now();
  it->second.last_seen = now;
  it->second.alive = true;
  it->second.info.set_in_flight(static_cast<uint32_t>(req.in_flight_size()));
  if (req.assignment_known()) {
    std::vector<int32_t> parts(req.work_partitions().begin(), req.work_partitions().end());
    std::sort(parts.begin(), parts.end());
    if (parts != it->second.partitions) {
      it->second.partitions = std::move(parts);
      cv_.notify_all();  // the pump may publish to it now
    }
  }
  v1::HeartbeatResponse resp;
  for (const auto& key : req.in_flight()) {
    auto r = runs_.find(key);
    bool wanted = r != runs_.end() && (r->second.phase == Phase::kLeased || r->second.phase == Phase::kPublished ||
                                       r->second.phase == Phase::kPending);
    if (wanted) {
      bool any_active = false;
      for (const auto& sid : r->second.studies) {
        auto s = studies_.find(sid);
        any_active |= s != studies_.end() && s->second.state == v1::STUDY_RUNNING;
      }
      wanted = any_active;
    }
    if (!wanted) {
      resp.add_cancel(key);
      continue;
    }
    if (r->second.phase == Phase::kLeased && r->second.worker == req.worker_id())
      r->second.deadline = now + SecondsToMillis(opt_.lease_seconds);
  }
  return resp;
}

std::vector<v1::WorkerInfo> RunTable::ListWorkers() const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_->Now();
  std::vector<v1::WorkerInfo> out;
  for (const auto& [_, w] : workers_) {
    out.push_back(w.info);
    out.back().set_last_seen_seconds_ago(std::chrono::duration<double>(now - w.last_seen).count());
  }
  return out;
}

v1::ClaimRunResponse RunTable::Claim(const v1::ClaimRunRequest& req) {
  v1::ClaimRunResponse resp;
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_->Now();
  auto w = workers_.find(req.worker_id());
  if (w != workers_.end()) {
    w->second.last_seen = now;
    w->second.alive = true;
  }
  auto it = runs_.find(req.run_key());
  if (it == runs_.end()) {
    resp.set_decision(v1::ClaimRunResponse::SKIP);
    resp.set_reason("not a pending run of an active study");
    return resp;
  }
  RunTrack& r = it->second;
  if (r.phase == Phase::kDone || r.phase == Phase::kFailed) {
    resp.set_decision(v1::ClaimRunResponse::SKIP);
    resp.set_reason("already recorded");
    return resp;
  }
  if (r.phase == Phase::kLeased && r.worker != req.worker_id() && r.deadline > now) {
    resp.set_decision(v1::ClaimRunResponse::SKIP);
    resp.set_reason("leased by " + r.worker);
    return resp;
  }
  SetPhaseLocked(req.run_key(), r, Phase::kLeased);
  r.worker = req.worker_id();
  r.deadline = now + SecondsToMillis(opt_.lease_seconds);
  resp.set_decision(v1::ClaimRunResponse::RUN);
  resp.set_lease_seconds(opt_.lease_seconds);
  return resp;
}

StatusOr<v1::ReportResultResponse> RunTable::Report(const v1::ReportResultRequest& req) {
  std::string model, version;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = runs_.find(req.run_key());
    if (it != runs_.end()) {
      model = it->second.model;
      version = it->second.model_version;
    }
  }
  // Recorded outside the lock: SQLite commits are the slow part.
  bool failed = !req.error().empty();
  store::RecordOutcome outcome = store::RecordOutcome::kInserted;
  if (failed) {
    KREPLAY_RETURN_IF_ERROR(ledger_->RecordFailure(req.run_key(), req.error(), req.error_is_data_loss()));
  } else {
    auto res = ledger_->RecordResult(req.run_key(), model, version, req.result(),
                                     codec::DeterministicBytes(req.provenance()));
    if (!res.ok()) return res.status();  // not recorded: the worker retries
    outcome = *res;
  }
  v1::ReportResultResponse resp;
  resp.set_recorded(true);
  if (probe_)
    probe_->RunRecorded(failed ? "failed"
                        : outcome == store::RecordOutcome::kInserted         ? "ok"
                        : outcome == store::RecordOutcome::kDuplicateMismatch ? "mismatch"
                                                                              : "duplicate");
  resp.set_duplicate(outcome != store::RecordOutcome::kInserted);
  resp.set_determinism_mismatch(outcome == store::RecordOutcome::kDuplicateMismatch);

  uint64_t events = 0;
  if (!failed) {
    v1::ModelResult mr;
    if (mr.ParseFromString(req.result())) events = mr.sim_events();
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (auto w = workers_.find(req.worker_id()); w != workers_.end()) {
    w->second.last_seen = clock_->Now();
    if (!failed) w->second.info.set_runs_done(w->second.info.runs_done() + 1);
  }
  auto it = runs_.find(req.run_key());
  if (it == runs_.end()) return resp;  // recorded by an earlier controller epoch
  RunTrack& r = it->second;
  if (r.phase == Phase::kDone || r.phase == Phase::kFailed) {
    if (outcome == store::RecordOutcome::kDuplicateMismatch) {
      for (const auto& sid : r.studies)
        if (auto s = studies_.find(sid); s != studies_.end())
          s->second.message = "determinism bug: run " + req.run_key() + " gave different bytes on " + req.worker_id();
    }
    return resp;
  }
  SetPhaseLocked(req.run_key(), r, failed ? Phase::kFailed : Phase::kDone);
  for (const auto& sid : r.studies) {
    auto s = studies_.find(sid);
    if (s == studies_.end()) continue;
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
  cv_.notify_all();
  return resp;
}

// ---------------------------------------------------------------------------
// The work pump

void RunTable::ExpireLeases() {
  std::lock_guard<std::mutex> lock(mu_);
  const auto now = clock_->Now();
  // Workers that stopped heartbeating: their leases end now.
  std::set<std::string> dead;
  for (auto& [id, w] : workers_) {
    if (w.alive && now - w.last_seen > std::chrono::duration<double>(opt_.worker_timeout_seconds)) {
      w.alive = false;
      dead.insert(id);
    }
  }
  // Only in-flight runs can expire: scan the window, not every run.
  std::vector<std::string> expired;
  for (const auto& key : in_flight_) {
    RunTrack& r = runs_.at(key);
    if (dead.count(r.worker)) r.deadline = now;  // leased by it, or published to its partitions
    if (r.deadline <= now) expired.push_back(key);
  }
  for (const auto& key : expired) RequeueLocked(key, runs_.at(key));
}

metrics::ControllerProbe::Snapshot RunTable::Gauges() const {
  std::lock_guard<std::mutex> lock(mu_);
  metrics::ControllerProbe::Snapshot snap;
  for (const auto& [_, st] : studies_) {
    if (st.state != v1::STUDY_RUNNING) continue;
    ++snap.studies_running;
    snap.runs_pending += static_cast<int64_t>(st.total - st.done - st.failed);
  }
  snap.runs_in_flight = static_cast<int64_t>(in_flight_.size());
  for (const auto& [_, w] : workers_) {
    if (!w.alive) continue;
    ++snap.workers_alive;
    snap.worker_threads += w.info.threads();
  }
  return snap;
}

std::string RunTable::PickRunLocked(WorkerTrack& w) {
  constexpr size_t kAffinityScan = 64, kRecentWorkloads = 16;
  for (const auto& sid : study_order_) {
    auto& s = studies_.at(sid);
    if (s.state != v1::STUDY_RUNNING) continue;
    auto pending = [&](const std::string& key) {
      auto it = runs_.find(key);
      return it != runs_.end() && it->second.phase == Phase::kPending ? &it->second : nullptr;
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
        for (const auto& [_, other] : workers_) elsewhere |= &other != &w && other.alive && held_by(other, r->workload);
        if (!elsewhere) fresh = i;
      }
    }
    if (fresh) choice = *fresh;
    std::string key = s.queue[choice];
    s.queue.erase(s.queue.begin() + static_cast<std::ptrdiff_t>(choice));
    const std::string& workload = runs_.at(key).workload;
    auto& recent = w.recent_workloads;
    recent.erase(std::remove(recent.begin(), recent.end(), workload), recent.end());
    recent.push_front(workload);
    if (recent.size() > kRecentWorkloads) recent.pop_back();
    return key;
  }
  return "";
}

void RunTable::PublishRound() {
  struct Send {
    std::string key, bytes;
    int32_t partition;
    std::vector<std::string> keys;  // every run the item carries, `key` first
  };
  std::vector<Send> plan;
  std::unique_lock<std::mutex> lock(mu_);
  const auto now = clock_->Now();
  // Top every live worker up to items_per_thread x threads unfinished
  // items, published to its own partitions. `worker` names the claimer,
  // or the worker an unclaimed item was published to.
  std::map<std::string, uint32_t> held;
  for (const auto& key : in_flight_) {
    const RunTrack& r = runs_.at(key);
    if (!r.worker.empty()) ++held[r.worker];
  }
  for (auto& [wid, w] : workers_) {
    if (!w.alive || w.partitions.empty()) continue;
    const uint32_t cap = opt_.items_per_thread * std::max(1u, w.info.threads());
    while (held[wid] < cap) {
      std::string key = PickRunLocked(w);
      if (key.empty()) break;
      RunTrack& r = runs_.at(key);
      v1::WorkItem wi;
      wi.ParseFromString(r.item);
      wi.set_attempt(r.attempt++);
      wi.set_controller_epoch(opt_.epoch);
      SetPhaseLocked(key, r, Phase::kPublished);
      r.worker = wid;
      r.deadline = now + SecondsToMillis(opt_.claim_timeout_seconds);
      ++held[wid];
      // Companions for a batch: pending runs of the same study that differ
      // only in their parameters, each tracked (claimed, leased, recorded)
      // on its own.
      if (!r.batch_key.empty() && opt_.max_batch_runs > 1) {
        for (const auto& sid : r.studies) {
          auto st = studies_.find(sid);
          if (st == studies_.end() || st->second.state != v1::STUDY_RUNNING) continue;
          // Runs of one workload and seed have equal costs, so they sit
          // close together in the longest-first queue: a bounded scan finds
          // them without making each publication O(queue) on large sweeps.
          constexpr size_t kBatchScan = 256;
          auto& q = st->second.queue;
          size_t idx = 0;  // by index: erasing from a deque invalidates its iterators
          for (size_t scanned = 0; idx < q.size() && scanned < kBatchScan &&
                                   static_cast<uint32_t>(wi.batch_size()) + 1 < opt_.max_batch_runs;
               ++scanned) {
            const std::string other_key = q[idx];
            auto other = runs_.find(other_key);
            if (other == runs_.end() || other->second.phase != Phase::kPending ||
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
  if (plan.empty()) return;
  lock.unlock();
  if (!warmed_) warmed_ = publisher_->WarmUp(opt_.work_topic).ok();
  std::vector<std::string> unsent;
  for (const auto& snd : plan) {
    Status st = publisher_->Produce(opt_.work_topic, snd.partition, snd.key, snd.bytes,
                                    {{"kreplay-epoch", std::to_string(opt_.epoch)}},
                                    [this, keys = snd.keys](const bus::DeliveryReport& rep) {
                                      if (rep.status.ok()) return;
                                      std::lock_guard<std::mutex> l(mu_);
                                      const auto failed_at = clock_->Now();
                                      for (const auto& k : keys) {
                                        auto i = runs_.find(k);
                                        if (i != runs_.end() && i->second.phase == Phase::kPublished)
                                          i->second.deadline = failed_at;  // the pump re-queues it
                                      }
                                    });
    // Local queue full or broker gone: next round.
    if (!st.ok()) unsent.insert(unsent.end(), snd.keys.begin(), snd.keys.end());
  }
  lock.lock();
  for (const auto& key : unsent) {
    auto i = runs_.find(key);
    if (i == runs_.end() || i->second.phase != Phase::kPublished) continue;
    SetPhaseLocked(key, i->second, Phase::kPending);
    i->second.worker.clear();
    for (const auto& sid : i->second.studies) {
      auto s = studies_.find(sid);
      if (s == studies_.end() || s->second.state != v1::STUDY_RUNNING) continue;
      s->second.queue.push_front(key);
      break;
    }
  }
}

void RunTable::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  stopping_ = true;
  cv_.notify_all();
}

bool RunTable::WaitForChange(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return false;
  cv_.wait_for(lock, timeout);
  return !stopping_;
}

}  // namespace kreplay::server
