// The virtio trace codec: round trips across chunk sizes (content digest
// equal), chunks in any order, corrupted chunks, out-of-range header and
// record values, foreign families, and the family table's assembler.
#include "workers/models/virtio/codec/virtio_trace.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <limits>

#include "services/codec/columns.h"
#include "services/core/crc32c.h"
#include "services/family/family.h"
#include "workers/models/virtio/workload/block_jobs.h"
#include "workers/models/virtio/workload/packets.h"

namespace kreplay::virtio {
namespace {

constexpr uint64_t kU64Max = std::numeric_limits<uint64_t>::max();

VirtioWorkload BlockWorkload() {
  auto s = ParseBlockJobSpec(
      YAML::Load("{rw: randrw, bs: {4KiB: 3, 128KiB: 1}, numjobs: 3, ios: 700, rate_iops: 20000, arrivals: poisson, "
                 "iodepth: 16, size: 8GiB}"),
      "virtio_block");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  VirtioWorkload w = GenerateBlockJobs(*s, 5);
  w.jobs[1].iodepth = 4096;
  w.jobs[2].ios[0].at = -1;  // closed and open loop mixed: carried verbatim
  return w;
}

VirtioWorkload NetWorkload(bool saturation) {
  auto s = ParsePacketSpec(YAML::Load(saturation ? "{packets: 3000, size: imix, flows: 65536, flow_pick: uniform}"
                                                 : "{packets: 3000, size: imix, direction: both, rate_pps: 1e6, "
                                                   "arrivals: poisson, burst: 3, flows: 7}"),
                           "virtio_net");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return GeneratePackets(*s, 9);
}

// Extremes of every column and header field.
VirtioWorkload Extremes() {
  VirtioWorkload w;
  w.kind = WorkloadKind::kBlock;
  w.device_bytes = kU64Max;
  w.jobs = {{1, {{-1, 0, 0, false}, {std::numeric_limits<int64_t>::max(), kU64Max - 4096, 4096, true}}},
            {4096, {}},
            {7, {{0, uint64_t{1} << 63, std::numeric_limits<uint32_t>::max(), false}, {5, 0, 512, true}}}};
  return w;
}

void ExpectRoundTrip(const VirtioWorkload& w) {
  for (size_t chunk : {size_t{1}, size_t{50}, size_t{1000}, size_t{1} << 20}) {
    auto back = RoundTrip(w, chunk);
    ASSERT_TRUE(back.ok()) << "chunk " << chunk << ": " << back.status().ToString();
    EXPECT_EQ(*back, w) << "chunk " << chunk;
    EXPECT_EQ(VirtioWorkloadDigest(*back), VirtioWorkloadDigest(w)) << "chunk " << chunk;
  }
}

void ExpectCode(const Status& st, StatusCode code, const std::string& what) {
  EXPECT_EQ(st.code(), code) << st.ToString();
  EXPECT_NE(st.message().find(what), std::string::npos) << "'" << what << "' not in: " << st.message();
}

TEST(VirtioTraceTest, RoundTripsAcrossChunkSizes) {
  ExpectRoundTrip(BlockWorkload());
  ExpectRoundTrip(NetWorkload(false));
  ExpectRoundTrip(NetWorkload(true));
  ExpectRoundTrip(Extremes());
  VirtioWorkload empty_block;
  empty_block.device_bytes = 1 << 20;
  empty_block.jobs = {{3, {}}};
  ExpectRoundTrip(empty_block);
  VirtioWorkload empty_net;
  empty_net.kind = WorkloadKind::kNet;
  ExpectRoundTrip(empty_net);
  ExpectRoundTrip(VirtioWorkload{});
}

TEST(VirtioTraceTest, ChunksInAnyOrderAndDuplicates) {
  const VirtioWorkload w = BlockWorkload();
  codec::EncodedTrace t = EncodeVirtioWorkload(w, 200, "test");
  ASSERT_GT(t.chunks.size(), 10u);
  EXPECT_EQ(t.manifest.family(), "virtio");
  EXPECT_EQ(t.manifest.record_count(), 2100u);
  std::reverse(t.chunks.begin(), t.chunks.end());
  VirtioTraceAssembler a(t.manifest);
  for (const auto& c : t.chunks) ASSERT_TRUE(a.Add(c).ok());
  ASSERT_TRUE(a.Add(t.chunks[3]).ok());
  EXPECT_EQ(a.duplicates(), 1u);
  EXPECT_TRUE(a.complete());
  auto back = a.Finish();
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, w);
  // The manifest digest names the encoding: another chunk size, another digest.
  EXPECT_NE(EncodeVirtioWorkload(w, 400, "test").manifest.digest(), t.manifest.digest());
}

TEST(VirtioTraceTest, CorruptedChunkIsDataLoss) {
  codec::EncodedTrace t = EncodeVirtioWorkload(NetWorkload(false), 300, "test");
  {
    VirtioTraceAssembler a(t.manifest);
    v1::TraceChunk c = t.chunks[1];
    (*c.mutable_payload())[5] ^= 0x40;
    ExpectCode(a.Add(c), StatusCode::kDataLoss, "chunk 1: CRC32C mismatch");
    // The good copy is still accepted.
    for (const auto& good : t.chunks) ASSERT_TRUE(a.Add(good).ok());
    EXPECT_TRUE(a.Finish().ok());
  }
  {
    // A consistent CRC over a payload that is not RecordColumns.
    VirtioTraceAssembler a(t.manifest);
    v1::TraceChunk c = t.chunks[0];
    c.set_payload("\xff\xff\xff garbage");
    c.set_crc32c(Crc32c(c.payload()));
    ExpectCode(a.Add(c), StatusCode::kDataLoss, "chunk 0");
  }
  {
    // A chunk missing at Finish.
    VirtioTraceAssembler a(t.manifest);
    for (size_t i = 0; i + 1 < t.chunks.size(); ++i) ASSERT_TRUE(a.Add(t.chunks[i]).ok());
    ExpectCode(a.Finish().status(), StatusCode::kDataLoss, "missing");
  }
}

// A trace whose records hold `rows` (4 columns each) under `header`.
codec::EncodedTrace Crafted(const std::vector<std::string>& columns, const std::vector<std::vector<int64_t>>& rows,
                            const std::string& header) {
  codec::EncodedTrace t;
  codec::ChunkBuilder b(columns, "virtio");
  t.manifest = codec::EncodeChunkedTrace(
      kVirtioTraceFamily, header, "crafted", b, rows.size(),
      [&](size_t i, int64_t* v) { std::copy(rows[i].begin(), rows[i].end(), v); }, 1 << 20,
      [&](v1::TraceChunk&& c) { t.chunks.push_back(std::move(c)); });
  for (auto& c : t.chunks) c.set_digest(t.manifest.digest());
  return t;
}

std::string Header(uint8_t kind, uint64_t device, std::vector<std::pair<uint32_t, uint64_t>> jobs) {
  std::string h;
  codec::PutLE(h, 1, 1);
  codec::PutLE(h, kind, 1);
  codec::PutLE(h, device, 8);
  codec::PutLE(h, jobs.size(), 4);
  for (auto [depth, n] : jobs) {
    codec::PutLE(h, depth, 4);
    codec::PutLE(h, n, 8);
  }
  return h;
}

Status AddAll(const codec::EncodedTrace& t) {
  VirtioTraceAssembler a(t.manifest);
  for (const auto& c : t.chunks) KREPLAY_RETURN_IF_ERROR(a.Add(c));
  return a.Finish().status();
}

TEST(VirtioTraceTest, OutOfRangeHeaderValuesAreRejected) {
  const std::vector<std::string> block = {"at", "offset", "bytes", "write"};
  const std::vector<std::vector<int64_t>> one_io = {{-1, 0, 4096, 0}};
  // The layout as documented: this one is fine.
  EXPECT_TRUE(AddAll(Crafted(block, one_io, Header(0, 4096, {{1, 1}}))).ok());
  ExpectCode(AddAll(Crafted(block, one_io, Header(0, 4096, {{0, 1}}))), StatusCode::kDataLoss,
             "header byte 14: job 0 iodepth 0 out of range [1, 4096]");
  ExpectCode(AddAll(Crafted(block, one_io, Header(0, 4096, {{4097, 1}}))), StatusCode::kDataLoss,
             "job 0 iodepth 4097 out of range");
  ExpectCode(AddAll(Crafted(block, one_io, Header(2, 4096, {{1, 1}}))), StatusCode::kDataLoss,
             "header byte 1: kind 2 out of range [0, 1]");
  ExpectCode(AddAll(Crafted(block, one_io, Header(0, 4096, {{1, 2}}))), StatusCode::kDataLoss,
             "job 0 io_count 2 exceeds the trace's 1 records");
  ExpectCode(AddAll(Crafted(block, one_io, Header(0, 4096, {{1, 0}}))), StatusCode::kDataLoss,
             "io counts sum to 0, the manifest has 1 records");
  std::string h = Header(0, 4096, {{1, 1}});
  h[0] = 2;
  ExpectCode(AddAll(Crafted(block, one_io, h)), StatusCode::kDataLoss, "header byte 0: version 2, expected 1");
  ExpectCode(AddAll(Crafted(block, one_io, Header(0, 4096, {{1, 1}}) + "x")), StatusCode::kDataLoss,
             "1 trailing bytes");
  ExpectCode(AddAll(Crafted(block, one_io, Header(0, 4096, {{1, 1}}).substr(0, 20))), StatusCode::kDataLoss,
             "header byte 10: job_count 1 does not fit in the header's 6 remaining bytes");
  // A job count that the header cannot hold is rejected before any allocation.
  std::string many = Header(0, 4096, {});
  many[10] = static_cast<char>(0xff);
  ExpectCode(AddAll(Crafted(block, one_io, many)), StatusCode::kDataLoss, "job_count 255 does not fit");
  std::string huge = Header(0, 4096, {});
  huge.replace(10, 4, std::string("\xff\xff\xff\xff", 4));
  ExpectCode(AddAll(Crafted(block, one_io, huge)), StatusCode::kDataLoss, "job_count 4294967295 out of range");
  // A net trace carries no block fields.
  const std::vector<std::string> net = {"at", "bytes", "flow", "to_guest"};
  const std::vector<std::vector<int64_t>> one_packet = {{-1, 64, 0, 0}};
  EXPECT_TRUE(AddAll(Crafted(net, one_packet, Header(1, 0, {}))).ok());
  ExpectCode(AddAll(Crafted(net, one_packet, Header(1, 4096, {}))), StatusCode::kDataLoss,
             "device_bytes 4096, expected 0");
  ExpectCode(AddAll(Crafted(net, one_packet, Header(1, 0, {{1, 1}}))), StatusCode::kDataLoss,
             "job_count 1, expected 0");
}

TEST(VirtioTraceTest, OutOfRangeRecordValuesAreRejected) {
  const std::vector<std::string> block = {"at", "offset", "bytes", "write"};
  auto block_error = [&](std::vector<int64_t> row) {
    return AddAll(Crafted(block, {{-1, 0, 512, 0}, row}, Header(0, 1 << 20, {{1, 2}})));
  };
  ExpectCode(block_error({-2, 0, 512, 0}), StatusCode::kDataLoss, "record 1: at -2 out of range");
  ExpectCode(block_error({0, 0, 512, 2}), StatusCode::kDataLoss, "record 1: write 2 out of range");
  ExpectCode(block_error({0, 0, int64_t{1} << 32, 0}), StatusCode::kDataLoss, "record 1: bytes 4294967296 out of range");
  ExpectCode(block_error({0, (1 << 20) - 511, 512, 0}), StatusCode::kDataLoss, "beyond device_bytes 1048576");
  ExpectCode(block_error({0, -512, 512, 0}), StatusCode::kDataLoss, "beyond device_bytes");  // wraps past 2^64
  EXPECT_TRUE(block_error({0, (1 << 20) - 512, 512, 1}).ok());
  const std::vector<std::string> net = {"at", "bytes", "flow", "to_guest"};
  auto net_error = [&](std::vector<std::vector<int64_t>> rows) { return AddAll(Crafted(net, rows, Header(1, 0, {}))); };
  ExpectCode(net_error({{0, 64, 65536, 0}}), StatusCode::kDataLoss, "record 0: flow 65536 out of range");
  ExpectCode(net_error({{0, 64, 0, 3}}), StatusCode::kDataLoss, "record 0: to_guest 3 out of range");
  ExpectCode(net_error({{0, -1, 0, 0}}), StatusCode::kDataLoss, "record 0: bytes -1 out of range");
  ExpectCode(net_error({{5, 64, 0, 0}, {4, 64, 0, 0}}), StatusCode::kDataLoss, "record 1: at 4 before the previous");
  ExpectCode(net_error({{-1, 64, 0, 0}, {4, 64, 0, 0}}), StatusCode::kDataLoss, "mixes saturation");
  // Wrong columns for the kind: a block payload under a net header.
  ExpectCode(AddAll(Crafted(block, {{-1, 0, 512, 0}}, Header(1, 0, {}))), StatusCode::kDataLoss, "chunk 0");
}

TEST(VirtioTraceTest, ForeignFamilyIsRejected) {
  codec::EncodedTrace t = EncodeVirtioWorkload(BlockWorkload(), 1 << 20, "test");
  t.manifest.set_family("memory");
  VirtioTraceAssembler a(t.manifest);
  ExpectCode(a.Add(t.chunks[0]), StatusCode::kInvalidArgument, "manifest family 'memory' is not virtio");
  ExpectCode(a.Finish().status(), StatusCode::kInvalidArgument, "is not virtio");
}

TEST(VirtioTraceTest, FitsTheFamilyTablesAssembler) {
  const VirtioWorkload w = NetWorkload(false);
  codec::EncodedTrace t = EncodeVirtioWorkload(w, 4096, "test");
  std::unique_ptr<family::TraceAssembler> a =
      std::make_unique<family::TypedAssembler<VirtioTraceAssembler, VirtioWorkload>>(t.manifest, VirtioWorkloadBytes);
  for (const auto& c : t.chunks) ASSERT_TRUE(a->Add(c).ok());
  EXPECT_TRUE(a->complete());
  auto v = a->Finish();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
}

}  // namespace
}  // namespace kreplay::virtio
