#include <gtest/gtest.h>

#include "services/codec/convert.h"
#include "services/codec/sched_trace.h"
#include "services/sim/rng.h"

namespace kreplay::codec {
namespace {

workload::SchedWorkload MakeWorkload(int tasks, int phases, uint64_t seed) {
  sim::Rng rng(seed);
  workload::SchedWorkload w;
  w.duration_ns = 5'000'000'000;
  w.calibration_khz = 1'100'000;
  for (int t = 0; t < tasks; ++t) {
    workload::SchedTaskSpec s;
    s.name = "t" + std::to_string(t);
    s.nice = t % 3 - 1;
    s.kind = "interactive";
    for (int p = 0; p < phases; ++p) {
      s.phases.push_back({workload::PhaseOp::kRun, rng.Range(1000, 5'000'000), 0});
      s.phases.push_back({workload::PhaseOp::kSleep, rng.Range(1000, 50'000'000), 0});
    }
    w.tasks.push_back(std::move(s));
  }
  return w;
}

TEST(SchedTrace, RoundTripAcrossManyChunks) {
  auto w = MakeWorkload(7, 3000, 1);
  size_t chunks = 0;
  auto m = EncodeSchedWorkload(w, 4096, [&](v1::TraceChunk&&) { ++chunks; }, "test");
  EXPECT_GT(chunks, 10u);
  EXPECT_EQ(m.chunk_count(), chunks);
  EXPECT_EQ(m.record_count(), 7u * 6000u);
  auto back = RoundTrip(w, 4096);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == w);
}

TEST(SchedTrace, PoliciesAndGroupsTravel) {
  auto w = MakeWorkload(3, 4, 5);
  w.tasks[0].policy = workload::SchedPolicy::kRr;
  w.tasks[0].rt_priority = 50;
  w.tasks[1].policy = workload::SchedPolicy::kIdle;
  w.tasks[2].group = "/a/b";
  w.groups = {{"/a", 512}, {"/a/b", 2048}};
  auto dl = MakeWorkload(1, 4, 7).tasks[0];
  dl.name = "dl";
  dl.policy = workload::SchedPolicy::kDeadline;
  dl.dl_runtime_ns = 10'000'000;
  dl.dl_deadline_ns = 30'000'000;
  dl.dl_period_ns = 100'000'000;
  w.tasks.push_back(dl);
  auto back = RoundTrip(w, 1024);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == w);
}

TEST(SchedTrace, UnknownPolicyFromANewerSenderIsRefused) {
  auto w = MakeWorkload(1, 2, 6);
  std::vector<v1::TraceChunk> chunks;
  auto m = EncodeSchedWorkload(w, 1024, [&](v1::TraceChunk&& c) { chunks.push_back(std::move(c)); }, "t");
  v1::SchedWorkloadHeader h;
  ASSERT_TRUE(h.ParseFromString(m.header()));
  h.mutable_tasks(0)->set_policy(9);
  m.set_header(h.SerializeAsString());
  SchedTraceAssembler a(m);
  Status s = a.Add(chunks[0]);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("unknown scheduling policy"), std::string::npos) << s.ToString();
}

TEST(SchedTrace, ChunksRespectTheBound) {
  auto w = MakeWorkload(3, 20000, 2);
  EncodeSchedWorkload(w, 16384, [&](v1::TraceChunk&& c) { EXPECT_LE(c.payload().size(), 16384u + 64u); }, "t");
}

TEST(SchedTrace, DigestDependsOnContent) {
  auto w = MakeWorkload(2, 10, 3);
  auto sink = [](v1::TraceChunk&&) {};
  auto m1 = EncodeSchedWorkload(w, 1024, sink, "a");
  w.tasks[1].phases[5].a += 1;
  auto m2 = EncodeSchedWorkload(w, 1024, sink, "a");
  EXPECT_NE(m1.digest(), m2.digest());
  EXPECT_EQ(m1.digest().size(), 64u);
}

class AssemblerFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    w_ = MakeWorkload(3, 500, 4);
    m_ = EncodeSchedWorkload(w_, 2048, [&](v1::TraceChunk&& c) { chunks_.push_back(std::move(c)); }, "t");
    for (auto& c : chunks_) c.set_digest(m_.digest());
    ASSERT_GT(chunks_.size(), 3u);
  }
  workload::SchedWorkload w_;
  v1::TraceManifest m_;
  std::vector<v1::TraceChunk> chunks_;
};

TEST_F(AssemblerFaults, GapIsDataLoss) {
  SchedTraceAssembler a(m_);
  ASSERT_TRUE(a.Add(chunks_[0]).ok());
  Status st = a.Add(chunks_[2]);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_NE(st.message().find("expected chunk 1"), std::string::npos) << st.message();
}

TEST_F(AssemblerFaults, CorruptPayloadIsDataLoss) {
  SchedTraceAssembler a(m_);
  chunks_[0].mutable_payload()->at(5) ^= 0x40;
  EXPECT_EQ(a.Add(chunks_[0]).code(), StatusCode::kDataLoss);
}

TEST_F(AssemblerFaults, TruncatedTraceCannotFinish) {
  SchedTraceAssembler a(m_);
  for (size_t i = 0; i + 1 < chunks_.size(); ++i) ASSERT_TRUE(a.Add(chunks_[i]).ok());
  EXPECT_FALSE(a.complete());
  EXPECT_EQ(a.Finish().status().code(), StatusCode::kDataLoss);
}

TEST_F(AssemblerFaults, ForgedManifestCountFailsDigest) {
  // Drop the last chunk and pretend the trace was shorter: the digest catches it.
  auto m = m_;
  m.set_chunk_count(m.chunk_count() - 1);
  m.set_record_count(m.record_count() - chunks_.back().record_count());
  SchedTraceAssembler a(m);
  for (size_t i = 0; i + 1 < chunks_.size(); ++i) ASSERT_TRUE(a.Add(chunks_[i]).ok());
  auto r = a.Finish();
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("digest mismatch"), std::string::npos);
}

TEST(Convert, ResultBytesAreDeterministicAndRoundTrip) {
  model::Result r;
  r.Set("energy", 12.5, "J");
  r.Set("migrations", 3, "");
  sim::Histogram h;
  for (int i = 0; i < 1000; ++i) h.Record(i * 37);
  r.histograms.emplace("wakeup_latency", h);
  r.sim_events = 99;
  r.sim_time_ns = 1234;
  std::string a = SerializeResult(r), b = SerializeResult(r);
  EXPECT_EQ(a, b);
  auto back = ParseResult(a);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(SerializeResult(*back), a);
  EXPECT_TRUE(back->histograms.at("wakeup_latency") == h);
  EXPECT_FALSE(ParseResult("\xff\xff garbage").ok());
}

TEST(Convert, PlatformRoundTripAndDigest) {
  workload::Platform p;
  p.name = "x";
  p.power_unit = "mW";
  p.clusters.push_back({"a7", "cortex-a7", 3, 430, 2048, false, {{350000, 150, 187, 2967}}, {{"wfi", 1, 25, 1000, 1000}}, 100000});
  auto back = PlatformFromProto(PlatformToProto(p));
  EXPECT_EQ(PlatformBytes(back), PlatformBytes(p));
  auto q = p;
  q.clusters[0].opps[0].cpu_power = 188;
  EXPECT_NE(PlatformDigest(p), PlatformDigest(q));
}

}  // namespace
}  // namespace kreplay::codec
