#include "workers/models/blockcache/fixed/mrc.h"

#include <algorithm>
#include <cmath>

#include "services/core/status.h"
#include "services/sim/rng.h"

namespace kreplay::blockcache {
namespace {
constexpr uint64_t kMinTimestamps = uint64_t{1} << 16;
}  // namespace

StackDistanceMrc::StackDistanceMrc(double sampling_rate)
    : threshold_(static_cast<uint64_t>(std::llround(sampling_rate * static_cast<double>(kScale)))), last_(1 << 16) {
  KREPLAY_CHECK(sampling_rate > 0 && sampling_rate <= 1, "sampling_rate must be in (0, 1]");
  threshold_ = std::clamp<uint64_t>(threshold_, 1, kScale);
}

StackDistanceMrc::StackDistanceMrc(double sampling_rate, int part, int parts) : StackDistanceMrc(sampling_rate) {
  KREPLAY_CHECK(parts >= 1 && part >= 0 && part < parts, "bad sub-sample part");
  uint64_t full = threshold_;
  lo_ = full * static_cast<uint64_t>(part) / static_cast<uint64_t>(parts);
  uint64_t hi = full * static_cast<uint64_t>(part + 1) / static_cast<uint64_t>(parts);
  threshold_ = std::max<uint64_t>(1, hi - lo_);
  if (threshold_ == kScale) lo_ = 0;
}

double SampledMrcError(const std::vector<StackDistanceMrc>& parts, const std::vector<uint64_t>& sizes_blocks) {
  KREPLAY_CHECK(parts.size() >= 2, "need at least two sub-samples");
  std::vector<MissRatioCurve> curves;
  for (const auto& p : parts) curves.push_back(p.Curve(sizes_blocks));
  const double k = static_cast<double>(parts.size());
  double total = 0;
  size_t n = curves[0].miss_ratio.size();
  for (size_t i = 0; i < n; ++i) {
    double mean = 0, ss = 0;
    for (const auto& c : curves) mean += c.miss_ratio[i];
    mean /= k;
    for (const auto& c : curves) ss += (c.miss_ratio[i] - mean) * (c.miss_ratio[i] - mean);
    total += sim::DetSqrt(ss / (k - 1) / k);
  }
  return n ? total / static_cast<double>(n) : 0;
}

void StackDistanceMrc::AccessBatch(const uint64_t* keys, size_t n) {
  constexpr size_t kAhead = 16;
  accesses_ += n;
  if (threshold_ == kScale) {
    for (size_t i = 0; i < n; ++i) {
      if (i + kAhead < n) last_.Prefetch(keys[i + kAhead]);
      Track(keys[i]);
    }
    return;
  }
  std::vector<uint64_t> kept;
  kept.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    uint64_t h = Mix(keys[i]) & (kScale - 1);
    if (h >= lo_ && h < lo_ + threshold_) kept.push_back(keys[i]);
  }
  for (size_t i = 0; i < kept.size(); ++i) {
    if (i + kAhead < kept.size()) last_.Prefetch(kept[i + kAhead]);
    Track(kept[i]);
  }
}

void StackDistanceMrc::Track(uint64_t key) {
  ++sampled_;
  uint32_t* last = last_.Find(key);
  if (last != nullptr) {
    uint32_t t = *last;
    // Live marks after t are the distinct blocks touched since; +1 for this one.
    uint64_t d = uint64_t{live_} - MarksUpTo(t) + 1;
    if (d >= hist_.size()) hist_.resize(std::max<uint64_t>(d + 1, hist_.size() * 2), 0);
    ++hist_[d];
    Unmark(t);
  } else {
    ++cold_;
    ++live_;
  }
  if (now_ == capacity_) Compact();  // rewrites timestamps in place; no rehash, so `last` stays valid
  Mark(now_);
  if (last != nullptr) {
    *last = now_;
  } else {
    last_.Insert(key, now_);
  }
  ++now_;
}

void StackDistanceMrc::Compact() {
  // Renumber the live timestamps 0..m-1 keeping their order (all distances
  // need) into room for twice as many, so compaction is amortised O(1) per
  // access. A key's new timestamp is its rank among the live marks. The key
  // being accessed has no mark and gets a stale value its caller overwrites.
  uint64_t marks = 0;
  for (uint64_t w : bits_) marks += static_cast<uint64_t>(std::popcount(w));
  if (!bits_.empty()) {
    last_.ForEach([&](uint64_t, uint32_t& t) { t = static_cast<uint32_t>(MarksUpTo(t) - 1); });
  }
  uint64_t cap = std::max<uint64_t>(kMinTimestamps, 2 * (marks + 1));
  cap = (cap + 63) / 64 * 64;
  KREPLAY_CHECK(cap < kNone, "stack distance timestamps exhausted (over 2^31 distinct blocks)");
  capacity_ = cap;
  now_ = static_cast<uint32_t>(marks);
  bits_.assign(cap / 64, 0);
  for (uint64_t i = 0; i < marks / 64; ++i) bits_[i] = ~uint64_t{0};
  if (marks % 64) bits_[marks / 64] = (uint64_t{1} << (marks % 64)) - 1;
  // Linear-time Fenwick build over the word counts.
  fenwick_.assign(bits_.size(), 0);
  for (size_t i = 0; i < bits_.size(); ++i) fenwick_[i] = static_cast<uint32_t>(std::popcount(bits_[i]));
  for (uint64_t i = 1; i <= fenwick_.size(); ++i) {
    uint64_t parent = i + (i & (~i + 1));
    if (parent <= fenwick_.size()) fenwick_[parent - 1] += fenwick_[i - 1];
  }
}

namespace {
double Clamp01(double x) { return std::min(1.0, std::max(0.0, x)); }
}  // namespace

double StackDistanceMrc::MissRatio(uint64_t size_blocks) const {
  return Curve({size_blocks}).miss_ratio[0];
}

MissRatioCurve StackDistanceMrc::Curve(const std::vector<uint64_t>& sizes_blocks) const {
  MissRatioCurve c;
  c.sizes_blocks = sizes_blocks;
  std::sort(c.sizes_blocks.begin(), c.sizes_blocks.end());
  c.sampling_rate = sampling_rate();
  c.accesses = accesses_;
  c.sampled_accesses = sampled_;
  const bool exact = threshold_ == kScale;
  const double denom = exact ? static_cast<double>(accesses_) : static_cast<double>(accesses_) * sampling_rate();
  const double adj = exact ? 0 : denom - static_cast<double>(sampled_);
  uint64_t d = 0, hits = 0;  // cumulative hits at sampled distances <= d
  for (uint64_t size : c.sizes_blocks) {
    // A cache of C blocks holds the sampled distances up to C * R.
    uint64_t limit = exact ? size : static_cast<uint64_t>(std::floor(static_cast<double>(size) * sampling_rate()));
    while (d < limit && d + 1 < hist_.size()) hits += hist_[++d];
    double h = limit == 0 ? 0 : static_cast<double>(hits) + adj;
    c.miss_ratio.push_back(denom > 0 ? Clamp01(1 - h / denom) : 0);
  }
  return c;
}

std::optional<uint64_t> StackDistanceMrc::SizeForHitRatio(double hit_ratio) const {
  if (hit_ratio <= 0) return 0;
  const bool exact = threshold_ == kScale;
  const double denom = exact ? static_cast<double>(accesses_) : static_cast<double>(accesses_) * sampling_rate();
  const double adj = exact ? 0 : denom - static_cast<double>(sampled_);
  if (denom <= 0) return std::nullopt;
  uint64_t hits = 0;
  for (uint64_t d = 1; d < hist_.size(); ++d) {
    hits += hist_[d];
    if (hist_[d] == 0) continue;
    if ((static_cast<double>(hits) + adj) / denom >= hit_ratio) {
      if (exact) return d;
      return static_cast<uint64_t>(std::ceil(static_cast<double>(d) / sampling_rate()));
    }
  }
  return std::nullopt;
}

uint64_t StackDistanceMrc::distinct_blocks() const {
  return static_cast<uint64_t>(std::llround(static_cast<double>(live_) / sampling_rate()));
}

uint64_t StackDistanceMrc::memory_bytes() const {
  return last_.memory_bytes() + bits_.capacity() * sizeof(uint64_t) + fenwick_.capacity() * sizeof(uint32_t) +
         hist_.capacity() * sizeof(uint64_t);
}

std::vector<uint64_t> CacheSizes(uint64_t min_blocks, uint64_t max_blocks, int points, bool log_spacing) {
  std::vector<uint64_t> out;
  if (points <= 1 || min_blocks >= max_blocks) return {max_blocks};
  const double lo = static_cast<double>(min_blocks), hi = static_cast<double>(max_blocks);
  const double span = log_spacing ? sim::DetLog(hi / lo) : hi - lo;
  for (int i = 0; i < points; ++i) {
    double f = static_cast<double>(i) / (points - 1);
    double v = log_spacing ? lo * sim::DetExp(f * span) : lo + f * span;
    auto s = static_cast<uint64_t>(std::llround(v));
    if (i == 0) s = min_blocks;
    if (i == points - 1) s = max_blocks;
    s = std::clamp(s, min_blocks, max_blocks);
    if (out.empty() || s > out.back()) out.push_back(s);
  }
  return out;
}

}  // namespace kreplay::blockcache
