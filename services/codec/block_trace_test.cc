#include "services/codec/block_trace.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <limits>
#include <set>
#include <utility>

#include "services/blocktrace/synth.h"
#include "services/codec/columns.h"
#include "services/core/crc32c.h"
#include "services/core/digest.h"
#include "services/sim/rng.h"

namespace kreplay::codec {
namespace {

using workload::BlockOp;
using workload::BlockRequest;
using workload::BlockWorkload;

// A mixed synthetic trace: a Zipf hot set, a scan and sequential streams over
// two volumes, Poisson arrivals.
BlockWorkload Synthetic(uint64_t requests, uint64_t seed) {
  blocktrace::BlockSynthSpec s;
  s.requests = requests;
  s.rate = 5000;
  blocktrace::BlockSynthComponent zipf;
  zipf.footprint = uint64_t{1} << 30;
  zipf.read_fraction = 0.7;
  blocktrace::BlockSynthComponent scan;
  scan.kind = blocktrace::BlockSynthComponent::Kind::kScan;
  scan.footprint = uint64_t{8} << 30;
  scan.size = 128 * 1024;
  scan.volume = 1;
  blocktrace::BlockSynthComponent stream;
  stream.kind = blocktrace::BlockSynthComponent::Kind::kStream;
  stream.streams = 4;
  stream.run = 64 << 20;
  stream.footprint = uint64_t{16} << 30;
  stream.read_fraction = 0.5;
  s.components = {zipf, scan, stream};
  return blocktrace::GenerateBlockSynthetic(s, seed);
}

// Extreme values in every field, all ops, an empty volume name.
BlockWorkload EdgeCases() {
  BlockWorkload w;
  w.volumes = {"sda", "", "nvme0n1"};
  w.has_task_ids = true;
  constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();
  constexpr uint32_t kU32Max = std::numeric_limits<uint32_t>::max();
  w.requests = {
      {0, 0, 4096, 0, 1, BlockOp::kRead},
      {0, kU64Max, kU32Max, 2, kU32Max, BlockOp::kWrite},
      {1, 512, 0, 1, 0, BlockOp::kFlush},
      {std::numeric_limits<int64_t>::max(), uint64_t{1} << 63, 1, 0, 0, BlockOp::kDiscard},
      {std::numeric_limits<int64_t>::min(), kU64Max - 1, 7, 2, 3, BlockOp::kRead},
  };
  return w;
}

TEST(BlockTrace, RoundTripAcrossChunkSizes) {
  const BlockWorkload w = Synthetic(20000, 11);
  ASSERT_EQ(w.volumes.size(), 2u);
  for (size_t bound : {size_t{1}, size_t{200}, size_t{4096}, size_t{65536}, kDefaultChunkBytes}) {
    SCOPED_TRACE("chunk bound " + std::to_string(bound));
    EncodedTrace t = EncodeBlockWorkload(w, bound, "synthetic");
    EXPECT_EQ(t.manifest.family(), "blockcache");  // the model family's one name
    EXPECT_EQ(t.manifest.record_count(), w.requests.size());
    EXPECT_EQ(t.manifest.chunk_count(), t.chunks.size());
    uint64_t next = 0, bytes = 0;
    for (size_t i = 0; i < t.chunks.size(); ++i) {
      const auto& c = t.chunks[i];
      EXPECT_EQ(c.index(), i);
      EXPECT_EQ(c.first_record(), next);
      EXPECT_EQ(c.crc32c(), Crc32c(c.payload()));
      // A chunk over the bound may only be a single record that cannot be split.
      if (c.payload().size() > bound) {
        EXPECT_EQ(c.record_count(), 1u) << "chunk " << i;
      }
      next += c.record_count();
      bytes += c.payload().size();
    }
    EXPECT_EQ(next, w.requests.size());
    EXPECT_EQ(bytes, t.manifest.payload_bytes());
    if (bound == 1) {
      EXPECT_EQ(t.chunks.size(), w.requests.size());
    } else if (bound == 4096) {
      EXPECT_GT(t.chunks.size(), 20u);
    } else if (bound == kDefaultChunkBytes) {
      EXPECT_EQ(t.chunks.size(), 1u);  // 20k records fit in 512 KiB
    }

    BlockTraceAssembler a(t.manifest);
    for (const auto& c : t.chunks) ASSERT_TRUE(a.Add(c).ok());
    ASSERT_TRUE(a.complete());
    auto back = a.Finish();
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == w);
  }
}

TEST(BlockTrace, ChunksFillUpToTheBound) {
  // Packing is greedy: a chunk plus the next chunk's first record would not fit.
  const BlockWorkload w = Synthetic(5000, 12);
  EncodedTrace t = EncodeBlockWorkload(w, 1000, "t");
  ASSERT_GT(t.chunks.size(), 5u);
  for (size_t i = 0; i + 1 < t.chunks.size(); ++i) {
    const auto& c = t.chunks[i];
    EXPECT_LE(c.payload().size(), 1000u);
    BlockWorkload prefix;
    prefix.volumes = w.volumes;
    auto first = w.requests.begin() + static_cast<ptrdiff_t>(c.first_record());
    prefix.requests.assign(first, first + c.record_count() + 1);
    EncodedTrace one = EncodeBlockWorkload(prefix, std::numeric_limits<size_t>::max(), "t");
    ASSERT_EQ(one.chunks.size(), 1u);
    EXPECT_GT(one.chunks[0].payload().size(), 1000u) << "chunk " << i << " stopped early";
  }
}

TEST(BlockTrace, EdgeValuesSurvive) {
  const BlockWorkload w = EdgeCases();
  for (size_t bound : {size_t{1}, kDefaultChunkBytes}) {
    auto back = RoundTrip(w, bound);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == w);
  }
  BlockWorkload no_tasks = w;
  no_tasks.has_task_ids = false;
  auto back = RoundTrip(no_tasks, 64);
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->has_task_ids);
}

std::string ReferenceDigest(const BlockWorkload& w);  // the documented v1 layout, below

TEST(BlockTrace, SyncFlagsRoundTripAndTracesWithoutThemEncodeAsBefore) {
  BlockWorkload w = EdgeCases();
  // Without sync flags: header flags byte says task IDs only, six columns.
  const EncodedTrace plain = EncodeBlockWorkload(w, 1 << 20, "t");
  ASSERT_GE(plain.manifest.header().size(), 2u);
  EXPECT_EQ(plain.manifest.header()[1], 1);
  ASSERT_FALSE(plain.chunks.empty());
  EXPECT_TRUE(DecodeColumns(plain.chunks[0].payload(), {"time_ns", "offset", "bytes", "volume", "task", "op"}).ok());
  // With them: flag bit 1, a seventh column, and sync survives.
  w.has_sync_flags = true;
  w.requests[1].sync = true;
  w.requests[3].sync = true;
  const EncodedTrace flagged = EncodeBlockWorkload(w, 1 << 20, "t");
  EXPECT_EQ(flagged.manifest.header()[1], 3);
  EXPECT_TRUE(
      DecodeColumns(flagged.chunks[0].payload(), {"time_ns", "offset", "bytes", "volume", "task", "op", "sync"}).ok());
  for (size_t chunk : {size_t{1}, size_t{1} << 20}) {
    auto back = RoundTrip(w, chunk);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, w);
  }
  // The content digest counts sync only for a workload that has the flags.
  BlockWorkload unflagged = w;
  unflagged.has_sync_flags = false;
  for (auto& r : unflagged.requests) r.sync = false;
  EXPECT_EQ(workload::BlockWorkloadDigest(unflagged), ReferenceDigest(unflagged));
  EXPECT_NE(workload::BlockWorkloadDigest(w), workload::BlockWorkloadDigest(unflagged));
  BlockWorkload flipped = w;
  flipped.requests[1].sync = false;
  EXPECT_NE(workload::BlockWorkloadDigest(w), workload::BlockWorkloadDigest(flipped));
}

TEST(BlockTrace, EmptyWorkloadKeepsItsVolumes) {
  BlockWorkload w;
  w.volumes = {"a", "b"};
  EncodedTrace t = EncodeBlockWorkload(w, 4096, "empty");
  EXPECT_EQ(t.manifest.chunk_count(), 0u);
  BlockTraceAssembler a(t.manifest);
  EXPECT_TRUE(a.complete());
  auto back = a.Finish();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == w);
}

TEST(BlockTrace, ShuffledChunksWithDuplicates) {
  const BlockWorkload w = Synthetic(8000, 13);
  EncodedTrace t = EncodeBlockWorkload(w, 512, "t");
  const size_t n = t.chunks.size();
  ASSERT_GT(n, 20u);
  // Every chunk once, plus every third chunk again, in a seeded random order.
  std::vector<size_t> order;
  for (size_t i = 0; i < n; ++i) order.push_back(i);
  for (size_t i = 0; i < n; i += 3) order.push_back(i);
  sim::Rng rng(99);
  for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[rng.Below(i + 1)]);
  ASSERT_NE(order[0], 0u);  // the seed must actually test out-of-order arrival

  BlockTraceAssembler a(t.manifest);
  std::set<size_t> seen;
  for (size_t k = 0; k < order.size(); ++k) {
    ASSERT_TRUE(a.Add(t.chunks[order[k]]).ok()) << "chunk " << order[k];
    seen.insert(order[k]);
    EXPECT_EQ(a.accepted(), seen.size());
    EXPECT_EQ(a.complete(), seen.size() == n);
  }
  EXPECT_EQ(a.duplicates(), order.size() - n);
  auto back = a.Finish();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == w);
}

class BlockTraceFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    w_ = Synthetic(3000, 14);
    t_ = EncodeBlockWorkload(w_, 1024, "t");
    ASSERT_GT(t_.chunks.size(), 5u);
  }
  // Adds every chunk except `skip`, in order; expects all to succeed.
  void AddAllBut(BlockTraceAssembler& a, size_t skip) {
    for (size_t i = 0; i < t_.chunks.size(); ++i) {
      if (i != skip) {
        ASSERT_TRUE(a.Add(t_.chunks[i]).ok()) << i;
      }
    }
  }
  static void ExpectDataLossNaming(const Status& st, const std::string& what) {
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st.ToString();
    EXPECT_NE(st.message().find(what), std::string::npos) << st.message();
  }
  BlockWorkload w_;
  EncodedTrace t_;
};

TEST_F(BlockTraceFaults, CorruptPayloadRejectedThenGoodCopyAccepted) {
  BlockTraceAssembler a(t_.manifest);
  AddAllBut(a, 3);
  v1::TraceChunk bad = t_.chunks[3];
  (*bad.mutable_payload())[bad.payload().size() / 2] ^= 0x10;
  Status st = a.Add(bad);
  ExpectDataLossNaming(st, "chunk 3");
  ExpectDataLossNaming(st, "CRC32C");
  EXPECT_FALSE(a.complete());
  ASSERT_TRUE(a.Add(t_.chunks[3]).ok());
  auto back = a.Finish();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == w_);
}

TEST_F(BlockTraceFaults, TruncatedPayload) {
  v1::TraceChunk cut = t_.chunks[2];
  cut.mutable_payload()->resize(cut.payload().size() - 5);
  {
    BlockTraceAssembler a(t_.manifest);
    ExpectDataLossNaming(a.Add(cut), "chunk 2: CRC32C");
  }
  // Even with a CRC that matches the cut bytes, the columns do not decode.
  cut.set_crc32c(Crc32c(cut.payload()));
  BlockTraceAssembler a(t_.manifest);
  ExpectDataLossNaming(a.Add(cut), "chunk 2");
}

TEST_F(BlockTraceFaults, WrongIndex) {
  BlockTraceAssembler a(t_.manifest);
  v1::TraceChunk c = t_.chunks[1];
  c.set_index(t_.manifest.chunk_count());
  ExpectDataLossNaming(a.Add(c), "chunk " + std::to_string(t_.manifest.chunk_count()) + ": index out of range");
}

TEST_F(BlockTraceFaults, ChunkFiledUnderAnotherIndex) {
  // Chunk 4's records labelled as chunk 2: caught when it joins the prefix.
  BlockTraceAssembler a(t_.manifest);
  v1::TraceChunk c = t_.chunks[4];
  c.set_index(2);
  ASSERT_TRUE(a.Add(c).ok());  // nothing to compare it with yet
  ASSERT_TRUE(a.Add(t_.chunks[0]).ok());
  ExpectDataLossNaming(a.Add(t_.chunks[1]), "chunk 2: first_record");
  // The impostor was dropped: the real chunk 2 completes the trace.
  for (size_t i = 2; i < t_.chunks.size(); ++i) ASSERT_TRUE(a.Add(t_.chunks[i]).ok()) << i;
  auto back = a.Finish();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == w_);
}

TEST_F(BlockTraceFaults, ChunkOfAnotherTrace) {
  BlockTraceAssembler a(t_.manifest);
  v1::TraceChunk c = t_.chunks[5];
  c.set_digest(std::string(64, '0'));
  ExpectDataLossNaming(a.Add(c), "chunk 5: chunk belongs to trace '0000");
}

TEST_F(BlockTraceFaults, ManifestDigestMismatchAtFinish) {
  // A chunk whose bytes changed consistently (CRC recomputed, still decodes)
  // passes every per-chunk check; only the trace digest catches it. Tasks are
  // 1..3 here, so moving one request to another task keeps every delta one
  // byte and the chunking unchanged.
  BlockWorkload changed = w_;
  const size_t victim = t_.chunks[2].first_record() + 1;
  changed.requests[victim].task = changed.requests[victim].task == 1 ? 2 : 1;
  EncodedTrace other = EncodeBlockWorkload(changed, 1024, "t");
  ASSERT_EQ(other.chunks[2].first_record(), t_.chunks[2].first_record());
  ASSERT_EQ(other.chunks[2].record_count(), t_.chunks[2].record_count());
  ASSERT_NE(other.chunks[2].payload(), t_.chunks[2].payload());
  v1::TraceChunk swapped = other.chunks[2];
  swapped.set_digest(t_.manifest.digest());
  BlockTraceAssembler a(t_.manifest);
  AddAllBut(a, 2);
  ASSERT_TRUE(a.Add(swapped).ok());
  auto back = a.Finish();
  ASSERT_FALSE(back.ok());
  ExpectDataLossNaming(back.status(), "digest mismatch");
}

TEST_F(BlockTraceFaults, RecordCountLie) {
  BlockTraceAssembler a(t_.manifest);
  v1::TraceChunk c = t_.chunks[0];
  c.set_record_count(c.record_count() - 1);
  ExpectDataLossNaming(a.Add(c), "chunk 0: payload holds");
}

TEST_F(BlockTraceFaults, MissingChunkNamedAtFinish) {
  BlockTraceAssembler a(t_.manifest);
  AddAllBut(a, 4);
  auto back = a.Finish();
  ASSERT_FALSE(back.ok());
  ExpectDataLossNaming(back.status(), "chunk 4 missing");
}

TEST_F(BlockTraceFaults, BadManifests) {
  v1::TraceManifest m = t_.manifest;
  m.set_family("sched");
  EXPECT_EQ(BlockTraceAssembler(m).Add(t_.chunks[0]).code(), StatusCode::kInvalidArgument);

  m = t_.manifest;
  m.mutable_header()->pop_back();  // last volume name cut short
  BlockTraceAssembler cut(m);
  ExpectDataLossNaming(cut.Add(t_.chunks[0]), "name truncated");
  EXPECT_FALSE(cut.Finish().ok());

  m = t_.manifest;
  (*m.mutable_header())[1] = 4;  // unknown flag
  ExpectDataLossNaming(BlockTraceAssembler(m).Add(t_.chunks[0]), "unknown flags");
}

TEST(BlockTrace, VolumeOutOfRangeNamesTheRecord) {
  BlockWorkload w;
  w.volumes = {"only"};
  w.requests = {{0, 0, 4096, 0, 0, BlockOp::kRead}, {5, 4096, 4096, 1, 0, BlockOp::kRead}};
  auto back = RoundTrip(w, 4096);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("chunk 0: record 1: volume 1 out of range"), std::string::npos)
      << back.status().message();
}

// ---- content digest ---------------------------------------------------------

void PutLe(std::string& s, uint64_t v, int width) {
  for (int i = 0; i < width; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}

// The layout documented in block_workload_digest.cc, fed in one call.
std::string ReferenceDigest(const BlockWorkload& w) {
  Sha256 h;
  h.UpdateField("kreplay.block_workload.v1");
  h.UpdateU64(w.volumes.size());
  for (const auto& v : w.volumes) h.UpdateField(v);
  h.UpdateU64(w.has_task_ids);
  h.UpdateU64(w.requests.size());
  std::string all;
  for (const auto& r : w.requests) {
    PutLe(all, static_cast<uint64_t>(r.time_ns), 8);
    PutLe(all, r.offset, 8);
    PutLe(all, r.bytes, 4);
    PutLe(all, r.volume, 4);
    PutLe(all, r.task, 4);
    PutLe(all, static_cast<uint64_t>(r.op), 1);
  }
  h.Update(all);
  return h.HexDigest();
}

TEST(BlockWorkloadDigest, MatchesTheDocumentedLayoutAcrossBlocks) {
  // 10000 requests x 29 bytes spans several 64 KiB blocks.
  const BlockWorkload w = Synthetic(10000, 16);
  const std::string d = workload::BlockWorkloadDigest(w);
  EXPECT_EQ(d.size(), 64u);
  EXPECT_EQ(d, ReferenceDigest(w));
  EXPECT_EQ(workload::BlockWorkloadDigest(EdgeCases()), ReferenceDigest(EdgeCases()));
}

TEST(BlockWorkloadDigest, EveryFieldOfEveryRequestCounts) {
  const BlockWorkload base = Synthetic(3000, 17);
  std::set<std::string> digests = {workload::BlockWorkloadDigest(base)};
  size_t variants = 1;
  auto add = [&](const BlockWorkload& w) {
    digests.insert(workload::BlockWorkloadDigest(w));
    ++variants;
  };
  for (size_t i : {size_t{0}, size_t{1}, size_t{2259}, size_t{2260}, base.requests.size() - 1}) {
    for (int field = 0; field < 6; ++field) {
      BlockWorkload w = base;
      BlockRequest& r = w.requests[i];
      switch (field) {
        case 0: r.time_ns += 1; break;
        case 1: r.offset ^= uint64_t{1} << 62; break;
        case 2: r.bytes += 512; break;
        case 3: r.volume ^= 1; break;
        case 4: r.task += 1; break;
        case 5: r.op = r.op == BlockOp::kRead ? BlockOp::kWrite : BlockOp::kRead; break;
      }
      ASSERT_FALSE(w == base);
      add(w);
    }
  }
  BlockWorkload w = base;
  w.has_task_ids = !w.has_task_ids;
  add(w);
  w = base;
  w.volumes[0] += "x";
  add(w);
  w = base;
  w.requests.pop_back();
  add(w);
  w = base;
  std::swap(w.requests[10], w.requests[11]);
  add(w);
  EXPECT_EQ(digests.size(), variants);
}

TEST(BlockWorkloadDigest, VolumeNamesAreFramed) {
  BlockWorkload a, b;
  a.volumes = {"ab", "c"};
  b.volumes = {"a", "bc"};
  EXPECT_NE(workload::BlockWorkloadDigest(a), workload::BlockWorkloadDigest(b));
}

TEST(BlockWorkloadDigest, SameAfterTransport) {
  const BlockWorkload w = Synthetic(4000, 18);
  auto back = RoundTrip(w, 700);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(workload::BlockWorkloadDigest(*back), workload::BlockWorkloadDigest(w));
  // The manifest digest names the encoding, so it follows the chunk size.
  EXPECT_NE(EncodeBlockWorkload(w, 700, "t").manifest.digest(),
            EncodeBlockWorkload(w, 7000, "t").manifest.digest());
}

// ---- size and speed ----------------------------------------------------------

TEST(BlockTraceSize, SequentialStreamCostsTenBytesPerRequest) {
  // 128 KiB reads every 100 us: per record, time and offset deltas take three
  // varint bytes each (zigzag 200000 and 262144 are < 2^21), the four constant
  // columns one byte each. The first record of a chunk (absolute values) and
  // the column framing are the only extra.
  BlockWorkload w;
  w.volumes = {"hdd"};
  w.has_task_ids = true;
  const size_t n = 100000;
  for (size_t i = 0; i < n; ++i)
    w.requests.push_back({static_cast<int64_t>(i) * 100000, i * 131072, 131072, 0, 42, BlockOp::kRead});
  EncodedTrace t = EncodeBlockWorkload(w, kDefaultChunkBytes, "seq");
  const uint64_t records = n - t.chunks.size();  // those not first in their chunk
  EXPECT_GE(t.manifest.payload_bytes(), 10 * records);
  EXPECT_LE(t.manifest.payload_bytes(), 10 * records + t.chunks.size() * 128);
  std::printf("[ size ] sequential 128 KiB stream: %.3f bytes/request over %zu chunks\n",
              static_cast<double>(t.manifest.payload_bytes()) / n, t.chunks.size());
}

TEST(BlockTraceSize, SyntheticMixReported) {
  const BlockWorkload w = Synthetic(200000, 19);
  const auto start = std::chrono::steady_clock::now();
  EncodedTrace t = EncodeBlockWorkload(w, kDefaultChunkBytes, "mix");
  const auto mid = std::chrono::steady_clock::now();
  BlockTraceAssembler a(t.manifest);
  for (const auto& c : t.chunks) ASSERT_TRUE(a.Add(c).ok());
  auto back = a.Finish();
  const auto end = std::chrono::steady_clock::now();
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(*back == w);
  const double per_request = static_cast<double>(t.manifest.payload_bytes()) / static_cast<double>(w.requests.size());
  // Random Zipf offsets over 1 GiB cost up to 5 varint bytes; the bound is loose.
  EXPECT_LT(per_request, 16.0);
  const double enc_s = std::chrono::duration<double>(mid - start).count();
  const double dec_s = std::chrono::duration<double>(end - mid).count();
  const auto digest_start = std::chrono::steady_clock::now();
  const std::string digest = workload::BlockWorkloadDigest(*back);
  const double digest_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - digest_start).count();
  EXPECT_EQ(digest.size(), 64u);
  std::printf("[ size ] zipf+scan+stream mix: %.3f bytes/request, %zu chunks\n", per_request, t.chunks.size());
  std::printf("[ speed ] encode %.2f M requests/s, decode+verify %.2f M requests/s (informational)\n",
              static_cast<double>(w.requests.size()) / enc_s / 1e6, static_cast<double>(w.requests.size()) / dec_s / 1e6);
  std::printf("[ speed ] BlockWorkloadDigest %.2f M requests/s (informational)\n",
              static_cast<double>(w.requests.size()) / digest_s / 1e6);
}

}  // namespace
}  // namespace kreplay::codec
