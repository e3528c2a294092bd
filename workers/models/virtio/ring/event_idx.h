// The virtio event index rule (VIRTIO_RING_F_EVENT_IDX).
//
// Mirrors vring_need_event() in include/uapi/linux/virtio_ring.h and the
// rule in virtio 1.1 section 2.7.7.2 / 2.7.10: the other side asks to be
// notified when the index it watches moves past `event_idx`. All arithmetic
// is modulo 2^16, so the rule holds across wrap-around.
#pragma once

#include <cstdint>

namespace kreplay::virtio {

// True when moving an index from `old_idx` to `new_idx` crossed `event_idx`,
// i.e. event_idx lies in [old_idx, new_idx) modulo 2^16:
//   (u16)(new - event - 1) < (u16)(new - old).
constexpr bool VringNeedEvent(uint16_t event_idx, uint16_t new_idx, uint16_t old_idx) {
  return static_cast<uint16_t>(new_idx - event_idx - 1) < static_cast<uint16_t>(new_idx - old_idx);
}

}  // namespace kreplay::virtio
