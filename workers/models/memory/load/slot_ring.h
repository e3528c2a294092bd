// A circular FIFO whose entries keep their slot while they are queued, so a
// page's `aux` can name its slot and be found in O(1). Storage grows only
// when full (entries are then re-slotted through a callback); nothing is
// allocated otherwise. Internal to the background load (background.h).
#pragma once

#include <cstdint>
#include <vector>

#include "services/core/status.h"

namespace kreplay::memory::internal {

template <typename T>
class SlotRing {
 public:
  uint32_t capacity() const { return static_cast<uint32_t>(buf_.size()); }
  uint32_t size() const { return size_; }  // queued entries, tombstones included
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == capacity(); }

  T& at(uint32_t slot) { return buf_[slot]; }
  const T& at(uint32_t slot) const { return buf_[slot]; }
  T& front() { return buf_[head_]; }
  const T& front() const { return buf_[head_]; }
  // The slot `i` places behind the head. REQUIRES: i < size().
  uint32_t SlotAt(uint32_t i) const {
    uint32_t s = head_ + i;
    return s >= capacity() ? s - capacity() : s;
  }

  // Returns the slot. REQUIRES: !full().
  uint32_t PushBack(const T& v) {
    KREPLAY_CHECK(!full(), "SlotRing::PushBack on a full ring");
    const uint32_t s = SlotAt(size_);
    buf_[s] = v;
    ++size_;
    return s;
  }
  void PopFront() {
    KREPLAY_CHECK(size_ > 0, "SlotRing::PopFront on an empty ring");
    head_ = head_ + 1 == capacity() ? 0 : head_ + 1;
    --size_;
  }

  // Keeps the entries for which keep(e) holds, in order, in a ring of
  // `new_capacity` slots (>= the kept count); moved(e, slot) is called for
  // each kept entry with its new slot. With the same capacity the entries
  // are compacted in place (no allocation).
  template <typename Keep, typename Moved>
  void Rebuild(uint32_t new_capacity, Keep keep, Moved moved) {
    if (new_capacity == capacity()) {
      uint32_t w = head_, n = 0;
      for (uint32_t i = 0; i < size_; ++i) {
        const uint32_t r = SlotAt(i);
        if (!keep(buf_[r])) continue;
        buf_[w] = buf_[r];  // w never passes r in ring order
        moved(buf_[w], w);
        w = w + 1 == capacity() ? 0 : w + 1;
        ++n;
      }
      size_ = n;
      return;
    }
    std::vector<T> nb(new_capacity);
    uint32_t n = 0;
    for (uint32_t i = 0; i < size_; ++i) {
      const T& e = buf_[SlotAt(i)];
      if (!keep(e)) continue;
      KREPLAY_CHECK(n < new_capacity, "SlotRing::Rebuild: capacity too small");
      nb[n] = e;
      moved(nb[n], n);
      ++n;
    }
    buf_.swap(nb);
    head_ = 0;
    size_ = n;
  }

  uint64_t MemoryBytes() const { return uint64_t{buf_.capacity()} * sizeof(T); }

 private:
  std::vector<T> buf_;
  uint32_t head_ = 0;
  uint32_t size_ = 0;
};

}  // namespace kreplay::memory::internal
