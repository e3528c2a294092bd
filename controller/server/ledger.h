// The part of the ledger (store::Store) the controller server uses, behind an
// interface so the run table can be tested against an in-memory twin
// (testing/fakes.h). The contracts are store::Store's: see
// controller/store/store.h for each method.
//
// Thread-safety: implementations must be safe for concurrent use.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "controller/store/store.h"
#include "services/core/status.h"

namespace kreplay::server {

class Ledger {
 public:
  virtual ~Ledger() = default;

  virtual StatusOr<std::optional<store::StudyRow>> FindStudyByRequestId(const std::string& request_id) = 0;
  virtual StatusOr<std::optional<store::StudyRow>> FindStudy(const std::string& study_id) = 0;
  virtual StatusOr<std::vector<store::StudyRow>> ListStudies() = 0;
  virtual Status CreateStudy(const store::StudyRow& study, const std::vector<store::StudyRunRow>& runs) = 0;
  virtual Status SetStudyState(const std::string& study_id, const std::string& state, const std::string& message) = 0;
  virtual StatusOr<store::RecordOutcome> RecordResult(const std::string& run_key, const std::string& model,
                                                      const std::string& model_version, const std::string& result_bytes,
                                                      const std::string& provenance_bytes) = 0;
  virtual Status RecordFailure(const std::string& run_key, const std::string& error, bool data_loss) = 0;
  virtual StatusOr<std::vector<store::StudyRunRow>> ListStudyRuns(const std::string& study_id) = 0;
  virtual StatusOr<store::StudyCounts> CountStudyRuns(const std::string& study_id) = 0;
  virtual StatusOr<std::vector<store::StudyRunRow>> PendingRuns(const std::string& study_id) = 0;
};

// The real ledger: forwards to a store::Store it owns.
class StoreLedger final : public Ledger {
 public:
  explicit StoreLedger(std::unique_ptr<store::Store> store) : store_(std::move(store)) {}

  StatusOr<std::optional<store::StudyRow>> FindStudyByRequestId(const std::string& request_id) override {
    return store_->FindStudyByRequestId(request_id);
  }
  StatusOr<std::optional<store::StudyRow>> FindStudy(const std::string& study_id) override {
    return store_->FindStudy(study_id);
  }
  StatusOr<std::vector<store::StudyRow>> ListStudies() override { return store_->ListStudies(); }
  Status CreateStudy(const store::StudyRow& study, const std::vector<store::StudyRunRow>& runs) override {
    return store_->CreateStudy(study, runs);
  }
  Status SetStudyState(const std::string& study_id, const std::string& state, const std::string& message) override {
    return store_->SetStudyState(study_id, state, message);
  }
  StatusOr<store::RecordOutcome> RecordResult(const std::string& run_key, const std::string& model,
                                              const std::string& model_version, const std::string& result_bytes,
                                              const std::string& provenance_bytes) override {
    return store_->RecordResult(run_key, model, model_version, result_bytes, provenance_bytes);
  }
  Status RecordFailure(const std::string& run_key, const std::string& error, bool data_loss) override {
    return store_->RecordFailure(run_key, error, data_loss);
  }
  StatusOr<std::vector<store::StudyRunRow>> ListStudyRuns(const std::string& study_id) override {
    return store_->ListStudyRuns(study_id);
  }
  StatusOr<store::StudyCounts> CountStudyRuns(const std::string& study_id) override {
    return store_->CountStudyRuns(study_id);
  }
  StatusOr<std::vector<store::StudyRunRow>> PendingRuns(const std::string& study_id) override {
    return store_->PendingRuns(study_id);
  }

 private:
  std::unique_ptr<store::Store> store_;
};

}  // namespace kreplay::server
