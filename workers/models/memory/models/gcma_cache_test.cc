// GCMA's cache, worked by hand: a clock over the reserved pages, buffers'
// pages skipped, an allocation discarding what its range cached.
#include <gtest/gtest.h>

#include "workers/models/memory/models/gcma_cache.h"

namespace kreplay::memory {
namespace {

TEST(GcmaCacheTest, ClockFillsFreePagesThenReplacesTheOldest) {
  std::vector<Reservation> areas = {{"gcma", CmaBitmap(1000, 4, 0)}};
  GcmaCache c(&areas);
  for (uint32_t f = 10; f < 14; ++f) c.Put(f, 0);  // slots 0..3 hold 10..13
  EXPECT_EQ(c.cached(), 4u);
  c.Put(20, 0);  // the hand is back at slot 0: 10, the oldest, goes
  EXPECT_FALSE(c.Get(10, 0));
  EXPECT_TRUE(c.Get(20, 0));
  EXPECT_TRUE(c.Get(11, 0));
  EXPECT_EQ(c.hits(), 2u);
  c.Put(11, 0);  // already cached: nothing moves
  EXPECT_EQ(c.stored(), 5u);
}

TEST(GcmaCacheTest, BuffersPagesAreSkippedAndAllocationDiscards) {
  std::vector<Reservation> areas = {{"gcma", CmaBitmap(1000, 8, 0)}};
  GcmaCache c(&areas);
  for (uint32_t f = 0; f < 8; ++f) c.Put(f, 0);  // slot i holds file page i
  // A buffer takes pages 2..5: its four cached pages are discarded.
  areas[0].bitmap.Set(2, 4);
  EXPECT_EQ(c.Discard(0, 2, 4), 4u);
  EXPECT_EQ(c.cached(), 4u);
  EXPECT_FALSE(c.Get(3, 0));
  // New puts skip the held pages: the hand (at 0) replaces 0 and 1, then 6.
  c.Put(100, 0);
  c.Put(101, 0);
  c.Put(102, 0);
  EXPECT_FALSE(c.Get(0, 0));
  EXPECT_FALSE(c.Get(1, 0));
  EXPECT_FALSE(c.Get(6, 0));
  EXPECT_TRUE(c.Get(7, 0));
  EXPECT_TRUE(c.Get(102, 0));
  // Every page held: a put keeps nothing.
  areas[0].bitmap.Set(0, 2);
  areas[0].bitmap.Set(6, 2);
  EXPECT_EQ(c.Discard(0, 0, 2) + c.Discard(0, 6, 2), 4u);
  c.Put(200, 0);
  EXPECT_FALSE(c.Get(200, 0));
  EXPECT_EQ(c.cached(), 0u);
}

}  // namespace
}  // namespace kreplay::memory
