// PackedRing: a packed virtqueue (virtio 1.1 section 2.8) holding its real
// bytes, with both ends of the protocol and the same public methods as
// SplitRing, so a simulator can be templated on the ring type.
//
// The driver half mirrors drivers/virtio/virtio_ring.c (v6.6:
// virtqueue_add_packed, virtqueue_add_indirect_packed,
// virtqueue_kick_prepare_packed, virtqueue_get_buf_ctx_packed,
// virtqueue_{disable,enable}_cb*_packed; in-order from the 2025 "virtio_ring:
// add in order support" series). vhost.c has no packed ring, so the device
// half mirrors DPDK lib/vhost (fill_vec_buf_packed, the shadow used ring
// flush, vhost_enable_guest_notification for packed, vhost_vring_call_packed).
//
// Memory layout (one buffer owned by the ring, little-endian, section 2.8):
//   descriptor ring at 0, align 16:  N x {le64 addr, le32 len, le16 id, le16 flags}
//   driver event suppression at 16N: {le16 off_wrap, le16 flags}  (Driver Area)
//   device event suppression at 16N+4: {le16 off_wrap, le16 flags} (Device Area)
// A descriptor is available when AVAIL == wrap and USED != wrap, used when
// AVAIL == USED == wrap (section 2.8.1). Both wrap counters start at 1.
// Indirect tables are driver memory outside the ring, one per buffer id, at a
// synthetic guest address the device translates back; only WRITE is
// meaningful in them (2.8.7).
//
// Simplifications: as SplitRing (no DMA, no barriers, device protocol
// violations trap, a malformed chain stops the device). The device takes the
// buffer id from the last descriptor of a chain (2.8.6) and sets WRITE in a
// used descriptor when it wrote bytes (2.8.4). The queue size must be a
// power of two here too (the spec allows any size for packed rings).
//
// In-order: buffer ids are the head positions; the device may write one used
// descriptor, at the first slot of a batch, with the id of the batch's last
// buffer and skip the batch's descriptors (2.8.9); earlier buffers complete
// with their full length.
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

class PackedRing {
 public:
  // REQUIRES: CheckQueueSize(size) is ok.
  PackedRing(uint32_t size, RingFeatures features);
  PackedRing(const PackedRing&) = delete;
  PackedRing& operator=(const PackedRing&) = delete;
  PackedRing(PackedRing&&) = default;
  PackedRing& operator=(PackedRing&&) = default;

  uint32_t size() const { return num_; }
  const RingFeatures& features() const { return features_; }

  // ---- driver side (virtio_ring.c) ----

  // virtqueue_add_packed() / virtqueue_add_indirect_packed(): as
  // SplitRing::AddBuf. A direct chain takes one descriptor (and one buffer id
  // from the free list) per segment, written in ring order; the head's flags
  // are written last.
  RingResult<uint16_t> AddBuf(std::span<const Segment> segs, uint32_t token, bool use_indirect = true) {
    return internal::AddResult(AddBufRaw(segs, token, use_indirect));
  }
  // virtqueue_kick_prepare_packed(): device event suppression flags, or with
  // DESC the event offset/wrap against the descriptors added since last time.
  bool KickPrepare();
  // virtqueue_get_buf_ctx_packed() (in-order: ..._packed_in_order()).
  std::optional<UsedBuf> GetUsed() {
    std::optional<UsedBuf> res{std::in_place};
    if (!GetUsedRaw(&*res)) res.reset();
    return res;
  }
  // virtqueue_disable_cb_packed().
  void DisableCb();
  // virtqueue_enable_cb_prepare_packed() + virtqueue_poll_packed(): false if
  // a used descriptor is already waiting.
  bool EnableCb();
  // virtqueue_enable_cb_delayed_packed(): event at 3/4 of the descriptors
  // in flight.
  bool EnableCbDelayed();
  uint32_t num_free() const { return num_free_; }

  // ---- device side (DPDK lib/vhost, packed) ----

  // Chains available and not yet popped: counted by walking the available
  // descriptors from the device's position (no index exists in a packed
  // ring); the walk is remembered, so repeated calls cost O(new chains).
  uint16_t AvailCount() const;
  // fill_vec_buf_packed(): as SplitRing::Pop. kBadChain on INDIRECT with NEXT,
  // an indirect length that is zero or not a multiple of 16 or a table not
  // where the driver put one, nested INDIRECT, readable after writable, a
  // chain longer than size(), or a buffer id >= size().
  RingResult<std::optional<Chain>> Pop(std::vector<Segment>* segs = nullptr) {
    RingResult<std::optional<Chain>> res{std::optional<Chain>{std::in_place}};
    internal::SetPopResult(PopRaw(&**res, segs), res);
    return res;
  }
  // Writes the used descriptor for buffer `id` (id and len now, its flags at
  // PublishUsed for the first of a batch, as DPDK's shadow used ring does).
  // REQUIRES: `id` was returned by Pop and not pushed since.
  void PushUsed(uint16_t id, uint32_t len);
  // Makes the pushed descriptors visible (the first one's flags last) and
  // returns whether to interrupt the driver (vhost_vring_call_packed: driver
  // event flags, or with DESC vhost_need_event on off_wrap). False if nothing
  // was pushed.
  bool PublishUsed();
  // Device event suppression flags = DISABLE.
  void DisableNotify();
  // Device event suppression = DESC at the device's next position (or ENABLE
  // without event_idx); true if a buffer became available meanwhile. False,
  // and nothing written, when notifications were not disabled.
  bool EnableNotify();

  // ---- layout, for tests ----
  std::span<const uint8_t> memory() const { return mem_; }
  size_t desc_offset() const { return 0; }
  size_t driver_event_offset() const { return size_t{num_} * kDescSize; }
  size_t device_event_offset() const { return size_t{num_} * kDescSize + 4; }
  // Driver Ring Wrap Counter (the one AddBuf marks descriptors with) and the
  // Device Ring Wrap Counter (the one used descriptors are marked with).
  bool driver_wrap_counter() const { return Wrap(next_avail_); }
  bool device_wrap_counter() const { return Wrap(dev_used_); }
  std::span<const uint8_t> indirect_table(uint16_t id) const { return tables_.table(id); }
  static uint64_t IndirectAddr(uint16_t id) { return internal::IndirectTables::Addr(id); }
  // Test hooks: raw write access, to build malformed rings. Not for
  // production code.
  std::span<uint8_t> mutable_memory_for_test() { return mem_; }
  std::vector<uint8_t>& mutable_indirect_table_for_test(uint16_t id) { return tables_.mutable_table(id); }

 private:
  struct DescState {
    uint32_t token = 0;
    uint32_t total_len = 0;
    uint16_t num = 0;   // descriptors of the buffer; 0 = id not in use
    uint16_t last = 0;  // last id of the chain in the id free list
  };
  struct InFlight {
    uint16_t id;
    uint16_t descs;
  };
  static constexpr uint32_t kNoBatch = 0xffffffffu;

  // Out-of-line cores of AddBuf (descriptors or internal::ErrCode), GetUsed
  // and Pop (internal::kPop*), see ring.h.
  int AddBufRaw(std::span<const Segment> segs, uint32_t token, bool use_indirect);
  bool GetUsedRaw(UsedBuf* out);
  int PopRaw(Chain* out, std::vector<Segment>* segs);

  // Positions are free-running 32-bit counters: slot = c & mask, wrap counter
  // = 1 for the first lap, flipping each lap (2^32 is a multiple of 2N).
  uint16_t Slot(uint32_t c) const { return static_cast<uint16_t>(c & mask_); }
  bool Wrap(uint32_t c) const { return ((c >> log2n_) & 1) == 0; }
  uint16_t OffWrap(uint32_t c) const {
    return static_cast<uint16_t>(Slot(c) | (Wrap(c) ? 1u << kEventWrapCtrBit : 0u));
  }
  uint8_t* desc(uint32_t slot) { return mem_.data() + size_t{slot} * kDescSize; }
  const uint8_t* desc(uint32_t slot) const { return mem_.data() + size_t{slot} * kDescSize; }
  uint8_t* driver_event() { return mem_.data() + driver_event_offset(); }
  const uint8_t* driver_event() const { return mem_.data() + driver_event_offset(); }
  uint8_t* device_event() { return mem_.data() + device_event_offset(); }
  const uint8_t* device_event() const { return mem_.data() + device_event_offset(); }
  bool IsUsed(uint32_t c) const;
  bool IsAvail(uint32_t c) const;
  // Walks the indirect table at addr/len into `w`; false if malformed.
  bool ParseIndirect(uint64_t addr, uint32_t len, internal::ChainWalk& w, std::vector<Segment>* segs) const;

  uint32_t num_;
  uint16_t mask_;
  int log2n_;
  RingFeatures features_;
  std::vector<uint8_t> mem_;
  internal::IndirectTables tables_;  // indirect table per buffer id

  // Driver state (struct vring_virtqueue, packed part).
  std::vector<uint16_t> next_id_;  // desc_extra[].next: the id free list
  std::vector<DescState> state_;
  uint32_t num_free_;
  uint16_t free_head_ = 0;
  uint32_t next_avail_ = 0;  // next_avail_idx + avail_wrap_counter
  uint32_t last_used_ = 0;   // last_used_idx + used wrap counter
  uint32_t num_added_ = 0;
  uint16_t event_flags_shadow_ = kEventFlagEnable;
  uint32_t batch_last_id_ = kNoBatch;
  uint32_t batch_last_len_ = 0;

  // Device state.
  uint32_t dev_avail_ = 0;  // last_avail_idx + avail_wrap_counter
  uint32_t dev_used_ = 0;   // last_used_idx + used_wrap_counter (published)
  uint32_t pending_descs_ = 0;
  uint32_t pending_count_ = 0;
  uint16_t first_pending_slot_ = 0;
  uint16_t first_pending_flags_ = 0;
  std::vector<uint16_t> chain_descs_;  // per popped id: descriptors to skip
  std::vector<InFlight> inflight_;     // in-order: popped buffers, FIFO
  uint32_t inflight_head_ = 0;
  uint32_t inflight_tail_ = 0;
  uint16_t dev_event_flags_shadow_ = kEventFlagEnable;
  uint16_t signalled_used_ = 0;
  bool signalled_used_valid_ = false;
  mutable uint32_t scan_pos_ = 0;     // AvailCount's walk: end position ...
  mutable uint16_t scan_chains_ = 0;  // ... and chains found before it
};

}  // namespace kreplay::virtio
