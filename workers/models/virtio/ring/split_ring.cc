#include "workers/models/virtio/ring/split_ring.h"

#include <string>

#include "workers/models/virtio/ring/event_idx.h"

namespace kreplay::virtio {

using internal::Ld16;
using internal::Ld32;
using internal::Ld64;
using internal::St16;
using internal::St32;
using internal::St64;

namespace {
size_t AlignUp(size_t v, size_t a) { return (v + a - 1) & ~(a - 1); }
}  // namespace

// vring_init() / vring_size() in include/uapi/linux/virtio_ring.h, with the
// spec's per-part alignments (16, 2, 4) rather than the legacy page alignment.
SplitRing::SplitRing(uint32_t size, RingFeatures features)
    : num_(size),
      mask_(static_cast<uint16_t>(size - 1)),
      features_(features),
      avail_off_(AlignUp(size_t{kDescSize} * size, 2)),
      used_off_(AlignUp(avail_off_ + 6 + 2 * size_t{size}, 4)),
      mem_(used_off_ + 6 + 8 * size_t{size}, 0),
      tables_(size),
      next_(size),
      state_(size),
      num_free_(size),
      popped_(size, 0) {
  KREPLAY_CHECK(CheckQueueSize(size, "size").ok(), "SplitRing: bad queue size " + std::to_string(size));
  // vring_alloc_desc_extra(): everything on the free list, in order.
  for (uint32_t i = 0; i < size; ++i) next_[i] = static_cast<uint16_t>((i + 1) & mask_);
  if (features_.in_order) inflight_.resize(size);
}

// ---------------------------------------------------------------- driver --

int SplitRing::AddBufRaw(std::span<const Segment> segs, uint32_t token, bool use_indirect) {
  const size_t total = segs.size();
  KREPLAY_CHECK(total != 0, "AddBuf: empty chain");  // BUG_ON(total_sg == 0)
  uint32_t total_len;
  if (const int err = internal::CheckSegments(segs, num_, &total_len)) return err;
  // virtqueue_use_indirect(): indirect && total_sg > 1 && num_free.
  const bool indirect = features_.indirect && use_indirect && total > 1 && num_free_ > 0;
  const uint16_t descs_used = indirect ? 1 : static_cast<uint16_t>(total);
  if (num_free_ < descs_used) return internal::ErrCode(RingError::kFull);  // -ENOSPC

  const uint16_t head = free_head_;
  if (indirect) {
    // alloc_indirect_split(): next = i + 1; the last loses NEXT.
    uint8_t* const table = tables_.Prepare(head, total);
    for (size_t k = 0; k < total; ++k) {
      uint8_t* d = table + k * kDescSize;
      const uint16_t flags = static_cast<uint16_t>((k + 1 < total ? kDescFNext : 0) |
                                                   (segs[k].device_writable ? kDescFWrite : 0));
      St64(d, segs[k].addr);
      St32(d + 8, segs[k].len);
      St16(d + 12, flags);
      St16(d + 14, static_cast<uint16_t>(k + 1));
    }
    uint8_t* d = desc(head);
    const uint16_t next = features_.in_order ? static_cast<uint16_t>((head + 1) & mask_) : next_[head];
    St64(d, IndirectAddr(head));
    St32(d + 8, static_cast<uint32_t>(total * kDescSize));
    St16(d + 12, kDescFIndirect);
    St16(d + 14, next);
    free_head_ = next;
  } else {
    // virtqueue_add_desc_split() per segment, following the free list (in
    // order: the next slot), then the last descriptor loses NEXT.
    uint16_t i = head;
    uint16_t prev = head;
    for (size_t k = 0; k < total; ++k) {
      uint8_t* d = desc(i);
      const uint16_t next = features_.in_order ? static_cast<uint16_t>((i + 1) & mask_) : next_[i];
      St64(d, segs[k].addr);
      St32(d + 8, segs[k].len);
      St16(d + 12, static_cast<uint16_t>(kDescFNext | (segs[k].device_writable ? kDescFWrite : 0)));
      St16(d + 14, next);
      prev = i;
      i = next;
    }
    St16(desc(prev) + 12, segs[total - 1].device_writable ? kDescFWrite : 0);
    free_head_ = i;
  }
  num_free_ -= descs_used;
  state_[head] = DescState{token, total_len, descs_used};

  // Put the head on the avail ring, then publish avail->idx.
  St16(avail() + 4 + 2 * size_t{static_cast<uint16_t>(avail_idx_shadow_ & mask_)}, head);
  ++avail_idx_shadow_;
  St16(avail() + 2, avail_idx_shadow_);
  ++num_added_;
  return descs_used;
}

bool SplitRing::KickPrepare() {
  const uint16_t new_idx = avail_idx_shadow_;
  const uint16_t old_idx = static_cast<uint16_t>(new_idx - num_added_);
  // virtqueue_add_split() kicks itself after 65535 unkicked adds so the
  // event window stays meaningful; here the next KickPrepare says so.
  const bool overflow = num_added_ >= 0xffff;
  num_added_ = 0;
  if (overflow) return true;
  if (features_.event_idx) return VringNeedEvent(Ld16(avail_event()), new_idx, old_idx);
  return (Ld16(used()) & kUsedFNoNotify) == 0;
}

// detach_buf_split(): put the chain back at the head of the free list,
// walking the driver's own links (desc_extra), not ring memory.
void SplitRing::Detach(uint16_t head) {
  DescState& st = state_[head];
  if (!features_.in_order) {
    uint16_t tail = head;
    for (uint16_t k = 1; k < st.ndescs; ++k) tail = next_[tail];
    next_[tail] = free_head_;
    free_head_ = head;
  }
  // In order the free descriptors are always one contiguous run that ends
  // where the oldest outstanding chain begins (detach_buf_split_in_order).
  num_free_ += st.ndescs;
  st.ndescs = 0;
}

bool SplitRing::GetUsedRaw(UsedBuf* out) {
  uint32_t len;
  uint16_t id;
  if (!features_.in_order) {
    // virtqueue_get_buf_ctx_split()
    if (last_used_idx_ == Ld16(used() + 2)) return false;  // !more_used_split
    const uint8_t* e = used() + 4 + 8 * size_t{static_cast<uint16_t>(last_used_idx_ & mask_)};
    const uint32_t uid = Ld32(e);
    len = Ld32(e + 4);
    KREPLAY_CHECK(uid < num_, "virtio split: used id " + std::to_string(uid) + " out of range");
    KREPLAY_CHECK(state_[uid].ndescs != 0, "virtio split: used id " + std::to_string(uid) + " is not a head");
    id = static_cast<uint16_t>(uid);
  } else {
    // virtqueue_get_buf_ctx_split_in_order(): one used entry may stand for a
    // batch ending at batch_last.id; earlier buffers complete in full.
    if (batch_last_id_ == kNoBatch) {
      if (last_used_idx_ == Ld16(used() + 2)) return false;
      const uint8_t* e = used() + 4 + 8 * size_t{static_cast<uint16_t>(last_used_idx_ & mask_)};
      batch_last_id_ = Ld32(e);
      batch_last_len_ = Ld32(e + 4);
      KREPLAY_CHECK(batch_last_id_ < num_ && state_[batch_last_id_].ndescs != 0,
                    "virtio split in-order: used id " + std::to_string(batch_last_id_) + " is not a head");
    }
    id = next_used_head_;
    KREPLAY_CHECK(state_[id].ndescs != 0, "virtio split in-order: id " + std::to_string(id) + " is not a head");
    if (batch_last_id_ == id) {
      len = batch_last_len_;
      batch_last_id_ = kNoBatch;
    } else {
      len = state_[id].total_len;
    }
    next_used_head_ = static_cast<uint16_t>((id + state_[id].ndescs) & mask_);
  }
  const uint32_t token = state_[id].token;
  Detach(id);
  ++last_used_idx_;
  // "If we expect an interrupt for the next entry, tell host by writing
  // event index."
  if (!(avail_flags_shadow_ & kAvailFNoInterrupt)) St16(used_event(), last_used_idx_);
  *out = UsedBuf{token, len};
  return true;
}

void SplitRing::DisableCb() {
  // virtqueue_disable_cb_split(): with event_idx the flag is not written;
  // used_event = 0 is the kernel's "hack" that makes an interrupt unlikely.
  if (!(avail_flags_shadow_ & kAvailFNoInterrupt)) {
    avail_flags_shadow_ |= kAvailFNoInterrupt;
    if (features_.event_idx)
      St16(used_event(), 0);
    else
      St16(avail(), avail_flags_shadow_);
  }
}

// virtqueue_poll_split() (and more_used_split_in_order()'s pending batch).
bool SplitRing::Poll(uint16_t last_used_idx) const {
  if (batch_last_id_ != kNoBatch) return true;
  return last_used_idx != Ld16(used() + 2);
}

bool SplitRing::EnableCb() {
  // virtqueue_enable_cb_prepare_split()
  const uint16_t last_used = last_used_idx_;
  if (avail_flags_shadow_ & kAvailFNoInterrupt) {
    avail_flags_shadow_ &= static_cast<uint16_t>(~kAvailFNoInterrupt);
    if (!features_.event_idx) St16(avail(), avail_flags_shadow_);
  }
  St16(used_event(), last_used);
  // virtqueue_poll_split()
  return !Poll(last_used);
}

bool SplitRing::EnableCbDelayed() {
  // virtqueue_enable_cb_delayed_split()
  if (avail_flags_shadow_ & kAvailFNoInterrupt) {
    avail_flags_shadow_ &= static_cast<uint16_t>(~kAvailFNoInterrupt);
    if (!features_.event_idx) St16(avail(), avail_flags_shadow_);
  }
  // "TODO: tune this threshold"
  const uint16_t bufs = static_cast<uint16_t>(static_cast<uint16_t>(avail_idx_shadow_ - last_used_idx_) * 3 / 4);
  St16(used_event(), static_cast<uint16_t>(last_used_idx_ + bufs));
  if (batch_last_id_ != kNoBatch) return false;
  return static_cast<uint16_t>(Ld16(used() + 2) - last_used_idx_) <= bufs;
}

// ---------------------------------------------------------------- device --

uint16_t SplitRing::AvailCount() const { return static_cast<uint16_t>(Ld16(avail() + 2) - last_avail_idx_); }

// get_indirect(): the table must be one the driver built (translate_desc),
// len a non-zero multiple of 16, no nested INDIRECT, no loop. vhost reads the
// table sequentially; this follows `next` as the spec describes (DPDK's
// fill_vec_buf_split does too); Linux drivers set next = i + 1, so both agree.
bool SplitRing::ParseIndirect(uint64_t addr, uint32_t len, internal::ChainWalk& w,
                              std::vector<Segment>* segs) const {
  const uint8_t* const table = tables_.Resolve(addr, len);
  if (table == nullptr) return false;
  const uint32_t count = len / kDescSize;
  uint32_t i = 0;
  uint32_t found = 0;
  for (;;) {
    if (i >= count) return false;         // next out of the table
    if (++found > count) return false;    // "Loop detected"
    const uint8_t* d = table + size_t{i} * kDescSize;
    const uint16_t flags = Ld16(d + 12);
    if (flags & kDescFIndirect) return false;  // "Nested indirect descriptor"
    // "Indirect descriptor has out after in"
    if (!w.Add(Ld64(d), Ld32(d + 8), flags & kDescFWrite, segs)) return false;
    if (w.segments > num_) return false;  // spec 2.7.5.3.1: chain <= queue size
    if (!(flags & kDescFNext)) return true;
    i = Ld16(d + 14);
  }
}

int SplitRing::PopRaw(Chain* out, std::vector<Segment>* segs) {
  // vhost_get_vq_desc()
  if (avail_idx_ == last_avail_idx_) {
    const uint16_t a = Ld16(avail() + 2);
    // "Guest moved avail index from %u to %u"
    if (static_cast<uint16_t>(a - last_avail_idx_) > num_) return internal::kPopBad;
    avail_idx_ = a;
    if (a == last_avail_idx_) return internal::kPopEmpty;
  }
  const uint16_t head = Ld16(avail() + 4 + 2 * size_t{static_cast<uint16_t>(last_avail_idx_ & mask_)});
  if (head >= num_) return internal::kPopBad;  // "Guest says index %u > %u is available"
  if (popped_[head]) return internal::kPopBad;  // the driver offered a chain the device holds
  if (segs) segs->clear();
  internal::ChainWalk w;  // address never taken, so it stays in registers
  uint32_t i = head;
  uint32_t found = 0;
  for (;;) {
    if (i >= num_) return internal::kPopBad;       // "Desc index is %u > %u"
    if (++found > num_) return internal::kPopBad;  // "Loop detected"
    const uint8_t* d = desc(i);
    const uint16_t flags = Ld16(d + 12);
    if (flags & kDescFIndirect) {
      // Spec 2.7.5.3.1: INDIRECT needs the feature and excludes NEXT.
      if (!features_.indirect || (flags & kDescFNext)) return internal::kPopBad;
      internal::ChainWalk iw = w;
      if (!ParseIndirect(Ld64(d), Ld32(d + 8), iw, segs)) return internal::kPopBad;
      w = iw;
      break;
    }
    // "Descriptor has out after in"
    if (!w.Add(Ld64(d), Ld32(d + 8), flags & kDescFWrite, segs)) return internal::kPopBad;
    if (!(flags & kDescFNext)) break;
    i = Ld16(d + 14);
  }
  ++last_avail_idx_;
  popped_[head] = 1;
  if (features_.in_order) inflight_[inflight_tail_++ & mask_] = head;
  *out = Chain{head, static_cast<uint16_t>(found), static_cast<uint16_t>(w.segments), w.out, w.in};
  return internal::kPopChain;
}

void SplitRing::PushUsed(uint16_t id, uint32_t len) {
  // vhost_add_used_n(): write the element now, used->idx at PublishUsed.
  KREPLAY_CHECK(id < num_ && popped_[id], "PushUsed: id " + std::to_string(id) + " was not popped");
  uint16_t count = 1;
  if (features_.in_order) {
    // The entry covers every popped chain up to and including `id`.
    count = 0;
    for (;;) {
      const uint16_t h = inflight_[inflight_head_++ & mask_];
      popped_[h] = 0;
      ++count;
      if (h == id) break;
    }
  } else {
    popped_[id] = 0;
  }
  uint8_t* e = used() + 4 + 8 * size_t{static_cast<uint16_t>((dev_used_idx_ + pending_used_) & mask_)};
  St32(e, id);
  St32(e + 4, len);
  pending_used_ = static_cast<uint16_t>(pending_used_ + count);
}

bool SplitRing::PublishUsed() {
  if (pending_used_ == 0) return false;
  // __vhost_add_used_n(): one used->idx store for the batch.
  const uint16_t old_idx = dev_used_idx_;
  const uint16_t new_idx = static_cast<uint16_t>(old_idx + pending_used_);
  pending_used_ = 0;
  dev_used_idx_ = new_idx;
  St16(used() + 2, new_idx);
  // vhost_notify(). (__vhost_add_used_n's invalidation of a signalled_used
  // that wrapped cannot trigger here: every publish also runs the notify
  // check, so signalled_used is always the previous used idx.)
  if (!features_.event_idx) return (Ld16(avail()) & kAvailFNoInterrupt) == 0;
  const uint16_t old_sig = signalled_used_;
  const bool valid = signalled_used_valid_;
  signalled_used_ = new_idx;
  signalled_used_valid_ = true;
  if (!valid) return true;
  return VringNeedEvent(Ld16(used_event()), new_idx, old_sig);
}

void SplitRing::DisableNotify() {
  // vhost_disable_notify(): with event_idx nothing is written; the stale
  // avail_event keeps the driver quiet.
  if (used_flags_ & kUsedFNoNotify) return;
  used_flags_ |= kUsedFNoNotify;
  if (!features_.event_idx) St16(used(), used_flags_);
}

bool SplitRing::EnableNotify() {
  // vhost_enable_notify()
  if (!(used_flags_ & kUsedFNoNotify)) return false;
  used_flags_ &= static_cast<uint16_t>(~kUsedFNoNotify);
  if (!features_.event_idx)
    St16(used(), used_flags_);
  else
    St16(avail_event(), avail_idx_);  // vhost_update_avail_event()
  // "They could have slipped one in as we were doing that: make sure it's
  // written, then check again."
  if (avail_idx_ != last_avail_idx_) return true;
  return Ld16(avail() + 2) != avail_idx_;
}

}  // namespace kreplay::virtio
