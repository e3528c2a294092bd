#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "services/core/crc32c.h"
#include "services/core/digest.h"
#include "services/core/parallel.h"
#include "services/core/status.h"
#include "services/core/strings.h"

namespace kreplay {
namespace {

TEST(Crc32c, KnownVectors) {
  // RFC 3720 B.4 test vectors.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
}

TEST(Crc32c, IncrementalEqualsWhole) {
  std::string s = "the quick brown fox jumps over the lazy dog, twice over";
  EXPECT_EQ(Crc32c(s.substr(13), Crc32c(s.substr(0, 13))), Crc32c(s));
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, FieldsAreLengthPrefixed) {
  Sha256 a, b;
  a.UpdateField("ab");
  a.UpdateField("c");
  b.UpdateField("a");
  b.UpdateField("bc");
  EXPECT_NE(a.HexDigest(), b.HexDigest());
}

TEST(Status, StatusOrCarriesErrorsAndValues) {
  StatusOr<int> v = 3;
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(*v, 3);
  StatusOr<int> e = InvalidArgument("x: bad");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().ToString(), "INVALID_ARGUMENT: x: bad");
  EXPECT_EQ(e.status().WithContext("f.yaml:3").message(), "f.yaml:3: x: bad");
}

TEST(Strings, StrictNumberParsing) {
  EXPECT_EQ(ParseInt("42"), 42);
  EXPECT_EQ(ParseInt("-7"), -7);
  EXPECT_FALSE(ParseInt("42x"));
  EXPECT_FALSE(ParseInt(""));
  EXPECT_EQ(ParseDouble("1.5"), 1.5);
  EXPECT_FALSE(ParseDouble("nan"));
  EXPECT_EQ(FormatDouble(0.1), "0.1");
}

TEST(Parallel, EveryIndexExactlyOnce) {
  for (int threads : {1, 3, 0}) {
    std::vector<std::atomic<int>> hits(1000);
    ParallelFor(hits.size(), threads, [&](size_t i) { hits[i].fetch_add(1); });
    for (size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i].load(), 1) << "index " << i << " threads " << threads;
  }
  int calls = 0;
  ParallelFor(0, 4, [&](size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace kreplay
