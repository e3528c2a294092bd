#include "workers/models/memory/cma/cma_bitmap.h"

#include "services/core/status.h"

namespace kreplay::memory {

CmaBitmap::CmaBitmap(uint32_t base_pfn, uint64_t count, unsigned order_per_bit)
    : base_pfn_(base_pfn), count_(count), order_per_bit_(order_per_bit), words_((MaxNo() + 63) / 64, 0) {
  KREPLAY_CHECK(count % (uint64_t{1} << order_per_bit) == 0, "CMA area size not a multiple of its bit granule");
}

uint64_t CmaBitmap::AlignedMask(unsigned align_order) const {
  if (align_order <= order_per_bit_) return 0;
  return (uint64_t{1} << (align_order - order_per_bit_)) - 1;
}

uint64_t CmaBitmap::AlignedOffset(unsigned align_order) const {
  return (base_pfn_ & ((uint64_t{1} << align_order) - 1)) >> order_per_bit_;
}

uint64_t CmaBitmap::PagesToBits(uint64_t pages) const {
  const uint64_t g = uint64_t{1} << order_per_bit_;
  return ((pages + g - 1) & ~(g - 1)) >> order_per_bit_;
}

uint64_t CmaBitmap::NextZero(uint64_t from, uint64_t size) const {
  while (from < size) {
    uint64_t w = ~words_[from >> 6] >> (from & 63);
    if (w) {
      uint64_t i = from + static_cast<uint64_t>(__builtin_ctzll(w));
      return i < size ? i : size;
    }
    from = (from | 63) + 1;
  }
  return size;
}

uint64_t CmaBitmap::NextSet(uint64_t from, uint64_t size) const {
  while (from < size) {
    uint64_t w = words_[from >> 6] >> (from & 63);
    if (w) {
      uint64_t i = from + static_cast<uint64_t>(__builtin_ctzll(w));
      return i < size ? i : size;
    }
    from = (from | 63) + 1;
  }
  return size;
}

uint64_t CmaBitmap::FindNextZeroAreaOff(uint64_t start, uint64_t nr, uint64_t mask, uint64_t offset) const {
  const uint64_t size = MaxNo();
  for (;;) {
    uint64_t index = NextZero(start, size);
    // __ALIGN_MASK(index + align_offset, align_mask) - align_offset
    index = ((index + offset + mask) & ~mask) - offset;
    uint64_t end = index + nr;
    if (end > size) return end;
    uint64_t i = NextSet(index, end);
    if (i < end) {
      start = i + 1;
      continue;
    }
    return index;
  }
}

void CmaBitmap::Set(uint64_t bitno, uint64_t nr) {
  for (uint64_t b = bitno; b < bitno + nr; ++b) {
    uint64_t& w = words_[b >> 6];
    uint64_t m = uint64_t{1} << (b & 63);
    used_ += (w & m) == 0;
    w |= m;
  }
}

void CmaBitmap::Clear(uint64_t bitno, uint64_t nr) {
  for (uint64_t b = bitno; b < bitno + nr; ++b) {
    uint64_t& w = words_[b >> 6];
    uint64_t m = uint64_t{1} << (b & 63);
    used_ -= (w & m) != 0;
    w &= ~m;
  }
}

void CmaBitmap::ClearPages(uint32_t pfn, uint64_t count) {
  Clear((pfn - base_pfn_) >> order_per_bit_, PagesToBits(count));
}

}  // namespace kreplay::memory
