// In-memory twins of the controller server's seams (clock.h, ledger.h,
// publisher.h, TraceReader in trace_store.h), for unit tests only: nothing in
// a production target includes this header.
//
// Thread-safety: every fake may be called concurrently (the run table calls
// the ledger and publisher from several threads).
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "controller/server/clock.h"
#include "controller/server/ledger.h"
#include "controller/server/publisher.h"
#include "controller/server/trace_store.h"

namespace kreplay::server::test {

// A clock that moves only when told to.
class FakeClock final : public Clock {
 public:
  TimePoint Now() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return now_;
  }
  void Advance(std::chrono::milliseconds d) {
    std::lock_guard<std::mutex> lock(mu_);
    now_ += d;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_ = TimePoint{} + std::chrono::hours(1);
};

// The ledger as maps, with store::Store's semantics for what the server uses.
class FakeLedger final : public Ledger {
 public:
  StatusOr<std::optional<store::StudyRow>> FindStudyByRequestId(const std::string& request_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [_, s] : studies_)
      if (s.row.request_id == request_id) return std::optional<store::StudyRow>(s.row);
    return std::optional<store::StudyRow>();
  }
  StatusOr<std::optional<store::StudyRow>> FindStudy(const std::string& study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = studies_.find(study_id);
    if (it == studies_.end()) return std::optional<store::StudyRow>();
    return std::optional<store::StudyRow>(it->second.row);
  }
  StatusOr<std::vector<store::StudyRow>> ListStudies() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<store::StudyRow> out;
    for (const auto& [_, s] : studies_) out.push_back(s.row);
    std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.created_at < b.created_at; });
    return out;
  }
  Status CreateStudy(const store::StudyRow& study, const std::vector<store::StudyRunRow>& runs) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (studies_.count(study.study_id)) return {StatusCode::kAlreadyExists, "study " + study.study_id};
    Study s;
    s.row = study;
    for (const auto& r : runs) {
      s.runs.push_back(r);
      s.reused.push_back(results_.count(r.run_key) > 0);
      if (!results_.count(r.run_key)) failures_.erase(r.run_key);
    }
    studies_.emplace(study.study_id, std::move(s));
    return OkStatus();
  }
  Status SetStudyState(const std::string& study_id, const std::string& state, const std::string& message) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = studies_.find(study_id);
    if (it == studies_.end()) return NotFound("study " + study_id + " not found");
    it->second.row.state = state;
    it->second.row.message = message;
    return OkStatus();
  }
  StatusOr<store::RecordOutcome> RecordResult(const std::string& run_key, const std::string& model,
                                              const std::string& model_version, const std::string& result_bytes,
                                              const std::string& provenance_bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++record_calls_;
    if (auto it = results_.find(run_key); it != results_.end()) {
      bool same = it->second.bytes == result_bytes && it->second.model == model &&
                  it->second.model_version == model_version;
      return same ? store::RecordOutcome::kDuplicateIdentical : store::RecordOutcome::kDuplicateMismatch;
    }
    results_[run_key] = {model, model_version, result_bytes, provenance_bytes};
    return store::RecordOutcome::kInserted;
  }
  Status RecordFailure(const std::string& run_key, const std::string& error, bool data_loss) override {
    std::lock_guard<std::mutex> lock(mu_);
    failures_[run_key] = {error, data_loss};
    return OkStatus();
  }
  StatusOr<std::vector<store::StudyRunRow>> ListStudyRuns(const std::string& study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<store::StudyRunRow> out;
    auto it = studies_.find(study_id);
    if (it == studies_.end()) return out;
    for (store::StudyRunRow r : it->second.runs) {
      if (auto res = results_.find(r.run_key); res != results_.end()) {
        r.has_result = true;
        r.result = res->second.bytes;
      } else if (auto f = failures_.find(r.run_key); f != failures_.end()) {
        r.failed = true;
        r.error = f->second.first;
        r.data_loss = f->second.second;
      }
      out.push_back(std::move(r));
    }
    return out;
  }
  StatusOr<store::StudyCounts> CountStudyRuns(const std::string& study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    store::StudyCounts c;
    auto it = studies_.find(study_id);
    if (it == studies_.end()) return c;
    for (size_t i = 0; i < it->second.runs.size(); ++i) {
      const std::string& key = it->second.runs[i].run_key;
      ++c.total;
      if (results_.count(key)) ++c.done;
      else if (failures_.count(key)) ++c.failed;
      if (it->second.reused[i]) ++c.reused;
    }
    return c;
  }
  StatusOr<std::vector<store::StudyRunRow>> PendingRuns(const std::string& study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<store::StudyRunRow> out;
    auto it = studies_.find(study_id);
    if (it == studies_.end()) return out;
    for (const auto& r : it->second.runs)
      if (!results_.count(r.run_key) && !failures_.count(r.run_key)) out.push_back(r);
    return out;
  }

  // ---- inspection ----
  std::optional<std::string> Result(const std::string& run_key) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = results_.find(run_key);
    if (it == results_.end()) return std::nullopt;
    return it->second.bytes;
  }
  size_t result_count() const {
    std::lock_guard<std::mutex> lock(mu_);
    return results_.size();
  }
  int record_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    return record_calls_;
  }
  std::string StudyState(const std::string& study_id) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = studies_.find(study_id);
    return it == studies_.end() ? "" : it->second.row.state;
  }

 private:
  struct Study {
    store::StudyRow row;
    std::vector<store::StudyRunRow> runs;
    std::vector<bool> reused;
  };
  struct StoredResult {
    std::string model, model_version, bytes, provenance;
  };
  mutable std::mutex mu_;
  std::map<std::string, Study> studies_;
  std::map<std::string, StoredResult> results_;
  std::map<std::string, std::pair<std::string, bool>> failures_;
  int record_calls_ = 0;
};

// Records what is produced. Produce's delivery reports wait in a queue until
// Deliver() runs them (as a broker would, later and on another thread);
// ProduceSync succeeds at once with per-partition offsets.
class FakePublisher final : public Publisher {
 public:
  struct Message {
    std::string topic;
    int32_t partition = 0;
    std::string key, value;
    bus::Headers headers;
    int64_t offset = 0;
  };

  Status Produce(const std::string& topic, int32_t partition, std::string_view key, std::string_view value,
                 const bus::Headers& headers, bus::DeliveryCallback on_delivery) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!produce_error_.ok()) return produce_error_;
    Message m = Record(topic, partition, key, value, headers);
    bus::DeliveryReport rep;
    rep.topic = topic;
    rep.partition = partition;
    rep.offset = m.offset;
    pending_.emplace_back(std::move(rep), std::move(on_delivery));
    return OkStatus();
  }
  StatusOr<bus::DeliveryReport> ProduceSync(const std::string& topic, int32_t partition, std::string_view key,
                                            std::string_view value, const bus::Headers& headers) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!produce_error_.ok()) return produce_error_;
    Message m = Record(topic, partition, key, value, headers);
    bus::DeliveryReport rep;
    rep.topic = topic;
    rep.partition = partition;
    rep.offset = m.offset;
    return rep;
  }
  Status Flush(std::chrono::milliseconds) override { return Deliver(OkStatus()); }
  Status WarmUp(const std::string&) override { return OkStatus(); }

  // Runs the queued delivery callbacks with `status` (outside the lock).
  Status Deliver(const Status& status) {
    std::deque<std::pair<bus::DeliveryReport, bus::DeliveryCallback>> todo;
    {
      std::lock_guard<std::mutex> lock(mu_);
      todo.swap(pending_);
    }
    for (auto& [rep, cb] : todo) {
      rep.status = status;
      if (cb) cb(rep);
    }
    return OkStatus();
  }
  // Every later Produce / ProduceSync fails with `s` (OK: succeed again).
  void FailProduce(Status s) {
    std::lock_guard<std::mutex> lock(mu_);
    produce_error_ = std::move(s);
  }
  std::vector<Message> messages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }

 private:
  Message Record(const std::string& topic, int32_t partition, std::string_view key, std::string_view value,
                 const bus::Headers& headers) {
    Message m{topic, partition, std::string(key), std::string(value), headers, next_offset_[{topic, partition}]++};
    messages_.push_back(m);
    return m;
  }
  mutable std::mutex mu_;
  Status produce_error_;
  std::vector<Message> messages_;
  std::map<std::pair<std::string, int32_t>, int64_t> next_offset_;
  std::deque<std::pair<bus::DeliveryReport, bus::DeliveryCallback>> pending_;
};

// Traces as lists of chunk sizes; payloads are zeros of that size.
class FakeTraceReader final : public TraceReader {
 public:
  void Add(const std::string& digest, std::vector<uint64_t> chunk_bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    traces_[digest] = std::move(chunk_bytes);
  }
  StatusOr<v1::TraceManifest> Manifest(const std::string& digest) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = traces_.find(digest);
    if (it == traces_.end()) return NotFound("trace " + digest);
    v1::TraceManifest m;
    m.set_digest(digest);
    m.set_chunk_count(static_cast<uint32_t>(it->second.size()));
    return m;
  }
  StatusOr<v1::TraceChunk> ReadChunk(const std::string& digest, uint32_t index) const override {
    auto bytes = ChunkBytes(digest, index);
    if (!bytes.ok()) return bytes.status();
    v1::TraceChunk c;
    c.set_digest(digest);
    c.set_index(index);
    c.set_payload(std::string(*bytes, '\0'));
    return c;
  }
  StatusOr<uint64_t> ChunkBytes(const std::string& digest, uint32_t index) const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = traces_.find(digest);
    if (it == traces_.end() || index >= it->second.size()) return NotFound("chunk " + std::to_string(index));
    return it->second[index];
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<uint64_t>> traces_;
};

}  // namespace kreplay::server::test
