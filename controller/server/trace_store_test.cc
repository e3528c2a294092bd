#include "controller/server/trace_store.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "services/codec/sched_trace.h"
#include "workers/models/builtin.h"

namespace kreplay::server {
namespace {

workload::SchedWorkload Make(int phases) {
  workload::SchedWorkload w;
  workload::SchedTaskSpec t;
  t.name = "a";
  for (int i = 0; i < phases; ++i) t.phases.push_back({workload::PhaseOp::kRun, 1000 + i * 7, 0});
  w.tasks.push_back(t);
  return w;
}

TEST(TraceStore, StoresReadsAndSurvivesReopen) {
  std::string dir = ::testing::TempDir() + "/trace_store_test";
  std::filesystem::remove_all(dir);
  family::Catalog catalog;
  models::RegisterBuiltinFamilies(catalog);
  const family::FamilyInfo& sched = *catalog.Find("sched");
  auto w = model::AnyValue::Make(Make(50000), 0);
  std::string digest;
  {
    auto s = TraceStore::Open(dir);
    ASSERT_TRUE(s.ok());
    auto m = (*s)->Put(sched, w, 8192, "test");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    digest = m->digest();
    EXPECT_GT(m->chunk_count(), 5u);
    auto again = (*s)->Put(sched, w, 8192, "test");  // content-addressed: stored once
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->digest(), digest);
  }
  auto s = TraceStore::Open(dir);
  ASSERT_TRUE(s.ok());
  auto m = (*s)->Manifest(digest);
  ASSERT_TRUE(m.ok());
  codec::SchedTraceAssembler a(*m);
  for (uint32_t i = 0; i < m->chunk_count(); ++i) {
    auto c = (*s)->ReadChunk(digest, i);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(a.Add(*c).ok());
  }
  auto back = a.Finish();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == *w.As<workload::SchedWorkload>());
  EXPECT_EQ((*s)->ReadChunk(digest, m->chunk_count()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*s)->Manifest("feed").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kreplay::server
