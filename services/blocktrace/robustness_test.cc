// Robustness without libFuzzer: random bytes, random printable junk and every
// truncation/bit-flip of valid fixtures go through every parser; each run must
// end (bounded lines) with either a clean end or an error, never a crash.
// Run it under ASan/UBSan (the CI's sanitizer build) for full value.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "services/blocktrace/parsers.h"
#include "services/blocktrace/reader.h"
#include "services/sim/rng.h"

namespace kreplay::blocktrace {
namespace {

const std::string kData = KREPLAY_BLOCKTRACE_TESTDATA;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Format kFormats[] = {Format::kAuto,    Format::kBlkparse, Format::kMsr,     Format::kFioV2,
                           Format::kFioV3,   Format::kAlibaba,  Format::kTencent, Format::kCsv};

// Returns the number of requests read; fails the test if it does not stop.
// Error or end are both fine: the point is that it returns.
int Drain(const std::string& data, Format f, int* errors) {
  ReaderOptions o;
  o.format = f;
  auto r = BlockTraceReader::FromString(data, "fuzz", o);
  if (!r.ok()) {
    ++*errors;
    EXPECT_FALSE(r.status().message().empty());
    return 0;
  }
  workload::BlockRequest q;
  int n = 0;
  for (size_t guard = 0; guard <= data.size() + 2; ++guard) {
    auto more = (*r)->Next(&q);
    if (!more.ok()) {
      ++*errors;
      EXPECT_FALSE(more.status().message().empty());
      return n;
    }
    if (!*more) return n;
    ++n;
    EXPECT_GE(q.time_ns, 0);
    EXPECT_LE(q.offset, UINT64_MAX - q.bytes);
  }
  ADD_FAILURE() << "reader did not stop";
  return n;
}

TEST(Robustness, RandomBytesGiveErrorsNotCrashes) {
  sim::Rng rng(42);
  int errors = 0, total = 0;
  for (int iter = 0; iter < 300; ++iter) {
    size_t len = rng.Below(400);
    std::string s(len, '\0');
    bool printable = iter % 2 == 0;
    for (char& c : s) {
      c = printable ? " \n,.+0123456789RWQDrwabcdefio-:"[rng.Below(31)] : static_cast<char>(rng.Below(256));
    }
    for (Format f : kFormats) {
      Drain(s, f, &errors);
      ++total;
    }
  }
  // Almost all random inputs are malformed for a strict parser.
  EXPECT_GT(errors, total / 2);
}

TEST(Robustness, TruncationsAndBitFlipsOfEveryFixture) {
  const char* files[] = {"blkparse.txt", "msr.csv", "fio_v2.log", "fio_v3.log", "alibaba.csv", "tencent.csv", "mapped.csv"};
  sim::Rng rng(7);
  int errors = 0;
  for (const char* file : files) {
    std::string good = Slurp(kData + "/" + file);
    ASSERT_FALSE(good.empty()) << file;
    for (size_t cut = 0; cut <= good.size(); ++cut) {
      for (Format f : kFormats) Drain(good.substr(0, cut), f, &errors);
    }
    for (int k = 0; k < 200; ++k) {
      std::string bad = good;
      bad[rng.Below(bad.size())] = static_cast<char>(rng.Below(256));
      Drain(bad, Format::kAuto, &errors);
    }
  }
  EXPECT_GT(errors, 0);
}

TEST(Robustness, CorruptCompressedInput) {
  sim::Rng rng(3);
  int errors = 0;
  for (int k = 0; k < 200; ++k) {
    std::string s = k % 2 ? std::string("\x1f\x8b", 2) : std::string("\x28\xb5\x2f\xfd", 4);
    size_t len = rng.Below(300);
    for (size_t i = 0; i < len; ++i) s += static_cast<char>(rng.Below(256));
    Drain(s, Format::kAuto, &errors);
  }
  EXPECT_EQ(errors, 200);  // random bytes after a magic number are never a valid stream
}

TEST(Robustness, OverlongLineIsAnError) {
  std::string s(3 << 20, 'a');  // no newline: must not buffer without limit
  int errors = 0;
  Drain(s, Format::kMsr, &errors);
  EXPECT_EQ(errors, 1);
}

}  // namespace
}  // namespace kreplay::blocktrace
