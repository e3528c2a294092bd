#include "services/sim/histogram.h"

#include <bit>

#include "services/core/status.h"

namespace kreplay::sim {

Histogram::Histogram(int sub_bucket_bits) : bits_(sub_bucket_bits) {
  KREPLAY_CHECK(bits_ >= 2 && bits_ <= 16, "histogram sub_bucket_bits out of range");
}

size_t Histogram::IndexOf(int64_t value) const {
  uint64_t v = value < 0 ? 0 : static_cast<uint64_t>(value);
  uint64_t exact = uint64_t{1} << bits_;
  if (v < exact) return static_cast<size_t>(v);
  int msb = 63 - std::countl_zero(v);
  int shift = msb - bits_ + 1;  // >= 1
  uint64_t half = exact >> 1;
  uint64_t top = v >> shift;    // in [half, exact)
  return static_cast<size_t>(exact + static_cast<uint64_t>(shift - 1) * half + (top - half));
}

int64_t Histogram::LowerBound(size_t index) const {
  uint64_t exact = uint64_t{1} << bits_;
  if (index < exact) return static_cast<int64_t>(index);
  uint64_t half = exact >> 1;
  uint64_t rel = index - exact;
  uint64_t shift = rel / half + 1;
  uint64_t top = half + rel % half;
  return static_cast<int64_t>(top << shift);
}

int64_t Histogram::UpperBound(size_t index) const {
  uint64_t exact = uint64_t{1} << bits_;
  if (index < exact) return static_cast<int64_t>(index);
  uint64_t half = exact >> 1;
  uint64_t shift = (index - exact) / half + 1;
  return LowerBound(index) + static_cast<int64_t>((uint64_t{1} << shift) - 1);
}

void Histogram::Grow(size_t i) {
  // The first allocation is kFirstReserve buckets (32 KiB; values up to
  // ~2^38 at the default resolution), later ones double, up to the most any
  // int64 can need. resize()'s own small geometric steps left a different
  // mix of freed blocks after every run, and a scheduler model run spent
  // 12-15 % of its time faulting fresh pages in (sched_bench: ~180 minor
  // faults per run before, none after). Only capacity differs: the vector's
  // size, hence buckets(), is what it was.
  constexpr size_t kFirstReserve = 4096;
  if (counts_.capacity() <= i) {
    size_t most = IndexOf(INT64_MAX) + 1;
    size_t want = i < kFirstReserve ? kFirstReserve : std::max(i + 1, 2 * counts_.capacity());
    counts_.reserve(std::max(i + 1, std::min(want, most)));
  }
  counts_.resize(i + 1, 0);
}

void Histogram::Record(int64_t value, uint64_t n) {
  if (n == 0) return;
  if (value < 0) value = 0;
  size_t i = IndexOf(value);
  if (i >= counts_.size()) Grow(i);
  counts_[i] += n;
  count_ += n;
  sum_ += value * static_cast<int64_t>(n);
  if (value < min_) min_ = value;
  if (value > max_) max_ = value;
}

void Histogram::Merge(const Histogram& o) {
  KREPLAY_CHECK(o.bits_ == bits_, "merging histograms of different resolution");
  if (o.count_ == 0) return;
  if (o.counts_.size() > counts_.size()) counts_.resize(o.counts_.size(), 0);
  for (size_t i = 0; i < o.counts_.size(); ++i) counts_[i] += o.counts_[i];
  count_ += o.count_;
  sum_ += o.sum_;
  if (o.min_ < min_) min_ = o.min_;
  if (o.max_ > max_) max_ = o.max_;
}

int64_t Histogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  if (q <= 0) return min();
  if (q >= 1) return max_;
  // rank = ceil(q * N), computed without floating error at exact fractions.
  double r = q * static_cast<double>(count_);
  uint64_t rank = static_cast<uint64_t>(r);
  if (static_cast<double>(rank) < r) ++rank;
  if (rank == 0) rank = 1;
  // The answer is the first bucket whose running count reaches rank. Upper
  // percentiles are found from the top: the same bucket is the last one (from
  // above) whose count of values at or above it exceeds N - rank, and it is
  // reached after a few buckets rather than most of them.
  size_t found = counts_.size();
  if (rank > count_ / 2) {
    uint64_t above = 0;
    for (size_t i = counts_.size(); i-- > 0;) {
      above += counts_[i];
      if (above > count_ - rank) {
        found = i;
        break;
      }
    }
  } else {
    uint64_t seen = 0;
    for (size_t i = 0; i < counts_.size(); ++i) {
      seen += counts_[i];
      if (seen >= rank) {
        found = i;
        break;
      }
    }
  }
  if (found == counts_.size()) return max_;
  int64_t lo = LowerBound(found), hi = UpperBound(found);
  int64_t mid = lo + (hi - lo) / 2;
  if (mid < min_) mid = min_;
  if (mid > max_) mid = max_;
  return mid;
}

Histogram Histogram::FromParts(int bits, const std::vector<uint32_t>& index,
                               const std::vector<uint64_t>& counts, int64_t mn, int64_t mx,
                               int64_t sum) {
  Histogram h(bits);
  for (size_t k = 0; k < index.size() && k < counts.size(); ++k) {
    size_t i = index[k];
    if (i >= h.counts_.size()) h.counts_.resize(i + 1, 0);
    h.counts_[i] += counts[k];
    h.count_ += counts[k];
  }
  if (h.count_) {
    h.min_ = mn;
    h.max_ = mx;
  }
  h.sum_ = sum;
  return h;
}

bool Histogram::operator==(const Histogram& o) const {
  if (bits_ != o.bits_ || count_ != o.count_ || sum_ != o.sum_ || min() != o.min() || max_ != o.max_)
    return false;
  size_t n = std::max(counts_.size(), o.counts_.size());
  for (size_t i = 0; i < n; ++i) {
    uint64_t a = i < counts_.size() ? counts_[i] : 0;
    uint64_t b = i < o.counts_.size() ? o.counts_[i] : 0;
    if (a != b) return false;
  }
  return true;
}

}  // namespace kreplay::sim
