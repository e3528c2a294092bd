#include "workers/models/virtio/ring/packed_ring.h"

#include <bit>
#include <string>

#include "workers/models/virtio/ring/event_idx.h"

namespace kreplay::virtio {

using internal::Ld16;
using internal::Ld32;
using internal::Ld64;
using internal::St16;
using internal::St32;
using internal::St64;

PackedRing::PackedRing(uint32_t size, RingFeatures features)
    : num_(size),
      mask_(static_cast<uint16_t>(size - 1)),
      log2n_(std::countr_zero(size)),
      features_(features),
      mem_(size_t{kDescSize} * size + 8, 0),
      tables_(size),
      next_id_(size),
      state_(size),
      num_free_(size),
      chain_descs_(size, 0) {
  KREPLAY_CHECK(CheckQueueSize(size, "size").ok(), "PackedRing: bad queue size " + std::to_string(size));
  for (uint32_t i = 0; i < size; ++i) next_id_[i] = static_cast<uint16_t>((i + 1) & mask_);
  if (features_.in_order) inflight_.resize(size);
}

bool PackedRing::IsUsed(uint32_t c) const {
  // is_used_desc_packed(): AVAIL == USED == the used wrap counter.
  const uint16_t flags = Ld16(desc(Slot(c)) + 14);
  const bool avail = flags & kDescFAvail;
  const bool used = flags & kDescFUsed;
  return avail == used && used == Wrap(c);
}

bool PackedRing::IsAvail(uint32_t c) const {
  // DPDK desc_is_avail(): AVAIL == wrap counter, USED != wrap counter.
  const uint16_t flags = Ld16(desc(Slot(c)) + 14);
  const bool w = Wrap(c);
  return static_cast<bool>(flags & kDescFAvail) == w && static_cast<bool>(flags & kDescFUsed) != w;
}

// ---------------------------------------------------------------- driver --

int PackedRing::AddBufRaw(std::span<const Segment> segs, uint32_t token, bool use_indirect) {
  const size_t total = segs.size();
  KREPLAY_CHECK(total != 0, "AddBuf: empty chain");  // BUG_ON(total_sg == 0)
  uint32_t total_len;
  if (const int err = internal::CheckSegments(segs, num_, &total_len)) return err;
  const bool indirect = features_.indirect && use_indirect && total > 1 && num_free_ > 0;
  const uint16_t descs_used = indirect ? 1 : static_cast<uint16_t>(total);
  if (num_free_ < descs_used) return internal::ErrCode(RingError::kFull);  // -ENOSPC

  const uint16_t head = Slot(next_avail_);
  // In order the buffer id is the head position; otherwise the id free list.
  const uint16_t id = features_.in_order ? head : free_head_;
  if (indirect) {
    // virtqueue_add_indirect_packed(): table entries carry only WRITE.
    uint8_t* const table = tables_.Prepare(id, total);
    for (size_t k = 0; k < total; ++k) {
      uint8_t* d = table + k * kDescSize;
      St64(d, segs[k].addr);
      St32(d + 8, segs[k].len);
      St16(d + 12, 0);
      St16(d + 14, segs[k].device_writable ? kDescFWrite : 0);
    }
    uint8_t* d = desc(head);
    St64(d, IndirectAddr(id));
    St32(d + 8, static_cast<uint32_t>(total * kDescSize));
    St16(d + 12, id);
    St16(d + 14, static_cast<uint16_t>(kDescFIndirect | (Wrap(next_avail_) ? kDescFAvail : kDescFUsed)));
    ++next_avail_;
    if (!features_.in_order) free_head_ = next_id_[id];
    state_[id] = DescState{token, total_len, 1, id};
  } else {
    // virtqueue_add_packed(): one descriptor per segment in ring order, each
    // marked with the wrap counter of its own slot; one id per descriptor
    // from the free list (desc_state[id].last remembers the chain's last).
    uint32_t c = next_avail_;
    uint16_t curr = id;
    uint16_t prev = id;
    uint16_t head_flags = 0;
    for (size_t k = 0; k < total; ++k) {
      uint8_t* d = desc(Slot(c));
      const uint16_t flags = static_cast<uint16_t>((Wrap(c) ? kDescFAvail : kDescFUsed) |
                                                   (k + 1 < total ? kDescFNext : 0) |
                                                   (segs[k].device_writable ? kDescFWrite : 0));
      St64(d, segs[k].addr);
      St32(d + 8, segs[k].len);
      St16(d + 12, id);
      if (k == 0)
        head_flags = flags;
      else
        St16(d + 14, flags);
      ++c;
      prev = curr;
      if (!features_.in_order) curr = next_id_[curr];
    }
    // "A driver MUST NOT make the first descriptor in the list available
    // before all subsequent descriptors comprising the list are made available."
    St16(desc(head) + 14, head_flags);
    next_avail_ = c;
    if (!features_.in_order) free_head_ = curr;
    state_[id] = DescState{token, total_len, descs_used, prev};
  }
  num_free_ -= descs_used;
  num_added_ += descs_used;
  return descs_used;
}

bool PackedRing::KickPrepare() {
  // virtqueue_kick_prepare_packed(): positions are ring slots, old may be
  // "negative" (mod 2^16) after a wrap; an event on the other lap is moved
  // back by N.
  const uint16_t new_idx = Slot(next_avail_);
  const uint16_t old_idx = static_cast<uint16_t>(new_idx - num_added_);
  // More than a lap since the last call: the slot/wrap event can no longer be
  // placed in the window (the kernel has the same blind spot); kick.
  const bool lapped = num_added_ > num_;
  num_added_ = 0;
  if (lapped) return true;
  const uint16_t flags = Ld16(device_event() + 2);
  if (flags != kEventFlagDesc) return flags != kEventFlagDisable;
  const uint16_t off_wrap = Ld16(device_event());
  const bool wrap = off_wrap >> kEventWrapCtrBit;
  uint16_t event_idx = static_cast<uint16_t>(off_wrap & ~(1u << kEventWrapCtrBit));
  if (wrap != Wrap(next_avail_)) event_idx = static_cast<uint16_t>(event_idx - num_);
  return VringNeedEvent(event_idx, new_idx, old_idx);
}

bool PackedRing::GetUsedRaw(UsedBuf* out) {
  uint16_t id;
  uint32_t len;
  if (!features_.in_order) {
    // virtqueue_get_buf_ctx_packed()
    if (!IsUsed(last_used_)) return false;
    const uint8_t* d = desc(Slot(last_used_));
    id = Ld16(d + 12);
    len = Ld32(d + 8);
    KREPLAY_CHECK(id < num_, "virtio packed: used id " + std::to_string(id) + " out of range");
    KREPLAY_CHECK(state_[id].num != 0, "virtio packed: used id " + std::to_string(id) + " is not a head");
    // detach_buf_packed(): the chain's ids go back on the free list.
    next_id_[state_[id].last] = free_head_;
    free_head_ = id;
  } else {
    // virtqueue_get_buf_ctx_packed_in_order()
    if (batch_last_id_ == kNoBatch) {
      if (!IsUsed(last_used_)) return false;
      const uint8_t* d = desc(Slot(last_used_));
      batch_last_id_ = Ld16(d + 12);
      batch_last_len_ = Ld32(d + 8);
      KREPLAY_CHECK(batch_last_id_ < num_ && state_[batch_last_id_].num != 0,
                    "virtio packed in-order: used id " + std::to_string(batch_last_id_) + " is not a head");
    }
    id = Slot(last_used_);
    KREPLAY_CHECK(state_[id].num != 0, "virtio packed in-order: id " + std::to_string(id) + " is not a head");
    if (batch_last_id_ == id) {
      len = batch_last_len_;
      batch_last_id_ = kNoBatch;
    } else {
      len = state_[id].total_len;
    }
  }
  DescState& st = state_[id];
  const uint32_t token = st.token;
  num_free_ += st.num;
  // update_last_used_idx_packed(): skip the chain's descriptors.
  last_used_ += st.num;
  st.num = 0;
  if (event_flags_shadow_ == kEventFlagDesc) St16(driver_event(), OffWrap(last_used_));
  *out = UsedBuf{token, len};
  return true;
}

void PackedRing::DisableCb() {
  if (event_flags_shadow_ != kEventFlagDisable) {
    event_flags_shadow_ = kEventFlagDisable;
    St16(driver_event() + 2, event_flags_shadow_);
  }
}

bool PackedRing::EnableCb() {
  // virtqueue_enable_cb_prepare_packed(): offset/wrap first, then flags.
  if (features_.event_idx) St16(driver_event(), OffWrap(last_used_));
  if (event_flags_shadow_ == kEventFlagDisable) {
    event_flags_shadow_ = features_.event_idx ? kEventFlagDesc : kEventFlagEnable;
    St16(driver_event() + 2, event_flags_shadow_);
  }
  // virtqueue_poll_packed()
  return !(batch_last_id_ != kNoBatch || IsUsed(last_used_));
}

bool PackedRing::EnableCbDelayed() {
  // virtqueue_enable_cb_delayed_packed(): "TODO: tune this threshold".
  if (features_.event_idx) {
    const uint32_t bufs = (num_ - num_free_) * 3 / 4;
    St16(driver_event(), OffWrap(last_used_ + bufs));
  }
  if (event_flags_shadow_ == kEventFlagDisable) {
    event_flags_shadow_ = features_.event_idx ? kEventFlagDesc : kEventFlagEnable;
    St16(driver_event() + 2, event_flags_shadow_);
  }
  return !(batch_last_id_ != kNoBatch || IsUsed(last_used_));
}

// ---------------------------------------------------------------- device --

uint16_t PackedRing::AvailCount() const {
  // Invariant: dev_avail_ <= scan_pos_ and scan_chains_ chains lie between.
  while (scan_pos_ - dev_avail_ < num_ && IsAvail(scan_pos_)) {
    uint32_t c = scan_pos_;
    for (;;) {
      const uint16_t flags = Ld16(desc(Slot(c)) + 14);
      ++c;
      if (!(flags & kDescFNext) || (flags & kDescFIndirect)) break;
      if (c - dev_avail_ >= num_) return scan_chains_;  // garbage: stop counting
    }
    scan_pos_ = c;
    ++scan_chains_;
  }
  return scan_chains_;
}

// fill_vec_buf_packed_indirect(): len/16 descriptors read in sequence; only
// WRITE is meaningful, other flags and the id are reserved and ignored (2.8.7).
bool PackedRing::ParseIndirect(uint64_t addr, uint32_t len, internal::ChainWalk& w,
                               std::vector<Segment>* segs) const {
  const uint8_t* const table = tables_.Resolve(addr, len);
  if (table == nullptr) return false;
  const uint32_t count = len / kDescSize;
  if (count > num_) return false;  // 2.8.5: at most the queue size
  for (uint32_t i = 0; i < count; ++i) {
    const uint8_t* d = table + size_t{i} * kDescSize;
    if (!w.Add(Ld64(d), Ld32(d + 8), Ld16(d + 14) & kDescFWrite, segs)) return false;
  }
  return true;
}

int PackedRing::PopRaw(Chain* out, std::vector<Segment>* segs) {
  // fill_vec_buf_packed()
  if (!IsAvail(dev_avail_)) return internal::kPopEmpty;
  if (segs) segs->clear();
  internal::ChainWalk w;  // address never taken, so it stays in registers
  uint32_t c = dev_avail_;
  uint32_t count = 0;
  uint16_t id = 0;
  for (;;) {
    if (count >= num_) return internal::kPopBad;  // longer than the ring
    const uint8_t* d = desc(Slot(c));
    const uint16_t flags = Ld16(d + 14);
    id = Ld16(d + 12);  // the last descriptor's id counts (2.8.6)
    ++count;
    ++c;
    if (flags & kDescFIndirect) {
      // One indirect descriptor is the whole list (2.8.5: a list holds
      // descriptors of one type), so no NEXT and nothing before it.
      if (!features_.indirect || (flags & kDescFNext) || count != 1) return internal::kPopBad;
      internal::ChainWalk iw = w;
      if (!ParseIndirect(Ld64(d), Ld32(d + 8), iw, segs)) return internal::kPopBad;
      w = iw;
      break;
    }
    if (!w.Add(Ld64(d), Ld32(d + 8), flags & kDescFWrite, segs)) return internal::kPopBad;
    if (!(flags & kDescFNext)) break;
  }
  if (id >= num_) return internal::kPopBad;
  if (features_.in_order) {
    inflight_[inflight_tail_++ & mask_] = InFlight{id, static_cast<uint16_t>(count)};
  } else {
    if (chain_descs_[id] != 0) return internal::kPopBad;  // id already in flight
    chain_descs_[id] = static_cast<uint16_t>(count);
  }
  dev_avail_ = c;
  if (scan_chains_ > 0)
    --scan_chains_;
  else
    scan_pos_ = dev_avail_;
  *out = Chain{id, static_cast<uint16_t>(count), static_cast<uint16_t>(w.segments), w.out, w.in};
  return internal::kPopChain;
}

void PackedRing::PushUsed(uint16_t id, uint32_t len) {
  uint32_t n = 0;
  if (features_.in_order) {
    // One used descriptor for every popped buffer up to `id`.
    for (;;) {
      KREPLAY_CHECK(inflight_head_ != inflight_tail_, "PushUsed: id " + std::to_string(id) + " was not popped");
      const InFlight f = inflight_[inflight_head_++ & mask_];
      n += f.descs;
      if (f.id == id) break;
    }
  } else {
    KREPLAY_CHECK(id < num_ && chain_descs_[id] != 0, "PushUsed: id " + std::to_string(id) + " was not popped");
    n = chain_descs_[id];
    chain_descs_[id] = 0;
  }
  const uint32_t c = dev_used_ + pending_descs_;
  uint8_t* d = desc(Slot(c));
  St16(d + 12, id);
  St32(d + 8, len);
  const uint16_t flags =
      static_cast<uint16_t>((Wrap(c) ? kDescFAvail | kDescFUsed : 0) | (len != 0 ? kDescFWrite : 0));
  if (pending_count_ == 0) {
    first_pending_slot_ = Slot(c);
    first_pending_flags_ = flags;
  } else {
    St16(d + 14, flags);
  }
  pending_descs_ += n;
  ++pending_count_;
}

bool PackedRing::PublishUsed() {
  if (pending_count_ == 0) return false;
  // The batch's first used descriptor becomes visible last.
  St16(desc(first_pending_slot_) + 14, first_pending_flags_);
  dev_used_ += pending_descs_;
  pending_descs_ = 0;
  pending_count_ = 0;
  // vhost_vring_call_packed()
  const uint16_t drv_flags = Ld16(driver_event() + 2);
  if (!features_.event_idx) return drv_flags != kEventFlagDisable;
  uint16_t old_idx = signalled_used_;
  const uint16_t new_idx = Slot(dev_used_);
  signalled_used_ = new_idx;
  const bool valid = signalled_used_valid_;
  signalled_used_valid_ = true;
  if (drv_flags != kEventFlagDesc) return drv_flags != kEventFlagDisable;
  if (!valid) return true;
  const uint16_t off_wrap = Ld16(driver_event());
  uint16_t off = static_cast<uint16_t>(off_wrap & ~(1u << kEventWrapCtrBit));
  if (new_idx <= old_idx) old_idx = static_cast<uint16_t>(old_idx - num_);
  if (Wrap(dev_used_) != static_cast<bool>(off_wrap >> kEventWrapCtrBit)) off = static_cast<uint16_t>(off - num_);
  return VringNeedEvent(off, new_idx, old_idx);
}

void PackedRing::DisableNotify() {
  if (dev_event_flags_shadow_ == kEventFlagDisable) return;
  dev_event_flags_shadow_ = kEventFlagDisable;
  St16(device_event() + 2, dev_event_flags_shadow_);
}

bool PackedRing::EnableNotify() {
  // DPDK vhost_enable_notify_packed(): off_wrap first, then the flags.
  if (dev_event_flags_shadow_ != kEventFlagDisable) return false;
  if (features_.event_idx) St16(device_event(), OffWrap(dev_avail_));
  dev_event_flags_shadow_ = features_.event_idx ? kEventFlagDesc : kEventFlagEnable;
  St16(device_event() + 2, dev_event_flags_shadow_);
  return IsAvail(dev_avail_);
}

}  // namespace kreplay::virtio
