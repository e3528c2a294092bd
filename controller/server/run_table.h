// The run table and dispatch: the active studies, the phase of each of their
// runs, the live workers, and the policy that publishes work to them.
//
// A run's life: kPending (queued in its study, longest first) -> kPublished
// (sent to one of a worker's partitions; claim deadline) -> kLeased (claimed;
// lease deadline, renewed by heartbeats) -> kDone | kFailed (recorded in the
// ledger). A passed deadline, a worker that stopped heartbeating or a failed
// delivery puts the run back at the front of its study's queue
// (re-publication). A result is recorded whatever the run's phase; only the
// first one counts, and different bytes for the same run are flagged as a
// determinism mismatch.
//
// Dispatch policy: every live worker with known partitions is topped up to
// items_per_thread x threads unfinished items, round robin over its own
// partitions; for each, the longest pending run, or among the first few one of
// a workload it already holds, else one no other live worker holds. A model
// with a batch function carries up to max_batch_runs runs of one model,
// system, workload and seed in one item; each is still claimed, leased,
// re-published and recorded on its own.
//
// The ledger is the truth: a run is pending until recorded there. The table
// only caches it and adds what is in flight.
//
// Thread-safety: all public methods may be called concurrently, except
// PublishRound (one caller at a time: the work pump). Ledger calls happen
// under the table's lock, except the recording in Report.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller/server/clock.h"
#include "controller/server/ledger.h"
#include "controller/server/publisher.h"
#include "kreplay/v1/controller.pb.h"
#include "services/core/status.h"
#include "services/metrics/metrics.h"

namespace kreplay::server {

struct RunTableOptions {
  uint32_t items_per_thread = 2;      // ControllerOptions::items_per_thread
  uint32_t max_batch_runs = 8;        // ControllerOptions::max_batch_runs
  double lease_seconds = 30;          // a claimed run's lease; heartbeats renew it
  double worker_timeout_seconds = 10; // no heartbeat for this long: worker presumed dead
  double claim_timeout_seconds = 120; // published but unclaimed this long: re-publish
  uint64_t epoch = 0;                 // stamped on every work item and its header
  std::string work_topic;             // where work items go
};

class RunTable {
 public:
  enum class Phase { kPending, kPublished, kLeased, kDone, kFailed };
  // Whether a model has a batch function (its runs may share a work item).
  using BatchableFn = std::function<bool(const std::string& model)>;

  // None of the pointers is owned; all must outlive the table, and the
  // publisher must deliver (or cancel) every report before the table goes.
  // `probe` may be null.
  RunTable(RunTableOptions options, Ledger* ledger, Publisher* publisher, const Clock* clock,
           BatchableFn batchable, metrics::ControllerProbe* probe);
  RunTable(const RunTable&) = delete;
  RunTable& operator=(const RunTable&) = delete;

  // ---- studies -------------------------------------------------------------
  struct Totals {
    uint64_t total = 0;
    uint64_t done = 0;    // recorded (by this study or earlier ones)
    uint64_t reused = 0;  // recorded before this study was created
  };
  // Loads a study from the ledger (its pending runs are queued) unless it is
  // loaded already. NotFound if the ledger has no such study.
  StatusOr<Totals> Load(const std::string& study_id);
  // Loads a study just created in the ledger: what is recorded already counts
  // as reused.
  StatusOr<Totals> Add(const std::string& study_id);
  // --resume: unless the study is loaded and running, marks it running in the
  // ledger (unless `ledger_state` is STUDY_SUCCEEDED) and loads it afresh, so
  // its unrecorded runs are queued again.
  StatusOr<Totals> Resume(const std::string& study_id, const std::string& ledger_state);
  // The progress of a study, loading it (with the state and message the ledger
  // holds) if needed; NotFound if there is none. trace_resends is left 0.
  StatusOr<v1::StudyProgress> Progress(const std::string& study_id);
  // The progress of a loaded study; NotFound otherwise.
  StatusOr<v1::StudyProgress> LoadedProgress(const std::string& study_id) const;
  // Cancels a loaded, unfinished study (its queue is dropped; in-flight runs
  // are cancelled by the next heartbeats). NotFound if not loaded.
  StatusOr<v1::StudyProgress> Cancel(const std::string& study_id);

  // ---- workers -------------------------------------------------------------
  // InvalidArgument if the worker id is empty.
  Status RegisterWorker(const v1::WorkerInfo& info);
  // Renews the worker's leases and learns its partitions; the response lists
  // runs it should drop. FailedPrecondition for an unregistered worker.
  StatusOr<v1::HeartbeatResponse> Heartbeat(const v1::HeartbeatRequest& req);
  std::vector<v1::WorkerInfo> ListWorkers() const;  // with last_seen_seconds_ago
  // RUN (and a lease) unless the run is recorded, unknown, or leased elsewhere.
  v1::ClaimRunResponse Claim(const v1::ClaimRunRequest& req);
  // Records a result or failure in the ledger (an error: not recorded, the
  // worker retries), then counts it in its studies if it is the first.
  StatusOr<v1::ReportResultResponse> Report(const v1::ReportResultRequest& req);

  // ---- the work pump -------------------------------------------------------
  // Marks workers without a recent heartbeat dead and re-queues the runs whose
  // deadline passed (or that were published to or leased by a dead worker).
  void ExpireLeases();
  // Plans one round of publications (see the policy above) and produces them
  // outside the lock; runs that could not be enqueued go back to the front of
  // their queue. REQUIRES: one caller at a time.
  void PublishRound();
  // Gauges for the probe; trace_streams is left 0.
  metrics::ControllerProbe::Snapshot Gauges() const;

  // Wakes every waiter and makes WaitForChange return false from now on.
  void Stop();
  // Waits until the table changes (a study loads, a run is recorded, a worker
  // registers or reports new partitions...) or `timeout` passes. False once
  // stopped.
  bool WaitForChange(std::chrono::milliseconds timeout) const;

  // ---- inspection (tests) --------------------------------------------------
  struct RunView {
    Phase phase = Phase::kPending;
    std::string worker;     // claimer, or the worker it was published to
    uint32_t attempt = 0;   // publications so far
  };
  std::optional<RunView> Inspect(const std::string& run_key) const;

 private:
  using TimePoint = Clock::TimePoint;
  struct RunTrack {
    std::string item;        // serialized WorkItem; cleared once recorded
    std::string model, model_version;  // kept after `item` goes: late duplicates compare them
    double cost = 0;
    Phase phase = Phase::kPending;
    std::string worker;      // the claimer, else the worker it was published to
    std::string workload;    // content digest: runs of one workload go to one worker when they can
    std::string batch_key;   // runs with equal non-empty keys may share a work item
    TimePoint deadline{};    // lease or claim deadline
    uint32_t attempt = 0;
    std::vector<std::string> studies;
  };
  struct StudyTrack {
    std::string id;
    std::string name;
    v1::StudyState state = v1::STUDY_RUNNING;
    uint64_t total = 0, done = 0, failed = 0, reused = 0, republished = 0;
    std::deque<std::string> queue;  // pending run keys, longest first
    TimePoint started{};
    double elapsed_at_finish = -1;
    std::string message;
    uint64_t sim_events = 0;
  };
  struct WorkerTrack {
    v1::WorkerInfo info;
    TimePoint last_seen{};
    bool alive = true;
    std::vector<int32_t> partitions;           // its work-topic partitions, as last reported
    size_t next_partition = 0;                 // round robin over `partitions`
    std::deque<std::string> recent_workloads;  // digests it was given lately, newest first
  };

  Status LoadLocked(const std::string& study_id);
  void UnloadLocked(const std::string& study_id);
  v1::StudyProgress ProgressLocked(const StudyTrack& s) const;
  void MaybeFinishLocked(StudyTrack& s);
  void RequeueLocked(const std::string& key, RunTrack& r);
  // The one place a run changes phase; keeps `in_flight_` true.
  void SetPhaseLocked(const std::string& key, RunTrack& r, Phase phase);
  // The next pending run for `w`, removed from its study queue; "" if none.
  std::string PickRunLocked(WorkerTrack& w);

  const RunTableOptions opt_;
  Ledger* const ledger_;
  Publisher* const publisher_;
  const Clock* const clock_;
  const BatchableFn batchable_;
  metrics::ControllerProbe* const probe_;
  bool warmed_ = false;  // work topic metadata fetched; PublishRound only

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;  // notified on every change
  bool stopping_ = false;
  std::map<std::string, RunTrack> runs_;
  std::map<std::string, StudyTrack> studies_;
  std::vector<std::string> study_order_;  // load order: earlier studies first
  std::map<std::string, WorkerTrack> workers_;
  std::set<std::string> in_flight_;       // runs Published or Leased: the work window
};

}  // namespace kreplay::server
