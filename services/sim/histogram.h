// Log-linear histogram of non-negative integers (e.g. latencies in ns).
//
// Values below 2^B are counted exactly; above, each power-of-two range is cut
// into 2^(B-1) equal buckets, so a bucket's width is at most 1/2^(B-1) of its
// values (B = 8: 0.8 %). Counts are integers, so Merge is exact and
// associative: merging per-seed or per-worker histograms in any order gives
// the same bytes.
//
// Memory: buckets are stored in pages of kPageBuckets, a page only once a
// value falls in it. A scheduler run keeps one histogram per task, each with
// a few hundred values spread over thousands of buckets; storing every bucket
// up to the largest value zero-filled ~1.3 MB per run (sched_bench), pages
// about a quarter of that.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kreplay::sim {

class Histogram {
 public:
  static constexpr int kDefaultSubBucketBits = 8;
  explicit Histogram(int sub_bucket_bits = kDefaultSubBucketBits);

  // Negative values are clamped to 0 (a latency can't be negative).
  // Inline: the scheduler models record a value or two per event.
  void Record(int64_t value, uint64_t count = 1) {
    if (count == 0) return;
    if (value < 0) value = 0;
    size_t i = IndexOf(value);
    Bucket(i) += count;
    count_ += count;
    sum_ += value * static_cast<int64_t>(count);
    if (value < min_) min_ = value;
    if (value > max_) max_ = value;
  }
  // REQUIRES: other has the same sub_bucket_bits.
  void Merge(const Histogram& other);

  uint64_t count() const { return count_; }
  int64_t min() const { return count_ ? min_ : 0; }
  int64_t max() const { return max_; }
  int64_t sum() const { return sum_; }
  double Mean() const { return count_ ? static_cast<double>(sum_) / static_cast<double>(count_) : 0.0; }
  // Nearest-rank percentile, q in [0, 1]: the representative value (bucket
  // midpoint, clamped to [min, max]) of the bucket holding rank ceil(q * N).
  // Returns 0 for an empty histogram.
  int64_t Percentile(double q) const;

  int sub_bucket_bits() const { return bits_; }
  // Bucket index -> count (zeros included), up to the highest bucket used;
  // for serialisation. Builds the vector, so call it once per use.
  std::vector<uint64_t> buckets() const;
  // Restores a histogram from serialised parts; used by the codec only.
  static Histogram FromParts(int sub_bucket_bits, const std::vector<uint32_t>& index,
                             const std::vector<uint64_t>& counts, int64_t min, int64_t max,
                             int64_t sum);

  size_t IndexOf(int64_t value) const {
    uint64_t v = value < 0 ? 0 : static_cast<uint64_t>(value);
    uint64_t exact = uint64_t{1} << bits_;
    if (v < exact) return static_cast<size_t>(v);
    int msb = 63 - std::countl_zero(v);
    int shift = msb - bits_ + 1;  // >= 1
    uint64_t half = exact >> 1;
    uint64_t top = v >> shift;  // in [half, exact)
    return static_cast<size_t>(exact + static_cast<uint64_t>(shift - 1) * half + (top - half));
  }
  int64_t LowerBound(size_t index) const;  // smallest value in bucket
  int64_t UpperBound(size_t index) const;  // largest value in bucket

  bool operator==(const Histogram& o) const;

 private:
  static constexpr int kPageBits = 5;
  static constexpr size_t kPageBuckets = size_t{1} << kPageBits;  // 256 bytes of counts
  static constexpr uint32_t kNoPage = UINT32_MAX;

  // The count of bucket i, its page added if missing; i becomes part of
  // buckets().
  uint64_t& Bucket(size_t i) {
    size_t p = i >> kPageBits;
    if (p < page_at_.size() && page_at_[p] != kNoPage && i < size_) [[likely]]
      return counts_[page_at_[p] + (i & (kPageBuckets - 1))];
    return AddBucket(i);
  }
  [[gnu::noinline]] uint64_t& AddBucket(size_t i);
  // Page p's counts, or nullptr if it has none (all zero).
  const uint64_t* Page(size_t p) const {
    return p < page_at_.size() && page_at_[p] != kNoPage ? &counts_[page_at_[p]] : nullptr;
  }

  int bits_;
  std::vector<uint32_t> page_at_;  // page -> offset of its counts in counts_, or kNoPage
  std::vector<uint64_t> counts_;   // pages, in the order they were added
  size_t size_ = 0;                // highest bucket used + 1
  uint64_t count_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
  int64_t sum_ = 0;
};

}  // namespace kreplay::sim
