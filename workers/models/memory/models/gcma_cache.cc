#include "workers/models/memory/models/gcma_cache.h"

#include <algorithm>

namespace kreplay::memory {
namespace {
constexpr uint32_t kNone = 0xffffffffu;
}

GcmaCache::GcmaCache(const std::vector<Reservation>* areas) : areas_(*areas) {
  for (const Reservation& a : areas_) {
    base_.push_back(static_cast<uint32_t>(slots_.size()));
    slots_.resize(slots_.size() + a.bitmap.count(), kNone);
  }
}

bool GcmaCache::Allocated(uint32_t slot) const {
  const size_t a = static_cast<size_t>(std::upper_bound(base_.begin(), base_.end(), slot) - base_.begin()) - 1;
  const CmaBitmap& bm = areas_[a].bitmap;
  return bm.Test((slot - base_[a]) >> bm.order_per_bit());
}

bool GcmaCache::AllHeld() const {
  for (const Reservation& a : areas_)
    if (a.bitmap.used_bits() < a.bitmap.MaxNo()) return false;
  return true;
}

void GcmaCache::Put(uint32_t fidx, sim::Time) {
  ++puts_;
  if (slots_.empty() || where_.count(fidx) || AllHeld()) return;
  for (size_t tries = 0; tries < slots_.size(); ++tries) {
    const uint32_t s = hand_;
    hand_ = (hand_ + 1) % static_cast<uint32_t>(slots_.size());
    if (Allocated(s)) continue;
    if (slots_[s] != kNone) where_.erase(slots_[s]);  // the oldest entry makes room
    slots_[s] = fidx;
    where_[fidx] = s;
    ++stored_;
    return;
  }
}

bool GcmaCache::Get(uint32_t fidx, sim::Time) {
  if (!where_.count(fidx)) return false;
  ++hits_;
  return true;
}

uint64_t GcmaCache::Discard(size_t a, uint64_t first, uint64_t n) {
  uint64_t dropped = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint32_t& s = slots_[base_[a] + first + i];
    if (s == kNone) continue;
    where_.erase(s);
    s = kNone;
    ++dropped;
  }
  return dropped;
}

}  // namespace kreplay::memory
