// Types shared by the split and packed virtqueue engines (split_ring.h,
// packed_ring.h): spec flag values, features, segments, what the device reads
// from a chain, errors, and the queue-size check used at configuration time.
//
// Flag values are those of the virtio 1.1 specification (sections 2.7.5,
// 2.8.1, 2.8.10) and include/uapi/linux/virtio_ring.h.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>
#include <string>
#include <utility>
#include <version>

#if defined(__cpp_lib_expected) && __cpp_lib_expected >= 202202L
#include <expected>
#endif

#include "services/core/status.h"

namespace kreplay::virtio {

inline constexpr uint32_t kMaxQueueSize = 32768;

// Descriptor flags (struct vring_desc / vring_packed_desc).
inline constexpr uint16_t kDescFNext = 1;       // VRING_DESC_F_NEXT
inline constexpr uint16_t kDescFWrite = 2;      // VRING_DESC_F_WRITE
inline constexpr uint16_t kDescFIndirect = 4;   // VRING_DESC_F_INDIRECT
inline constexpr uint16_t kDescFAvail = 1 << 7; // VRING_PACKED_DESC_F_AVAIL
inline constexpr uint16_t kDescFUsed = 1 << 15; // VRING_PACKED_DESC_F_USED
// Packed event suppression flags (struct vring_packed_desc_event).
inline constexpr uint16_t kEventFlagEnable = 0;   // VRING_PACKED_EVENT_FLAG_ENABLE
inline constexpr uint16_t kEventFlagDisable = 1;  // VRING_PACKED_EVENT_FLAG_DISABLE
inline constexpr uint16_t kEventFlagDesc = 2;     // VRING_PACKED_EVENT_FLAG_DESC
inline constexpr int kEventWrapCtrBit = 15;       // VRING_PACKED_EVENT_F_WRAP_CTR
// Split ring flag words.
inline constexpr uint16_t kAvailFNoInterrupt = 1;  // VRING_AVAIL_F_NO_INTERRUPT
inline constexpr uint16_t kUsedFNoNotify = 1;      // VRING_USED_F_NO_NOTIFY

// Size in bytes of one descriptor, split or packed (both are 16 B).
inline constexpr uint32_t kDescSize = 16;

// Negotiated ring features (VIRTIO_RING_F_EVENT_IDX, VIRTIO_RING_F_INDIRECT_DESC,
// VIRTIO_F_IN_ORDER). Both sides of a ring see the same set.
struct RingFeatures {
  bool event_idx = true;
  bool indirect = true;
  bool in_order = false;
};

// One scatter-gather element of a buffer: guest address, length, and whether
// the device writes it (an "in" segment) or reads it (an "out" segment).
struct Segment {
  uint64_t addr = 0;
  uint32_t len = 0;
  bool device_writable = false;
};

// What the device reads from one available chain (vhost_get_vq_desc's result).
struct Chain {
  uint16_t id = 0;           // split: head descriptor index; packed: buffer id
  uint16_t descriptors = 0;  // ring slots the chain occupies (1 if indirect)
  uint16_t segments = 0;     // scatter-gather elements, indirect ones included
  uint32_t out_bytes = 0;    // device-readable bytes (modulo 2^32)
  uint32_t in_bytes = 0;     // device-writable bytes (modulo 2^32)
};

// A completed buffer as the driver sees it: the token given to AddBuf and the
// length the device wrote.
struct UsedBuf {
  uint32_t token = 0;
  uint32_t len = 0;
};

enum class RingError {
  kFull,      // not enough free descriptors: the request waits (back-pressure)
  kTooLong,   // more segments than the queue size allows
  kBadChain,  // malformed chain: loop, nested indirect, bad length, out of range,
              // readable after writable, ...
};
const char* RingErrorName(RingError e);

// InvalidArgument naming `field` unless 0 < size <= 32768 and size is a power
// of two (virtio 1.1 section 2.7: "Queue Size value is always a power of 2.
// The maximum Queue Size value is 32768").
Status CheckQueueSize(uint32_t size, const std::string& field);

// A value or a RingError. The project builds as C++20, where std::expected
// does not exist; with C++23 this is std::expected itself. The subset used
// here (has_value, operator bool, *, ->, value, error) is the same in both.
#if defined(__cpp_lib_expected) && __cpp_lib_expected >= 202202L
template <typename T, typename E>
using Expected = std::expected<T, E>;
template <typename E>
using Unexpected = std::unexpected<E>;
#else
template <typename E>
class Unexpected {
 public:
  explicit constexpr Unexpected(E e) : error_(e) {}
  constexpr const E& error() const { return error_; }

 private:
  E error_;
};

template <typename T, typename E>
class [[nodiscard]] Expected {
 public:
  constexpr Expected(T v) : ok_(true), value_(std::move(v)) {}  // NOLINT: implicit by design
  constexpr Expected(Unexpected<E> u) : ok_(false), error_(u.error()) {}  // NOLINT
  constexpr bool has_value() const { return ok_; }
  constexpr explicit operator bool() const { return ok_; }
  // REQUIRES: has_value().
  constexpr T& value() { Check(); return value_; }
  constexpr const T& value() const { Check(); return value_; }
  constexpr T& operator*() { return value(); }
  constexpr const T& operator*() const { return value(); }
  constexpr T* operator->() { return &value(); }
  constexpr const T* operator->() const { return &value(); }
  // REQUIRES: !has_value().
  constexpr E error() const { return error_; }

 private:
  constexpr void Check() const { KREPLAY_CHECK(ok_, "Expected::value() on an error"); }
  bool ok_;
  T value_{};
  E error_{};
};
#endif

template <typename T>
using RingResult = Expected<T, RingError>;

namespace internal {
// Little-endian loads and stores into ring memory (virtio 1.x rings are LE).
// The hosts kreplay runs on are little-endian; a big-endian port would add
// the byte swaps here.
static_assert(std::endian::native == std::endian::little, "ring memory accessors assume a little-endian host");
template <typename T>
inline T LoadLe(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
inline void StoreLe(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}
inline uint16_t Ld16(const uint8_t* p) { return LoadLe<uint16_t>(p); }
inline uint32_t Ld32(const uint8_t* p) { return LoadLe<uint32_t>(p); }
inline uint64_t Ld64(const uint8_t* p) { return LoadLe<uint64_t>(p); }
inline void St16(uint8_t* p, uint16_t v) { StoreLe(p, v); }
inline void St32(uint8_t* p, uint32_t v) { StoreLe(p, v); }
inline void St64(uint8_t* p, uint64_t v) { StoreLe(p, v); }

// Indirect tables are driver memory outside the ring. Each ring owns one
// table per buffer id; table `i` is given the synthetic guest address
// kIndirectBase + i * kIndirectStride (a stride that fits the largest legal
// table, 32768 descriptors), which the device side translates back.
inline constexpr uint64_t kIndirectBase = 0x00007f0000000000ull;
inline constexpr uint64_t kIndirectStride = uint64_t{kMaxQueueSize} * kDescSize;

class IndirectTables {
 public:
  explicit IndirectTables(uint32_t n) : tables_(n) {}
  static uint64_t Addr(uint16_t id) { return kIndirectBase + id * kIndirectStride; }
  // The table of `id`, resized to `count` descriptors (capacity is kept, so
  // a warm ring does not allocate).
  uint8_t* Prepare(uint16_t id, size_t count) {
    std::vector<uint8_t>& t = tables_[id];
    t.resize(count * kDescSize);
    return t.data();
  }
  // The device's translation of an INDIRECT descriptor (vhost's
  // translate_desc + get_indirect's length check): the table's bytes if `len`
  // is a non-zero multiple of 16 and [addr, addr + len) lies inside a table
  // the driver wrote; null otherwise.
  const uint8_t* Resolve(uint64_t addr, uint32_t len) const {
    if (len % kDescSize != 0 || len == 0 || addr < kIndirectBase) return nullptr;
    const uint64_t off = addr - kIndirectBase;
    if (off % kIndirectStride != 0 || off / kIndirectStride >= tables_.size()) return nullptr;
    const std::vector<uint8_t>& t = tables_[off / kIndirectStride];
    return len <= t.size() ? t.data() : nullptr;
  }
  std::span<const uint8_t> table(uint16_t id) const { return tables_[id]; }
  std::vector<uint8_t>& mutable_table(uint16_t id) { return tables_[id]; }

 private:
  std::vector<std::vector<uint8_t>> tables_;
};

// What the device accumulates while walking a chain (both layouts). Kept in
// scalars that stay in registers: building a Chain field by field on the
// stack stalls store forwarding in the hot path.
struct ChainWalk {
  uint32_t out = 0;
  uint32_t in = 0;
  uint32_t segments = 0;
  bool seen_in = false;
  // One element; false if it is readable after a writable one (vhost:
  // "Descriptor has out after in"). Appends it to *segs when segs is set.
  bool Add(uint64_t addr, uint32_t len, bool write, std::vector<Segment>* segs) {
    if (write) {
      in += len;
      seen_in = true;
    } else {
      if (seen_in) return false;
      out += len;
    }
    ++segments;
    if (segs) segs->push_back(Segment{addr, len, write});
    return true;
  }
};

// AddBuf's argument checks, the same for both layouts: kTooLong for more
// segments than the queue size (spec 2.7.5.3.1 / 2.8.5), kBadChain for a
// readable segment after a writable one (vhost: "Descriptor has out after
// in"). Returns 0 or an ErrCode, and the segments' total length.
constexpr int ErrCode(RingError e) { return -1 - static_cast<int>(e); }
inline int CheckSegments(std::span<const Segment> segs, uint32_t queue_size, uint32_t* total_len) {
  if (segs.size() > queue_size) return ErrCode(RingError::kTooLong);
  bool seen_in = false;
  uint32_t sum = 0;
  for (const Segment& s : segs) {
    if (!s.device_writable && seen_in) return ErrCode(RingError::kBadChain);
    seen_in |= s.device_writable;
    sum += s.len;
  }
  *total_len = sum;
  return 0;
}

// The rings' out-of-line cores return plain integers and take out-parameters;
// the public methods wrapping them are inline and build their std::optional /
// Expected in the caller's frame, where the core writes the fields directly.
// (GCC 12 returns such small structs through the stack with narrow stores
// and wider loads: a store-forwarding stall that cost a quarter of a round
// trip.)
inline RingResult<uint16_t> AddResult(int r) {
  if (r < 0) return Unexpected(static_cast<RingError>(-1 - r));
  return static_cast<uint16_t>(r);
}
inline constexpr int kPopBad = -1;
inline constexpr int kPopEmpty = 0;
inline constexpr int kPopChain = 1;
// `res` holds the chain PopRaw filled in; fixes it up for the other outcomes.
inline void SetPopResult(int r, RingResult<std::optional<Chain>>& res) {
  if (r == kPopEmpty)
    res->reset();
  else if (r == kPopBad)
    res = Unexpected<RingError>(RingError::kBadChain);
}
}  // namespace internal

}  // namespace kreplay::virtio
