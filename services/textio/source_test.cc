#include "services/textio/source.h"

#include <gtest/gtest.h>

#include <cstring>

namespace kreplay::textio {
namespace {

// Everything a source yields, or its first error.
StatusOr<std::string> ReadAll(ByteSource& s) {
  std::string out;
  char buf[7];  // small, so that reads straddle the head's end
  for (;;) {
    KREPLAY_ASSIGN_OR_RETURN(size_t n, s.Read(buf, sizeof buf));
    if (n == 0) return out;
    out.append(buf, n);
  }
}

// Yields `data`, then fails.
class FailingSource final : public ByteSource {
 public:
  explicit FailingSource(std::string data) : data_(std::move(data)) {}
  StatusOr<size_t> Read(char* buf, size_t n) override {
    if (pos_ == data_.size()) return Status(DataLoss("cut short"));
    size_t k = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, k);
    pos_ += k;
    return k;
  }

 private:
  std::string data_;
  size_t pos_ = 0;
};

TEST(PeekTest, HeadThenTheWholeInputAgain) {
  Peeked p = Peek(MemorySource("line one\nline two\nline three\n"), 12);
  EXPECT_EQ(p.head, "line one\nlin");
  EXPECT_FALSE(p.at_end);
  EXPECT_TRUE(p.error.ok());
  auto all = ReadAll(*p.source);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, "line one\nline two\nline three\n");
}

TEST(PeekTest, ShortInputIsWholeAndAtEnd) {
  Peeked p = Peek(MemorySource("abc"), 100);
  EXPECT_EQ(p.head, "abc");
  EXPECT_TRUE(p.at_end);
  auto all = ReadAll(*p.source);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(*all, "abc");
  Peeked e = Peek(MemorySource(""), 100);
  EXPECT_EQ(e.head, "");
  EXPECT_TRUE(e.at_end);
}

TEST(PeekTest, AnErrorInTheHeadComesBackAfterItsBytes) {
  Peeked p = Peek(std::make_unique<FailingSource>("good bytes"), 100);
  EXPECT_EQ(p.head, "good bytes");
  EXPECT_FALSE(p.at_end);
  EXPECT_EQ(p.error.code(), StatusCode::kDataLoss);
  char buf[100];
  auto n = p.source->Read(buf, sizeof buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(buf, *n), "good bytes");
  auto again = p.source->Read(buf, sizeof buf);
  EXPECT_EQ(again.status().code(), StatusCode::kDataLoss) << "the error is not swallowed";
}

TEST(PeekTest, DecompressedSourcesPeekTheirText) {
  // gzip of "hello\n" (gzip -n), so the peek sees text, not the magic.
  const unsigned char gz[] = {0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0xcb, 0x48, 0xcd,
                              0xc9, 0xc9, 0xe7, 0x02, 0x00, 0x20, 0x30, 0x3a, 0x36, 0x06, 0x00, 0x00, 0x00};
  auto src = Decompress(MemorySource(std::string(reinterpret_cast<const char*>(gz), sizeof gz)), "mem");
  ASSERT_TRUE(src.ok());
  Peeked p = Peek(std::move(*src), 3);
  EXPECT_EQ(p.head, "hel");
  auto all = ReadAll(*p.source);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(*all, "hello\n");
}

}  // namespace
}  // namespace kreplay::textio
