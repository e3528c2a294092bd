// The run table against fakes: leases, expiry, re-publication, claims,
// recording, batching. Time moves only through FakeClock; no threads.
#include "controller/server/run_table.h"

#include <gtest/gtest.h>

#include "controller/server/testing/fakes.h"
#include "services/codec/convert.h"

namespace kreplay::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Phase = RunTable::Phase;

class RunTableTest : public ::testing::Test {
 protected:
  RunTableTest() {
    RunTableOptions o;
    o.items_per_thread = 2;
    o.max_batch_runs = 8;
    o.lease_seconds = 30;
    o.worker_timeout_seconds = 10;
    o.claim_timeout_seconds = 120;
    o.epoch = 7;
    o.work_topic = "work";
    table_ = std::make_unique<RunTable>(o, &ledger_, &pub_, &clock_,
                                        [](const std::string& model) { return model == "batchy"; }, nullptr);
  }

  // A study whose runs share model, system, workload and seed and differ in
  // one parameter; the ledger first, then the table, as Submit does.
  void CreateStudy(const std::string& id, const std::vector<std::string>& keys, const std::string& model = "m") {
    store::StudyRow row;
    row.study_id = id;
    row.request_id = id;
    row.state = "STUDY_RUNNING";
    std::vector<store::StudyRunRow> rows;
    int64_t i = 0;
    for (const auto& key : keys) {
      v1::WorkItem wi;
      wi.set_run_key(key);
      wi.set_study_id(id);
      wi.set_model(model);
      wi.set_model_version("1");
      auto* p = wi.add_params();
      p->set_name("x");
      p->mutable_value()->set_int_value(i++);
      wi.mutable_system()->set_digest("sys");
      wi.set_workload_digest("wl");
      wi.set_seed(1);
      wi.set_estimated_cost(10);
      store::StudyRunRow rr;
      rr.study_id = id;
      rr.run_key = key;
      rr.work_item = codec::DeterministicBytes(wi);
      rows.push_back(rr);
    }
    ASSERT_TRUE(ledger_.CreateStudy(row, rows).ok());
    auto totals = table_->Add(id);
    ASSERT_TRUE(totals.ok()) << totals.status().ToString();
  }

  void AddWorker(const std::string& id, uint32_t threads = 1) {
    v1::WorkerInfo info;
    info.set_worker_id(id);
    info.set_threads(threads);
    ASSERT_TRUE(table_->RegisterWorker(info).ok());
    Heartbeat(id, {});
  }

  v1::HeartbeatResponse Heartbeat(const std::string& worker, const std::vector<std::string>& in_flight) {
    v1::HeartbeatRequest req;
    req.set_worker_id(worker);
    for (const auto& k : in_flight) req.add_in_flight(k);
    req.set_assignment_known(true);
    req.add_work_partitions(worker == "w1" ? 0 : 1);
    auto resp = table_->Heartbeat(req);
    EXPECT_TRUE(resp.ok());
    return resp.ok() ? *resp : v1::HeartbeatResponse{};
  }

  // One work pump round.
  void Pump() {
    table_->ExpireLeases();
    table_->PublishRound();
  }

  // Advances the clock in 5 s steps, heartbeating `alive` workers (without
  // renewing any lease) and pumping after each step.
  void Pass(seconds total, const std::vector<std::string>& alive) {
    for (seconds t{0}; t < total; t += seconds(5)) {
      clock_.Advance(seconds(5));
      for (const auto& w : alive) Heartbeat(w, {});
      Pump();
    }
  }

  std::vector<v1::WorkItem> Items() const {
    std::vector<v1::WorkItem> out;
    for (const auto& m : pub_.messages()) {
      EXPECT_EQ(m.topic, "work");
      v1::WorkItem wi;
      EXPECT_TRUE(wi.ParseFromString(m.value));
      out.push_back(wi);
    }
    return out;
  }
  // Publications carrying `key`, on its own or in a batch.
  int Publications(const std::string& key) const {
    int n = 0;
    for (const auto& wi : Items()) {
      n += wi.run_key() == key;
      for (const auto& b : wi.batch()) n += b.run_key() == key;
    }
    return n;
  }

  v1::ClaimRunResponse::Decision Claim(const std::string& worker, const std::string& key) {
    v1::ClaimRunRequest req;
    req.set_worker_id(worker);
    req.set_run_key(key);
    return table_->Claim(req).decision();
  }

  v1::ReportResultResponse Report(const std::string& worker, const std::string& key, const std::string& bytes) {
    v1::ReportResultRequest req;
    req.set_worker_id(worker);
    req.set_run_key(key);
    req.set_result(bytes);
    auto resp = table_->Report(req);
    EXPECT_TRUE(resp.ok()) << resp.status().ToString();
    return resp.ok() ? *resp : v1::ReportResultResponse{};
  }

  Phase PhaseOf(const std::string& key) const {
    auto v = table_->Inspect(key);
    EXPECT_TRUE(v.has_value());
    return v ? v->phase : Phase::kPending;
  }

  v1::StudyProgress Progress(const std::string& id) {
    auto p = table_->LoadedProgress(id);
    EXPECT_TRUE(p.ok());
    return p.ok() ? *p : v1::StudyProgress{};
  }

  test::FakeClock clock_;
  test::FakeLedger ledger_;
  test::FakePublisher pub_;
  std::unique_ptr<RunTable> table_;
};

TEST_F(RunTableTest, PublishesPendingRunsToTheWorkersPartitions) {
  CreateStudy("s1", {"k1", "k2", "k3"});
  Pump();
  EXPECT_TRUE(pub_.messages().empty());  // no worker yet
  AddWorker("w1", /*threads=*/1);
  Pump();
  auto msgs = pub_.messages();
  ASSERT_EQ(msgs.size(), 2u);  // items_per_thread x threads
  for (const auto& m : msgs) {
    EXPECT_EQ(m.partition, 0);
    ASSERT_EQ(m.headers.size(), 1u);
    EXPECT_EQ(m.headers[0], (std::pair<std::string, std::string>{"kreplay-epoch", "7"}));
  }
  EXPECT_EQ(PhaseOf("k1"), Phase::kPublished);
  EXPECT_EQ(PhaseOf("k3"), Phase::kPending);
  Pump();
  EXPECT_EQ(pub_.messages().size(), 2u);  // the window is full
}

TEST_F(RunTableTest, ExpiredLeaseRepublishesExactlyOnce) {
  CreateStudy("s1", {"k1"});
  AddWorker("w1");
  Pump();
  ASSERT_EQ(Publications("k1"), 1);
  EXPECT_EQ(Claim("w1", "k1"), v1::ClaimRunResponse::RUN);
  EXPECT_EQ(PhaseOf("k1"), Phase::kLeased);
  // The worker stays alive but never renews the lease.
  Pass(seconds(25), {"w1"});
  EXPECT_EQ(PhaseOf("k1"), Phase::kLeased);
  EXPECT_EQ(Publications("k1"), 1);
  Pass(seconds(10), {"w1"});  // 35 s > lease_seconds
  EXPECT_EQ(Publications("k1"), 2);
  EXPECT_EQ(PhaseOf("k1"), Phase::kPublished);
  EXPECT_EQ(Items().back().attempt(), 1u);
  // Re-publication starts a new claim deadline: nothing more for a while.
  for (int i = 0; i < 10; ++i) Pump();
  Pass(seconds(60), {"w1"});
  EXPECT_EQ(Publications("k1"), 2);
  EXPECT_EQ(Progress("s1").republished(), 1u);
}

TEST_F(RunTableTest, HeartbeatsRenewTheLease) {
  CreateStudy("s1", {"k1"});
  AddWorker("w1");
  Pump();
  ASSERT_EQ(Claim("w1", "k1"), v1::ClaimRunResponse::RUN);
  for (int i = 0; i < 30; ++i) {
    clock_.Advance(seconds(5));
    Heartbeat("w1", {"k1"});
    Pump();
  }
  EXPECT_EQ(PhaseOf("k1"), Phase::kLeased);
  EXPECT_EQ(Publications("k1"), 1);
}

TEST_F(RunTableTest, UnclaimedItemRepublishesAfterClaimTimeout) {
  CreateStudy("s1", {"k1"});
  AddWorker("w1");
  Pump();
  Pass(seconds(115), {"w1"});
  EXPECT_EQ(Publications("k1"), 1);
  Pass(seconds(10), {"w1"});  // 125 s > claim_timeout_seconds
  EXPECT_EQ(Publications("k1"), 2);
  EXPECT_EQ(Progress("s1").republished(), 1u);
}

TEST_F(RunTableTest, DeadWorkersRunsGoToAnotherWorker) {
  CreateStudy("s1", {"k1"});
  AddWorker("w1");
  Pump();
  ASSERT_EQ(Claim("w1", "k1"), v1::ClaimRunResponse::RUN);
  AddWorker("w2");
  Pass(seconds(10), {"w2"});  // w1 silent for 10 s: not yet presumed dead
  EXPECT_EQ(PhaseOf("k1"), Phase::kLeased);
  Pass(seconds(5), {"w2"});
  EXPECT_EQ(Progress("s1").workers_alive(), 1u);
  auto v = table_->Inspect("k1");
  ASSERT_TRUE(v.has_value());
  EXPECT_EQ(v->phase, Phase::kPublished);
  EXPECT_EQ(v->worker, "w2");
  EXPECT_EQ(pub_.messages().back().partition, 1);  // w2's partition
  EXPECT_EQ(Publications("k1"), 2);
}

TEST_F(RunTableTest, LateResultAfterRepublicationIsRecordedOnce) {
  CreateStudy("s1", {"k1", "k2"});
  AddWorker("w1");
  Pump();
  ASSERT_EQ(Claim("w1", "k1"), v1::ClaimRunResponse::RUN);
  AddWorker("w2");
  Pass(seconds(15), {"w2"});  // w1 presumed dead: k1 re-published to w2
  ASSERT_EQ(Publications("k1"), 2);
  ASSERT_EQ(Claim("w2", "k1"), v1::ClaimRunResponse::RUN);
  auto first = Report("w2", "k1", "R");
  EXPECT_TRUE(first.recorded());
  EXPECT_FALSE(first.duplicate());
  // w1 was only slow: its result arrives late, with the same bytes.
  auto late = Report("w1", "k1", "R");
  EXPECT_TRUE(late.recorded());
  EXPECT_TRUE(late.duplicate());
  // Same bytes, same model: not a determinism bug, although the run's work
  // item was dropped when it was recorded.
  EXPECT_FALSE(late.determinism_mismatch());
  EXPECT_EQ(Progress("s1").message(), "");
  EXPECT_EQ(ledger_.result_count(), 1u);
  EXPECT_EQ(PhaseOf("k1"), Phase::kDone);
  EXPECT_EQ(Progress("s1").runs_done(), 1u);  // counted once
  EXPECT_EQ(Claim("w1", "k1"), v1::ClaimRunResponse::SKIP);
  // The study finishes when its other run is recorded, not before.
  ASSERT_EQ(Claim("w2", "k2"), v1::ClaimRunResponse::RUN);
  Report("w2", "k2", "R2");
  EXPECT_EQ(Progress("s1").runs_done(), 2u);
  EXPECT_EQ(Progress("s1").state(), v1::STUDY_SUCCEEDED);
  EXPECT_EQ(ledger_.StudyState("s1"), "STUDY_SUCCEEDED");
}

TEST_F(RunTableTest, DuplicateWithDifferentBytesIsFlagged) {
  CreateStudy("s1", {"k1"});
  AddWorker("w1");
  Pump();
  ASSERT_EQ(Claim("w1", "k1"), v1::ClaimRunResponse::RUN);
  EXPECT_FALSE(Report("w1", "k1", "R1").determinism_mismatch());
  auto again = Report("w2", "k1", "R2");
  EXPECT_TRUE(again.recorded());
  EXPECT_TRUE(again.duplicate());
  EXPECT_TRUE(again.determinism_mismatch());
  EXPECT_EQ(ledger_.Result("k1"), "R1");  // the first result is kept
  EXPECT_NE(Progress("s1").message().find("determinism bug: run k1"), std::string::npos);
  EXPECT_EQ(Progress("s1").runs_done(), 1u);
}

TEST_F(RunTableTest, ClaimOfRunLeasedElsewhereIsSkippedUntilTheLeaseEnds) {
  CreateStudy("s1", {"k1"});
  AddWorker("w1");
  Pump();
  ASSERT_EQ(Claim("w1", "k1"), v1::ClaimRunResponse::RUN);
  EXPECT_EQ(Claim("w2", "k1"), v1::ClaimRunResponse::SKIP);
  EXPECT_EQ(Claim("w1", "k1"), v1::ClaimRunResponse::RUN);  // its own again: fine
  clock_.Advance(seconds(31));
  EXPECT_EQ(Claim("w2", "k1"), v1::ClaimRunResponse::RUN);
  EXPECT_EQ(Claim("w1", "unknown"), v1::ClaimRunResponse::SKIP);
}

TEST_F(RunTableTest, BatchItemsClaimAndRecordEachRunOnItsOwn) {
  CreateStudy("s1", {"b1", "b2", "b3"}, "batchy");
  AddWorker("w1", /*threads=*/4);
  Pump();
  auto items = Items();
  ASSERT_EQ(items.size(), 1u);  // one item carries all three
  ASSERT_EQ(items[0].batch_size(), 2);
  std::vector<std::string> keys = {items[0].run_key(), items[0].batch(0).run_key(), items[0].batch(1).run_key()};
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(keys, (std::vector<std::string>{"b1", "b2", "b3"}));
  for (const auto& k : keys) EXPECT_EQ(PhaseOf(k), Phase::kPublished);
  // Each run is claimed and recorded on its own.
  EXPECT_EQ(Claim("w1", "b1"), v1::ClaimRunResponse::RUN);
  EXPECT_EQ(PhaseOf("b1"), Phase::kLeased);
  EXPECT_EQ(PhaseOf("b2"), Phase::kPublished);
  EXPECT_EQ(Claim("w1", "b2"), v1::ClaimRunResponse::RUN);
  Report("w1", "b1", "r1");
  EXPECT_EQ(PhaseOf("b1"), Phase::kDone);
  EXPECT_EQ(PhaseOf("b2"), Phase::kLeased);
  EXPECT_EQ(Progress("s1").runs_done(), 1u);
  Report("w1", "b2", "r2");
  EXPECT_EQ(Progress("s1").runs_done(), 2u);
  EXPECT_EQ(ledger_.Result("b2"), "r2");
  // b3 was never claimed: it alone is re-published when its claim deadline passes.
  Pass(seconds(125), {"w1"});
  EXPECT_EQ(Publications("b3"), 2);
  EXPECT_EQ(Publications("b1"), 1);
  EXPECT_EQ(Publications("b2"), 1);
  EXPECT_EQ(Items().back().run_key(), "b3");
  EXPECT_EQ(Items().back().batch_size(), 0);
  EXPECT_EQ(Progress("s1").republished(), 1u);
}

TEST_F(RunTableTest, RunsOfModelsWithoutBatchFunctionTravelAlone) {
  CreateStudy("s1", {"k1", "k2", "k3"}, "m");
  AddWorker("w1", /*threads=*/4);
  Pump();
  auto items = Items();
  ASSERT_EQ(items.size(), 3u);
  for (const auto& wi : items) EXPECT_EQ(wi.batch_size(), 0);
}

TEST_F(RunTableTest, FailedDeliveryAndFullQueueRequeue) {
  CreateStudy("s1", {"k1", "k2"});
  AddWorker("w1");
  pub_.FailProduce(Unavailable("queue full"));
  Pump();
  EXPECT_EQ(PhaseOf("k1"), Phase::kPending);  // not enqueued: back in the queue
  EXPECT_EQ(PhaseOf("k2"), Phase::kPending);
  EXPECT_EQ(Progress("s1").republished(), 0u);
  pub_.FailProduce(OkStatus());
  Pump();
  ASSERT_EQ(pub_.messages().size(), 2u);
  ASSERT_TRUE(pub_.Deliver(Unavailable("broker gone")).ok());  // enqueued, then lost
  EXPECT_EQ(PhaseOf("k1"), Phase::kPublished);
  Pump();  // the next round re-queues and re-publishes them
  EXPECT_EQ(Publications("k1"), 2);
  EXPECT_EQ(Publications("k2"), 2);
}

TEST_F(RunTableTest, CancelledStudysRunsAreCancelledByHeartbeat) {
  CreateStudy("s1", {"k1"});
  AddWorker("w1");
  Pump();
  ASSERT_EQ(Claim("w1", "k1"), v1::ClaimRunResponse::RUN);
  EXPECT_EQ(Heartbeat("w1", {"k1"}).cancel_size(), 0);
  auto p = table_->Cancel("s1");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->state(), v1::STUDY_CANCELLED);
  EXPECT_EQ(ledger_.StudyState("s1"), "STUDY_CANCELLED");
  auto hb = Heartbeat("w1", {"k1"});
  ASSERT_EQ(hb.cancel_size(), 1);
  EXPECT_EQ(hb.cancel(0), "k1");
}

TEST_F(RunTableTest, ResumeQueuesUnrecordedRunsAgain) {
  CreateStudy("s1", {"k1", "k2"});
  AddWorker("w1");
  Pump();
  ASSERT_EQ(Claim("w1", "k1"), v1::ClaimRunResponse::RUN);
  Report("w1", "k1", "R");
  ASSERT_TRUE(table_->Cancel("s1").ok());
  auto totals = table_->Resume("s1", "STUDY_CANCELLED");
  ASSERT_TRUE(totals.ok());
  EXPECT_EQ(totals->total, 2u);
  EXPECT_EQ(totals->done, 1u);
  EXPECT_EQ(ledger_.StudyState("s1"), "STUDY_RUNNING");
  EXPECT_EQ(Progress("s1").state(), v1::STUDY_RUNNING);
}

TEST_F(RunTableTest, UnknownWorkerMustRegister) {
  v1::HeartbeatRequest req;
  req.set_worker_id("nobody");
  EXPECT_EQ(table_->Heartbeat(req).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(table_->RegisterWorker(v1::WorkerInfo{}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(table_->Progress("nope").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kreplay::server
