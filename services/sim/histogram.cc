#include "services/sim/histogram.h"


#include "services/core/status.h"

namespace kreplay::sim {

Histogram::Histogram(int sub_bucket_bits) : bits_(sub_bucket_bits) {
  KREPLAY_CHECK(bits_ >= 2 && bits_ <= 16, "histogram sub_bucket_bits out of range");
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

uint64_t& Histogram::AddBucket(size_t i) {
  size_ = std::max(size_, i + 1);
  size_t p = i >> kPageBits;
  if (p >= page_at_.size()) page_at_.resize(p + 1, kNoPage);
  if (page_at_[p] == kNoPage) {
    // Room for 32 pages (8 KiB) at first, then doubling: a task's wake-up
    // histogram in sched_bench fits in the first. Only capacity; a page is
    // zeroed when added. Smaller first steps left a different mix of freed
    // blocks after every run, so malloc trimmed the heap and the next run
    // faulted it back in (4 KiB: ~60 minor faults per run; 8 KiB: none).
    constexpr size_t kFirstReserve = 32 * kPageBuckets;
    if (counts_.size() == counts_.capacity()) counts_.reserve(std::max(kFirstReserve, 2 * counts_.capacity()));
    page_at_[p] = static_cast<uint32_t>(counts_.size());
    counts_.resize(counts_.size() + kPageBuckets, 0);
  }
  return counts_[page_at_[p] + (i & (kPageBuckets - 1))];
}

void Histogram::Merge(const Histogram& o) {
  KREPLAY_CHECK(o.bits_ == bits_, "merging histograms of different resolution");
  if (o.count_ == 0) return;
  for (size_t p = 0; p < o.page_at_.size(); ++p) {
    const uint64_t* from = o.Page(p);
    if (!from) continue;
    uint64_t* to = &Bucket(p << kPageBits);  // the page's first bucket
    for (size_t j = 0; j < kPageBuckets; ++j) to[j] += from[j];
  }
  size_ = std::max(size_, o.size_);
  count_ += o.count_;
  sum_ += o.sum_;
  if (o.min_ < min_) min_ = o.min_;
  if (o.max_ > max_) max_ = o.max_;
}

std::vector<uint64_t> Histogram::buckets() const {
  std::vector<uint64_t> out(size_, 0);
  for (size_t p = 0; p < page_at_.size(); ++p) {
    const uint64_t* c = Page(p);
    if (!c) continue;
    size_t first = p << kPageBits;
    size_t n = std::min(kPageBuckets, size_ - first);
    std::copy(c, c + n, out.begin() + static_cast<ptrdiff_t>(first));
  }
  return out;
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
  // Pages never added hold only zeros, where the running count can't cross
  // the rank, so they are skipped.
  constexpr size_t kNotFound = SIZE_MAX;
  size_t found = kNotFound;
  if (rank > count_ / 2) {
    uint64_t above = 0;
    for (size_t p = page_at_.size(); p-- > 0 && found == kNotFound;) {
      const uint64_t* c = Page(p);
      if (!c) continue;
      for (size_t j = kPageBuckets; j-- > 0;) {
        above += c[j];
        if (above > count_ - rank) {
          found = (p << kPageBits) + j;
          break;
        }
      }
    }
  } else {
    uint64_t seen = 0;
    for (size_t p = 0; p < page_at_.size() && found == kNotFound; ++p) {
      const uint64_t* c = Page(p);
      if (!c) continue;
      for (size_t j = 0; j < kPageBuckets; ++j) {
        seen += c[j];
        if (seen >= rank) {
          found = (p << kPageBits) + j;
          break;
        }
      }
    }
  }
  if (found == kNotFound) return max_;
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
    h.Bucket(index[k]) += counts[k];  // a zero count still extends buckets()
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
  size_t pages = std::max(page_at_.size(), o.page_at_.size());
  for (size_t p = 0; p < pages; ++p) {
    const uint64_t* a = Page(p);
    const uint64_t* b = o.Page(p);
    if (!a && !b) continue;
    for (size_t j = 0; j < kPageBuckets; ++j) {
      if ((a ? a[j] : 0) != (b ? b[j] : 0)) return false;
    }
  }
  return true;
}

}  // namespace kreplay::sim
