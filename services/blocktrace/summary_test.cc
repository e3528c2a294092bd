#include "services/blocktrace/summary.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <set>

namespace kreplay::blocktrace {
namespace {

using workload::BlockOp;

TraceSummary SummarizeCsv(const std::string& csv, SummaryOptions so = {}) {
  ReaderOptions o;
  o.format = Format::kCsv;
  auto r = BlockTraceReader::FromString(csv, "s", o);
  EXPECT_TRUE(r.ok());
  auto s = Summarize(**r, so);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

TEST(Summary, CountsFootprintSequentiality) {
  // vol a: read 0..8K, write 8K..12K (sequential), read 0..4K (not), flush.
  // vol b: read 4K+512 .. +1024 (one 4K block, unaligned), discard 1 MiB.
  std::string csv =
      "time_ns,volume,op,offset,bytes\n"
      "0,a,read,0,8192\n"
      "10,b,read,4608,1024\n"
      "20,a,write,8192,4096\n"
      "30,a,read,0,4096\n"
      "40,a,flush,0,0\n"
      "50,b,discard,0,1048576\n";
  TraceSummary s = SummarizeCsv(csv);
  EXPECT_EQ(s.requests, 6u);
  EXPECT_EQ(s.ops[0], 3u);
  EXPECT_EQ(s.ops[1], 1u);
  EXPECT_EQ(s.ops[2], 1u);
  EXPECT_EQ(s.ops[3], 1u);
  EXPECT_EQ(s.bytes_read, 8192u + 1024 + 4096);
  EXPECT_EQ(s.bytes_written, 4096u);
  EXPECT_EQ(s.bytes_discarded, 1048576u);
  // a: blocks 0,1,2; b: block 1. Discards do not count.
  EXPECT_EQ(s.footprint_blocks, 4u);
  EXPECT_TRUE(s.footprint_exact);
  // predecessors: a-write (seq), a-read (no), b-discard (no) -> 1 of 3
  EXPECT_EQ(s.with_predecessor, 3u);
  EXPECT_EQ(s.sequential, 1u);
  EXPECT_EQ(s.duration_ns, 50);
  EXPECT_EQ(s.volumes, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(s.has_task_ids);
  // sizes 8192 -> bucket 13, 1024 -> 10, 4096 -> 12 (x2), 1 MiB -> 20
  ASSERT_EQ(s.size_buckets.size(), 21u);
  EXPECT_EQ(s.size_buckets[13], 1u);
  EXPECT_EQ(s.size_buckets[10], 1u);
  EXPECT_EQ(s.size_buckets[12], 2u);
  EXPECT_EQ(s.size_buckets[20], 1u);
  EXPECT_EQ(s.sizes.min(), 1024);
  EXPECT_EQ(s.sizes.max(), 1048576);

  auto j = nlohmann::json::parse(SummaryJson(s));
  EXPECT_EQ(j["requests"], 6);
  EXPECT_EQ(j["footprint_blocks_4k"], 4);
  EXPECT_EQ(j["task_fallback"], "one task per volume (the trace has no task IDs)");
  std::string text = SummaryText(s);
  EXPECT_NE(text.find("one task per volume"), std::string::npos);
  EXPECT_NE(text.find("exact"), std::string::npos);
}

TEST(Summary, SampledFootprintBeyondTheExactLimit) {
  // 200 000 distinct blocks (some touched twice), exact limit 5 000: the
  // estimate must be flagged and close to the truth.
  std::string csv = "time_ns,volume,op,offset,bytes\n";
  uint64_t truth = 0;
  std::set<uint64_t> seen;
  for (uint64_t i = 0; i < 300000; ++i) {
    uint64_t blk = (i * 7919) % 200000;
    seen.insert(blk);
    csv += std::to_string(i) + ",v,read," + std::to_string(blk * 4096) + ",4096\n";
  }
  truth = seen.size();
  SummaryOptions so;
  so.exact_block_limit = 5000;
  TraceSummary s = SummarizeCsv(csv, so);
  EXPECT_FALSE(s.footprint_exact);
  EXPECT_LT(s.footprint_sample_rate, 1.0);
  double err = std::abs(static_cast<double>(s.footprint_blocks) - static_cast<double>(truth)) / static_cast<double>(truth);
  // ~2500-5000 sampled keys: relative standard error ~2 %; allow 10 %.
  EXPECT_LT(err, 0.10) << s.footprint_blocks << " vs " << truth;
  EXPECT_NE(SummaryText(s).find("estimated"), std::string::npos);
}

TEST(Summary, TaskIdsReported) {
  ReaderOptions o;
  auto r = BlockTraceReader::FromString("8,0 1 1 0.5 7 Q R 10 + 8 [x]\n", "b", o);
  ASSERT_TRUE(r.ok());
  auto s = Summarize(**r);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->has_task_ids);
  EXPECT_EQ(s->format, "blkparse");
}

}  // namespace
}  // namespace kreplay::blocktrace
