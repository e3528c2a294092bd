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

}  // namespace
}  // namespace kreplay::virtio
