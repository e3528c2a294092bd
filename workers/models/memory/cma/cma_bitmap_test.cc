// The CMA bitmap's aligned search, with expectations worked out from
// mm/cma.c and lib/bitmap.c (6.1) by hand.
#include <gtest/gtest.h>

#include "workers/models/memory/cma/cma_bitmap.h"

namespace kreplay::memory {
namespace {

TEST(CmaBitmap, MaskOffsetAndBits) {
  CmaBitmap a(0x80000, 65536, 0);
  EXPECT_EQ(a.MaxNo(), 65536u);
  EXPECT_EQ(a.AlignedMask(8), 255u);  // (1 << (8 - 0)) - 1
  EXPECT_EQ(a.AlignedMask(0), 0u);
  EXPECT_EQ(a.AlignedOffset(8), 0u);  // 0x80000 is 256-aligned
  EXPECT_EQ(a.PagesToBits(10), 10u);
  // order_per_bit 2: a bit is 4 pages; 10 pages take 3 bits.
  CmaBitmap b(0x80010, 65536, 2);
  EXPECT_EQ(b.MaxNo(), 16384u);
  EXPECT_EQ(b.PagesToBits(10), 3u);
  EXPECT_EQ(b.AlignedMask(8), 63u);        // (1 << (8 - 2)) - 1
  EXPECT_EQ(b.AlignedMask(2), 0u);         // align_order <= order_per_bit
  EXPECT_EQ(b.AlignedOffset(8), 16u >> 2);  // (0x80010 & 255) >> 2 = 4
}

// A base 16 pages past a 256-page boundary, align order 8: the first
// candidate is bit 240, whose PFN 0x80010 + 240 = 0x80100 is 256-aligned.
TEST(CmaBitmap, OffsetAlignsThePfnNotTheBit) {
  CmaBitmap a(0x80010, 4096, 0);
  uint64_t i = a.FindNextZeroAreaOff(0, 64, a.AlignedMask(8), a.AlignedOffset(8));
  EXPECT_EQ(i, 240u);
  EXPECT_EQ(a.PfnOf(i) % 256, 0u);
}

// bitmap_find_next_zero_area_off(): from a clear start, the aligned index;
// over a used run it restarts after the run's first set bit, realigned.
TEST(CmaBitmap, SearchSkipsUsedRunsAndReportsNoRoom) {
  CmaBitmap a(0, 4096, 0);
  a.Set(256, 44);  // [256, 300)
  EXPECT_EQ(a.used_bits(), 44u);
  EXPECT_EQ(a.FindNextZeroAreaOff(0, 200, 255, 0), 0u);  // [0, 200) is clear
  // 300 bits from 0 would cross bit 256: restart at 257, next clear 300,
  // aligned up to 512.
  EXPECT_EQ(a.FindNextZeroAreaOff(0, 300, 255, 0), 512u);
  // cma_alloc()'s retry after -EBUSY: start = bitmap_no + mask + 1.
  EXPECT_EQ(a.FindNextZeroAreaOff(0 + 255 + 1, 100, 255, 0), 512u);
  // No room: the end it would need, beyond MaxNo().
  EXPECT_GT(a.FindNextZeroAreaOff(0, 4000, 255, 0), a.MaxNo());
  a.Clear(256, 44);
  EXPECT_EQ(a.used_bits(), 0u);
  EXPECT_EQ(a.FindNextZeroAreaOff(0, 300, 255, 0), 0u);
}

TEST(CmaBitmap, ClearPagesUsesWholeBits) {
  CmaBitmap a(1024, 4096, 2);
  a.Set(a.PagesToBits(0), a.PagesToBits(10));  // 3 bits for 10 pages
  EXPECT_EQ(a.used_bits(), 3u);
  a.ClearPages(1024, 10);
  EXPECT_EQ(a.used_bits(), 0u);
  a.Set(5, 2);
  EXPECT_TRUE(a.Test(5) && a.Test(6) && !a.Test(7));
  a.ClearPages(a.PfnOf(5), 8);  // pages 1044..1051: bits 5 and 6
  EXPECT_EQ(a.used_bits(), 0u);
}

}  // namespace
}  // namespace kreplay::memory
