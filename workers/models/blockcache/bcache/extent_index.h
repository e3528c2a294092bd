// An ordered map from uint64_t keys to small values, stored as a sorted list
// of sorted fixed-size chunks (a two-level B-tree without the pointers):
// the bcache model's extent index, replacing a std::map.
//
// Why: the model's lookups walk a few neighbouring extents from a key; a
// red-black tree pays a cache miss per level and an allocation per extent.
// Here a lookup is a binary search over the chunks' first keys (one
// contiguous array) and one inside a chunk; inserts and erases move at most
// one chunk's entries, and chunks are allocated only when one splits.
//
// Positions (Pos) are invalidated by any Insert or Erase except the one
// whose result they are. Not thread-safe. V must be trivially copyable.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

namespace kreplay::blockcache::bcache {

template <typename V>
class ChunkedMap {
  static_assert(std::is_trivially_copyable_v<V>);

 public:
  static constexpr uint32_t kCap = 64;  // entries per chunk
  struct Pos {
    uint32_t chunk = 0;
    uint32_t i = 0;
    bool operator==(const Pos&) const = default;
  };

  ChunkedMap() { Clear(); }

  void Clear() {
    chunks_.clear();
    firsts_.clear();
    chunks_.push_back(std::make_unique<Chunk>());
    firsts_.push_back(0);
    size_ = 0;
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  Pos Begin() const { return Normal(Pos{0, 0}); }
  bool AtEnd(Pos p) const { return p.chunk >= chunks_.size(); }
  uint64_t key(Pos p) const { return chunks_[p.chunk]->keys[p.i]; }
  V& value(Pos p) { return chunks_[p.chunk]->vals[p.i]; }
  const V& value(Pos p) const { return chunks_[p.chunk]->vals[p.i]; }
  Pos Next(Pos p) const { return Normal(Pos{p.chunk, p.i + 1}); }
  // REQUIRES: p is not Begin().
  Pos Prev(Pos p) const {
    if (p.i > 0) return Pos{p.chunk, p.i - 1};
    uint32_t c = p.chunk;
    do {
      --c;
    } while (chunks_[c]->n == 0);
    return Pos{c, chunks_[c]->n - 1};
  }

  // First entry with key >= k (LowerBound) or > k (UpperBound).
  Pos LowerBound(uint64_t k) const {
    const uint32_t c = ChunkFor(k);
    const Chunk& ch = *chunks_[c];
    return Normal(Pos{c, static_cast<uint32_t>(CountBelow(ch.keys, ch.n, k, false))});
  }
  Pos UpperBound(uint64_t k) const {
    const uint32_t c = ChunkFor(k);
    const Chunk& ch = *chunks_[c];
    return Normal(Pos{c, static_cast<uint32_t>(CountBelow(ch.keys, ch.n, k, true))});
  }
  // Last entry with key <= k; false if there is none.
  bool Floor(uint64_t k, Pos* out) const {
    const Pos p = UpperBound(k);
    if (p == Begin()) return false;
    *out = Prev(p);
    return true;
  }
  // The entry with key k, or nullptr.
  V* Find(uint64_t k) {
    const Pos p = LowerBound(k);
    return !AtEnd(p) && key(p) == k ? &value(p) : nullptr;
  }
  const V* Find(uint64_t k) const { return const_cast<ChunkedMap*>(this)->Find(k); }

  // Inserts (k, v). REQUIRES: k is not present. Returns its position.
  Pos Insert(uint64_t k, const V& v) {
    uint32_t c = ChunkFor(k);
    Chunk* ch = chunks_[c].get();
    uint32_t i = static_cast<uint32_t>(CountBelow(ch->keys, ch->n, k, false));
    if (ch->n == kCap) {
      // Split in halves; the new entry goes to the half it sorts into.
      auto right = std::make_unique<Chunk>();
      constexpr uint32_t kHalf = kCap / 2;
      right->n = kCap - kHalf;
      std::memcpy(right->keys, ch->keys + kHalf, sizeof(uint64_t) * right->n);
      std::memcpy(static_cast<void*>(right->vals), ch->vals + kHalf, sizeof(V) * right->n);
      ch->n = kHalf;
      chunks_.insert(chunks_.begin() + c + 1, std::move(right));
      firsts_.insert(firsts_.begin() + c + 1, chunks_[c + 1]->keys[0]);
      if (i > kHalf) {
        ++c;
        i -= kHalf;
        ch = chunks_[c].get();
      }
    }
    std::memmove(ch->keys + i + 1, ch->keys + i, sizeof(uint64_t) * (ch->n - i));
    std::memmove(static_cast<void*>(ch->vals + i + 1), ch->vals + i, sizeof(V) * (ch->n - i));
    ch->keys[i] = k;
    ch->vals[i] = v;
    ++ch->n;
    if (i == 0) firsts_[c] = k;
    ++size_;
    return Pos{c, i};
  }

  // Changes the key at p. REQUIRES: k keeps the order (it sorts after the
  // previous entry's key and before the next one's).
  void ReKey(Pos p, uint64_t k) {
    chunks_[p.chunk]->keys[p.i] = k;
    if (p.i == 0) firsts_[p.chunk] = k;
  }

  // Erases the entry at p; returns the position of the next entry.
  Pos Erase(Pos p) {
    Chunk* ch = chunks_[p.chunk].get();
    std::memmove(ch->keys + p.i, ch->keys + p.i + 1, sizeof(uint64_t) * (ch->n - p.i - 1));
    std::memmove(static_cast<void*>(ch->vals + p.i), ch->vals + p.i + 1, sizeof(V) * (ch->n - p.i - 1));
    --ch->n;
    --size_;
    if (ch->n == 0) {
      if (chunks_.size() == 1) return Pos{1, 0};  // end
      chunks_.erase(chunks_.begin() + p.chunk);
      firsts_.erase(firsts_.begin() + p.chunk);
      return Normal(Pos{p.chunk, 0});
    }
    if (p.i == 0) firsts_[p.chunk] = ch->keys[0];
    return Normal(p);
  }

  // Erases every entry for which drop(key, value) is true, in key order, and
  // repacks the chunks three-quarters full.
  template <typename F>
  void EraseIf(F drop) {
    std::vector<std::unique_ptr<Chunk>> old;
    old.swap(chunks_);
    Clear();
    constexpr uint32_t kFill = kCap * 3 / 4;
    Chunk* out = chunks_.back().get();
    for (const auto& ch : old) {
      for (uint32_t i = 0; i < ch->n; ++i) {
        if (drop(ch->keys[i], ch->vals[i])) continue;
        if (out->n == kFill) {
          chunks_.push_back(std::make_unique<Chunk>());
          firsts_.push_back(0);
          out = chunks_.back().get();
        }
        if (out->n == 0) firsts_.back() = ch->keys[i];
        out->keys[out->n] = ch->keys[i];
        out->vals[out->n] = ch->vals[i];
        ++out->n;
        ++size_;
      }
    }
  }

 private:
  struct Chunk {
    uint32_t n = 0;
    uint64_t keys[kCap];
    V vals[kCap];
  };
  // The chunk a key belongs in: the last whose first key is <= k (or 0).
  uint32_t ChunkFor(uint64_t k) const {
    const size_t n = CountBelow(firsts_.data(), firsts_.size(), k, true);
    return n == 0 ? 0 : static_cast<uint32_t>(n - 1);
  }
  // How many of the sorted a[0, n) are < k (or <= k when `or_equal`): a
  // branch-free binary search (the compiler emits conditional moves), as the
  // probes' outcomes are coin tosses a predictor cannot learn.
  static size_t CountBelow(const uint64_t* a, size_t n, uint64_t k, bool or_equal) {
    if (n == 0) return 0;
    const uint64_t* base = a;
    const uint64_t kk = or_equal ? k : k - 1;  // x < k  <=>  x <= k - 1 (k > 0)
    if (!or_equal && k == 0) return 0;
    while (n > 1) {
      const size_t half = n / 2;
      base = base[half] <= kk ? base + half : base;
      n -= half;
    }
    return static_cast<size_t>(base - a) + (*base <= kk);
  }
  // Moves a one-past-the-chunk position to the next chunk's first entry.
  // Only chunk 0 can be empty (when the map is), so one step suffices.
  Pos Normal(Pos p) const {
    if (p.chunk < chunks_.size() && p.i >= chunks_[p.chunk]->n) return Pos{p.chunk + 1, 0};
    return p;
  }

  std::vector<std::unique_ptr<Chunk>> chunks_;  // never empty; only a sole chunk may be empty
  std::vector<uint64_t> firsts_;                // firsts_[c] = chunks_[c]->keys[0] (0 if empty)
  size_t size_ = 0;
};

}  // namespace kreplay::blockcache::bcache
