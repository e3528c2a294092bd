#include "services/blocktrace/writer.h"

#include <gtest/gtest.h>

#include <sstream>

namespace kreplay::blocktrace {
namespace {

const std::string kData = KREPLAY_BLOCKTRACE_TESTDATA;

struct Converted {
  std::string text;
  workload::BlockWorkload original;
};

// Reads `file` twice: once into memory, once through a writer.
Converted ConvertFile(const std::string& file, bool fio) {
  Converted c;
  auto w = ReadBlockTrace(kData + "/" + file, {});
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  c.original = *w;
  auto r = BlockTraceReader::Open(kData + "/" + file, {});
  EXPECT_TRUE(r.ok());
  std::ostringstream out;
  auto writer = fio ? NewFioV3Writer(out) : NewCsvWriter(out, (*r)->has_task_ids(), (*r)->has_sync_flags());
  auto n = Convert(**r, *writer);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, c.original.requests.size());
  c.text = out.str();
  return c;
}

TEST(CsvRoundTrip, EveryFormatReimportsIdentically) {
  for (const char* file : {"blkparse.txt", "msr.csv", "fio_v2.log", "fio_v3.log", "alibaba.csv", "tencent.csv"}) {
    Converted c = ConvertFile(file, false);
    auto back = BlockTraceReader::FromString(c.text, "csv", {});  // detected by its header
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ((*back)->format(), Format::kCsv);
    workload::BlockWorkload w;
    workload::BlockRequest q;
    while (*(*back)->Next(&q)) w.requests.push_back(q);
    w.volumes = (*back)->volumes();
    w.has_task_ids = (*back)->has_task_ids();
    w.has_sync_flags = (*back)->has_sync_flags();
    EXPECT_EQ(w, c.original) << file;
  }
}

TEST(CsvWriter, LayoutIsTheDefaultMapping) {
  Converted c = ConvertFile("fio_v2.log", false);
  EXPECT_EQ(c.text.substr(0, c.text.find('\n', c.text.find('\n') + 1) + 1),
            "time_ns,volume,op,offset,bytes\n0,/dev/sdb,read,0,4096\n");
}

TEST(CsvWriter, RejectsNamesThatWouldNotRoundTrip) {
  std::ostringstream out;
  auto w = NewCsvWriter(out, false);
  workload::BlockRequest r;
  Status st = w->Write(r, {"a\nb"});
  EXPECT_FALSE(st.ok());
}

TEST(CsvWriter, QuotesNamesWithCommasAndQuotes) {
  std::ostringstream out;
  auto w = NewCsvWriter(out, false);
  workload::BlockRequest r;
  r.bytes = 512;
  ASSERT_TRUE(w->Write(r, {"8,0"}).ok());
  r.volume = 1;
  ASSERT_TRUE(w->Write(r, {"8,0", " say \"hi\""}).ok());
  EXPECT_EQ(out.str(), "time_ns,volume,op,offset,bytes\n0,\"8,0\",read,0,512\n0,\" say \"\"hi\"\"\",read,0,512\n");
  auto back = BlockTraceReader::FromString(out.str(), "q", {});
  ASSERT_TRUE(back.ok());
  workload::BlockRequest q;
  while (*(*back)->Next(&q)) {
  }
  EXPECT_EQ((*back)->volumes(), (std::vector<std::string>{"8,0", " say \"hi\""}));
}

TEST(FioV3RoundTrip, SameRequestsAtMicrosecondResolution) {
  Converted c = ConvertFile("blkparse.txt", true);
  EXPECT_EQ(c.text.substr(0, c.text.find('\n')), "fio version 3 iolog");
  auto back = BlockTraceReader::FromString(c.text, "fio", {});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ((*back)->format(), Format::kFioV3);
  std::vector<workload::BlockRequest> want = c.original.requests, got;
  for (auto& r : want) {
    r.time_ns = r.time_ns / 1000 * 1000;  // fio's unit
    r.task = 0;                           // fio logs carry no task IDs
    r.sync = false;                       // nor sync flags
  }
  workload::BlockRequest q;
  while (*(*back)->Next(&q)) got.push_back(q);
  EXPECT_EQ(got, want);
  EXPECT_EQ((*back)->volumes(), c.original.volumes);  // "8,0" is a usable fio file name
}

TEST(FioV3Writer, FileLinesAndPrefix) {
  std::ostringstream out;
  FioWriterOptions o;
  o.file_prefix = "/tmp/kr";
  auto w = NewFioV3Writer(out, o);
  workload::BlockRequest r;
  r.time_ns = 2500;
  r.offset = 4096;
  r.bytes = 512;
  r.op = workload::BlockOp::kWrite;
  ASSERT_TRUE(w->Write(r, {"my disk"}).ok());
  r.time_ns = 7000;
  r.op = workload::BlockOp::kFlush;
  ASSERT_TRUE(w->Write(r, {"my disk"}).ok());
  ASSERT_TRUE(w->Finish().ok());
  EXPECT_EQ(out.str(),
            "fio version 3 iolog\n2 /tmp/kr0 add\n2 /tmp/kr0 open\n2 /tmp/kr0 write 4096 512\n"
            "7 /tmp/kr0 sync 0 0\n7 /tmp/kr0 close\n");
  std::ostringstream out2;
  auto w2 = NewFioV3Writer(out2);
  ASSERT_TRUE(w2->Write(r, {"my disk"}).ok());
  EXPECT_NE(out2.str().find("kreplay-vol0 add"), std::string::npos);  // whitespace: not a fio name
}

}  // namespace
}  // namespace kreplay::blocktrace
