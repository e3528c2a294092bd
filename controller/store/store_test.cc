#include "controller/store/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <thread>

namespace kreplay::store {
namespace {

StudyRow Study(const std::string& id, const std::string& request, int64_t created = 100) {
  StudyRow s;
  s.study_id = id;
  s.name = "study-" + id;
  s.spec_yaml = "study: x\n";
  s.spec_digest = "d-" + id;
  s.request_id = request;
  s.state = "PENDING";
  s.created_at = created;
  return s;
}

StudyRunRow RunRow(const std::string& key, uint64_t seed, const std::string& item = "") {
  StudyRunRow r;
  r.run_key = key;
  r.variant = "cfs";
  r.platform = "juno-r0";
  r.workload = "mixed";
  r.seed = seed;
  r.work_item = item.empty() ? "item:" + key : item;
  return r;
}

std::unique_ptr<Store> OpenMem() {
  auto s = Store::Open(":memory:");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(s).value();
}

// A fresh directory under TMPDIR, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kreplay_store_XXXXXX").string();
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(StoreTest, CreateAndFindStudies) {
  auto store = OpenMem();
  ASSERT_TRUE(store->CreateStudy(Study("s2", "req-b", 200), {RunRow("k1", 1)}).ok());
  ASSERT_TRUE(store->CreateStudy(Study("s1", "req-a", 100), {RunRow("k2", 1)}).ok());

  auto by_req = store->FindStudyByRequestId("req-b");
  ASSERT_TRUE(by_req.ok());
  ASSERT_TRUE(by_req->has_value());
  EXPECT_EQ((*by_req)->study_id, "s2");
  EXPECT_EQ((*by_req)->spec_digest, "d-s2");
  EXPECT_EQ((*by_req)->created_at, 200);

  auto missing = store->FindStudy("nope");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  auto all = store->ListStudies();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].study_id, "s1");  // created earlier
  EXPECT_EQ((*all)[1].study_id, "s2");

  Status st = store->CreateStudy(Study("s3", "req-a"), {});
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists) << st.ToString();

  ASSERT_TRUE(store->SetStudyState("s1", "FAILED", "boom").ok());
  auto s1 = store->FindStudy("s1");
  ASSERT_TRUE(s1.ok() && s1->has_value());
  EXPECT_EQ((*s1)->state, "FAILED");
  EXPECT_EQ((*s1)->message, "boom");
  EXPECT_EQ(store->SetStudyState("zz", "FAILED", "").code(), StatusCode::kNotFound);
}

TEST(StoreTest, CreateStudyIsAtomic) {
  auto store = OpenMem();
  // The second run repeats a key: the whole study must be rolled back.
  Status st = store->CreateStudy(Study("s1", "r1"), {RunRow("k1", 1), RunRow("k1", 2)});
  EXPECT_FALSE(st.ok());
  auto s = store->FindStudy("s1");
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s->has_value());
  auto counts = store->CountStudyRuns("s1");
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->total, 0u);
}

TEST(StoreTest, RecordingIsIdempotent) {
  auto store = OpenMem();
  auto first = store->RecordResult("k1", "sched.cfs", "1", "RESULT", "worker-a");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, RecordOutcome::kInserted);
  // A re-delivery from another worker: provenance differs, bytes equal.
  auto again = store->RecordResult("k1", "sched.cfs", "1", "RESULT", "worker-b");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, RecordOutcome::kDuplicateIdentical);
  auto got = store->GetResult("k1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, "RESULT");
  auto prov = store->GetProvenance("k1");
  ASSERT_TRUE(prov.ok() && prov->has_value());
  EXPECT_EQ(**prov, "worker-a");
  auto none = store->GetResult("k2");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(StoreTest, MismatchKeepsFirstResult) {
  auto store = OpenMem();
  ASSERT_EQ(*store->RecordResult("k1", "sched.cfs", "1", std::string("A\0B", 3), ""), RecordOutcome::kInserted);
  auto second = store->RecordResult("k1", "sched.cfs", "1", std::string("A\0C", 3), "");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, RecordOutcome::kDuplicateMismatch);
  auto got = store->GetResult("k1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ(**got, std::string("A\0B", 3));  // binary-safe, first kept
  // A different model version under the same key is also a mismatch.
  EXPECT_EQ(*store->RecordResult("k1", "sched.cfs", "2", std::string("A\0B", 3), ""),
            RecordOutcome::kDuplicateMismatch);
}

TEST(StoreTest, CountsPendingAndFailures) {
  auto store = OpenMem();
  ASSERT_TRUE(store->CreateStudy(Study("s1", "r1"), {RunRow("k1", 1), RunRow("k2", 2), RunRow("k3", 3), RunRow("k4", 4)}).ok());
  ASSERT_TRUE(store->RecordResult("k2", "m", "1", "R2", "").ok());
  ASSERT_TRUE(store->RecordFailure("k3", "worker crashed", true).ok());

  auto c = store->CountStudyRuns("s1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->total, 4u);
  EXPECT_EQ(c->done, 1u);
  EXPECT_EQ(c->failed, 1u);
  EXPECT_EQ(c->reused, 0u);

  auto pending = store->PendingRuns("s1");
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].run_key, "k1");  // creation order
  EXPECT_EQ((*pending)[0].work_item, "item:k1");
  EXPECT_EQ((*pending)[1].run_key, "k4");
  EXPECT_EQ((*pending)[1].seed, 4u);

  auto runs = store->ListStudyRuns("s1");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 4u);
  EXPECT_FALSE((*runs)[0].has_result);
  EXPECT_TRUE((*runs)[1].has_result);
  EXPECT_EQ((*runs)[1].result, "R2");
  EXPECT_TRUE((*runs)[2].failed);
  EXPECT_TRUE((*runs)[2].data_loss);
  EXPECT_EQ((*runs)[2].error, "worker crashed");

  // A result arriving after a failure wins: done, no longer failed.
  ASSERT_TRUE(store->RecordResult("k3", "m", "1", "R3", "").ok());
  c = store->CountStudyRuns("s1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->done, 2u);
  EXPECT_EQ(c->failed, 0u);
}

TEST(StoreTest, ResultsAreReusedAcrossStudies) {
  auto store = OpenMem();
  ASSERT_TRUE(store->CreateStudy(Study("s1", "r1"), {RunRow("k1", 1), RunRow("k2", 2)}).ok());
  ASSERT_TRUE(store->RecordResult("k1", "m", "1", "R1", "").ok());
  ASSERT_TRUE(store->RecordFailure("k2", "transient", false).ok());

  // s2 shares k1 (has a result) and k2 (failed earlier), adds k3.
  ASSERT_TRUE(store->CreateStudy(Study("s2", "r2"), {RunRow("k1", 1), RunRow("k2", 2), RunRow("k3", 3)}).ok());
  auto c = store->CountStudyRuns("s2");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->total, 3u);
  EXPECT_EQ(c->done, 1u);
  EXPECT_EQ(c->reused, 1u);
  EXPECT_EQ(c->failed, 0u);  // the new study retries k2
  auto pending = store->PendingRuns("s2");
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].run_key, "k2");
  EXPECT_EQ((*pending)[1].run_key, "k3");

  // Completing k3 for s2 does not touch s1's counts.
  ASSERT_TRUE(store->RecordResult("k3", "m", "1", "R3", "").ok());
  auto c1 = store->CountStudyRuns("s1");
  ASSERT_TRUE(c1.ok());
  EXPECT_EQ(c1->total, 2u);
  EXPECT_EQ(c1->done, 1u);
}

TEST(StoreTest, PersistsAcrossReopen) {
  TempDir dir;
  std::string path = dir.path() + "/ledger.db";
  const uint64_t big_seed = UINT64_MAX - 1;  // above INT64_MAX: stored as a bit pattern
  {
    auto s = Store::Open(path);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    ASSERT_TRUE((*s)->CreateStudy(Study("s1", "r1"), {RunRow("k1", big_seed), RunRow("k2", 7, std::string("\0\1", 2))}).ok());
    ASSERT_EQ(*(*s)->RecordResult("k1", "m", "1", "R1", "P1"), RecordOutcome::kInserted);
    ASSERT_TRUE((*s)->SetStudyState("s1", "RUNNING", "").ok());
    // WAL mode: writes go to the -wal file while the connection is open.
    EXPECT_TRUE(std::filesystem::exists(path + "-wal"));
  }
  auto s = Store::Open(path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto study = (*s)->FindStudy("s1");
  ASSERT_TRUE(study.ok() && study->has_value());
  EXPECT_EQ((*study)->state, "RUNNING");
  auto runs = (*s)->ListStudyRuns("s1");
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].seed, big_seed);
  EXPECT_TRUE((*runs)[0].has_result);
  EXPECT_EQ((*runs)[0].result, "R1");
  EXPECT_EQ((*runs)[1].work_item, std::string("\0\1", 2));
  EXPECT_EQ(*(*s)->RecordResult("k1", "m", "1", "R1", "P2"), RecordOutcome::kDuplicateIdentical);
}

TEST(StoreTest, ConcurrentRecording) {
  TempDir dir;
  auto opened = Store::Open(dir.path() + "/ledger.db");
  ASSERT_TRUE(opened.ok());
  Store& store = **opened;
  constexpr int kThreads = 4, kKeys = 60;
  std::atomic<int> inserted{0}, identical{0}, mismatch{0}, errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int k = 0; k < kKeys; ++k) {
        // Every thread records every key; thread 3 sends different bytes for
        // keys divisible by 10, which must surface as mismatches or win the race.
        int key = (k + t * 17) % kKeys;
        std::string key_text = std::to_string(key);
        std::string bytes = std::string("R").append(key_text);
        if (t == 3 && key % 10 == 0) bytes += "-bad";
        auto o = store.RecordResult(std::string("k").append(key_text), "m", "1", bytes, std::to_string(t));
        if (!o.ok()) {
          ++errors;
        } else if (*o == RecordOutcome::kInserted) {
          ++inserted;
        } else if (*o == RecordOutcome::kDuplicateIdentical) {
          ++identical;
        } else {
          ++mismatch;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(inserted.load(), kKeys);  // exactly one insert per key
  EXPECT_EQ(inserted + identical + mismatch, kThreads * kKeys);
  // Per bad key: if the bad bytes won, the 3 good ones mismatch; otherwise
  // the 1 bad one does. Either way at least one mismatch per bad key.
  int bad_keys = kKeys / 10;
  EXPECT_GE(mismatch.load(), bad_keys);
  EXPECT_LE(mismatch.load(), 3 * bad_keys);
  for (int k = 1; k < kKeys; k += 7) {
    if (k % 10 == 0) continue;
    auto got = store.GetResult("k" + std::to_string(k));
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ(**got, "R" + std::to_string(k));
  }
}

}  // namespace
}  // namespace kreplay::store
