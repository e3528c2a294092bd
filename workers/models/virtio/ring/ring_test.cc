// Tests of the virtio ring engine. Expected values come from the virtio 1.1
// specification's layout formulas and the kernel's rules (virtio_ring.c,
// vhost.c), worked out by hand in the comments, not from the engine's output.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <deque>
#include <random>
#include <vector>

#include "workers/models/virtio/ring/event_idx.h"
#include "workers/models/virtio/ring/packed_ring.h"
#include "workers/models/virtio/ring/ring.h"
#include "workers/models/virtio/ring/split_ring.h"

namespace kreplay::virtio {
namespace {

uint16_t Rd16(std::span<const uint8_t> m, size_t off) { return static_cast<uint16_t>(m[off] | (m[off + 1] << 8)); }
uint32_t Rd32(std::span<const uint8_t> m, size_t off) {
  return uint32_t{m[off]} | uint32_t{m[off + 1]} << 8 | uint32_t{m[off + 2]} << 16 | uint32_t{m[off + 3]} << 24;
}
uint64_t Rd64(std::span<const uint8_t> m, size_t off) { return uint64_t{Rd32(m, off)} | uint64_t{Rd32(m, off + 4)} << 32; }
void Wr16(std::span<uint8_t> m, size_t off, uint16_t v) {
  m[off] = static_cast<uint8_t>(v);
  m[off + 1] = static_cast<uint8_t>(v >> 8);
}
void Wr32(std::span<uint8_t> m, size_t off, uint32_t v) {
  Wr16(m, off, static_cast<uint16_t>(v));
  Wr16(m, off + 2, static_cast<uint16_t>(v >> 16));
}

Segment Out(uint64_t addr, uint32_t len) { return Segment{addr, len, false}; }
Segment In(uint64_t addr, uint32_t len) { return Segment{addr, len, true}; }

RingFeatures Features(bool event_idx, bool indirect, bool in_order = false) {
  RingFeatures f;
  f.event_idx = event_idx;
  f.indirect = indirect;
  f.in_order = in_order;
  return f;
}

// ------------------------------------------------------------ event idx --

// (u16)(new - event - 1) < (u16)(new - old), evaluated by hand.
static_assert(VringNeedEvent(0, 1, 0));   // 0 < 1
static_assert(!VringNeedEvent(1, 1, 0));  // 65535 < 1 is false

TEST(VringNeedEvent, WrapAround) {
  // old = 65530, new = 4: the index moved by (u16)(4 - 65530) = 10, through 0.
  // event 65535: (u16)(4 - 65535 - 1) = 4 < 10 -> crossed.
  EXPECT_TRUE(VringNeedEvent(65535, 4, 65530));
  // event 5: (u16)(4 - 5 - 1) = 65534, not < 10 -> not reached yet.
  EXPECT_FALSE(VringNeedEvent(5, 4, 65530));
  // event 3: (u16)(4 - 3 - 1) = 0 < 10.
  EXPECT_TRUE(VringNeedEvent(3, 4, 65530));
  // event == new: 65535, not < 10 (the entry at `new` is not written yet).
  EXPECT_FALSE(VringNeedEvent(4, 4, 65530));
  // event == old: 9 < 10 (the first new entry).
  EXPECT_TRUE(VringNeedEvent(65530, 4, 65530));
  // event just before old: 10, not < 10.
  EXPECT_FALSE(VringNeedEvent(65529, 4, 65530));
  // No movement never notifies.
  EXPECT_FALSE(VringNeedEvent(7, 7, 7));
}

TEST(CheckQueueSize, PowersOfTwoUpTo32768) {
  EXPECT_TRUE(CheckQueueSize(1, "q").ok());
  EXPECT_TRUE(CheckQueueSize(256, "q").ok());
  EXPECT_TRUE(CheckQueueSize(32768, "q").ok());
  for (uint32_t bad : {0u, 3u, 100u, 65536u}) {
    Status st = CheckQueueSize(bad, "virtio.queue_size");
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("virtio.queue_size"), std::string::npos) << st.message();
  }
}

// ---------------------------------------------------------- split layout --

TEST(SplitLayout, OffsetsFollowSpecFormulas) {
  // N = 256: desc 16 * 256 = 4096 at 0; avail at 4096, 6 + 2 * 256 = 518 B
  // -> ends at 4614; used aligned to 4 -> 4616, 6 + 8 * 256 = 2054 B -> 6670.
  SplitRing r(256, RingFeatures{});
  EXPECT_EQ(r.desc_offset(), 0u);
  EXPECT_EQ(r.avail_offset(), 4096u);
  EXPECT_EQ(r.used_offset(), 4616u);
  EXPECT_EQ(r.memory().size(), 6670u);
  // N = 2: desc 32; avail 6 + 4 = 10 -> 42; used at align4(42) = 44, 6 + 16 = 22 -> 66.
  SplitRing r2(2, RingFeatures{});
  EXPECT_EQ(r2.avail_offset(), 32u);
  EXPECT_EQ(r2.used_offset(), 44u);
  EXPECT_EQ(r2.memory().size(), 66u);
}

TEST(SplitLayout, DescriptorBytesAfterAddBuf) {
  SplitRing r(256, Features(true, false));
  const std::array<Segment, 2> segs = {Out(0x1122334455667788ull, 0x100), In(0x2000, 0x40)};
  auto used = r.AddBuf(segs, 7);
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(*used, 2);
  EXPECT_EQ(r.num_free(), 254u);
  auto m = r.memory();
  // desc[0]: addr LE, len 0x100, flags NEXT, next 1.
  const std::array<uint8_t, 16> d0 = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                                      0x00, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00};
  EXPECT_EQ(0, std::memcmp(m.data(), d0.data(), 16));
  // desc[1]: addr 0x2000, len 0x40, flags WRITE (no NEXT: end of chain).
  EXPECT_EQ(Rd64(m, 16), 0x2000u);
  EXPECT_EQ(Rd32(m, 24), 0x40u);
  EXPECT_EQ(Rd16(m, 28), kDescFWrite);
  // avail: flags 0, idx 1, ring[0] = head 0.
  EXPECT_EQ(Rd16(m, 4096), 0);
  EXPECT_EQ(Rd16(m, 4098), 1);
  EXPECT_EQ(Rd16(m, 4100), 0);
  // The next buffer starts at the next free descriptor, 2, and goes to ring[1].
  const std::array<Segment, 1> one = {Out(0x3000, 8)};
  ASSERT_TRUE(r.AddBuf(one, 8).has_value());
  EXPECT_EQ(Rd16(m, 4098), 2);
  EXPECT_EQ(Rd16(m, 4102), 2);
  EXPECT_EQ(Rd64(m, 32), 0x3000u);
  EXPECT_EQ(Rd16(m, 44), 0);  // single descriptor: no flags
}

TEST(SplitChains, IndirectTable) {
  SplitRing r(8, Features(true, true));
  const std::array<Segment, 3> segs = {Out(0x1000, 10), Out(0x2000, 20), In(0x3000, 30)};
  auto used = r.AddBuf(segs, 1);
  ASSERT_TRUE(used.has_value());
  EXPECT_EQ(*used, 1);  // one ring slot
  EXPECT_EQ(r.num_free(), 7u);
  auto m = r.memory();
  EXPECT_EQ(Rd64(m, 0), SplitRing::IndirectAddr(0));
  EXPECT_EQ(Rd32(m, 8), 48u);  // 16 * segments
  EXPECT_EQ(Rd16(m, 12), kDescFIndirect);
  auto t = r.indirect_table(0);
  ASSERT_EQ(t.size(), 48u);
  EXPECT_EQ(Rd64(t, 0), 0x1000u);
  EXPECT_EQ(Rd16(t, 12), kDescFNext);
  EXPECT_EQ(Rd16(t, 14), 1);
  EXPECT_EQ(Rd16(t, 16 + 12), kDescFNext);
  EXPECT_EQ(Rd16(t, 16 + 14), 2);
  EXPECT_EQ(Rd32(t, 32 + 8), 30u);
  EXPECT_EQ(Rd16(t, 32 + 12), kDescFWrite);
  // A single segment never goes indirect; use_indirect=false forces direct.
  const std::array<Segment, 1> one = {Out(0x4000, 4)};
  EXPECT_EQ(*r.AddBuf(one, 2), 1);
  EXPECT_EQ(Rd16(m, 16 + 12), 0);
  EXPECT_EQ(*r.AddBuf(segs, 3, /*use_indirect=*/false), 3);
  EXPECT_EQ(r.num_free(), 3u);

  // The device sees the same segments through the table.
  std::vector<Segment> got;
  auto c = r.Pop(&got);
  ASSERT_TRUE(c.has_value());
  ASSERT_TRUE(c->has_value());
  EXPECT_EQ((*c)->id, 0);
  EXPECT_EQ((*c)->descriptors, 1);
  EXPECT_EQ((*c)->segments, 3);
  EXPECT_EQ((*c)->out_bytes, 30u);
  EXPECT_EQ((*c)->in_bytes, 30u);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].addr, 0x3000u);
  EXPECT_TRUE(got[2].device_writable);
  EXPECT_FALSE(got[1].device_writable);
}

TEST(SplitChains, TooLongFullAndFreeing) {
  SplitRing r(4, Features(true, false));
  std::vector<Segment> five(5, Out(0x1000, 1));
  EXPECT_EQ(r.AddBuf(five, 0).error(), RingError::kTooLong);
  SplitRing ri(4, Features(true, true));
  EXPECT_EQ(ri.AddBuf(five, 0).error(), RingError::kTooLong);  // spec: chain <= queue size

  const std::array<Segment, 3> three = {Out(1, 1), Out(2, 2), In(3, 3)};
  const std::array<Segment, 2> two = {Out(4, 4), In(5, 5)};
  EXPECT_EQ(*r.AddBuf(three, 11), 3);
  EXPECT_EQ(r.AddBuf(two, 12).error(), RingError::kFull);
  EXPECT_EQ(r.num_free(), 1u);
  auto c = r.Pop();
  ASSERT_TRUE(c.has_value() && c->has_value());
  EXPECT_EQ((*c)->descriptors, 3);
  r.PushUsed((*c)->id, 3);
  r.PublishUsed();
  auto u = r.GetUsed();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->token, 11u);
  EXPECT_EQ(u->len, 3u);
  EXPECT_EQ(r.num_free(), 4u);
  EXPECT_EQ(*r.AddBuf(two, 12), 2);
  // Readable after writable is refused (vhost: "Descriptor has out after in").
  const std::array<Segment, 2> bad = {In(1, 1), Out(2, 2)};
  EXPECT_EQ(r.AddBuf(bad, 13).error(), RingError::kBadChain);
}

// ------------------------------------------------- split: device parsing --

class SplitBadChain : public ::testing::Test {
 protected:
  SplitRing r{8, Features(true, true)};
  std::span<uint8_t> m = r.mutable_memory_for_test();
  void ExpectBad() {
    auto c = r.Pop();
    ASSERT_FALSE(c.has_value());
    EXPECT_EQ(c.error(), RingError::kBadChain);
    // vq_err: the queue stays stuck on the bad chain.
    auto again = r.Pop();
    ASSERT_FALSE(again.has_value());
  }
};

TEST_F(SplitBadChain, Loop) {
  const std::array<Segment, 2> segs = {Out(1, 1), Out(2, 2)};
  ASSERT_EQ(*r.AddBuf(segs, 0, false), 2);  // desc 0 -> desc 1
  Wr16(m, 16 + 12, kDescFNext);             // desc 1 gets NEXT ...
  Wr16(m, 16 + 14, 0);                      // ... back to 0
  ExpectBad();
}

TEST_F(SplitBadChain, NestedIndirect) {
  const std::array<Segment, 2> segs = {Out(1, 1), Out(2, 2)};
  ASSERT_EQ(*r.AddBuf(segs, 0), 1);
  auto& t = r.mutable_indirect_table_for_test(0);
  Wr16(t, 16 + 12, kDescFIndirect);
  ExpectBad();
}

TEST_F(SplitBadChain, IndirectWithNext) {
  const std::array<Segment, 2> segs = {Out(1, 1), Out(2, 2)};
  ASSERT_EQ(*r.AddBuf(segs, 0), 1);
  Wr16(m, 12, kDescFIndirect | kDescFNext);
  ExpectBad();
}

TEST_F(SplitBadChain, IndirectLengthNotMultipleOf16) {
  const std::array<Segment, 2> segs = {Out(1, 1), Out(2, 2)};
  ASSERT_EQ(*r.AddBuf(segs, 0), 1);
  Wr32(m, 8, 17);
  ExpectBad();
}

TEST_F(SplitBadChain, IndirectLoop) {
  const std::array<Segment, 2> segs = {Out(1, 1), Out(2, 2)};
  ASSERT_EQ(*r.AddBuf(segs, 0), 1);
  auto& t = r.mutable_indirect_table_for_test(0);
  Wr16(t, 16 + 12, kDescFNext);
  Wr16(t, 16 + 14, 0);
  ExpectBad();
}

TEST_F(SplitBadChain, HeadOutOfRange) {
  const std::array<Segment, 1> seg = {Out(1, 1)};
  ASSERT_TRUE(r.AddBuf(seg, 0).has_value());
  Wr16(m, r.avail_offset() + 4, 8);  // avail->ring[0] = 8 >= N
  ExpectBad();
}

TEST_F(SplitBadChain, AvailIdxMovedTooFar) {
  Wr16(m, r.avail_offset() + 2, 9);  // 9 > N buffers "available"
  ExpectBad();
}

// ------------------------------------------------ split: notifications --

// Pops, completes and publishes everything available; returns the number of
// interrupts PublishUsed asked for (0 or 1).
int DrainAndComplete(SplitRing& r) {
  while (true) {
    auto c = r.Pop();
    if (!c.has_value() || !c->has_value()) break;
    r.PushUsed((*c)->id, 0);
  }
  return r.PublishUsed() ? 1 : 0;
}

TEST(SplitNotify, EventIdxKicks) {
  SplitRing r(16, Features(true, false));
  const std::array<Segment, 1> seg = {Out(1, 1)};
  // avail_event starts at 0: the first add (old 0, new 1) crosses it.
  ASSERT_TRUE(r.AddBuf(seg, 0).has_value());
  EXPECT_TRUE(r.KickPrepare());
  // The device works with notifications off, drains, re-enables:
  // avail_event = 1 (its avail idx == last_avail_idx).
  r.DisableNotify();
  ASSERT_TRUE(r.Pop()->has_value());
  EXPECT_FALSE(r.EnableNotify());
  EXPECT_EQ(Rd16(r.memory(), r.used_offset() + 4 + 8 * 16), 1);
  // Three adds: old 1, new 4; (4 - 1 - 1) = 2 < 3 -> kick once.
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(r.AddBuf(seg, 1).has_value());
  EXPECT_TRUE(r.KickPrepare());
  // More adds without the device re-enabling: old 4, new 5: 3 < 1 false.
  ASSERT_TRUE(r.AddBuf(seg, 2).has_value());
  EXPECT_FALSE(r.KickPrepare());
  ASSERT_TRUE(r.AddBuf(seg, 3).has_value());
  EXPECT_FALSE(r.KickPrepare());
}

TEST(SplitNotify, FlagsFormSuppressesKicks) {
  SplitRing r(16, Features(false, false));
  const std::array<Segment, 1> seg = {Out(1, 1)};
  ASSERT_TRUE(r.AddBuf(seg, 0).has_value());
  EXPECT_TRUE(r.KickPrepare());
  r.DisableNotify();
  EXPECT_EQ(Rd16(r.memory(), r.used_offset()), kUsedFNoNotify);
  ASSERT_TRUE(r.AddBuf(seg, 1).has_value());
  EXPECT_FALSE(r.KickPrepare());
  // Enable after the driver slipped one in: must poll again.
  EXPECT_TRUE(r.EnableNotify());
  EXPECT_EQ(Rd16(r.memory(), r.used_offset()), 0);
  ASSERT_TRUE(r.AddBuf(seg, 2).has_value());
  EXPECT_TRUE(r.KickPrepare());
}

TEST(SplitNotify, EnableNotifySeesBuffersAddedAfterDisable) {
  SplitRing r(16, Features(true, false));
  const std::array<Segment, 1> seg = {Out(1, 1)};
  r.DisableNotify();
  EXPECT_FALSE(r.Pop()->has_value());
  ASSERT_TRUE(r.AddBuf(seg, 0).has_value());
  EXPECT_TRUE(r.EnableNotify());
  EXPECT_EQ(r.AvailCount(), 1);
}

TEST(SplitNotify, EventIdxInterrupts) {
  SplitRing r(16, Features(true, false));
  const std::array<Segment, 1> seg = {In(1, 1)};
  for (int k = 0; k < 4; ++k) ASSERT_TRUE(r.AddBuf(seg, k).has_value());
  // First signal: vhost's signalled_used is not valid yet -> interrupt.
  EXPECT_EQ(DrainAndComplete(r), 1);
  // Driver takes 2: used_event = 2, already passed: (5 - 2 - 1) = 2 < 1 false.
  ASSERT_TRUE(r.GetUsed());
  ASSERT_TRUE(r.GetUsed());
  const size_t used_event_off = r.avail_offset() + 4 + 2 * 16;
  EXPECT_EQ(Rd16(r.memory(), used_event_off), 2);
  ASSERT_TRUE(r.AddBuf(seg, 4).has_value());
  EXPECT_EQ(DrainAndComplete(r), 0);
  // Driver catches up: used_event = 5; one more: (6 - 5 - 1) = 0 < 1 -> yes.
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(r.GetUsed());
  EXPECT_FALSE(r.GetUsed());
  ASSERT_TRUE(r.AddBuf(seg, 5).has_value());
  EXPECT_EQ(DrainAndComplete(r), 1);
  // A batch of 3 published at once signals once: used_event = 6, old 6, new 9.
  ASSERT_TRUE(r.GetUsed());
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(r.AddBuf(seg, 6 + k).has_value());
  EXPECT_EQ(DrainAndComplete(r), 1);
  // Callbacks disabled: used_event = 0, far behind -> no interrupt.
  r.DisableCb();
  EXPECT_EQ(Rd16(r.memory(), used_event_off), 0);
  ASSERT_TRUE(r.AddBuf(seg, 9).has_value());
  EXPECT_EQ(DrainAndComplete(r), 0);
  // Re-enabling with used buffers pending reports them.
  EXPECT_FALSE(r.EnableCb());
  while (r.GetUsed()) {
  }
  EXPECT_TRUE(r.EnableCb());
  EXPECT_EQ(r.num_free(), 16u);
}

TEST(SplitNotify, NoInterruptFlag) {
  SplitRing r(16, Features(false, false));
  const std::array<Segment, 1> seg = {In(1, 1)};
  ASSERT_TRUE(r.AddBuf(seg, 0).has_value());
  EXPECT_EQ(DrainAndComplete(r), 1);
  r.DisableCb();
  EXPECT_EQ(Rd16(r.memory(), r.avail_offset()), kAvailFNoInterrupt);
  ASSERT_TRUE(r.AddBuf(seg, 1).has_value());
  EXPECT_EQ(DrainAndComplete(r), 0);
  EXPECT_FALSE(r.EnableCb());  // two used buffers wait
  EXPECT_EQ(Rd16(r.memory(), r.avail_offset()), 0);
  ASSERT_TRUE(r.AddBuf(seg, 2).has_value());
  EXPECT_EQ(DrainAndComplete(r), 1);
}

TEST(SplitNotify, EnableCbDelayedAsksAtThreeQuarters) {
  SplitRing r(16, Features(true, false));
  const std::array<Segment, 1> seg = {In(1, 1)};
  for (int k = 0; k < 8; ++k) ASSERT_TRUE(r.AddBuf(seg, k).has_value());
  r.DisableCb();
  // 8 outstanding, bufs = 8 * 3 / 4 = 6: used_event = 0 + 6.
  EXPECT_TRUE(r.EnableCbDelayed());
  EXPECT_EQ(Rd16(r.memory(), r.avail_offset() + 4 + 32), 6);
  // Completing 6 (used idx 0 -> 6) does not cross 6; the 7th does.
  for (int k = 0; k < 6; ++k) r.PushUsed((*r.Pop())->id, 0);
  EXPECT_TRUE(r.PublishUsed());  // first signal ever is unconditional
  r.PushUsed((*r.Pop())->id, 0);
  EXPECT_TRUE(r.PublishUsed());  // (7 - 6 - 1) = 0 < 1
  r.PushUsed((*r.Pop())->id, 0);
  EXPECT_FALSE(r.PublishUsed());  // (8 - 6 - 1) = 1 < 1 false
}

// ----------------------------------------------------- split: in order --

TEST(SplitInOrder, BatchedUsedEntry) {
  SplitRing r(8, Features(true, false, /*in_order=*/true));
  const std::array<Segment, 1> a = {In(0x100, 100)};
  const std::array<Segment, 2> b = {Out(0x200, 8), In(0x300, 200)};
  const std::array<Segment, 1> c = {In(0x400, 300)};
  ASSERT_EQ(*r.AddBuf(a, 10), 1);  // head 0
  ASSERT_EQ(*r.AddBuf(b, 11), 2);  // heads in ring order: 1, 2
  ASSERT_EQ(*r.AddBuf(c, 12), 1);  // head 3
  auto m = r.memory();
  EXPECT_EQ(Rd16(m, r.avail_offset() + 4), 0);
  EXPECT_EQ(Rd16(m, r.avail_offset() + 6), 1);
  EXPECT_EQ(Rd16(m, r.avail_offset() + 8), 3);
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(r.Pop()->has_value());
  // One used entry for the whole batch: id of the last buffer's head.
  r.PushUsed(3, 77);
  r.PublishUsed();
  EXPECT_EQ(Rd16(m, r.used_offset() + 2), 3);  // used idx moved by 3 buffers
  EXPECT_EQ(Rd32(m, r.used_offset() + 4), 3u);
  EXPECT_EQ(Rd32(m, r.used_offset() + 8), 77u);
  // Earlier buffers complete with their full length, the last with 77.
  auto u0 = r.GetUsed();
  auto u1 = r.GetUsed();
  auto u2 = r.GetUsed();
  ASSERT_TRUE(u0 && u1 && u2);
  EXPECT_EQ(u0->token, 10u);
  EXPECT_EQ(u0->len, 100u);
  EXPECT_EQ(u1->token, 11u);
  EXPECT_EQ(u1->len, 208u);
  EXPECT_EQ(u2->token, 12u);
  EXPECT_EQ(u2->len, 77u);
  EXPECT_FALSE(r.GetUsed());
  EXPECT_EQ(r.num_free(), 8u);
  // Descriptors keep going in ring order, wrapping at the end of the table.
  for (int lap = 0; lap < 5; ++lap) {
    ASSERT_EQ(*r.AddBuf(b, 20), 2);
    ASSERT_EQ(*r.AddBuf(b, 21), 2);
    ASSERT_EQ(*r.AddBuf(b, 22), 2);
    auto x = r.Pop();
    auto y = r.Pop();
    auto z = r.Pop();
    ASSERT_TRUE(x->has_value() && y->has_value() && z->has_value());
    EXPECT_EQ((*y)->id, ((*x)->id + 2) % 8);
    EXPECT_EQ((*z)->id, ((*x)->id + 4) % 8);
    r.PushUsed((*x)->id, 1);  // one per buffer works too
    r.PushUsed((*z)->id, 3);  // ... and a batch of the other two
    r.PublishUsed();
    EXPECT_EQ(r.GetUsed()->len, 1u);
    EXPECT_EQ(r.GetUsed()->len, 208u);
    EXPECT_EQ(r.GetUsed()->len, 3u);
    EXPECT_EQ(r.num_free(), 8u);
  }
}

// ---------------------------------------------------------------- packed --

uint16_t DescFlags(const PackedRing& r, uint32_t slot) { return Rd16(r.memory(), 16 * slot + 14); }

TEST(PackedLayout, DescriptorRingThenEventAreas) {
  // 16 B x N descriptors, then driver and device event suppression, 4 B each.
  PackedRing r(4, RingFeatures{});
  EXPECT_EQ(r.desc_offset(), 0u);
  EXPECT_EQ(r.driver_event_offset(), 64u);
  EXPECT_EQ(r.device_event_offset(), 68u);
  EXPECT_EQ(r.memory().size(), 72u);
  PackedRing big(256, RingFeatures{});
  EXPECT_EQ(big.driver_event_offset(), 4096u);
  EXPECT_EQ(big.memory().size(), 4104u);
}

TEST(PackedWrap, ThreeLapsOfASizeFourRing) {
  PackedRing r(4, Features(true, false));
  const std::array<Segment, 1> seg = {In(0x1000, 64)};
  uint32_t token = 0;
  uint32_t expect = 0;
  for (int lap = 0; lap < 3; ++lap) {
    // Section 2.8.1: the driver wrap counter starts at 1 and flips after the
    // last descriptor of each lap.
    const bool w = lap % 2 == 0;
    EXPECT_EQ(r.driver_wrap_counter(), w) << lap;
    EXPECT_EQ(r.device_wrap_counter(), w) << lap;
    for (uint32_t slot = 0; slot < 4; ++slot) {
      ASSERT_TRUE(r.AddBuf(seg, token++).has_value());
      // Available: AVAIL = wrap, USED = !wrap.
      EXPECT_EQ(DescFlags(r, slot) & (kDescFAvail | kDescFUsed), w ? kDescFAvail : kDescFUsed) << lap << slot;
      if (slot == 0) {
        // The driver polls its own next slot only: stale used descriptors of
        // the previous lap further on do not count.
        EXPECT_FALSE(r.GetUsed());
      }
    }
    EXPECT_EQ(r.driver_wrap_counter(), !w);
    EXPECT_EQ(r.num_free(), 0u);
    for (uint32_t slot = 0; slot < 4; ++slot) {
      auto c = r.Pop();
      ASSERT_TRUE(c.has_value() && c->has_value());
      r.PushUsed((*c)->id, 10 + slot);
    }
    EXPECT_TRUE(r.PublishUsed());  // driver event flags are ENABLE
    EXPECT_EQ(r.device_wrap_counter(), !w);
    for (uint32_t slot = 0; slot < 4; ++slot) {
      // Used: AVAIL = USED = the device's wrap counter at that slot; WRITE
      // because bytes were written.
      EXPECT_EQ(DescFlags(r, slot), (w ? kDescFAvail | kDescFUsed : 0) | kDescFWrite) << lap << slot;
      auto u = r.GetUsed();
      ASSERT_TRUE(u.has_value());
      EXPECT_EQ(u->token, expect++);
      EXPECT_EQ(u->len, 10 + slot);
    }
    EXPECT_FALSE(r.GetUsed());
    EXPECT_EQ(r.num_free(), 4u);
  }
}

TEST(PackedWrap, UsedOnlyWhenBothBitsMatchTheWrapCounter) {
  PackedRing r(4, Features(true, false));
  const std::array<Segment, 1> seg = {Out(0x1000, 8)};
  for (int k = 0; k < 4; ++k) ASSERT_TRUE(r.AddBuf(seg, k).has_value());
  for (int k = 0; k < 4; ++k) r.PushUsed((**r.Pop()).id, 0);
  r.PublishUsed();
  while (r.GetUsed()) {
  }
  // Second lap: the driver's used wrap counter is now 0.
  ASSERT_TRUE(r.AddBuf(seg, 9).has_value());
  auto m = r.mutable_memory_for_test();
  EXPECT_EQ(Rd16(m, 14) & (kDescFAvail | kDescFUsed), kDescFUsed);  // available in lap 2
  Wr16(m, 14, kDescFAvail | kDescFUsed);  // "used" with wrap 1: a stale lap-1 descriptor
  EXPECT_FALSE(r.GetUsed());
  Wr16(m, 14, 0);  // used with wrap 0
  auto u = r.GetUsed();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->token, 9u);
}

TEST(PackedChains, ChainsAndOutOfOrderUse) {
  PackedRing r(8, Features(true, false));
  const std::array<Segment, 3> a = {Out(0x100, 1), Out(0x200, 2), In(0x300, 3)};
  const std::array<Segment, 1> b = {In(0x400, 4)};
  ASSERT_EQ(*r.AddBuf(a, 100), 3);
  ASSERT_EQ(*r.AddBuf(b, 200), 1);
  // Chain A: NEXT on all but the last, WRITE on the in segment, one id in all.
  EXPECT_EQ(DescFlags(r, 0), kDescFAvail | kDescFNext);
  EXPECT_EQ(DescFlags(r, 1), kDescFAvail | kDescFNext);
  EXPECT_EQ(DescFlags(r, 2), kDescFAvail | kDescFWrite);
  EXPECT_EQ(DescFlags(r, 3), kDescFAvail | kDescFWrite);
  const uint16_t id_a = Rd16(r.memory(), 12);
  EXPECT_EQ(Rd16(r.memory(), 16 + 12), id_a);
  EXPECT_EQ(Rd16(r.memory(), 32 + 12), id_a);
  EXPECT_EQ(r.AvailCount(), 2);
  std::vector<Segment> segs;
  auto ca = r.Pop(&segs);
  ASSERT_TRUE(ca.has_value() && ca->has_value());
  EXPECT_EQ((*ca)->id, id_a);
  EXPECT_EQ((*ca)->descriptors, 3);
  EXPECT_EQ((*ca)->segments, 3);
  EXPECT_EQ((*ca)->out_bytes, 3u);
  EXPECT_EQ((*ca)->in_bytes, 3u);
  EXPECT_EQ(segs.size(), 3u);
  EXPECT_EQ(r.AvailCount(), 1);
  auto cb = r.Pop();
  ASSERT_TRUE(cb.has_value() && cb->has_value());
  EXPECT_EQ(r.AvailCount(), 0);
  // B completes first: its used descriptor goes to slot 0, A's to slot 1
  // (the device skips by B's one descriptor), then the device is at slot 4.
  r.PushUsed((*cb)->id, 44);
  r.PushUsed((*ca)->id, 33);
  r.PublishUsed();
  EXPECT_EQ(Rd16(r.memory(), 12), (*cb)->id);
  EXPECT_EQ(Rd16(r.memory(), 16 + 12), id_a);
  auto u1 = r.GetUsed();
  auto u2 = r.GetUsed();
  ASSERT_TRUE(u1 && u2);
  EXPECT_EQ(u1->token, 200u);
  EXPECT_EQ(u1->len, 44u);
  EXPECT_EQ(u2->token, 100u);
  EXPECT_EQ(u2->len, 33u);
  EXPECT_EQ(r.num_free(), 8u);
  // Driver and device both continue at slot 4.
  ASSERT_TRUE(r.AddBuf(b, 300).has_value());
  EXPECT_EQ(DescFlags(r, 4), kDescFAvail | kDescFWrite);
  r.PushUsed((**r.Pop()).id, 1);
  r.PublishUsed();
  EXPECT_EQ(r.GetUsed()->token, 300u);
}

TEST(PackedChains, IndirectTable) {
  PackedRing r(8, Features(true, true));
  const std::array<Segment, 3> segs = {Out(0x1000, 10), Out(0x2000, 20), In(0x3000, 30)};
  ASSERT_EQ(*r.AddBuf(segs, 5), 1);
  EXPECT_EQ(DescFlags(r, 0), kDescFAvail | kDescFIndirect);
  EXPECT_EQ(Rd32(r.memory(), 8), 48u);
  const uint16_t id = Rd16(r.memory(), 12);
  EXPECT_EQ(Rd64(r.memory(), 0), PackedRing::IndirectAddr(id));
  auto t = r.indirect_table(id);
  ASSERT_EQ(t.size(), 48u);
  EXPECT_EQ(Rd16(t, 14), 0);  // only WRITE is meaningful in a packed table
  EXPECT_EQ(Rd16(t, 16 + 14), 0);
  EXPECT_EQ(Rd16(t, 32 + 14), kDescFWrite);
  std::vector<Segment> got;
  auto c = r.Pop(&got);
  ASSERT_TRUE(c.has_value() && c->has_value());
  EXPECT_EQ((*c)->descriptors, 1);
  EXPECT_EQ((*c)->segments, 3);
  EXPECT_EQ((*c)->out_bytes, 30u);
  EXPECT_EQ((*c)->in_bytes, 30u);
  EXPECT_EQ(got[1].addr, 0x2000u);
}

TEST(PackedChains, TooLongFullAndBadChains) {
  PackedRing r(4, Features(true, true));
  std::vector<Segment> five(5, Out(1, 1));
  EXPECT_EQ(r.AddBuf(five, 0).error(), RingError::kTooLong);
  const std::array<Segment, 3> three = {Out(1, 1), Out(2, 2), In(3, 3)};
  EXPECT_EQ(*r.AddBuf(three, 1, false), 3);
  EXPECT_EQ(r.AddBuf(three, 2, false).error(), RingError::kFull);
  EXPECT_EQ(*r.AddBuf(three, 2), 1);  // indirect fits in the last slot
  EXPECT_EQ(r.num_free(), 0u);
  EXPECT_EQ(r.AddBuf(three, 3).error(), RingError::kFull);
  // Corrupt the indirect descriptor (slot 3): NEXT, then a bad length.
  auto m = r.mutable_memory_for_test();
  ASSERT_TRUE(r.Pop()->has_value());
  const uint16_t good = Rd16(m, 48 + 14);
  Wr16(m, 48 + 14, good | kDescFNext);
  EXPECT_EQ(r.Pop().error(), RingError::kBadChain);
  Wr16(m, 48 + 14, good);
  Wr32(m, 48 + 8, 40);
  EXPECT_EQ(r.Pop().error(), RingError::kBadChain);
  Wr32(m, 48 + 8, 48);
  ASSERT_TRUE(r.Pop()->has_value());
}

TEST(PackedChains, DeviceRejectsMalformedChains) {
  PackedRing r(4, Features(true, true));
  auto m = r.mutable_memory_for_test();
  const std::array<Segment, 2> two = {Out(1, 1), In(2, 2)};
  // A chain whose every descriptor says NEXT never ends within the ring.
  ASSERT_EQ(*r.AddBuf(two, 0, false), 2);
  ASSERT_EQ(*r.AddBuf(two, 1, false), 2);
  for (int slot = 0; slot < 4; ++slot) Wr16(m, 16 * slot + 14, Rd16(m, 16 * slot + 14) | kDescFNext);
  EXPECT_EQ(r.Pop().error(), RingError::kBadChain);
  Wr16(m, 16 * 1 + 14, Rd16(m, 16 * 1 + 14) & ~kDescFNext);
  Wr16(m, 16 * 3 + 14, Rd16(m, 16 * 3 + 14) & ~kDescFNext);
  // Buffer id out of range (taken from the chain's last descriptor).
  const uint16_t id = Rd16(m, 16 + 12);
  Wr16(m, 16 + 12, 4);
  EXPECT_EQ(r.Pop().error(), RingError::kBadChain);
  Wr16(m, 16 + 12, id);
  ASSERT_TRUE(r.Pop()->has_value());
  // The second chain reusing the id the device holds.
  const uint16_t id2 = Rd16(m, 48 + 12);
  Wr16(m, 48 + 12, id);
  EXPECT_EQ(r.Pop().error(), RingError::kBadChain);
  Wr16(m, 48 + 12, id2);
  ASSERT_TRUE(r.Pop()->has_value());
}

TEST(PackedChains, IndirectTableRejections) {
  PackedRing r(8, Features(true, true));
  auto m = r.mutable_memory_for_test();
  const std::array<Segment, 2> two = {Out(1, 1), In(2, 2)};
  ASSERT_EQ(*r.AddBuf(two, 0), 1);
  Wr32(m, 8, 0);  // empty table
  EXPECT_EQ(r.Pop().error(), RingError::kBadChain);
  Wr32(m, 8, 48);  // longer than the table the driver wrote
  EXPECT_EQ(r.Pop().error(), RingError::kBadChain);
  Wr32(m, 8, 32);
  const uint64_t addr = Rd64(m, 0);
  Wr32(m, 0, static_cast<uint32_t>(addr + 16));  // not a table's address
  EXPECT_EQ(r.Pop().error(), RingError::kBadChain);
  Wr32(m, 0, static_cast<uint32_t>(addr));
  // Readable after writable inside the table.
  auto& t = r.mutable_indirect_table_for_test(Rd16(m, 12));
  Wr16(t, 14, kDescFWrite);
  Wr16(t, 16 + 14, 0);
  EXPECT_EQ(r.Pop().error(), RingError::kBadChain);
  Wr16(t, 14, 0);
  Wr16(t, 16 + 14, kDescFWrite);
  // Reserved flags in a packed table are ignored by the device (2.8.7).
  Wr16(t, 14, kDescFNext | kDescFIndirect);
  auto c = r.Pop();
  ASSERT_TRUE(c.has_value() && c->has_value());
  EXPECT_EQ((*c)->segments, 2);
}

TEST(PackedNotify, KickAfterALapOfUnkickedAdds) {
  PackedRing r(4, Features(true, false));
  const std::array<Segment, 1> seg = {Out(1, 1)};
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(r.AddBuf(seg, 0).has_value());
  EXPECT_TRUE(r.KickPrepare());
  // The device drains slots 0..2 and asks for a kick at slot 3, wrap 1.
  r.DisableNotify();
  for (int k = 0; k < 3; ++k) r.PushUsed((**r.Pop()).id, 0);
  EXPECT_FALSE(r.EnableNotify());
  EXPECT_EQ(Rd16(r.memory(), r.device_event_offset()), 0x8003);
  r.PublishUsed();
  while (r.GetUsed()) {
  }
  // The driver adds two laps' worth (slots 3, 0, 1, 2, 3, 0, 1, 2) without
  // calling KickPrepare, the device consuming as it goes. The driver is back
  // at slot 3, wrap 1: old = (u16)(3 - 8) = 65531, new = 3, event 3 ->
  // (3 - 3 - 1) = 65535 < 8 is false although slot 3 was made available
  // twice: the event rule cannot judge more than a lap, so the ring kicks.
  for (int k = 0; k < 8; ++k) {
    ASSERT_TRUE(r.AddBuf(seg, 1).has_value());
    r.PushUsed((**r.Pop()).id, 0);
    r.PublishUsed();
    ASSERT_TRUE(r.GetUsed());
  }
  EXPECT_FALSE(VringNeedEvent(3, 3, static_cast<uint16_t>(3 - 8)));
  EXPECT_TRUE(r.KickPrepare());
  // Exactly one lap is still judged by the rule. The device re-enables at
  // slot 3 wrap 1 (position 11); four adds take positions 11..14 (slots 3,
  // 0, 1, 2) and leave the driver at slot 3 wrap 0: old = (u16)(3 - 4) =
  // 65535, new = 3, event on the other lap: 3 - 4 = 65535;
  // (3 - 65535 - 1) = 3 < 4 -> kick.
  r.DisableNotify();
  EXPECT_FALSE(r.EnableNotify());
  EXPECT_EQ(Rd16(r.memory(), r.device_event_offset()), 0x8003);
  for (int k = 0; k < 4; ++k) {
    ASSERT_TRUE(r.AddBuf(seg, 2).has_value());
    r.PushUsed((**r.Pop()).id, 0);
    r.PublishUsed();
    ASSERT_TRUE(r.GetUsed());
  }
  EXPECT_TRUE(r.KickPrepare());
  // Another exact lap, positions 15..18: slot 3 is filled with wrap 0, not
  // the event's wrap 1, so no kick is due. The driver ends at slot 3 wrap 1:
  // old = 65535, new = 3, event on the same lap: 3; (3 - 3 - 1) = 65535 < 4
  // is false.
  for (int k = 0; k < 4; ++k) {
    ASSERT_TRUE(r.AddBuf(seg, 3).has_value());
    r.PushUsed((**r.Pop()).id, 0);
    r.PublishUsed();
    ASSERT_TRUE(r.GetUsed());
  }
  EXPECT_FALSE(r.KickPrepare());
}

TEST(PackedNotify, DeviceEventDescMode) {
  PackedRing r(8, Features(true, false));
  const std::array<Segment, 1> seg = {Out(1, 1)};
  // Device event flags start at ENABLE: every add kicks.
  ASSERT_TRUE(r.AddBuf(seg, 0).has_value());
  EXPECT_TRUE(r.KickPrepare());
  r.DisableNotify();
  EXPECT_EQ(Rd16(r.memory(), r.device_event_offset() + 2), kEventFlagDisable);
  ASSERT_TRUE(r.AddBuf(seg, 1).has_value());
  EXPECT_FALSE(r.KickPrepare());
  ASSERT_TRUE(r.Pop()->has_value());
  ASSERT_TRUE(r.Pop()->has_value());
  EXPECT_FALSE(r.EnableNotify());
  // off_wrap = slot 2 | wrap 1 << 15, flags DESC.
  EXPECT_EQ(Rd16(r.memory(), r.device_event_offset()), 0x8002);
  EXPECT_EQ(Rd16(r.memory(), r.device_event_offset() + 2), kEventFlagDesc);
  // Three adds: old 2, new 5: (5 - 2 - 1) = 2 < 3 -> kick; then old 5, new 6: 3 < 1 no.
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(r.AddBuf(seg, 2 + k).has_value());
  EXPECT_TRUE(r.KickPrepare());
  ASSERT_TRUE(r.AddBuf(seg, 5).has_value());
  EXPECT_FALSE(r.KickPrepare());
  // Device drains slots 2..5 and re-enables at slot 6, wrap 1.
  r.DisableNotify();
  for (int k = 0; k < 4; ++k) ASSERT_TRUE(r.Pop()->has_value());
  EXPECT_FALSE(r.EnableNotify());
  EXPECT_EQ(Rd16(r.memory(), r.device_event_offset()), 0x8006);
  // Free the ring, then four adds take slots 6, 7, 0, 1: the driver wraps
  // (counter 0), new = 2, old = (u16)(2 - 4) = 65534; the event's wrap (1)
  // differs, so event = 6 - 8 = 65534: (2 - 65534 - 1) = 3 < 4 -> kick.
  for (int k = 0; k < 6; ++k) r.PushUsed(static_cast<uint16_t>(k), 0);
  r.PublishUsed();
  while (r.GetUsed()) {
  }
  for (int k = 0; k < 4; ++k) ASSERT_TRUE(r.AddBuf(seg, 10 + k).has_value());
  EXPECT_FALSE(r.driver_wrap_counter());
  EXPECT_TRUE(r.KickPrepare());
}

TEST(PackedNotify, EnableNotifySeesBuffersAddedAfterDisable) {
  PackedRing r(8, Features(true, false));
  const std::array<Segment, 1> seg = {Out(1, 1)};
  r.DisableNotify();
  EXPECT_FALSE(r.Pop()->has_value());
  ASSERT_TRUE(r.AddBuf(seg, 0).has_value());
  EXPECT_TRUE(r.EnableNotify());
}

TEST(PackedNotify, DriverEventDescMode) {
  PackedRing r(8, Features(true, false));
  const std::array<Segment, 1> seg = {In(1, 1)};
  r.DisableCb();
  EXPECT_EQ(Rd16(r.memory(), r.driver_event_offset() + 2), kEventFlagDisable);
  ASSERT_TRUE(r.AddBuf(seg, 0).has_value());
  ASSERT_TRUE(r.AddBuf(seg, 1).has_value());
  auto c0 = r.Pop();
  auto c1 = r.Pop();
  r.PushUsed((*c0)->id, 1);
  EXPECT_FALSE(r.PublishUsed());  // DISABLE
  // Re-enable: off_wrap = last used slot 0 | wrap 1, flags DESC; a used
  // descriptor already waits, so the caller must poll.
  EXPECT_FALSE(r.EnableCb());
  EXPECT_EQ(Rd16(r.memory(), r.driver_event_offset()), 0x8000);
  EXPECT_EQ(Rd16(r.memory(), r.driver_event_offset() + 2), kEventFlagDesc);
  ASSERT_TRUE(r.GetUsed());  // moves the event to slot 1
  EXPECT_EQ(Rd16(r.memory(), r.driver_event_offset()), 0x8001);
  EXPECT_TRUE(r.EnableCb());
  // Slot 1 used: old 1, new 2, event 1 -> (2 - 1 - 1) = 0 < 1, interrupt.
  r.PushUsed((*c1)->id, 1);
  EXPECT_TRUE(r.PublishUsed());
  // The driver has not consumed it: the next one (slot 2) does not interrupt.
  ASSERT_TRUE(r.AddBuf(seg, 2).has_value());
  r.PushUsed((**r.Pop()).id, 1);
  EXPECT_FALSE(r.PublishUsed());
}

TEST(PackedNotify, NoEventIdxFlags) {
  PackedRing r(8, Features(false, false));
  const std::array<Segment, 1> seg = {In(1, 1)};
  ASSERT_TRUE(r.AddBuf(seg, 0).has_value());
  EXPECT_TRUE(r.KickPrepare());
  r.PushUsed((**r.Pop()).id, 1);
  EXPECT_TRUE(r.PublishUsed());
  r.DisableCb();
  ASSERT_TRUE(r.AddBuf(seg, 1).has_value());
  r.PushUsed((**r.Pop()).id, 1);
  EXPECT_FALSE(r.PublishUsed());
  EXPECT_FALSE(r.EnableCb());
  EXPECT_EQ(Rd16(r.memory(), r.driver_event_offset() + 2), kEventFlagEnable);
}

TEST(PackedInOrder, BatchedUsedDescriptor) {
  PackedRing r(8, Features(true, false, /*in_order=*/true));
  const std::array<Segment, 1> a = {In(0x100, 100)};
  const std::array<Segment, 2> b = {Out(0x200, 8), In(0x300, 200)};
  for (int lap = 0; lap < 4; ++lap) {
    ASSERT_EQ(*r.AddBuf(a, 1), 1);
    ASSERT_EQ(*r.AddBuf(b, 2), 2);
    ASSERT_EQ(*r.AddBuf(a, 3), 1);
    const uint32_t first = (lap * 4) % 8;
    auto x = r.Pop();
    auto y = r.Pop();
    auto z = r.Pop();
    ASSERT_TRUE(x->has_value() && y->has_value() && z->has_value());
    EXPECT_EQ((*x)->id, first);  // id = head slot
    EXPECT_EQ((*y)->id, (first + 1) % 8);
    EXPECT_EQ((*z)->id, (first + 3) % 8);
    // One used descriptor for the batch, at the batch's first slot.
    r.PushUsed((*z)->id, 7);
    r.PublishUsed();
    EXPECT_EQ(Rd16(r.memory(), 16 * first + 12), (*z)->id);
    auto u0 = r.GetUsed();
    auto u1 = r.GetUsed();
    auto u2 = r.GetUsed();
    ASSERT_TRUE(u0 && u1 && u2);
    EXPECT_EQ(u0->len, 100u);
    EXPECT_EQ(u1->len, 208u);
    EXPECT_EQ(u2->len, 7u);
    EXPECT_EQ(u2->token, 3u);
    EXPECT_FALSE(r.GetUsed());
    EXPECT_EQ(r.num_free(), 8u);
  }
}

// Rings live in containers of the simulator: moving one keeps its state.
TEST(RingObjects, MoveKeepsState) {
  std::vector<SplitRing> split;
  std::vector<PackedRing> packed;
  const std::array<Segment, 2> segs = {Out(1, 1), In(2, 2)};
  for (int k = 0; k < 8; ++k) {
    split.emplace_back(8, RingFeatures{});
    packed.emplace_back(8, RingFeatures{});
    ASSERT_TRUE(split.back().AddBuf(segs, static_cast<uint32_t>(k)).has_value());
    ASSERT_TRUE(packed.back().AddBuf(segs, static_cast<uint32_t>(k)).has_value());
  }
  for (int k = 0; k < 8; ++k) {
    auto c = split[k].Pop();
    ASSERT_TRUE(c.has_value() && c->has_value());
    split[k].PushUsed((**c).id, 2);
    split[k].PublishUsed();
    EXPECT_EQ(split[k].GetUsed()->token, static_cast<uint32_t>(k));
    auto d = packed[k].Pop();
    ASSERT_TRUE(d.has_value() && d->has_value());
    EXPECT_EQ((**d).segments, 2);
    packed[k].PushUsed((**d).id, 2);
    packed[k].PublishUsed();
    EXPECT_EQ(packed[k].GetUsed()->token, static_cast<uint32_t>(k));
  }
}

// ------------------------------------------------------- differential --

// Drives a split and a packed ring with the same random interleaving of
// driver and device operations; both must agree on every outcome that does
// not depend on the layout (admission, chain contents, completions).
struct Side {
  std::vector<uint16_t> popped;  // ids popped and not yet pushed, pop order
};

void Differential(RingFeatures f, uint32_t size, uint32_t seed) {
  SplitRing s(size, f);
  PackedRing p(size, f);
  Side ss, ps;
  std::mt19937 rng(seed);
  uint32_t next_token = 0;
  uint64_t completed = 0;
  std::vector<Segment> segs, sseg, pseg;
  for (int step = 0; step < 20000; ++step) {
    const int op = static_cast<int>(rng() % 6);
    if (op == 0) {
      const uint32_t n = 1 + rng() % 4;
      const uint32_t outs = rng() % (n + 1);
      segs.clear();
      for (uint32_t k = 0; k < n; ++k) segs.push_back(Segment{0x1000ull * k, static_cast<uint32_t>(1 + rng() % 1500), k >= outs});
      const bool ind = rng() % 2;
      auto a = s.AddBuf(segs, next_token, ind);
      auto b = p.AddBuf(segs, next_token, ind);
      ASSERT_EQ(a.has_value(), b.has_value()) << step;
      if (a.has_value()) {
        ASSERT_EQ(*a, *b);
        ++next_token;
      } else {
        ASSERT_EQ(a.error(), b.error());
      }
    } else if (op == 1) {
      ASSERT_EQ(s.AvailCount(), p.AvailCount()) << step;
      auto a = s.Pop(&sseg);
      auto b = p.Pop(&pseg);
      ASSERT_TRUE(a.has_value() && b.has_value());
      ASSERT_EQ(a->has_value(), b->has_value()) << step;
      if (a->has_value()) {
        const Chain& ca = **a;
        const Chain& cb = **b;
        ASSERT_EQ(ca.descriptors, cb.descriptors);
        ASSERT_EQ(ca.segments, cb.segments);
        ASSERT_EQ(ca.out_bytes, cb.out_bytes);
        ASSERT_EQ(ca.in_bytes, cb.in_bytes);
        ASSERT_EQ(sseg.size(), pseg.size());
        for (size_t k = 0; k < sseg.size(); ++k) {
          ASSERT_EQ(sseg[k].addr, pseg[k].addr);
          ASSERT_EQ(sseg[k].len, pseg[k].len);
          ASSERT_EQ(sseg[k].device_writable, pseg[k].device_writable);
        }
        ss.popped.push_back(ca.id);
        ps.popped.push_back(cb.id);
      }
    } else if (op == 2 && !ss.popped.empty()) {
      // In order: complete a prefix of the popped chains with one entry (a
      // batch); otherwise any popped chain.
      const size_t k = rng() % ss.popped.size();
      const uint32_t len = static_cast<uint32_t>(rng() % 4096);
      s.PushUsed(ss.popped[k], len);
      p.PushUsed(ps.popped[k], len);
      if (f.in_order) {
        ss.popped.erase(ss.popped.begin(), ss.popped.begin() + static_cast<long>(k) + 1);
        ps.popped.erase(ps.popped.begin(), ps.popped.begin() + static_cast<long>(k) + 1);
      } else {
        ss.popped.erase(ss.popped.begin() + static_cast<long>(k));
        ps.popped.erase(ps.popped.begin() + static_cast<long>(k));
      }
    } else if (op == 3) {
      s.PublishUsed();
      p.PublishUsed();
    } else if (op == 4) {
      auto a = s.GetUsed();
      auto b = p.GetUsed();
      ASSERT_EQ(a.has_value(), b.has_value()) << step;
      if (a) {
        ASSERT_EQ(a->token, b->token) << step;
        ASSERT_EQ(a->len, b->len) << step;
        ++completed;
      }
      ASSERT_EQ(s.num_free(), p.num_free());
    } else if (op == 5) {
      s.KickPrepare();
      p.KickPrepare();
    }
  }
  // Drain: everything popped, completed and returned; no descriptor leaks.
  for (;;) {
    auto a = s.Pop();
    auto b = p.Pop();
    ASSERT_EQ(a->has_value(), b->has_value());
    if (!a->has_value()) break;
    ss.popped.push_back((**a).id);
    ps.popped.push_back((**b).id);
  }
  for (size_t k = 0; k < ss.popped.size(); ++k) {
    s.PushUsed(ss.popped[k], 1);
    p.PushUsed(ps.popped[k], 1);
  }
  s.PublishUsed();
  p.PublishUsed();
  for (;;) {
    auto a = s.GetUsed();
    auto b = p.GetUsed();
    ASSERT_EQ(a.has_value(), b.has_value());
    if (!a) break;
    ASSERT_EQ(a->token, b->token);
    ++completed;
  }
  EXPECT_EQ(completed, next_token);
  EXPECT_EQ(s.num_free(), size);
  EXPECT_EQ(p.num_free(), size);
  EXPECT_GT(completed, size == 1 ? 200u : 1000u);  // size 1 takes single segments only
}

TEST(Differential, SplitAndPackedAgree) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    Differential(Features(true, true), 16, seed);
    Differential(Features(false, false), 8, seed);
    Differential(Features(true, true), 1, seed);
  }
}

TEST(Differential, SplitAndPackedAgreeInOrder) {
  for (uint32_t seed = 1; seed <= 4; ++seed) {
    Differential(Features(true, true, true), 16, seed);
    Differential(Features(true, false, true), 4, seed);
  }
}

}  // namespace
}  // namespace kreplay::virtio
