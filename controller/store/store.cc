#include "controller/store/store.h"

#include <sqlite3.h>

#include <utility>

namespace kreplay::store {

namespace {

// Schema v1. study_runs.ordinal keeps the caller's (canonical) order;
// study_runs.reused records whether the result existed at study creation.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS studies (
  study_id    TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  spec_yaml   TEXT NOT NULL,
  spec_digest TEXT NOT NULL,
  request_id  TEXT NOT NULL UNIQUE,
  state       TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  message     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS study_runs (
  study_id  TEXT NOT NULL REFERENCES studies(study_id),
  run_key   TEXT NOT NULL,
  ordinal   INTEGER NOT NULL,
  variant   TEXT NOT NULL,
  platform  TEXT NOT NULL,
  workload  TEXT NOT NULL,
  seed      INTEGER NOT NULL,
  work_item BLOB NOT NULL,
  reused    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (study_id, run_key)
);
CREATE INDEX IF NOT EXISTS study_runs_by_key ON study_runs(run_key);
CREATE TABLE IF NOT EXISTS results (
  run_key       TEXT PRIMARY KEY,
  model         TEXT NOT NULL,
  model_version TEXT NOT NULL,
  result        BLOB NOT NULL,
  provenance    BLOB NOT NULL,
  recorded_at   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS failures (
  run_key     TEXT PRIMARY KEY,
  error       TEXT NOT NULL,
  data_loss   INTEGER NOT NULL,
  recorded_at INTEGER NOT NULL
);
)sql";

Status SqlError(sqlite3* db, const std::string& what) {
  int code = sqlite3_errcode(db);
  std::string msg = "sqlite: " + what + ": " + sqlite3_errmsg(db);
  if (code == SQLITE_BUSY || code == SQLITE_LOCKED) return Unavailable(msg);
  if ((code & 0xff) == SQLITE_CONSTRAINT) return Status(StatusCode::kAlreadyExists, msg);
  return Internal(msg);
}

// A prepared statement (RAII). Binds are 1-based, as in SQLite.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Status status(const std::string& what) const {
    return rc_ == SQLITE_OK ? OkStatus() : SqlError(db_, "prepare " + what);
  }
  void Text(int i, const std::string& s) { sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void Blob(int i, const std::string& s) {
    // A zero-length blob must still be a BLOB, not NULL.
    sqlite3_bind_blob(stmt_, i, s.empty() ? "" : s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }

  void Reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }

  std::string ColText(int i) {
    const unsigned char* p = sqlite3_column_text(stmt_, i);
    int n = sqlite3_column_bytes(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  std::string ColBlob(int i) {
    const void* p = sqlite3_column_blob(stmt_, i);
    int n = sqlite3_column_bytes(stmt_, i);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }
  int64_t ColInt(int i) { return sqlite3_column_int64(stmt_, i); }
  bool ColNull(int i) { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    Status st = SqlError(db, sql);
    return Status(st.code(), "sqlite: " + msg + " (in: " + std::string(sql).substr(0, 60) + ")");
  }
  return OkStatus();
}

// Rolls back unless committed. BEGIN IMMEDIATE takes the write lock up front
// so that a transaction never fails half-way on lock upgrade.
class Txn {
 public:
  explicit Txn(sqlite3* db) : db_(db) {}
  Status Begin() {
    Status st = Exec(db_, "BEGIN IMMEDIATE");
    active_ = st.ok();
    return st;
  }
  Status Commit() {
    Status st = Exec(db_, "COMMIT");
    if (st.ok()) active_ = false;
    return st;
  }
  ~Txn() {
    if (active_) (void)Exec(db_, "ROLLBACK");
  }

 private:
  sqlite3* db_;
  bool active_ = false;
};

StudyRow ReadStudy(Stmt& s) {
  StudyRow r;
  r.study_id = s.ColText(0);
  r.name = s.ColText(1);
  r.spec_yaml = s.ColText(2);
  r.spec_digest = s.ColText(3);
  r.request_id = s.ColText(4);
  r.state = s.ColText(5);
  r.created_at = s.ColInt(6);
  r.message = s.ColText(7);
  return r;
}

constexpr const char* kStudyColumns =
    "study_id, name, spec_yaml, spec_digest, request_id, state, created_at, message";

}  // namespace

const char* RecordOutcomeName(RecordOutcome o) {
  switch (o) {
    case RecordOutcome::kInserted: return "inserted";
    case RecordOutcome::kDuplicateIdentical: return "duplicate-identical";
    case RecordOutcome::kDuplicateMismatch: return "duplicate-mismatch";
  }
  return "?";
}

StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return Unavailable("sqlite: open " + path + ": " + msg);
  }
  std::unique_ptr<Store> store(new Store(db));
  Status st = store->Init();
  if (!st.ok()) return st.WithContext(path);
  return store;
}

Store::~Store() { sqlite3_close(db_); }

Status Store::Init() {
  std::lock_guard<std::mutex> lock(mu_);
  sqlite3_busy_timeout(db_, 5000);
  KREPLAY_RETURN_IF_ERROR(Exec(db_, "PRAGMA journal_mode=WAL"));  // ":memory:" stays "memory": fine
  KREPLAY_RETURN_IF_ERROR(Exec(db_, "PRAGMA synchronous=FULL"));
  KREPLAY_RETURN_IF_ERROR(Exec(db_, "PRAGMA foreign_keys=ON"));
  Txn txn(db_);
  KREPLAY_RETURN_IF_ERROR(txn.Begin());
  KREPLAY_RETURN_IF_ERROR(Exec(db_, kSchema));
  Stmt q(db_, "SELECT version FROM schema_version");
  KREPLAY_RETURN_IF_ERROR(q.status("schema_version"));
  int rc = q.Step();
  if (rc == SQLITE_ROW) {
    int64_t v = q.ColInt(0);
    if (v != kSchemaVersion)
      return FailedPrecondition("ledger schema version " + std::to_string(v) + ", this build reads " +
                                std::to_string(kSchemaVersion));
  } else if (rc == SQLITE_DONE) {
    Stmt ins(db_, "INSERT INTO schema_version(version) VALUES (?)");
    KREPLAY_RETURN_IF_ERROR(ins.status("schema_version insert"));
    ins.Int(1, kSchemaVersion);
    if (ins.Step() != SQLITE_DONE) return SqlError(db_, "schema_version insert");
  } else {
    return SqlError(db_, "schema_version");
  }
  return txn.Commit();
}

StatusOr<std::optional<StudyRow>> Store::FindStudyByRequestId(const std::string& request_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kStudyColumns + " FROM studies WHERE request_id = ?").c_str());
  KREPLAY_RETURN_IF_ERROR(s.status("find study"));
  s.Text(1, request_id);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return std::optional<StudyRow>(ReadStudy(s));
  if (rc == SQLITE_DONE) return std::optional<StudyRow>();
  return SqlError(db_, "find study by request id");
}

StatusOr<std::optional<StudyRow>> Store::FindStudy(const std::string& study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kStudyColumns + " FROM studies WHERE study_id = ?").c_str());
  KREPLAY_RETURN_IF_ERROR(s.status("find study"));
  s.Text(1, study_id);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return std::optional<StudyRow>(ReadStudy(s));
  if (rc == SQLITE_DONE) return std::optional<StudyRow>();
  return SqlError(db_, "find study");
}

StatusOr<std::vector<StudyRow>> Store::ListStudies() {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, (std::string("SELECT ") + kStudyColumns + " FROM studies ORDER BY created_at, study_id").c_str());
  KREPLAY_RETURN_IF_ERROR(s.status("list studies"));
  std::vector<StudyRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadStudy(s));
  if (rc != SQLITE_DONE) return SqlError(db_, "list studies");
  return out;
}

Status Store::CreateStudy(const StudyRow& study, const std::vector<StudyRunRow>& runs) {
  std::lock_guard<std::mutex> lock(mu_);
  Txn txn(db_);
  KREPLAY_RETURN_IF_ERROR(txn.Begin());
  {
    Stmt s(db_,
           "INSERT INTO studies(study_id, name, spec_yaml, spec_digest, request_id, state, created_at, message) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    KREPLAY_RETURN_IF_ERROR(s.status("insert study"));
    s.Text(1, study.study_id);
    s.Text(2, study.name);
    s.Text(3, study.spec_yaml);
    s.Text(4, study.spec_digest);
    s.Text(5, study.request_id);
    s.Text(6, study.state);
    s.Int(7, study.created_at);
    s.Text(8, study.message);
    if (s.Step() != SQLITE_DONE) return SqlError(db_, "insert study " + study.study_id);
  }
  Stmt ins(db_,
           "INSERT INTO study_runs(study_id, run_key, ordinal, variant, platform, workload, seed, work_item, reused) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, EXISTS(SELECT 1 FROM results WHERE run_key = ?2))");
  KREPLAY_RETURN_IF_ERROR(ins.status("insert study run"));
  Stmt clear(db_, "DELETE FROM failures WHERE run_key = ?1 AND NOT EXISTS(SELECT 1 FROM results WHERE run_key = ?1)");
  KREPLAY_RETURN_IF_ERROR(clear.status("clear failure"));
  for (size_t i = 0; i < runs.size(); ++i) {
    const StudyRunRow& r = runs[i];
    ins.Reset();
    ins.Text(1, study.study_id);
    ins.Text(2, r.run_key);
    ins.Int(3, static_cast<int64_t>(i));
    ins.Text(4, r.variant);
    ins.Text(5, r.platform);
    ins.Text(6, r.workload);
    // Seeds are full 64-bit values; SQLite integers are signed, so store the
    // bit pattern and convert back on read.
    ins.Int(7, static_cast<int64_t>(r.seed));
    ins.Blob(8, r.work_item);
    if (ins.Step() != SQLITE_DONE) return SqlError(db_, "insert study run " + r.run_key);
    clear.Reset();
    clear.Text(1, r.run_key);
    if (clear.Step() != SQLITE_DONE) return SqlError(db_, "clear failure " + r.run_key);
  }
  return txn.Commit();
}

Status Store::SetStudyState(const std::string& study_id, const std::string& state, const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "UPDATE studies SET state = ?, message = ? WHERE study_id = ?");
  KREPLAY_RETURN_IF_ERROR(s.status("set state"));
  s.Text(1, state);
  s.Text(2, message);
  s.Text(3, study_id);
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "set study state");
  if (sqlite3_changes(db_) == 0) return NotFound("study " + study_id + " not found");
  return OkStatus();
}

StatusOr<RecordOutcome> Store::RecordResult(const std::string& run_key, const std::string& model,
                                            const std::string& model_version, const std::string& result_bytes,
                                            const std::string& provenance_bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  Txn txn(db_);
  KREPLAY_RETURN_IF_ERROR(txn.Begin());
  Stmt ins(db_,
           "INSERT INTO results(run_key, model, model_version, result, provenance, recorded_at) "
           "VALUES (?, ?, ?, ?, ?, CAST(strftime('%s','now') AS INTEGER)) ON CONFLICT(run_key) DO NOTHING");
  KREPLAY_RETURN_IF_ERROR(ins.status("insert result"));
  ins.Text(1, run_key);
  ins.Text(2, model);
  ins.Text(3, model_version);
  ins.Blob(4, result_bytes);
  ins.Blob(5, provenance_bytes);
  if (ins.Step() != SQLITE_DONE) return SqlError(db_, "insert result " + run_key);
  RecordOutcome outcome = RecordOutcome::kInserted;
  if (sqlite3_changes(db_) == 0) {
    Stmt q(db_, "SELECT result, model, model_version FROM results WHERE run_key = ?");
    KREPLAY_RETURN_IF_ERROR(q.status("read result"));
    q.Text(1, run_key);
    if (q.Step() != SQLITE_ROW) return SqlError(db_, "read result " + run_key);
    bool same = q.ColBlob(0) == result_bytes && q.ColText(1) == model && q.ColText(2) == model_version;
    outcome = same ? RecordOutcome::kDuplicateIdentical : RecordOutcome::kDuplicateMismatch;
  }
  KREPLAY_RETURN_IF_ERROR(txn.Commit());
  return outcome;
}

Status Store::RecordFailure(const std::string& run_key, const std::string& error, bool data_loss) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "INSERT INTO failures(run_key, error, data_loss, recorded_at) "
         "VALUES (?, ?, ?, CAST(strftime('%s','now') AS INTEGER)) "
         "ON CONFLICT(run_key) DO UPDATE SET error = excluded.error, data_loss = excluded.data_loss, "
         "recorded_at = excluded.recorded_at");
  KREPLAY_RETURN_IF_ERROR(s.status("record failure"));
  s.Text(1, run_key);
  s.Text(2, error);
  s.Int(3, data_loss ? 1 : 0);
  if (s.Step() != SQLITE_DONE) return SqlError(db_, "record failure " + run_key);
  return OkStatus();
}

namespace {
// The first six columns every run query selects, in this order: run_key,
// variant, platform, workload, seed, work_item.
StudyRunRow ReadRunColumns(Stmt& s, const std::string& study_id) {
  StudyRunRow r;
  r.study_id = study_id;
  r.run_key = s.ColText(0);
  r.variant = s.ColText(1);
  r.platform = s.ColText(2);
  r.workload = s.ColText(3);
  r.seed = static_cast<uint64_t>(s.ColInt(4));
  r.work_item = s.ColBlob(5);
  return r;
}
}  // namespace

StatusOr<std::vector<StudyRunRow>> Store::ListStudyRuns(const std::string& study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT sr.run_key, sr.variant, sr.platform, sr.workload, sr.seed, sr.work_item, "
         "       r.result, f.error, f.data_loss "
         "FROM study_runs sr "
         "LEFT JOIN results r ON r.run_key = sr.run_key "
         "LEFT JOIN failures f ON f.run_key = sr.run_key "
         "WHERE sr.study_id = ? ORDER BY sr.ordinal");
  KREPLAY_RETURN_IF_ERROR(s.status("list study runs"));
  s.Text(1, study_id);
  std::vector<StudyRunRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) {
    StudyRunRow r = ReadRunColumns(s, study_id);
    r.has_result = !s.ColNull(6);
    if (r.has_result) r.result = s.ColBlob(6);
    if (!r.has_result && !s.ColNull(7)) {
      r.failed = true;
      r.error = s.ColText(7);
      r.data_loss = s.ColInt(8) != 0;
    }
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, "list study runs");
  return out;
}

StatusOr<StudyCounts> Store::CountStudyRuns(const std::string& study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT COUNT(*), "
         "  COALESCE(SUM(EXISTS(SELECT 1 FROM results r WHERE r.run_key = sr.run_key)), 0), "
         "  COALESCE(SUM(NOT EXISTS(SELECT 1 FROM results r WHERE r.run_key = sr.run_key) AND "
         "               EXISTS(SELECT 1 FROM failures f WHERE f.run_key = sr.run_key)), 0), "
         "  COALESCE(SUM(sr.reused), 0) "
         "FROM study_runs sr WHERE sr.study_id = ?");
  KREPLAY_RETURN_IF_ERROR(s.status("count study runs"));
  s.Text(1, study_id);
  if (s.Step() != SQLITE_ROW) return SqlError(db_, "count study runs");
  StudyCounts c;
  c.total = static_cast<uint64_t>(s.ColInt(0));
  c.done = static_cast<uint64_t>(s.ColInt(1));
  c.failed = static_cast<uint64_t>(s.ColInt(2));
  c.reused = static_cast<uint64_t>(s.ColInt(3));
  return c;
}

StatusOr<std::vector<StudyRunRow>> Store::PendingRuns(const std::string& study_id) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT sr.run_key, sr.variant, sr.platform, sr.workload, sr.seed, sr.work_item "
         "FROM study_runs sr WHERE sr.study_id = ? "
         "AND NOT EXISTS(SELECT 1 FROM results r WHERE r.run_key = sr.run_key) "
         "AND NOT EXISTS(SELECT 1 FROM failures f WHERE f.run_key = sr.run_key) "
         "ORDER BY sr.ordinal");
  KREPLAY_RETURN_IF_ERROR(s.status("pending runs"));
  s.Text(1, study_id);
  std::vector<StudyRunRow> out;
  int rc;
  while ((rc = s.Step()) == SQLITE_ROW) out.push_back(ReadRunColumns(s, study_id));
  if (rc != SQLITE_DONE) return SqlError(db_, "pending runs");
  return out;
}

StatusOr<std::optional<std::string>> Store::GetResult(const std::string& run_key) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT result FROM results WHERE run_key = ?");
  KREPLAY_RETURN_IF_ERROR(s.status("get result"));
  s.Text(1, run_key);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(s.ColBlob(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return SqlError(db_, "get result " + run_key);
}

StatusOr<std::optional<std::string>> Store::GetProvenance(const std::string& run_key) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_, "SELECT provenance FROM results WHERE run_key = ?");
  KREPLAY_RETURN_IF_ERROR(s.status("get provenance"));
  s.Text(1, run_key);
  int rc = s.Step();
  if (rc == SQLITE_ROW) return std::optional<std::string>(s.ColBlob(0));
  if (rc == SQLITE_DONE) return std::optional<std::string>();
  return SqlError(db_, "get provenance " + run_key);
}

}  // namespace kreplay::store
