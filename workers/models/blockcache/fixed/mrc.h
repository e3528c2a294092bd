// One-pass miss-ratio curve for fixed-block LRU over all cache sizes.
//
// Mattson's stack algorithm: an access's stack distance is the number of
// distinct blocks touched since the previous access to the same block,
// plus one; under LRU it hits in every cache of at least that many blocks,
// so one pass gives the miss ratio of every size. Distances come from a
// Fenwick tree over last-access timestamps (O(log n) per access), the
// timestamps compacted when they run out, so memory is O(distinct blocks).
// This is the curve of fixed-block, fully associative LRU only: it says
// nothing exact about FIFO or bcache's per-bucket replacement.
//
// Optional SHARDS spatial sampling (Waldspurger et al., FAST '15), fixed
// rate: a block is tracked iff hash(key) mod 2^24 < R * 2^24 (a fixed
// splitmix64 hash, no seed), distances are scaled by 1/R, and the count
// difference between expected (N * R) and sampled references is added at
// the smallest distance ("SHARDS-adj"). The error is not known without an
// exact run; SHARDS reports mean absolute errors around 0.001-0.01 at
// R = 0.01 on real traces, and mrc_test measures it on a Zipf sequence.
//
// SampledMrcError() estimates the error: the curve of each of 4 disjoint
// sub-samples at rate R/4 differs from the truth by about twice as much as
// the rate-R curve (error ~ 1/sqrt(sampled blocks)), so the spread between
// them divided by sqrt(4) estimates the rate-R curve's error.
//
// Not thread-safe. Determinism: results depend only on the key sequence.
#pragma once

#include <bit>
#include <cstdint>
#include <optional>
#include <vector>

#include "workers/models/blockcache/fixed/key_table.h"

namespace kreplay::blockcache {

struct MissRatioCurve {
  std::vector<uint64_t> sizes_blocks;  // ascending
  std::vector<double> miss_ratio;      // per size
  double sampling_rate = 1;            // effective rate (threshold / 2^24); 1 = exact
  uint64_t accesses = 0;               // block accesses offered
  uint64_t sampled_accesses = 0;       // block accesses tracked
};

class StackDistanceMrc {
 public:
  // REQUIRES: 0 < sampling_rate <= 1 (validated by callers).
  explicit StackDistanceMrc(double sampling_rate = 1.0);
  // Part `part` of `parts` disjoint sub-samples of the rate-R sample: tracks
  // the keys whose hash falls in that part of [0, R * 2^24), at rate R/parts.
  // Used to estimate the sampling error from the spread between parts.
  StackDistanceMrc(double sampling_rate, int part, int parts);

  void Access(uint64_t key) {
    ++accesses_;
    if (threshold_ != kScale) {
      uint64_t h = Mix(key) & (kScale - 1);
      if (h < lo_ || h >= lo_ + threshold_) return;
    }
    Track(key);
  }

  // Access() for each key in order; prefetches table slots ahead, so a
  // batch is faster than single calls on large traces. Same results.
  void AccessBatch(const uint64_t* keys, size_t n);

  // Miss ratio of an LRU cache of `size_blocks` blocks (1 for size 0).
  double MissRatio(uint64_t size_blocks) const;
  MissRatioCurve Curve(const std::vector<uint64_t>& sizes_blocks) const;
  // Smallest cache (blocks) whose hit ratio reaches `hit_ratio` (in [0, 1]);
  // nullopt if even an infinite cache does not (cold misses).
  std::optional<uint64_t> SizeForHitRatio(double hit_ratio) const;
  // Blocks seen (scaled by 1/R when sampling): the size past which the
  // curve is flat.
  uint64_t distinct_blocks() const;

  double sampling_rate() const { return static_cast<double>(threshold_) / kScale; }
  uint64_t accesses() const { return accesses_; }
  uint64_t sampled_accesses() const { return sampled_; }
  uint64_t memory_bytes() const;

 private:
  static constexpr uint64_t kScale = uint64_t{1} << 24;
  static constexpr uint32_t kNone = UINT32_MAX;
  static uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
    x ^= x >> 30;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 27;
    x *= 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
  }
  void Track(uint64_t key);
  void Compact();
  // Live marks, one per distinct key at its last-access timestamp: a bitmap
  // of 64-timestamp words plus a Fenwick tree over the words' counts, so the
  // tree is 64x smaller than the timestamp range and mostly stays in cache.
  void Mark(uint32_t t) {
    bits_[t >> 6] |= uint64_t{1} << (t & 63);
    for (uint64_t i = (t >> 6) + 1; i <= fenwick_.size(); i += i & (~i + 1)) ++fenwick_[i - 1];
  }
  void Unmark(uint32_t t) {
    bits_[t >> 6] &= ~(uint64_t{1} << (t & 63));
    for (uint64_t i = (t >> 6) + 1; i <= fenwick_.size(); i += i & (~i + 1)) --fenwick_[i - 1];
  }
  uint64_t MarksUpTo(uint32_t t) const {  // marks in [0, t]
    uint64_t s = 0;
    for (uint64_t i = t >> 6; i > 0; i -= i & (~i + 1)) s += fenwick_[i - 1];
    uint64_t below = (t & 63) == 63 ? ~uint64_t{0} : (uint64_t{1} << ((t & 63) + 1)) - 1;
    return s + static_cast<uint64_t>(std::popcount(bits_[t >> 6] & below));
  }

  uint64_t lo_ = 0;
  uint64_t threshold_;  // width of the tracked hash range (kScale: all)
  uint64_t accesses_ = 0;
  uint64_t sampled_ = 0;
  uint64_t cold_ = 0;
  KeyTable last_;                  // key -> last access timestamp
  std::vector<uint64_t> bits_;     // live marks by timestamp
  std::vector<uint32_t> fenwick_;  // over bits_ words
  uint64_t capacity_ = 0;          // timestamps before the next compaction
  uint32_t now_ = 0;               // next timestamp
  uint32_t live_ = 0;              // distinct keys (one live mark each)
  std::vector<uint64_t> hist_;     // hist_[d]: references at stack distance d (index 0 unused)
};

// Mean over `sizes_blocks` of the standard error of the mean of the parts'
// miss ratios (sample stddev / sqrt(parts)): an estimate of the absolute
// miss-ratio error of the rate-R curve. REQUIRES: parts.size() >= 2.
double SampledMrcError(const std::vector<StackDistanceMrc>& parts, const std::vector<uint64_t>& sizes_blocks);

// `points` cache sizes from min to max blocks (inclusive), geometric when
// log_spacing, else even steps, rounded to whole blocks, deduplicated.
// REQUIRES: 1 <= min <= max, points >= 1.
std::vector<uint64_t> CacheSizes(uint64_t min_blocks, uint64_t max_blocks, int points, bool log_spacing);

}  // namespace kreplay::blockcache
