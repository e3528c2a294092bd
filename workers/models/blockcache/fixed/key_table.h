// KeyTable: an open-addressing hash map from block keys (< 2^62) to uint32
// values, for the fixed-block caches and the stack-distance analyser.
//
// Linear probing with Fibonacci hashing, load factor <= 1/2, backward-shift
// deletion (no tombstones, so long runs of evictions do not degrade it).
// Keys and values sit side by side: a lookup touches one cache line. Lookup
// order and results never depend on the table layout, so using it keeps
// results deterministic. Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace kreplay::blockcache {

class KeyTable {
 public:
  static constexpr uint64_t kEmpty = UINT64_MAX;

  explicit KeyTable(uint64_t expected = 1024) { Rehash(Pow2AtLeast(expected * 2)); }

  // Pointer to the value of `key`, or nullptr. Valid until the next Insert/Erase.
  uint32_t* Find(uint64_t key) {
    for (uint64_t i = Home(key);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.key == key) return &s.value;
      if (s.key == kEmpty) return nullptr;
    }
  }
  // Hints the CPU to load the slot `key` hashes to: callers that know the
  // next keys in advance (a trace) hide the memory latency of the lookup.
  void Prefetch(uint64_t key) const { __builtin_prefetch(&slots_[Home(key)]); }
  // REQUIRES: key absent.
  void Insert(uint64_t key, uint32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) Rehash(slots_.size() * 2);
    uint64_t i = Home(key);
    while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
    slots_[i] = Slot{key, value};
    ++size_;
  }
  // REQUIRES: key present.
  void Erase(uint64_t key) {
    uint64_t i = Home(key);
    while (slots_[i].key != key) i = (i + 1) & mask_;
    // Backward shift: pull later members of the probe run into the hole
    // when the hole lies between their home and their slot.
    for (uint64_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].key == kEmpty) break;
      uint64_t home = Home(slots_[j].key);
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i].key = kEmpty;
    --size_;
  }
  // Calls f(key, value&) for every entry, in table order: callers must not
  // let results depend on that order.
  template <typename F>
  void ForEach(F&& f) {
    for (Slot& s : slots_) {
      if (s.key != kEmpty) f(s.key, s.value);
    }
  }
  uint64_t size() const { return size_; }
  uint64_t memory_bytes() const { return slots_.size() * sizeof(Slot); }

 private:
  struct Slot {
    uint64_t key;
    uint32_t value;
  };
  static uint64_t Pow2AtLeast(uint64_t n) {
    uint64_t p = 16;
    while (p < n) p *= 2;
    return p;
  }
  uint64_t Home(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ULL) >> shift_; }
  void Rehash(uint64_t n) {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(n, Slot{kEmpty, 0});
    mask_ = n - 1;
    shift_ = 64;
    for (uint64_t m = n; m > 1; m >>= 1) --shift_;
    for (const Slot& s : old) {
      if (s.key == kEmpty) continue;
      uint64_t i = Home(s.key);
      while (slots_[i].key != kEmpty) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  int shift_ = 64;
  uint64_t size_ = 0;
};

}  // namespace kreplay::blockcache
