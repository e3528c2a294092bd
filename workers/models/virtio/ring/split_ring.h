// SplitRing: a split virtqueue (virtio 1.1 section 2.7) holding its real
// bytes, with both ends of the protocol.
//
// The driver half mirrors drivers/virtio/virtio_ring.c (v6.6; in-order from
// the 2025 "virtio_ring: add in order support" series), the device half
// mirrors drivers/vhost/vhost.c (vhost_get_vq_desc, get_indirect,
// vhost_add_used_n, vhost_notify, vhost_{enable,disable}_notify). Each method
// names the kernel function it follows.
//
// Memory layout (one buffer owned by the ring, little-endian, section 2.7):
//   desc  at 0, align 16:       N x {le64 addr, le32 len, le16 flags, le16 next}
//   avail at 16N, align 2:      le16 flags, le16 idx, le16 ring[N], le16 used_event
//   used  at align4(16N+6+2N):  le16 flags, le16 idx, N x {le32 id, le32 len},
//                               le16 avail_event
// Indirect tables are driver memory outside the ring: one table per head
// index, at a synthetic guest address the device translates back.
//
// Simplifications: no DMA mapping, no barriers (one thread plays both sides,
// in the order the simulator schedules them); a driver-side protocol
// violation by the device (a used id that is not an outstanding head) traps
// like BAD_RING under DEBUG; a malformed chain stops the device like vq_err
// (Pop returns kBadChain and does not advance).
//
// In-order (VIRTIO_F_IN_ORDER): the driver hands out descriptors in ring
// order; the device may complete a batch with one used entry, written at the
// batch's first used slot with the head id of the batch's last buffer, and
// advances used->idx by the number of buffers in the batch. The driver then
// completes the earlier buffers with their full length, as
// virtqueue_get_buf_ctx_split_in_order does.
//
// Thread-safety: none; a ring belongs to one simulation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "workers/models/virtio/ring/ring.h"

namespace kreplay::virtio {

class SplitRing {
 public:
  // REQUIRES: CheckQueueSize(size) is ok.
  SplitRing(uint32_t size, RingFeatures features);
  SplitRing(const SplitRing&) = delete;
  SplitRing& operator=(const SplitRing&) = delete;
  SplitRing(SplitRing&&) = default;
  SplitRing& operator=(SplitRing&&) = default;

  uint32_t size() const { return num_; }
  const RingFeatures& features() const { return features_; }

  // ---- driver side (virtio_ring.c) ----

  // virtqueue_add_split(): adds one buffer, `segs` in order (device-readable
  // segments first, then device-writable, as virtqueue_add_sgs lays them).
  // Uses an indirect table when features().indirect && use_indirect &&
  // segs.size() > 1 (virtqueue_use_indirect). Returns the ring descriptors
  // consumed (1 if indirect), or kFull (not enough free descriptors; nothing
  // changed, the request waits), kTooLong (more segments than size(), spec
  // 2.7.5.3.1), kBadChain (a readable segment after a writable one, which
  // vhost would reject). `token` comes back from GetUsed.
  // REQUIRES: !segs.empty().
  RingResult<uint16_t> AddBuf(std::span<const Segment> segs, uint32_t token, bool use_indirect = true) {
    return internal::AddResult(AddBufRaw(segs, token, use_indirect));
  }

  // virtqueue_kick_prepare_split(): whether the driver must notify the device
  // for the buffers added since the last call (avail_event with event_idx,
  // VRING_USED_F_NO_NOTIFY otherwise).
  bool KickPrepare();

  // virtqueue_get_buf_ctx_split() (in-order: ..._split_in_order()): the next
  // used buffer, if any; frees its descriptors.
  std::optional<UsedBuf> GetUsed() {
    std::optional<UsedBuf> res{std::in_place};
    if (!GetUsedRaw(&*res)) res.reset();
    return res;
  }

  // virtqueue_disable_cb_split().
  void DisableCb();
  // virtqueue_enable_cb_prepare_split() + virtqueue_poll_split(): re-enables
  // used-buffer notifications; false if used buffers are already pending (the
  // caller must poll again).
  bool EnableCb();
  // virtqueue_enable_cb_delayed_split(): as EnableCb, but asks for the
  // interrupt only after 3/4 of the outstanding buffers are used.
  bool EnableCbDelayed();

  uint32_t num_free() const { return num_free_; }

  // ---- device side (vhost.c) ----

  // vhost_get_avail_idx() - last_avail_idx: chains available, not yet popped.
  uint16_t AvailCount() const;

  // vhost_get_vq_desc() with get_indirect(): pops the next available chain,
  // nullopt if none. kBadChain on a malformed chain (head or next out of
  // range, loop, INDIRECT with NEXT, nested indirect, indirect length not a
  // multiple of 16 or zero, indirect table not where the driver put one,
  // readable after writable, more segments than size(), avail idx moved by
  // more than size(), a head the device already holds); the ring then stays
  // where it was. Fills *segs (cleared first) when segs is not null.
  RingResult<std::optional<Chain>> Pop(std::vector<Segment>* segs = nullptr) {
    RingResult<std::optional<Chain>> res{std::optional<Chain>{std::in_place}};
    internal::SetPopResult(PopRaw(&**res, segs), res);
    return res;
  }

  // vhost_add_used_n() (buffered as vhost_add_used_and_signal_n batches): writes
  // the used element for chain `id` with `len` bytes written; the used idx
  // moves at PublishUsed. In-order: `id` may be a later chain than the oldest
  // popped one; the entry then also completes every earlier popped chain.
  // REQUIRES: `id` was returned by Pop and not pushed since.
  void PushUsed(uint16_t id, uint32_t len);

  // Publishes pushed elements with one used->idx store; returns whether to
  // interrupt the driver (vhost_notify: !VRING_AVAIL_F_NO_INTERRUPT, or with
  // event_idx vring_need_event(used_event, new, signalled_used)). False if
  // nothing was pushed.
  bool PublishUsed();

  // vhost_disable_notify().
  void DisableNotify();
  // vhost_enable_notify(): true if buffers became available meanwhile (the
  // caller must poll again). False, and nothing written, when notifications
  // were not disabled. With event_idx writes avail_event = the device's cached
  // avail idx (vq->avail_idx, which equals last_avail_idx once drained).
  bool EnableNotify();

  // ---- layout, for tests ----
  std::span<const uint8_t> memory() const { return mem_; }
  size_t desc_offset() const { return 0; }
  size_t avail_offset() const { return avail_off_; }
  size_t used_offset() const { return used_off_; }
  // The indirect table of head `id` (empty if none was ever built) and its
  // synthetic guest address.
  std::span<const uint8_t> indirect_table(uint16_t id) const { return tables_.table(id); }
  static uint64_t IndirectAddr(uint16_t id) { return internal::IndirectTables::Addr(id); }
  // Test hooks: raw write access, to build the malformed rings a buggy or
  // hostile driver could produce. Not for production code.
  std::span<uint8_t> mutable_memory_for_test() { return mem_; }
  std::vector<uint8_t>& mutable_indirect_table_for_test(uint16_t id) { return tables_.mutable_table(id); }

 private:
  struct DescState {
    uint32_t token = 0;
    uint32_t total_len = 0;  // sum of segment lengths (in-order's implicit len)
    uint16_t ndescs = 0;     // ring descriptors held; 0 = not a live head
  };
  static constexpr uint32_t kNoBatch = 0xffffffffu;

  // Out-of-line cores of AddBuf (descriptors or internal::ErrCode), GetUsed
  // and Pop (internal::kPop*), see ring.h.
  int AddBufRaw(std::span<const Segment> segs, uint32_t token, bool use_indirect);
  bool GetUsedRaw(UsedBuf* out);
  int PopRaw(Chain* out, std::vector<Segment>* segs);

  uint8_t* desc(uint32_t i) { return mem_.data() + size_t{i} * kDescSize; }
  const uint8_t* desc(uint32_t i) const { return mem_.data() + size_t{i} * kDescSize; }
  uint8_t* avail() { return mem_.data() + avail_off_; }
  const uint8_t* avail() const { return mem_.data() + avail_off_; }
  uint8_t* used() { return mem_.data() + used_off_; }
  const uint8_t* used() const { return mem_.data() + used_off_; }
  uint8_t* used_event() { return avail() + 4 + 2 * size_t{num_}; }
  uint8_t* avail_event() { return used() + 4 + 8 * size_t{num_}; }
  bool Poll(uint16_t last_used_idx) const;
  void Detach(uint16_t head);
  // Walks the indirect table at addr/len into `w`; false if malformed.
  bool ParseIndirect(uint64_t addr, uint32_t len, internal::ChainWalk& w, std::vector<Segment>* segs) const;

  uint32_t num_;
  uint16_t mask_;
  RingFeatures features_;
  size_t avail_off_;
  size_t used_off_;
  std::vector<uint8_t> mem_;
  internal::IndirectTables tables_;  // indirect table per head

  // Driver state (struct vring_virtqueue, split part).
  std::vector<uint16_t> next_;  // desc_extra[].next: the free list links
  std::vector<DescState> state_;
  uint32_t num_free_;
  uint16_t free_head_ = 0;
  uint16_t avail_idx_shadow_ = 0;
  uint16_t avail_flags_shadow_ = 0;
  uint16_t last_used_idx_ = 0;
  uint32_t num_added_ = 0;
  uint32_t batch_last_id_ = kNoBatch;  // in-order: pending batch entry
  uint32_t batch_last_len_ = 0;
  uint16_t next_used_head_ = 0;  // in-order: oldest outstanding head

  // Device state (struct vhost_virtqueue).
  uint16_t last_avail_idx_ = 0;
  uint16_t avail_idx_ = 0;       // cached avail->idx
  uint16_t dev_used_idx_ = 0;    // vq->last_used_idx (published)
  uint16_t pending_used_ = 0;    // pushed, not yet published
  uint16_t used_flags_ = 0;      // vq->used_flags
  uint16_t signalled_used_ = 0;
  bool signalled_used_valid_ = false;
  std::vector<uint8_t> popped_;     // per head: popped, not yet pushed
  std::vector<uint16_t> inflight_;  // in-order: popped heads, FIFO
  uint32_t inflight_head_ = 0;
  uint32_t inflight_tail_ = 0;
};

}  // namespace kreplay::virtio
