// A CMA area's allocation bitmap, as mm/cma.c (6.1) keeps it: one bit per
// 2^order_per_bit pages from base_pfn, the aligned search cma_alloc() makes
// (cma_bitmap_aligned_mask(), cma_bitmap_aligned_offset(),
// cma_bitmap_pages_to_bits(), lib/bitmap.c
// bitmap_find_next_zero_area_off()), and cma_clear_bitmap(). A range found
// here is only a candidate: cma_alloc() then asks alloc_contig_range() for
// its pages and, on -EBUSY, clears the bits and searches on from the next
// aligned position. Not thread-safe (the kernel holds cma->lock).
#pragma once

#include <cstdint>
#include <vector>

namespace kreplay::memory {

class CmaBitmap {
 public:
  // REQUIRES: count is a multiple of 2^order_per_bit.
  CmaBitmap(uint32_t base_pfn, uint64_t count, unsigned order_per_bit);

  uint32_t base_pfn() const { return base_pfn_; }
  uint64_t count() const { return count_; }
  unsigned order_per_bit() const { return order_per_bit_; }

  // cma_bitmap_aligned_mask(): the search's alignment in bits, minus one.
  uint64_t AlignedMask(unsigned align_order) const;
  // cma_bitmap_aligned_offset(): how far base_pfn is past an align_order
  // boundary, in bits (so that the PFN, not the bit, ends up aligned).
  uint64_t AlignedOffset(unsigned align_order) const;
  // cma_bitmap_pages_to_bits(): pages rounded up to whole bits.
  uint64_t PagesToBits(uint64_t pages) const;
  // cma_bitmap_maxno(): bits in the bitmap.
  uint64_t MaxNo() const { return count_ >> order_per_bit_; }

  // bitmap_find_next_zero_area_off(map, MaxNo(), start, nr, mask, offset):
  // the first index >= start with nr clear bits, index + offset a multiple
  // of mask + 1; a value > MaxNo() - nr (the end it would need) if none.
  uint64_t FindNextZeroAreaOff(uint64_t start, uint64_t nr, uint64_t mask, uint64_t offset) const;
  void Set(uint64_t bitno, uint64_t nr);
  void Clear(uint64_t bitno, uint64_t nr);
  // cma_clear_bitmap(): the bits of `count` pages from `pfn`.
  void ClearPages(uint32_t pfn, uint64_t count);
  uint32_t PfnOf(uint64_t bitno) const { return base_pfn_ + static_cast<uint32_t>(bitno << order_per_bit_); }
  bool Test(uint64_t bitno) const { return (words_[bitno >> 6] >> (bitno & 63)) & 1; }
  uint64_t used_bits() const { return used_; }

 private:
  // find_next_zero_bit() / find_next_bit() over [from, size).
  uint64_t NextZero(uint64_t from, uint64_t size) const;
  uint64_t NextSet(uint64_t from, uint64_t size) const;

  uint32_t base_pfn_;
  uint64_t count_;
  unsigned order_per_bit_;
  std::vector<uint64_t> words_;
  uint64_t used_ = 0;
};

}  // namespace kreplay::memory
