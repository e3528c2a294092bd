// The controller's ledger (SQLite): studies, the runs each study contains, and
// the results and failures of runs, keyed by run content key
// (controller/spec/run_key.h).
//
// A run is pending until its result is committed here. Results are shared by
// content key: a study whose run already has a result counts it as done
// (and "reused") without recomputation. Result bytes are opaque to the store;
// so are work items and provenance.
//
// Durability: WAL journal, synchronous=FULL, a busy timeout for other
// processes on the same file. Every mutating call is one transaction.
//
// Thread-safety: a Store is safe for concurrent use; it owns one sqlite3
// connection and serialises calls with an internal mutex (SQLite work here is
// short; the controller is not bottlenecked on it).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "services/core/status.h"

struct sqlite3;

namespace kreplay::store {

struct StudyRow {
  std::string study_id;
  std::string name;
  std::string spec_yaml;
  std::string spec_digest;
  std::string request_id;   // client idempotency key; unique across studies
  std::string state;        // e.g. "PENDING", "RUNNING", "SUCCEEDED" (caller's vocabulary)
  int64_t created_at = 0;   // unix seconds, supplied by the caller (clock injected upstream)
  std::string message;
};

struct StudyRunRow {
  std::string study_id;
  std::string run_key;
  std::string variant;
  std::string platform;
  std::string workload;
  uint64_t seed = 0;
  std::string work_item;    // serialized WorkItem, opaque
  // Filled by ListStudyRuns only.
  bool has_result = false;
  std::string result;       // result bytes when has_result
  bool failed = false;      // failure recorded and no result
  std::string error;        // failure text when failed
  bool data_loss = false;
};

struct StudyCounts {
  uint64_t total = 0;
  uint64_t done = 0;        // result present
  uint64_t failed = 0;      // failure recorded, no result
  uint64_t reused = 0;      // result already present when the study was created
};

enum class RecordOutcome {
  kInserted,
  kDuplicateIdentical,  // same result bytes again (a re-delivery): harmless
  kDuplicateMismatch,   // different bytes for the same key: a determinism bug;
                        // the first result is kept, the caller reports it
};
const char* RecordOutcomeName(RecordOutcome o);

class Store {
 public:
  // Opens or creates the database at `path` (":memory:" for tests) and
  // creates or checks the schema. FailedPrecondition on an unknown schema version.
  static StatusOr<std::unique_ptr<Store>> Open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  static constexpr int kSchemaVersion = 1;

  StatusOr<std::optional<StudyRow>> FindStudyByRequestId(const std::string& request_id);
  StatusOr<std::optional<StudyRow>> FindStudy(const std::string& study_id);
  // Ordered by created_at, then study_id.
  StatusOr<std::vector<StudyRow>> ListStudies();

  // Inserts the study and its runs in one transaction. AlreadyExists if the
  // study_id or request_id is taken. Failures recorded earlier for these runs
  // (without a result) are cleared, so a new study retries them.
  Status CreateStudy(const StudyRow& study, const std::vector<StudyRunRow>& runs);
  // NotFound if there is no such study.
  Status SetStudyState(const std::string& study_id, const std::string& state, const std::string& message);

  // Records a result. Only the result bytes are compared for duplicates:
  // provenance (worker, wall time) legitimately differs between re-runs.
  StatusOr<RecordOutcome> RecordResult(const std::string& run_key, const std::string& model,
                                       const std::string& model_version, const std::string& result_bytes,
                                       const std::string& provenance_bytes);
  // Records (or replaces) the failure of a run. A later result wins.
  Status RecordFailure(const std::string& run_key, const std::string& error, bool data_loss);

  // The study's runs in the order given to CreateStudy, with results.
  StatusOr<std::vector<StudyRunRow>> ListStudyRuns(const std::string& study_id);
  StatusOr<StudyCounts> CountStudyRuns(const std::string& study_id);
  // Runs with neither a result nor a failure, in CreateStudy order, with work items.
  StatusOr<std::vector<StudyRunRow>> PendingRuns(const std::string& study_id);
  StatusOr<std::optional<std::string>> GetResult(const std::string& run_key);
  // Provenance bytes recorded with the result.
  StatusOr<std::optional<std::string>> GetProvenance(const std::string& run_key);

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Status Init();

  std::mutex mu_;
  sqlite3* db_;  // owned
};

}  // namespace kreplay::store
