#include "services/blocktrace/reader.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <fstream>
#include <sstream>

namespace kreplay::blocktrace {
namespace {

using workload::BlockOp;
using workload::BlockRequest;

const std::string kData = KREPLAY_BLOCKTRACE_TESTDATA;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

BlockRequest Req(int64_t t, uint64_t off, uint32_t bytes, uint32_t vol, uint32_t task, BlockOp op) {
  BlockRequest r;
  r.time_ns = t;
  r.offset = off;
  r.bytes = bytes;
  r.volume = vol;
  r.task = task;
  r.op = op;
  return r;
}

workload::BlockWorkload MustRead(const std::string& file, ReaderOptions o = {}) {
  auto w = ReadBlockTrace(kData + "/" + file, o);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  return w.ok() ? *w : workload::BlockWorkload{};
}

Status ReadError(const std::string& data, ReaderOptions o = {}, const std::string& name = "t") {
  auto r = BlockTraceReader::FromString(data, name, o);
  if (!r.ok()) return r.status();
  BlockRequest req;
  for (;;) {
    auto more = (*r)->Next(&req);
    if (!more.ok()) return more.status();
    if (!*more) return OkStatus();
  }
}

TEST(Blkparse, QueueEventsSkipMergesAndSummaries) {
  ReaderOptions o;
  o.format = Format::kBlkparse;
  auto w = MustRead("blkparse.txt", o);
  // Every Q is one bio; the M after the second Q is that same bio joining a
  // request, so it adds nothing. FWS without a range is a flush.
  std::vector<BlockRequest> want = {
      Req(0, 2048 * 512, 8 * 512, 0, 1200, BlockOp::kRead),
      Req(10000, 2056 * 512, 8 * 512, 0, 1200, BlockOp::kRead),
      Req(30000, 100 * 512, 16 * 512, 1, 1300, BlockOp::kWrite),
      Req(600000, 0, 0, 1, 1300, BlockOp::kFlush),
      Req(700000, 4096ull * 512, 2048 * 512, 1, 1400, BlockOp::kDiscard),
      Req(800000, 9000 * 512, 8 * 512, 0, 1200, BlockOp::kRead),
  };
  // RWBS flags (blk_fill_rwbs()): S is REQ_SYNC, a leading F REQ_PREFLUSH:
  // the WS write and the FWS flush are synchronous bios, the rest are not.
  want[2].sync = true;
  want[3].sync = true;
  EXPECT_EQ(w.requests, want);
  EXPECT_EQ(w.volumes, (std::vector<std::string>{"8,0", "8,16"}));
  EXPECT_TRUE(w.has_task_ids);
  EXPECT_TRUE(w.has_sync_flags);
}

TEST(Blkparse, SyncFlagsFollowRwbs) {
  // op_is_sync() (REQ_SYNC, REQ_FUA, REQ_PREFLUSH) or REQ_META, as
  // blk_fill_rwbs() prints them: S, an F after the op letter, a leading F, M.
  const std::string trace =
      "8,0 0 1 0.000000001 10 Q W 0 + 8 [a]\n"
      "8,0 0 2 0.000000002 10 Q WS 8 + 8 [a]\n"
      "8,0 0 3 0.000000003 10 Q WFS 16 + 8 [a]\n"
      "8,0 0 4 0.000000004 10 Q FW 24 + 8 [a]\n"
      "8,0 0 5 0.000000005 10 Q WM 32 + 8 [a]\n"
      "8,0 0 6 0.000000006 10 Q WA 40 + 8 [a]\n";
  ReaderOptions o;
  auto r = BlockTraceReader::FromString(trace, "t.blk", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE((*r)->has_sync_flags());
  std::vector<bool> got;
  BlockRequest q;
  for (;;) {
    auto more = (*r)->Next(&q);
    ASSERT_TRUE(more.ok()) << more.status().ToString();
    if (!*more) break;
    got.push_back(q.sync);
  }
  EXPECT_EQ(got, (std::vector<bool>{false, true, true, true, true, false}));
}

TEST(SyncFlags, OnlyFormatsThatRecordThem) {
  ReaderOptions o;
  auto msr = BlockTraceReader::FromString("128166372003061629,web,0,Write,4096,4096,100\n", "m.csv", o);
  ASSERT_TRUE(msr.ok()) << msr.status().ToString();
  EXPECT_FALSE((*msr)->has_sync_flags());
  auto csv = BlockTraceReader::FromString("time_ns,volume,op,offset,bytes,sync\n0,v,write,0,4096,1\n5,v,write,0,4096,0\n",
                                          "k.csv", o);
  ASSERT_TRUE(csv.ok()) << csv.status().ToString();
  EXPECT_TRUE((*csv)->has_sync_flags());
  BlockRequest q;
  ASSERT_TRUE(*(*csv)->Next(&q));
  EXPECT_TRUE(q.sync);
  ASSERT_TRUE(*(*csv)->Next(&q));
  EXPECT_FALSE(q.sync);
  auto bad = BlockTraceReader::FromString("time_ns,volume,op,offset,bytes,sync\n0,v,write,0,4096,2\n", "b.csv", o);
  ASSERT_TRUE(bad.ok());
  auto e = (*bad)->Next(&q);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("b.csv:2: field 'sync'"), std::string::npos) << e.status().message();
}

TEST(Blkparse, IssueEventsCountARequeuedRequestOnce) {
  ReaderOptions o;
  o.blkparse_event = BlkparseEvent::kIssue;
  auto w = MustRead("blkparse.txt", o);  // auto-detected
  std::vector<BlockRequest> want = {
      Req(0, 2048 * 512, 16 * 512, 0, 1200, BlockOp::kRead),        // the merged request
      Req(9000, 100 * 512, 16 * 512, 1, 1300, BlockOp::kWrite),     // "(elapsed)" token tolerated
      Req(780000, 9000 * 512, 8 * 512, 0, 1200, BlockOp::kRead),    // the D after R is skipped
  };
  want[1].sync = true;  // WS
  EXPECT_EQ(w.requests, want);
}

TEST(Msr, TicksVolumesAndClamping) {
  auto r = BlockTraceReader::Open(kData + "/msr.csv", {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)->format(), Format::kMsr);
  std::vector<BlockRequest> got;
  BlockRequest q;
  while (*(*r)->Next(&q)) got.push_back(q);
  std::vector<BlockRequest> want = {
      Req(0, 383534592, 32768, 0, 0, BlockOp::kRead),
      Req(37100, 3154112512ull, 4096, 0, 0, BlockOp::kWrite),
      Req(37100, 1024, 512, 1, 0, BlockOp::kRead),  // stamped 7100 ns: went back in time, clamped
      Req(1000000000, 0, 65536, 2, 0, BlockOp::kWrite),  // 10^7 ticks later
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ((*r)->volumes(), (std::vector<std::string>{"hm_0", "hm_1", "prn_1"}));
  EXPECT_EQ((*r)->stats().clamped_times, 1u);
  EXPECT_FALSE((*r)->has_task_ids());
}

TEST(Msr, StrictTimeOrderIsAnError) {
  ReaderOptions o;
  o.strict_time_order = true;
  auto w = ReadBlockTrace(kData + "/msr.csv", o);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().message(), kData + "/msr.csv:3: field 'time': earlier than the previous request "
                                          "(strict_time_order) (got '7100 ns')");
}

TEST(Fio, Version2WaitsAccumulate) {
  auto w = MustRead("fio_v2.log");
  std::vector<BlockRequest> want = {
      Req(0, 0, 4096, 0, 0, BlockOp::kRead),
      Req(1500000, 8192, 8192, 0, 0, BlockOp::kWrite),
      Req(1500000, 16384, 4096, 0, 0, BlockOp::kDiscard),
      Req(1500000, 0, 0, 0, 0, BlockOp::kFlush),
      Req(1750000, 4096, 4096, 0, 0, BlockOp::kRead),
  };
  EXPECT_EQ(w.requests, want);
  EXPECT_EQ(w.volumes, std::vector<std::string>{"/dev/sdb"});
}

TEST(Fio, Version3TimestampsInMicroseconds) {
  auto w = MustRead("fio_v3.log");
  std::vector<BlockRequest> want = {
      Req(0, 0, 4096, 0, 0, BlockOp::kRead),
      Req(50000, 4096, 512, 1, 0, BlockOp::kWrite),
      Req(51000, 0, 0, 0, 0, BlockOp::kFlush),
      Req(1900000, 8192, 4096, 0, 0, BlockOp::kDiscard),
  };
  EXPECT_EQ(w.requests, want);
  EXPECT_EQ(w.volumes, (std::vector<std::string>{"/tmp/a", "/tmp/b"}));
}

TEST(Fio, Version3RejectsWait) {
  Status st = ReadError("fio version 3 iolog\n5 /a wait 100 0\n");
  EXPECT_EQ(st.message(), "t:2: field 'action': 'wait' is not allowed in version 3 (got 'wait')");
}

TEST(Alibaba, MicrosecondsAndDevices) {
  auto w = MustRead("alibaba.csv");
  std::vector<BlockRequest> want = {
      Req(0, 1024, 4096, 0, 0, BlockOp::kRead),
      Req(150000, 8192, 8192, 0, 0, BlockOp::kWrite),
      Req(151000, 0, 512, 1, 0, BlockOp::kRead),
  };
  EXPECT_EQ(w.requests, want);
  EXPECT_EQ(w.volumes, (std::vector<std::string>{"3", "7"}));
}

TEST(Tencent, SecondsAndSectors) {
  auto w = MustRead("tencent.csv");
  std::vector<BlockRequest> want = {
      Req(0, 105352ull * 512, 8 * 512, 0, 0, BlockOp::kWrite),
      Req(0, 105360ull * 512, 16 * 512, 0, 0, BlockOp::kRead),
      Req(1000000000, 0, 8 * 512, 1, 0, BlockOp::kRead),
  };
  EXPECT_EQ(w.requests, want);
  EXPECT_EQ(w.volumes, (std::vector<std::string>{"1283", "77"}));
}

TEST(Tencent, HeaderLineIsDetectedAndSkipped) {
  auto r = BlockTraceReader::FromString("Timestamp,Offset,Size,IOType,VolumeID\n1,2,8,1,v\n", "t", {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  BlockRequest req;
  auto more = (*r)->Next(&req);
  ASSERT_TRUE(more.ok() && *more) << more.status().ToString();
  EXPECT_EQ(req, Req(0, 2 * 512, 8 * 512, 0, 0, BlockOp::kWrite));
}

TEST(PlainCsv, MappingWithUnitsAndHeader) {
  ReaderOptions o;
  o.format = Format::kCsv;
  o.csv_mapping = "time=0:us,op=1,offset=2:bytes,size=3:bytes,volume=4";
  auto w = MustRead("mapped.csv", o);
  std::vector<BlockRequest> want = {
      Req(0, 0, 4096, 0, 0, BlockOp::kRead),
      Req(2500, 4096, 4096, 1, 0, BlockOp::kWrite),
      Req(4000, 0, 0, 0, 0, BlockOp::kFlush),
  };
  EXPECT_EQ(w.requests, want);
  EXPECT_FALSE(w.has_task_ids);
}

TEST(PlainCsv, BadMappingNamesTheItem) {
  ReaderOptions o;
  o.format = Format::kCsv;
  o.csv_mapping = "time=0:fortnights,op=1,offset=2,size=3";
  Status st = ReadError("1,r,0,1\n", o);
  EXPECT_EQ(st.message(),
            "field 'csv_mapping': time unit must be ns, us, ms, s or ticks (100 ns) (got 'time=0:fortnights')");
  o.csv_mapping = "time=0,op=1,offset=2";
  EXPECT_EQ(ReadError("1,r,0,1\n", o).message(),
            "field 'csv_mapping': missing column 'size' (got 'time=0,op=1,offset=2')");
}

TEST(Errors, NameFileLineAndField) {
  auto w = ReadBlockTrace(kData + "/broken_msr.csv", {});
  EXPECT_EQ(w.status().message(), kData + "/broken_msr.csv:2: field 'Offset': negative (got '-5')");
  w = ReadBlockTrace(kData + "/broken_blkparse.txt", {});
  EXPECT_EQ(w.status().message(), kData + "/broken_blkparse.txt:2: field 'nsectors': truncated: expected 10 "
                                          "fields, got 9 (got '  8,0    1        2     0.000001000  1200  Q   R "
                                          "2048 +')");
  w = ReadBlockTrace(kData + "/broken_fio_v3.log", {});
  EXPECT_EQ(w.status().message(), kData + "/broken_fio_v3.log:4: field 'action': unknown action (got 'frobnicate')");

  EXPECT_EQ(ReadError("3,R,1024,4096,12x\n").message(), "t:1: field 'timestamp': not a non-negative number (got '12x')");
  EXPECT_EQ(ReadError("3,R,1024,4096,1\n3,X,0,1,2\n").message(), "t:2: field 'opcode': unknown op (want Read or Write) (got 'X')");
  EXPECT_EQ(ReadError("1,2,8,1,v\n1,2,8,7,v\n").message(), "t:2: field 'IOType': unknown op (want 0 = read or 1 = write) (got '7')");
  EXPECT_EQ(ReadError("1,2,99999999999,1,v\n").message(), "t:1: field 'Size': larger than 4 GiB (got '99999999999')");
  EXPECT_EQ(ReadError("1,hm,0,Read,5,4096\n", {Format::kMsr}).message(),
            "t:1: field 'ResponseTime': truncated: expected 7 fields, got 6 (got '1,hm,0,Read,5,4096')");
  // A truncated line names its first missing field.
  EXPECT_EQ(ReadError("1,hm,0\n", {Format::kMsr}).message(),
            "t:1: field 'Type': truncated: expected 7 fields, got 3 (got '1,hm,0')");
  EXPECT_EQ(ReadError("3,R,1024\n", {Format::kAlibaba}).message(),
            "t:1: field 'length': truncated: expected 5 fields, got 3 (got '3,R,1024')");
  EXPECT_EQ(ReadError("1,2,8,1\n", {Format::kTencent}).message(),
            "t:1: field 'VolumeID': truncated: expected 5 fields, got 4 (got '1,2,8,1')");
  EXPECT_EQ(ReadError("8,0 1 1 0.5 7 Q R 10 + 8 [x]\n8,0 1 2 0.6 7 Z R 10 + 8 [x]\n").message(),
            "t:2: field 'action': unknown blktrace action (got 'Z')");
  EXPECT_EQ(ReadError("8,0 1 1 0.5 7 Q R 18446744073709551616 + 8 [x]\n").message(),
            "t:1: field 'sector': out of range (got '18446744073709551616')");
  EXPECT_EQ(ReadError("fio version 2 iolog\n/a read 0\n").message(),
            "t:2: field 'length': truncated: expected 4 fields, got 3 (got '/a read 0')");
  EXPECT_EQ(ReadError("hello world\n").message(),
            "t: field 'format': cannot detect the trace format; pass --format (blkparse, msr, fio-v2, fio-v3, "
            "alibaba, tencent, csv) (got 'hello world')");
}

TEST(Errors, StickyAfterTheFirst) {
  auto r = BlockTraceReader::FromString("3,R,0,1,1\n3,R,x,1,2\n3,R,0,1,3\n", "t", {});
  ASSERT_TRUE(r.ok());
  BlockRequest q;
  EXPECT_TRUE(*(*r)->Next(&q));
  auto e1 = (*r)->Next(&q);
  auto e2 = (*r)->Next(&q);
  ASSERT_FALSE(e1.ok());
  EXPECT_EQ(e1.status().message(), e2.status().message());
}

std::string Gzip(const std::string& in) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zstd(const std::string& in) {
  std::string out(ZSTD_compressBound(in.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

std::vector<BlockRequest> All(BlockTraceReader& r) {
  std::vector<BlockRequest> v;
  BlockRequest q;
  for (;;) {
    auto more = r.Next(&q);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) return v;
    v.push_back(q);
  }
}

TEST(Compression, GzipAndZstdByMagicBytes) {
  std::string plain = Slurp(kData + "/blkparse.txt");
  auto a = BlockTraceReader::FromString(plain, "plain", {});
  auto g = BlockTraceReader::FromString(Gzip(plain), "x.txt", {});          // no .gz extension
  auto g2 = BlockTraceReader::FromString(Gzip(plain.substr(0, 200)) + Gzip(plain.substr(200)), "multi", {});
  auto z = BlockTraceReader::FromString(Zstd(plain), "x.csv", {});
  ASSERT_TRUE(a.ok() && g.ok() && g2.ok() && z.ok());
  auto want = All(**a);
  EXPECT_EQ(want.size(), 6u);
  EXPECT_EQ(All(**g), want);
  EXPECT_EQ(All(**g2), want);  // concatenated gzip members
  EXPECT_EQ(All(**z), want);
}

TEST(Compression, TruncatedStreamsAreErrors) {
  std::string plain = Slurp(kData + "/fio_v3.log");
  std::string gz = Gzip(plain), zs = Zstd(plain);
  Status g = ReadError(gz.substr(0, gz.size() - 10), {}, "g");
  Status z = ReadError(zs.substr(0, zs.size() - 3), {}, "z");
  EXPECT_EQ(g.message(), "g: gzip: truncated stream");
  EXPECT_EQ(z.message(), "z: zstd: truncated stream");
}

TEST(Stdin, DashReadsStandardInput) {
  std::string plain = Slurp(kData + "/alibaba.csv");
  std::string gz = Gzip(plain);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], gz.data(), gz.size()), static_cast<ssize_t>(gz.size()));
  close(fds[1]);
  int saved = dup(0);
  dup2(fds[0], 0);
  close(fds[0]);
  auto w = ReadBlockTrace("-", {});
  dup2(saved, 0);
  close(saved);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->requests, MustRead("alibaba.csv").requests);
}

// What `trace inspect` asks before it picks the block family: the formats
// the reader detects, from the head alone; the broken fixtures still count
// (their errors come later); other text does not.
TEST(DetectFormat, FromTheHeadAsTheReaderDoes) {
  const std::pair<const char*, Format> files[] = {
      {"blkparse.txt", Format::kBlkparse},   {"msr.csv", Format::kMsr},         {"fio_v2.log", Format::kFioV2},
      {"fio_v3.log", Format::kFioV3},        {"alibaba.csv", Format::kAlibaba}, {"tencent.csv", Format::kTencent},
      {"broken_msr.csv", Format::kMsr},      {"broken_fio_v3.log", Format::kFioV3},
      {"broken_blkparse.txt", Format::kBlkparse}};
  for (const auto& [file, want] : files) {
    auto f = DetectFormat(Slurp(kData + "/" + file));
    ASSERT_TRUE(f.ok()) << file << ": " << f.status().ToString();
    EXPECT_EQ(*f, want) << file;
  }
  EXPECT_EQ(*DetectFormat("time_ns,volume,op,offset,bytes\r\n0,sda,read,0,4096\r\n"), Format::kCsv);
  EXPECT_FALSE(DetectFormat("").ok());
  EXPECT_FALSE(DetectFormat("hello world\n").ok());
  // ftrace text of memory events is not a block trace.
  EXPECT_FALSE(DetectFormat("# tracer: nop\n#\n"
                            "  kworker/0:1-42 [000] ..... 12.345678: cma_alloc_start: name=reserved count=8 align=3\n")
                   .ok());
}

TEST(Open, MissingFile) {
  auto r = BlockTraceReader::Open(kData + "/nope.csv", {});
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kreplay::blocktrace

namespace kreplay::blocktrace {
namespace {

// The shipped real recording reads end to end (zstd + fio v3), and its
// counts equal a plain count of the decompressed text's action words.
TEST(Example, ShippedFioRecording) {
  std::string zst = Slurp(std::string(KREPLAY_EXAMPLE_TRACES) + "/fio-mixed.iolog.zst");
  ASSERT_FALSE(zst.empty());
  std::string text(ZSTD_getFrameContentSize(zst.data(), zst.size()), '\0');
  ASSERT_EQ(ZSTD_decompress(text.data(), text.size(), zst.data(), zst.size()), text.size());
  uint64_t reads = 0, writes = 0, syncs = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    reads += line.find(" read ") != std::string::npos;
    writes += line.find(" write ") != std::string::npos;
    syncs += line.find(" sync ") != std::string::npos;  // fio logs "sync <offset> 0"
  }
  auto w = ReadBlockTrace(std::string(KREPLAY_EXAMPLE_TRACES) + "/fio-mixed.iolog.zst", {});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  uint64_t got[4] = {};
  for (const auto& r : w->requests) ++got[static_cast<int>(r.op)];
  EXPECT_EQ(got[0], reads);
  EXPECT_EQ(got[1], writes);
  EXPECT_EQ(got[3], syncs);
  EXPECT_GT(reads, 1000u);
  EXPECT_EQ(w->volumes.size(), 1u);
}

}  // namespace
}  // namespace kreplay::blocktrace
