// Trace streams against fakes: the per-partition window, acks, idle streams,
// re-sends and reuse. The pump is driven by hand; time by FakeClock.
#include "controller/server/trace_streams.h"

#include <gtest/gtest.h>

#include <random>

#include "controller/server/testing/fakes.h"

namespace kreplay::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Result = TraceStreams::PumpResult;

constexpr uint64_t kWindow = 4000;

class TraceStreamsTest : public ::testing::Test {
 protected:
  void Make(bool reuse = false, int partitions = 2) {
    TraceStreamsOptions o;
    o.window_bytes = kWindow;
    o.reuse_published = reuse;
    o.epoch = 3;
    o.topic = "traces";
    o.partitions = partitions;
    streams_ = std::make_unique<TraceStreams>(o, &traces_, &pub_, &clock_, nullptr);
  }

  v1::OpenTraceRequest Req(const std::string& digest, uint32_t from = 0) {
    v1::OpenTraceRequest r;
    r.set_worker_id("w1");
    r.set_digest(digest);
    r.set_from_chunk(from);
    return r;
  }

  void Ack(const std::string& stream_id, uint32_t next_chunk) {
    v1::AckTraceRequest a;
    a.set_stream_id(stream_id);
    a.set_next_chunk(next_chunk);
    streams_->Ack(a);
  }

  // Chunk indices published so far for `stream_id`, in order.
  std::vector<uint32_t> Published(const std::string& stream_id) const {
    std::vector<uint32_t> out;
    for (const auto& m : pub_.messages()) {
      if (m.headers.empty() || m.headers[0].second != stream_id) continue;
      v1::TraceChunk c;
      EXPECT_TRUE(c.ParseFromString(m.value));
      EXPECT_EQ(c.stream_id(), stream_id);
      out.push_back(c.index());
    }
    return out;
  }

  void ExpectWithinWindow(int partitions = 2) {
    for (int p = 0; p < partitions; ++p) ASSERT_LE(streams_->UnackedBytes(p), kWindow) << "partition " << p;
  }

  test::FakeClock clock_;
  test::FakeTraceReader traces_;
  test::FakePublisher pub_;
  std::unique_ptr<TraceStreams> streams_;
};

TEST_F(TraceStreamsTest, OpenAnswersWithTheFirstChunksOffset) {
  Make();
  traces_.Add("d1", {100, 100});
  auto t = streams_->Begin(Req("d1"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_FALSE(t->answer.has_value());
  // Nothing published yet: the wait times out.
  EXPECT_EQ(streams_->Await(*t, milliseconds(0)).status().code(), StatusCode::kUnavailable);
  ASSERT_EQ(streams_->PumpOnce(milliseconds(0)), Result::kPublished);
  auto resp = streams_->Await(*t, milliseconds(0));
  ASSERT_TRUE(resp.ok()) << resp.status().ToString();
  EXPECT_EQ(resp->stream_id(), t->stream_id);
  EXPECT_EQ(resp->stream_id(), "t3-1");
  EXPECT_EQ(resp->topic(), "traces");
  EXPECT_EQ(resp->start_offset(), 0);
  EXPECT_EQ(resp->manifest().chunk_count(), 2u);
  EXPECT_EQ(pub_.messages().at(0).partition, resp->partition());
  EXPECT_EQ(pub_.messages().at(0).key, "d1");
}

TEST_F(TraceStreamsTest, RejectsUnknownTracesAndChunks) {
  Make();
  traces_.Add("d1", {100});
  EXPECT_EQ(streams_->Begin(Req("nope")).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(streams_->Begin(Req("d1", 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(streams_->resends(), 0u);
}

TEST_F(TraceStreamsTest, WindowNeverExceedsItsBound) {
  Make();
  std::mt19937 rng(42);
  std::uniform_int_distribution<uint64_t> size(1, kWindow - TraceStreams::kMessageOverhead);
  std::uniform_int_distribution<int> chunks(1, 40);
  struct Reader {
    std::string stream_id;
    uint32_t count = 0, acked = 0;
  };
  std::vector<Reader> readers;
  uint32_t expected_chunks = 0;
  for (int i = 0; i < 12; ++i) {
    std::string digest = "d" + std::to_string(i % 8);  // some traces read twice
    if (i < 8) {
      std::vector<uint64_t> sizes(static_cast<size_t>(chunks(rng)));
      for (auto& s : sizes) s = size(rng);
      traces_.Add(digest, sizes);
    }
    uint32_t count = traces_.Manifest(digest)->chunk_count();
    uint32_t from = i >= 8 ? count / 2 : 0;  // re-sends from a gap
    auto t = streams_->Begin(Req(digest, from));
    ASSERT_TRUE(t.ok());
    readers.push_back({t->stream_id, count, from});
    expected_chunks += count - from;
  }
  EXPECT_EQ(streams_->resends(), 4u);
  // Readers lag: each step one reader acks what it has. Check the bound after
  // every publication and every ack.
  size_t step = 0, held_back = 0;
  uint64_t fullest = 0;
  for (; streams_->stream_count() > 0 && step < 100000; ++step) {
    held_back += streams_->PumpOnce(milliseconds(0)) == Result::kIdle;
    ExpectWithinWindow();
    for (int p = 0; p < 2; ++p) fullest = std::max(fullest, streams_->UnackedBytes(p));
    if (step % 3 != 0) continue;
    Reader& r = readers[(step / 3) % readers.size()];
    if (r.acked >= r.count) continue;
    uint32_t have = r.acked;
    for (uint32_t idx : Published(r.stream_id)) have = std::max(have, idx + 1);
    if (have > r.acked) {
      r.acked = std::min(have, r.acked + 2);  // acks trail what was published
      Ack(r.stream_id, r.acked);
      ExpectWithinWindow();
    }
  }
  EXPECT_EQ(streams_->stream_count(), 0u) << "stalled after " << step << " steps";
  EXPECT_EQ(pub_.messages().size(), expected_chunks);  // each chunk once
  EXPECT_GT(held_back, 0u);            // the window did hold chunks back
  EXPECT_GT(fullest, kWindow * 3 / 4);  // and was nearly full at times
  for (const auto& r : readers) {
    auto pub = Published(r.stream_id);
    for (size_t i = 1; i < pub.size(); ++i) EXPECT_EQ(pub[i], pub[i - 1] + 1);  // in order
  }
}

TEST_F(TraceStreamsTest, OneChunkLargerThanTheWindowGoesOutOnAnIdlePartition) {
  Make(/*reuse=*/false, /*partitions=*/1);
  traces_.Add("big", {kWindow * 2, kWindow * 2});
  auto t = streams_->Begin(Req("big"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(streams_->PumpOnce(milliseconds(0)), Result::kPublished);
  EXPECT_EQ(streams_->PumpOnce(milliseconds(0)), Result::kIdle);  // waits for the ack
  Ack(t->stream_id, 1);
  EXPECT_EQ(streams_->PumpOnce(milliseconds(0)), Result::kPublished);
  EXPECT_EQ(pub_.messages().size(), 2u);
}

TEST_F(TraceStreamsTest, QuietStreamsAreDropped) {
  Make();
  traces_.Add("d1", {100, 100, 100});
  auto t = streams_->Begin(Req("d1"));
  ASSERT_TRUE(t.ok());
  streams_->PumpOnce(milliseconds(0));
  clock_.Advance(seconds(20));
  Ack(t->stream_id, 1);  // activity
  clock_.Advance(seconds(20));
  streams_->PumpOnce(milliseconds(0));
  EXPECT_EQ(streams_->stream_count(), 1u);
  clock_.Advance(seconds(31));
  streams_->PumpOnce(milliseconds(0));
  EXPECT_EQ(streams_->stream_count(), 0u);
  EXPECT_EQ(streams_->UnackedBytes(0) + streams_->UnackedBytes(1), 0u);
}

TEST_F(TraceStreamsTest, DoneAckClosesTheStream) {
  Make();
  traces_.Add("d1", {100, 100, 100});
  auto t = streams_->Begin(Req("d1"));
  ASSERT_TRUE(t.ok());
  streams_->PumpOnce(milliseconds(0));
  v1::AckTraceRequest a;
  a.set_stream_id(t->stream_id);
  a.set_next_chunk(1);
  a.set_done(true);
  streams_->Ack(a);
  EXPECT_EQ(streams_->stream_count(), 0u);
  EXPECT_EQ(streams_->PumpOnce(milliseconds(0)), Result::kIdle);
}

TEST_F(TraceStreamsTest, PublishingErrorsReachTheOpener) {
  Make();
  traces_.Add("d1", {100});
  auto t = streams_->Begin(Req("d1"));
  ASSERT_TRUE(t.ok());
  pub_.FailProduce(Unavailable("broker gone"));
  streams_->PumpOnce(milliseconds(0));
  auto resp = streams_->Await(*t, milliseconds(0));
  EXPECT_EQ(resp.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(resp.status().message(), "broker gone");
  EXPECT_EQ(streams_->stream_count(), 0u);
}

TEST_F(TraceStreamsTest, ReusesAWholePublication) {
  Make(/*reuse=*/true);
  traces_.Add("d1", {100, 100});
  auto first = streams_->Begin(Req("d1"));
  ASSERT_TRUE(first.ok());
  // A second reader while the first publication is under way joins it.
  auto joined = streams_->Begin(Req("d1"));
  ASSERT_TRUE(joined.ok());
  EXPECT_TRUE(joined->joined);
  EXPECT_EQ(joined->stream_id, first->stream_id);
  streams_->PumpOnce(milliseconds(0));
  streams_->PumpOnce(milliseconds(0));
  ASSERT_EQ(pub_.messages().size(), 2u);
  auto a = streams_->Await(*joined, milliseconds(0));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->stream_id(), first->stream_id);
  Ack(first->stream_id, 2);
  // Later readers are pointed at it without publishing again.
  auto later = streams_->Begin(Req("d1"));
  ASSERT_TRUE(later.ok());
  ASSERT_TRUE(later->answer.has_value());
  EXPECT_EQ(later->answer->stream_id(), first->stream_id);
  EXPECT_EQ(later->answer->start_offset(), 0);
  EXPECT_EQ(pub_.messages().size(), 2u);
}

TEST_F(TraceStreamsTest, StopEndsThePump) {
  Make();
  streams_->Stop();
  EXPECT_EQ(streams_->PumpOnce(milliseconds(0)), Result::kStopped);
}

}  // namespace
}  // namespace kreplay::server
