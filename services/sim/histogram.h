// Log-linear histogram of non-negative integers (e.g. latencies in ns).
//
// Values below 2^B are counted exactly; above, each power-of-two range is cut
// into 2^(B-1) equal buckets, so a bucket's width is at most 1/2^(B-1) of its
// values (B = 8: 0.8 %). Counts are integers, so Merge is exact and
// associative: merging per-seed or per-worker histograms in any order gives
// the same bytes. Memory grows with the largest value seen (about 2^(B-1)
// buckets per power of two, 8 bytes each); Record() reserves 4096 buckets
// (32 KiB) at once, so a copy, which holds only the used buckets, is smaller.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace kreplay::sim {

class Histogram {
 public:
  static constexpr int kDefaultSubBucketBits = 8;
  explicit Histogram(int sub_bucket_bits = kDefaultSubBucketBits);

  // Negative values are clamped to 0 (a latency can't be negative).
  void Record(int64_t value, uint64_t count = 1);
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
  // Raw access for serialisation: bucket index -> count (zeros included).
  const std::vector<uint64_t>& buckets() const { return counts_; }
  // Restores a histogram from serialised parts; used by the codec only.
  static Histogram FromParts(int sub_bucket_bits, const std::vector<uint32_t>& index,
                             const std::vector<uint64_t>& counts, int64_t min, int64_t max,
                             int64_t sum);

  size_t IndexOf(int64_t value) const;
  int64_t LowerBound(size_t index) const;  // smallest value in bucket
  int64_t UpperBound(size_t index) const;  // largest value in bucket

  bool operator==(const Histogram& o) const;

 private:
  // Makes index i addressable (see histogram.cc for the capacity policy).
  void Grow(size_t i);

  int bits_;
  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  int64_t min_ = INT64_MAX;
  int64_t max_ = 0;
  int64_t sum_ = 0;
};

}  // namespace kreplay::sim
