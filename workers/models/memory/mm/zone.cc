#include "workers/models/memory/mm/zone.h"

#include <algorithm>

namespace kreplay::mm {
namespace {

constexpr MigrateType kFallbacks[kPcpTypes][2] = {
    // fallbacks[] (6.1): the other types are never fallback targets.
    {MigrateType::kReclaimable, MigrateType::kMovable},    // UNMOVABLE
    {MigrateType::kReclaimable, MigrateType::kUnmovable},  // MOVABLE
    {MigrateType::kUnmovable, MigrateType::kMovable},      // RECLAIMABLE
};

constexpr int Idx(MigrateType mt) { return static_cast<int>(mt); }

// int_sqrt(): floor of the square root.
uint64_t IntSqrt(uint64_t x) {
  uint64_t r = 0;
  for (uint64_t bit = uint64_t{1} << 62; bit != 0; bit >>= 2) {
    if (x >= r + bit) {
      x -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
  }
  return r;
}

uint64_t RoundDownPowOfTwo(uint64_t x) {
  uint64_t p = 1;
  while (p * 2 <= x) p *= 2;
  return p;
}

// mult_frac(x, n, d) without overflow, as the kernel macro computes it.
uint64_t MultFrac(uint64_t x, uint64_t n, uint64_t d) { return (x / d) * n + ((x % d) * n) / d; }

}  // namespace

StatusOr<Zone> Zone::Create(const ZoneConfig& c) {
  if (c.nr_pages == 0 || c.nr_pages == kNil) return InvalidArgument("nr_pages: must be in 1 .. 2^32-2");
  if (c.max_order > 20) return InvalidArgument("max_order: at most 20");
  if (c.pageblock_order < 1 || c.pageblock_order > c.max_order) {
    return InvalidArgument("pageblock_order: must be in 1 .. max_order (" + std::to_string(c.max_order) + ")");
  }
  if (c.nr_cpus < 1 || c.nr_cpus > 4096) return InvalidArgument("nr_cpus: must be in 1 .. 4096");
  if (c.min_free_kbytes < 0) return InvalidArgument("min_free_kbytes: must be >= 0 (0: computed)");
  if (c.watermark_scale_factor < 1 || c.watermark_scale_factor > 3000) {
    return InvalidArgument("watermark_scale_factor: must be in 1 .. 3000");
  }
  if (c.watermark_boost_factor < 0) return InvalidArgument("watermark_boost_factor: must be >= 0");
  const uint32_t pb = 1u << c.pageblock_order;
  for (size_t i = 0; i < c.cma_ranges.size(); ++i) {
    const PfnRange& r = c.cma_ranges[i];
    if (r.start >= r.end || r.end > c.nr_pages || r.start % pb != 0 || r.end % pb != 0) {
      return InvalidArgument("cma_ranges[" + std::to_string(i) + "]: [" + std::to_string(r.start) + ", " +
                             std::to_string(r.end) + ") must be a non-empty pageblock-aligned range inside the zone");
    }
  }
  return Zone(c);
}

Zone::Zone(const ZoneConfig& c) : config_(c) {
  const uint32_t n = c.nr_pages;
  const uint32_t pb = pageblock_nr_pages();
  pages_.resize(n);
  block_mt_.assign((n + pb - 1) / pb, static_cast<uint8_t>(MigrateType::kMovable));  // memmap_init_range()
  for (const PfnRange& r : c.cma_ranges) {
    for (uint32_t p = r.start; p < r.end; p += pb) block_mt_[p / pb] = static_cast<uint8_t>(MigrateType::kCma);
  }
  free_lists_.assign((c.max_order + 1) * kMigrateTypes, List{});
  nr_free_.assign(c.max_order + 1, 0);
  pcps_.assign(c.nr_cpus, Pcp{});

  // build_all_zonelists(): mobility grouping off when the zone is tiny
  // (watermarks are still 0 then, so every managed page counts).
  page_group_by_mobility_disabled_ = uint64_t{n} < uint64_t{pb} * kMigrateTypes;

  // calculate_min_free_kbytes() + __setup_per_zone_wmarks() for one lowmem
  // zone: pages_min * managed / lowmem_pages == pages_min.
  const uint64_t managed = n;
  if (c.min_free_kbytes > 0) {
    min_free_kbytes_ = c.min_free_kbytes;
  } else {
    const uint64_t lowmem_kbytes = managed * (kPageSize >> 10);
    min_free_kbytes_ = static_cast<int>(
        std::clamp<uint64_t>(IntSqrt(lowmem_kbytes * 16), 128, static_cast<uint64_t>(c.rules.min_free_kbytes_max)));
  }
  const uint64_t pages_min = static_cast<uint64_t>(min_free_kbytes_) >> 2;  // PAGE_SHIFT - 10
  watermark_[0] = pages_min;
  const uint64_t gap = std::max<uint64_t>(pages_min >> 2, MultFrac(managed, c.watermark_scale_factor, 10000));
  watermark_[1] = watermark_[0] + gap;
  watermark_[2] = watermark_[1] + gap;

  // zone_batchsize(): ~0.1% of the zone, at most 1 MiB (512 KiB before
  // the 5.14 rework) of pages, /4, then 2^n - 1.
  const uint64_t cap = (c.rules.pcp_scaled ? 1024 * 1024 : 512 * 1024) / kPageSize;
  uint64_t batch = std::min<uint64_t>(managed >> 10, cap) / 4;
  if (batch < 1) batch = 1;
  batch = RoundDownPowOfTwo(batch + batch / 2) - 1;
  pcp_batch_ = static_cast<unsigned>(std::max<uint64_t>(1, batch));
  // zone_highsize() (5.14+): the low watermark split over the CPUs, at
  // least 4 * batch. Before: pageset_set_batch()'s 6 * batch.
  if (c.rules.pcp_scaled) {
    pcp_high_ = static_cast<unsigned>(std::max<uint64_t>(watermark_[1] / c.nr_cpus, uint64_t{pcp_batch_} << 2));
  } else {
    pcp_high_ = 6 * pcp_batch_;
  }

  // memblock_free_all() / init_cma_reserved_pageblock(): everything goes
  // to the buddy allocator, to the list tails, in PFN order.
  for (uint32_t p = 0; p < n;) {
    unsigned order = c.pageblock_order;
    while (p + (uint64_t{1} << order) > n) --order;
    FreeOnePage(p, order, PageblockMigratetype(p), /*to_tail=*/true);
    p += 1u << order;
  }
  counters_ = {};
}

// ---------------------------------------------------------------- lists

void Zone::ListAdd(List& l, uint32_t pfn) {
  PageState& pg = pages_[pfn];
  pg.prev = kNil;
  pg.next = l.head;
  if (l.head != kNil) pages_[l.head].prev = pfn; else l.tail = pfn;
  l.head = pfn;
  ++l.count;
}

void Zone::ListAddTail(List& l, uint32_t pfn) {
  PageState& pg = pages_[pfn];
  pg.next = kNil;
  pg.prev = l.tail;
  if (l.tail != kNil) pages_[l.tail].next = pfn; else l.head = pfn;
  l.tail = pfn;
  ++l.count;
}

void Zone::ListDel(List& l, uint32_t pfn) {
  PageState& pg = pages_[pfn];
  if (pg.prev != kNil) pages_[pg.prev].next = pg.next; else l.head = pg.next;
  if (pg.next != kNil) pages_[pg.next].prev = pg.prev; else l.tail = pg.prev;
  pg.next = pg.prev = kNil;
  --l.count;
}

// add_to_free_list() / add_to_free_list_tail() + set_buddy_order().
void Zone::AddToFreeList(uint32_t pfn, unsigned order, MigrateType mt, bool tail) {
  PageState& pg = pages_[pfn];
  pg.use = static_cast<uint8_t>(PageUse::kBuddy);
  pg.order = static_cast<uint8_t>(order);
  pg.mt = static_cast<uint8_t>(mt);
  List& l = FreeList(order, mt);
  if (tail) ListAddTail(l, pfn); else ListAdd(l, pfn);
  ++nr_free_[order];
  ++counters_.buddy_list_ops;
  ++counters_.page_events;
}

// del_page_from_free_list(): the page stops being a buddy head.
void Zone::DelFromFreeList(uint32_t pfn, unsigned order) {
  PageState& pg = pages_[pfn];
  ListDel(FreeList(order, static_cast<MigrateType>(pg.mt)), pfn);
  pg.use = static_cast<uint8_t>(PageUse::kTail);
  --nr_free_[order];
  ++counters_.buddy_list_ops;
  ++counters_.page_events;
}

// move_to_free_list(): to the tail of another type's list.
void Zone::MoveToFreeList(uint32_t pfn, unsigned order, MigrateType mt) {
  PageState& pg = pages_[pfn];
  ListDel(FreeList(order, static_cast<MigrateType>(pg.mt)), pfn);
  pg.mt = static_cast<uint8_t>(mt);
  ListAddTail(FreeList(order, mt), pfn);
  ++counters_.buddy_list_ops;
  ++counters_.page_events;
}

// __mod_zone_freepage_state().
void Zone::ModFreepageState(int64_t nr, MigrateType mt) {
  nr_free_pages_ += nr;
  if (mt == MigrateType::kCma) nr_free_cma_pages_ += nr;
}

// set_pageblock_migratetype(): with mobility grouping off every PCP type
// collapses to UNMOVABLE.
void Zone::SetPageblockMigratetype(uint32_t pfn, MigrateType mt) {
  if (page_group_by_mobility_disabled_ && Idx(mt) < kPcpTypes) mt = MigrateType::kUnmovable;
  block_mt_[pfn >> config_.pageblock_order] = static_cast<uint8_t>(mt);
}

// ---------------------------------------------------------------- buddy

// __free_one_page(): merge with the buddy pfn ^ (1 << order) while it is
// a free block of the same order, up to max_order.
void Zone::FreeOnePage(uint32_t pfn, unsigned order, MigrateType mt, bool to_tail) {
  if (mt != MigrateType::kIsolate) ModFreepageState(int64_t{1} << order, mt);
  uint32_t buddy_pfn = kNil;
  while (order < config_.max_order) {
    buddy_pfn = pfn ^ (1u << order);
    if (!IsBuddy(buddy_pfn, order)) break;
    if (order >= config_.pageblock_order) {
      // Keep blocks that have no fallbacks apart from the others, or the
      // free counts of isolated / CMA / highatomic blocks go wrong.
      const MigrateType buddy_mt = PageblockMigratetype(buddy_pfn);
      if (config_.rules.merge_guard_non_mergeable) {
        if (mt != buddy_mt && (!MigratetypeIsMergeable(mt) || !MigratetypeIsMergeable(buddy_mt))) break;
      } else if (nr_isolate_pageblock_ > 0 && mt != buddy_mt &&
                 (mt == MigrateType::kIsolate || buddy_mt == MigrateType::kIsolate)) {
        break;
      }
    }
    DelFromFreeList(buddy_pfn, order);
    ++counters_.merges;
    pfn &= buddy_pfn;
    ++order;
  }
  // buddy_merge_likely(): if the next-higher buddy is free, this block is
  // likely to merge soon, so keep it at the tail, away from allocations.
  bool tail = to_tail;
  if (!tail && order + 1 < config_.max_order && buddy_pfn != kNil) {
    const uint32_t higher = buddy_pfn & pfn;
    tail = IsBuddy(higher ^ (1u << (order + 1)), order + 1);
  }
  AddToFreeList(pfn, order, mt, tail);
}

// expand(): the upper halves go back to the lists, the lowest block stays.
void Zone::Expand(uint32_t pfn, unsigned low, unsigned high, MigrateType mt) {
  uint32_t size = 1u << high;
  while (high > low) {
    --high;
    size >>= 1;
    AddToFreeList(pfn + size, high, mt, /*tail=*/false);
    ++counters_.splits;
  }
}

// __rmqueue_smallest(): the head of the smallest non-empty list of `mt` at
// or above `order`. The page's mt field becomes the pcppage migratetype.
std::optional<uint32_t> Zone::RmqueueSmallest(unsigned order, MigrateType mt) {
  for (unsigned o = order; o <= config_.max_order; ++o) {
    const List& l = FreeList(o, mt);
    if (l.head == kNil) continue;
    const uint32_t pfn = l.head;
    DelFromFreeList(pfn, o);
    Expand(pfn, order, o, mt);
    pages_[pfn].mt = static_cast<uint8_t>(mt);  // set_pcppage_migratetype()
    return pfn;
  }
  return std::nullopt;
}

// can_steal_fallback().
bool Zone::CanStealFallback(unsigned order, MigrateType start_mt) const {
  if (order >= config_.pageblock_order) return true;
  return order >= config_.pageblock_order / 2 || start_mt == MigrateType::kReclaimable ||
         start_mt == MigrateType::kUnmovable || page_group_by_mobility_disabled_;
}

// find_suitable_fallback(only_stealable = false): the first fallback type
// with a free block at this order.
int Zone::FindSuitableFallback(unsigned order, MigrateType mt, bool only_stealable, bool* can_steal) const {
  *can_steal = false;
  if (nr_free_[order] == 0) return -1;
  for (MigrateType fb : kFallbacks[Idx(mt)]) {
    if (FreeList(order, fb).head == kNil) continue;
    if (CanStealFallback(order, mt)) *can_steal = true;
    if (!only_stealable || *can_steal) return Idx(fb);
  }
  return -1;
}

void Zone::SetAllocatedMigratetype(uint32_t pfn, MigrateType mt) {
  KREPLAY_CHECK(pages_[pfn].use == static_cast<uint8_t>(PageUse::kAllocated), "not an allocated block head");
  pages_[pfn].mt = static_cast<uint8_t>(mt);
}

// boost_watermark() (5.0+).
bool Zone::BoostWatermark() {
  if (config_.watermark_boost_factor == 0) return false;
  const uint64_t pb = pageblock_nr_pages();
  if (pb * 4 > config_.nr_pages) return false;
  uint64_t max_boost = MultFrac(watermark_[2], config_.watermark_boost_factor, 10000);
  if (max_boost == 0) return false;
  max_boost = std::max(pb, max_boost);
  watermark_boost_ = std::min(watermark_boost_ + pb, max_boost);
  return true;
}

// move_freepages_block(): every free block whose head lies in pfn's
// pageblock moves to the tail of `mt`'s lists; counts the pages moved and
// (num_movable) the allocated movable pages met on the way. Returns 0 for
// a pageblock the zone does not span entirely.
uint32_t Zone::MoveFreepagesBlock(uint32_t pfn, MigrateType mt, uint32_t* num_movable) {
  if (num_movable) *num_movable = 0;
  const uint32_t start = pfn & ~(pageblock_nr_pages() - 1);
  const uint64_t end = uint64_t{start} + pageblock_nr_pages() - 1;
  if (end >= config_.nr_pages) return 0;
  uint32_t moved = 0;
  for (uint64_t p = start; p <= end;) {
    const PageState& pg = pages_[p];
    if (pg.use != static_cast<uint8_t>(PageUse::kBuddy)) {
      // The kernel steps over non-free pages one by one; a block is
      // skipped whole here and its pages counted as scanned. Allocated
      // movable pages (PageLRU() || __PageMovable(); a movable head covers
      // its tails) count towards num_movable.
      const uint64_t span = pg.use == static_cast<uint8_t>(PageUse::kTail)
                                ? 1
                                : std::min<uint64_t>(uint64_t{1} << pg.order, end + 1 - p);
      counters_.pfns_scanned += span;
      if (num_movable && pg.use == static_cast<uint8_t>(PageUse::kAllocated) &&
          pg.mt == static_cast<uint8_t>(MigrateType::kMovable)) {
        *num_movable += static_cast<uint32_t>(span);
      }
      p += span;
      continue;
    }
    ++counters_.pfns_scanned;
    const unsigned order = pg.order;
    MoveToFreeList(static_cast<uint32_t>(p), order, mt);
    p += uint64_t{1} << order;
    moved += 1u << order;
  }
  return moved;
}

// steal_suitable_fallback() (v5.x .. 6.9 rule): whole pageblocks for
// order >= pageblock_order; otherwise move the block's free pages and
// claim it when free + alike pages >= half a pageblock.
void Zone::StealSuitableFallback(uint32_t pfn, MigrateType start_type, bool whole_block) {
  const unsigned current_order = pages_[pfn].order;
  const MigrateType old_block_type = PageblockMigratetype(pfn);
  if (old_block_type == MigrateType::kHighAtomic) {
    MoveToFreeList(pfn, current_order, start_type);
    return;
  }
  if (current_order >= config_.pageblock_order) {
    // change_pageblock_range()
    for (uint32_t i = 0; i < (1u << (current_order - config_.pageblock_order)); ++i) {
      SetPageblockMigratetype(pfn + i * pageblock_nr_pages(), start_type);
    }
    ++counters_.pageblocks_claimed;
    MoveToFreeList(pfn, current_order, start_type);
    return;
  }
  BoostWatermark();  // ZONE_BOOSTED_WATERMARK / kswapd wakeup: not modelled
  if (!whole_block) {
    MoveToFreeList(pfn, current_order, start_type);
    return;
  }
  uint32_t movable_pages = 0;
  const uint32_t free_pages = MoveFreepagesBlock(pfn, start_type, &movable_pages);
  uint32_t alike_pages;
  if (start_type == MigrateType::kMovable) {
    alike_pages = movable_pages;
  } else if (old_block_type == MigrateType::kMovable) {
    // Unmovable/reclaimable into a movable block: every non-free,
    // non-movable page is alike; between unmovable and reclaimable the
    // kernel cannot tell them apart and counts none.
    alike_pages = pageblock_nr_pages() - (free_pages + movable_pages);
  } else {
    alike_pages = 0;
  }
  if (free_pages == 0) {
    MoveToFreeList(pfn, current_order, start_type);
    return;
  }
  if (free_pages + alike_pages >= (1u << (config_.pageblock_order - 1)) || page_group_by_mobility_disabled_) {
    SetPageblockMigratetype(pfn, start_type);
    ++counters_.pageblocks_claimed;
  }
}

// __rmqueue_fallback(): search other types' lists from the largest order
// down (approximating the pageblock with the most free pages); a movable
// request that cannot claim the block takes the smallest suitable block
// instead (find_smallest). The steal moves blocks onto start_mt's lists;
// the caller retries __rmqueue_smallest().
bool Zone::RmqueueFallback(unsigned order, MigrateType start_mt, uint32_t alloc_flags) {
  unsigned min_order = order;
  if (alloc_flags & alloc::kNoFragment) min_order = config_.pageblock_order;
  bool can_steal = false;
  int fallback_mt = -1;
  int current_order = static_cast<int>(config_.max_order);
  for (; current_order >= static_cast<int>(min_order); --current_order) {
    fallback_mt = FindSuitableFallback(current_order, start_mt, false, &can_steal);
    if (fallback_mt == -1) continue;
    if (!can_steal && start_mt == MigrateType::kMovable && current_order > static_cast<int>(order)) {
      // find_smallest
      for (current_order = order; current_order <= static_cast<int>(config_.max_order); ++current_order) {
        fallback_mt = FindSuitableFallback(current_order, start_mt, false, &can_steal);
        if (fallback_mt != -1) break;
      }
      KREPLAY_CHECK(fallback_mt != -1, "find_smallest found nothing after the largest-first search did");
    }
    const uint32_t pfn = FreeList(current_order, static_cast<MigrateType>(fallback_mt)).head;
    StealSuitableFallback(pfn, start_mt, can_steal);
    ++counters_.fallbacks;
    return true;
  }
  return false;
}

// __rmqueue().
std::optional<uint32_t> Zone::RmqueueInner(unsigned order, MigrateType mt, uint32_t alloc_flags) {
  // Balance movable allocations between regular and CMA pageblocks by
  // taking CMA when over half of the zone's free memory is CMA (5.7+).
  if (config_.rules.cma_first && (alloc_flags & alloc::kCma) && nr_free_cma_pages_ > nr_free_pages_ / 2) {
    if (auto p = RmqueueSmallest(order, MigrateType::kCma)) return p;
  }
  for (;;) {
    if (auto p = RmqueueSmallest(order, mt)) return p;
    // Before 5.7 (and 5.9's ALLOC_CMA test) this was "migratetype ==
    // MIGRATE_MOVABLE"; gfp_to_alloc_flags_cma() makes them the same.
    if (alloc_flags & alloc::kCma) {
      if (auto p = RmqueueSmallest(order, MigrateType::kCma)) return p;
    }
    if (!RmqueueFallback(order, mt, alloc_flags)) return std::nullopt;
  }
}

// rmqueue_buddy(): high-order ALLOC_HARDER requests try the highatomic
// reserve first.
std::optional<uint32_t> Zone::RmqueueBuddy(unsigned order, MigrateType mt, uint32_t alloc_flags) {
  std::optional<uint32_t> p;
  if (order > 0 && (alloc_flags & alloc::kHarder)) p = RmqueueSmallest(order, MigrateType::kHighAtomic);
  if (!p) p = RmqueueInner(order, mt, alloc_flags);
  if (!p) return std::nullopt;
  ModFreepageState(-(int64_t{1} << order), static_cast<MigrateType>(pages_[*p].mt));
  return p;
}

// ---------------------------------------------------------------- pcp

bool Zone::PcpAllowedOrder(unsigned order) const {
  if (order == 0) return true;
  if (!config_.rules.pcp_high_order) return false;
  return order <= kPageAllocCostlyOrder || (config_.thp && order == config_.pageblock_order);
}

int Zone::NrPcpLists() const {
  if (!config_.rules.pcp_high_order) return kPcpTypes;
  return kPcpTypes * (kPageAllocCostlyOrder + 1) + (config_.thp ? 1 : 0);
}

// order_to_pindex(): THP-sized pages share one list after the low orders.
int Zone::OrderToPindex(MigrateType mt, unsigned order) const {
  if (order > kPageAllocCostlyOrder) return kPcpTypes * (kPageAllocCostlyOrder + 1);
  return kPcpTypes * static_cast<int>(order) + Idx(mt);
}

unsigned Zone::PindexToOrder(int pindex) const {
  if (pindex == kPcpTypes * static_cast<int>(kPageAllocCostlyOrder + 1)) return config_.pageblock_order;
  return static_cast<unsigned>(pindex / kPcpTypes);
}

// rmqueue_bulk(): `count` blocks from the buddy onto the tail of a pcp
// list, in the order expand() hands them out.
int Zone::RmqueueBulk(unsigned order, int count, List& list, MigrateType mt, uint32_t alloc_flags) {
  int i = 0;
  for (; i < count; ++i) {
    auto p = RmqueueInner(order, mt, alloc_flags);
    if (!p) break;
    PageState& pg = pages_[*p];
    pg.use = static_cast<uint8_t>(PageUse::kPcp);
    pg.order = static_cast<uint8_t>(order);
    ListAddTail(list, *p);
    ++counters_.pcp_list_ops;
    ++counters_.page_events;
    if (pg.mt == static_cast<uint8_t>(MigrateType::kCma)) nr_free_cma_pages_ -= uint64_t{1} << order;
  }
  nr_free_pages_ -= static_cast<uint64_t>(i) << order;
  return i;
}

// rmqueue_pcplist() / __rmqueue_pcplist(): refill an empty list with a
// batch (scaled down by order, at least 2), then take the head (LIFO).
std::optional<uint32_t> Zone::RmqueuePcplist(unsigned order, MigrateType mt, uint32_t alloc_flags, unsigned cpu) {
  Pcp& pcp = pcps_[cpu];
  if (config_.rules.pcp_scaled) pcp.free_factor >>= 1;
  List& list = pcp.lists[OrderToPindex(mt, order)];
  if (list.head == kNil) {
    int batch = static_cast<int>(pcp_batch_);
    if (batch > 1) batch = std::max(batch >> order, 2);
    const int alloced = RmqueueBulk(order, batch, list, mt, alloc_flags);
    ++counters_.pcp_refills;
    pcp.count += alloced << order;
    if (list.head == kNil) return std::nullopt;
  }
  const uint32_t pfn = list.head;
  ListDel(list, pfn);
  ++counters_.pcp_list_ops;
  ++counters_.page_events;
  pcp.count -= 1 << order;
  return pfn;
}

// nr_pcp_free() (5.14+): free more each time the CPU frees without
// allocating, keeping at least batch pages.
int Zone::NrPcpFree(Pcp& pcp, int high, int batch, bool free_high) const {
  if (free_high) return pcp.count;
  if (high < batch) return 1;
  const int min_nr_free = batch;
  const int max_nr_free = high - batch;
  int64_t b = int64_t{batch} << std::min(pcp.free_factor, 30);
  if (b < max_nr_free) ++pcp.free_factor;
  return static_cast<int>(std::clamp<int64_t>(b, min_nr_free, max_nr_free));
}

// free_pcppages_bulk() (6.1 order): round-robin over the lists starting
// with the freed page's, each list drained from its tail (the coldest
// pages) until `count` pages are gone.
void Zone::FreePcppagesBulk(unsigned cpu, int count, int pindex) {
  Pcp& pcp = pcps_[cpu];
  count = std::min(pcp.count, count);
  if (count <= 0) return;
  ++counters_.pcp_drains;
  int min_pindex = 0;
  int max_pindex = NrPcpLists() - 1;
  pindex = pindex - 1;
  const bool isolated_pageblocks = nr_isolate_pageblock_ > 0;
  while (count > 0) {
    List* list;
    for (;;) {
      if (++pindex > max_pindex) pindex = min_pindex;
      list = &pcp.lists[pindex];
      if (list->head != kNil) break;
      if (pindex == max_pindex) --max_pindex;
      if (pindex == min_pindex) ++min_pindex;
    }
    const unsigned order = PindexToOrder(pindex);
    const int nr_pages = 1 << order;
    do {
      const uint32_t pfn = list->tail;
      MigrateType mt = static_cast<MigrateType>(pages_[pfn].mt);  // get_pcppage_migratetype()
      ListDel(*list, pfn);
      ++counters_.pcp_list_ops;
      ++counters_.page_events;
      pages_[pfn].use = static_cast<uint8_t>(PageUse::kTail);
      count -= nr_pages;
      pcp.count -= nr_pages;
      // The pageblock may have been isolated since the page was queued.
      if (isolated_pageblocks) mt = PageblockMigratetype(pfn);
      FreeOnePage(pfn, order, mt, /*to_tail=*/false);
    } while (count > 0 && list->head != kNil);
  }
}

// free_unref_page(): the pageblock's type is cached as the pcppage
// migratetype; ISOLATE pages go straight to the buddy, CMA and HIGHATOMIC
// pages sit on the MOVABLE list.
void Zone::FreeUnrefPage(uint32_t pfn, unsigned order, unsigned cpu) {
  const MigrateType block = PageblockMigratetype(pfn);
  MigrateType list_mt = block;
  if (Idx(block) >= kPcpTypes) {
    if (block == MigrateType::kIsolate) {
      FreeOnePage(pfn, order, block, false);  // free_one_page()
      return;
    }
    list_mt = MigrateType::kMovable;
  }
  // free_unref_page_commit()
  Pcp& pcp = pcps_[cpu];
  const int pindex = OrderToPindex(list_mt, order);
  PageState& pg = pages_[pfn];
  pg.use = static_cast<uint8_t>(PageUse::kPcp);
  pg.order = static_cast<uint8_t>(order);
  pg.mt = static_cast<uint8_t>(block);
  ListAdd(pcp.lists[pindex], pfn);
  ++counters_.pcp_list_ops;
  ++counters_.page_events;
  pcp.count += 1 << order;
  const int batch = static_cast<int>(pcp_batch_);
  if (config_.rules.pcp_scaled) {
    // High-order pages other than THP fragment the zone while they sit
    // on a CPU that frees without allocating: drain them all.
    const bool free_high =
        config_.rules.pcp_free_high && pcp.free_factor && order && order <= kPageAllocCostlyOrder;
    const int high = (pcp_high_ == 0 || free_high) ? 0 : static_cast<int>(pcp_high_);  // nr_pcp_high()
    if (pcp.count >= high) FreePcppagesBulk(cpu, NrPcpFree(pcp, high, batch, free_high), pindex);
  } else if (pcp.count >= static_cast<int>(pcp_high_)) {
    FreePcppagesBulk(cpu, batch, pindex);
  }
}

void Zone::DrainPages(unsigned cpu) {
  KREPLAY_CHECK(cpu < pcps_.size(), "cpu out of range");
  if (pcps_[cpu].count) FreePcppagesBulk(cpu, pcps_[cpu].count, 0);
}

void Zone::DrainAllPages() {
  for (unsigned cpu = 0; cpu < pcps_.size(); ++cpu) DrainPages(cpu);
}

unsigned Zone::pcp_count(unsigned cpu) const { return static_cast<unsigned>(pcps_[cpu].count); }

// ---------------------------------------------------------------- alloc/free API

void Zone::MarkAllocated(uint32_t pfn, unsigned order, MigrateType mt) {
  PageState& pg = pages_[pfn];
  pg.use = static_cast<uint8_t>(PageUse::kAllocated);
  pg.order = static_cast<uint8_t>(order);
  pg.mt = static_cast<uint8_t>(mt);
}

// rmqueue(): MOVABLE pcp lists may hold CMA pages, so a movable request
// without ALLOC_CMA bypasses them.
std::optional<uint32_t> Zone::RmqueueImpl(unsigned order, MigrateType mt, uint32_t alloc_flags, unsigned cpu) {
  KREPLAY_CHECK(order <= config_.max_order, "order above max_order");
  KREPLAY_CHECK(Idx(mt) < kPcpTypes, "allocations are UNMOVABLE, MOVABLE or RECLAIMABLE");
  KREPLAY_CHECK(cpu < pcps_.size(), "cpu out of range");
  std::optional<uint32_t> p;
  if (PcpAllowedOrder(order) && ((alloc_flags & alloc::kCma) || mt != MigrateType::kMovable)) {
    p = RmqueuePcplist(order, mt, alloc_flags, cpu);
  }
  if (!p) p = RmqueueBuddy(order, mt, alloc_flags);
  if (!p) return std::nullopt;
  MarkAllocated(*p, order, mt);
  ++counters_.allocs;
  return p;
}

std::optional<uint32_t> Zone::Rmqueue(unsigned order, MigrateType mt, uint32_t alloc_flags, unsigned cpu) {
  auto p = RmqueueImpl(order, mt, alloc_flags, cpu);
  if (!p) ++counters_.alloc_failures;
  return p;
}

// reserve_highatomic_pageblock(): up to ~1% of the zone plus one block.
void Zone::ReserveHighatomicPageblock(uint32_t pfn) {
  const uint64_t max_managed = config_.nr_pages / 100 + pageblock_nr_pages();
  if (nr_reserved_highatomic_ >= max_managed) return;
  const MigrateType mt = PageblockMigratetype(pfn);
  if (MigratetypeIsMergeable(mt)) {
    nr_reserved_highatomic_ += pageblock_nr_pages();
    SetPageblockMigratetype(pfn, MigrateType::kHighAtomic);
    MoveFreepagesBlock(pfn, MigrateType::kHighAtomic, nullptr);
  }
}

std::optional<uint32_t> Zone::GetPageFromFreelist(unsigned order, MigrateType mt, uint32_t alloc_flags,
                                                  unsigned cpu) {
  KREPLAY_CHECK((alloc_flags & alloc::kWmarkMask) <= alloc::kWmarkHigh, "alloc_flags: no such watermark");
  for (;;) {
    const bool no_fallback = alloc_flags & alloc::kNoFragment;
    const uint64_t mark = WmarkPages(static_cast<Wmark>(alloc_flags & alloc::kWmarkMask));
    if ((alloc_flags & alloc::kNoWatermarks) || ZoneWatermarkFast(order, mark, alloc_flags)) {
      if (auto p = RmqueueImpl(order, mt, alloc_flags, cpu)) {
        if (order && (alloc_flags & alloc::kHarder)) ReserveHighatomicPageblock(*p);
        return p;
      }
    }
    // On a UMA machine every zone may be fragmented: retry allowing
    // fragmenting fallbacks.
    if (!no_fallback) break;
    alloc_flags &= ~alloc::kNoFragment;
  }
  ++counters_.alloc_failures;
  return std::nullopt;
}

void Zone::FreePages(uint32_t pfn, unsigned order, unsigned cpu) {
  KREPLAY_CHECK(pfn < config_.nr_pages && pages_[pfn].use == static_cast<uint8_t>(PageUse::kAllocated) &&
                    pages_[pfn].order == order,
                "FreePages: not the head of an allocated block of that order");
  KREPLAY_CHECK(cpu < pcps_.size(), "cpu out of range");
  ++counters_.frees;
  pages_[pfn].use = static_cast<uint8_t>(PageUse::kTail);
  if (PcpAllowedOrder(order)) {
    FreeUnrefPage(pfn, order, cpu);
  } else {
    // __free_pages_ok() -> __free_one_page() with the pageblock's type.
    FreeOnePage(pfn, order, PageblockMigratetype(pfn), false);
  }
}

void Zone::SplitPage(uint32_t pfn, unsigned order) {
  KREPLAY_CHECK(pages_[pfn].use == static_cast<uint8_t>(PageUse::kAllocated) && pages_[pfn].order == order,
                "SplitPage: not the head of an allocated block of that order");
  const uint8_t mt = pages_[pfn].mt;
  const uint8_t kind = pages_[pfn].kind;
  for (uint32_t i = 0; i < (1u << order); ++i) {
    MarkAllocated(pfn + i, 0, static_cast<MigrateType>(mt));
    pages_[pfn + i].kind = kind;
  }
}

// ---------------------------------------------------------------- watermarks

// __zone_watermark_unusable_free().
long Zone::WatermarkUnusableFree(unsigned order, uint32_t alloc_flags) const {
  const bool alloc_harder = alloc_flags & (alloc::kHarder | alloc::kOom);
  long unusable = (1L << order) - 1;
  if (!alloc_harder) unusable += static_cast<long>(nr_reserved_highatomic_);
  if (!(alloc_flags & alloc::kCma)) unusable += static_cast<long>(nr_free_cma_pages_);
  return unusable;
}

// __zone_watermark_ok(): order-0 pages above the (reduced) mark, then for
// order > 0 a free block of at least `order` on a list this caller may use.
bool Zone::ZoneWatermarkOkFree(unsigned order, uint64_t mark, uint32_t alloc_flags, long free_pages) const {
  long min = static_cast<long>(mark);
  const bool alloc_harder = alloc_flags & (alloc::kHarder | alloc::kOom);
  free_pages -= WatermarkUnusableFree(order, alloc_flags);
  if (alloc_flags & alloc::kHigh) min -= min / 2;
  if (alloc_harder) {
    if (alloc_flags & alloc::kOom) min -= min / 2; else min -= min / 4;
  }
  if (free_pages <= min) return false;  // + lowmem_reserve[] == 0: the highest zone
  if (order == 0) return true;
  for (unsigned o = order; o <= config_.max_order; ++o) {
    if (nr_free_[o] == 0) continue;
    for (int mt = 0; mt < kPcpTypes; ++mt) {
      if (FreeList(o, static_cast<MigrateType>(mt)).head != kNil) return true;
    }
    if ((alloc_flags & alloc::kCma) && FreeList(o, MigrateType::kCma).head != kNil) return true;
    if (alloc_harder && FreeList(o, MigrateType::kHighAtomic).head != kNil) return true;
  }
  return false;
}

bool Zone::ZoneWatermarkOk(unsigned order, uint64_t mark, uint32_t alloc_flags) const {
  return ZoneWatermarkOkFree(order, mark, alloc_flags, static_cast<long>(nr_free_pages_));
}

// zone_watermark_fast(). The GFP_ATOMIC boost exception is not modelled.
bool Zone::ZoneWatermarkFast(unsigned order, uint64_t mark, uint32_t alloc_flags) const {
  const long free_pages = static_cast<long>(nr_free_pages_);
  if (order == 0) {
    const long reserved = WatermarkUnusableFree(0, alloc_flags);
    const long usable = free_pages - std::min(free_pages, reserved);
    if (usable > static_cast<long>(mark)) return true;
  }
  return ZoneWatermarkOkFree(order, mark, alloc_flags, free_pages);
}

// ---------------------------------------------------------------- isolation

std::optional<uint32_t> Zone::HasUnmovablePages(uint32_t pfn, MigrateType migratetype) const {
  const uint32_t start = pfn & ~(pageblock_nr_pages() - 1);
  if (PageblockMigratetype(start) == MigrateType::kCma) {
    // alloc_contig_range() on CMA must isolate CMA pageblocks whatever
    // they hold.
    if (migratetype == MigrateType::kCma) return std::nullopt;
    return start;
  }
  const uint64_t end = std::min<uint64_t>(uint64_t{start} + pageblock_nr_pages(), config_.nr_pages);
  for (uint64_t p = start; p < end;) {
    const PageState& pg = pages_[p];
    ++counters_.pfns_scanned;
    switch (static_cast<PageUse>(pg.use)) {
      case PageUse::kBuddy:
      case PageUse::kPcp:  // refcount 0
        p += uint64_t{1} << pg.order;
        break;
      case PageUse::kAllocated:
        if (pg.mt != static_cast<uint8_t>(MigrateType::kMovable)) return static_cast<uint32_t>(p);
        p += uint64_t{1} << pg.order;
        break;
      case PageUse::kTail:  // of a block headed before this pageblock
        ++p;
        break;
    }
  }
  return std::nullopt;
}

bool Zone::SetMigratetypeIsolate(uint32_t pfn, MigrateType migratetype) {
  if (PageblockMigratetype(pfn) == MigrateType::kIsolate) return false;
  if (HasUnmovablePages(pfn, migratetype)) return false;
  const MigrateType mt = PageblockMigratetype(pfn);
  SetPageblockMigratetype(pfn, MigrateType::kIsolate);
  ++nr_isolate_pageblock_;
  const uint32_t nr_pages = MoveFreepagesBlock(pfn, MigrateType::kIsolate, nullptr);
  ModFreepageState(-static_cast<int64_t>(nr_pages), mt);
  return true;
}

void Zone::UnsetMigratetypeIsolate(uint32_t pfn, MigrateType migratetype) {
  const uint32_t start = pfn & ~(pageblock_nr_pages() - 1);
  if (PageblockMigratetype(start) != MigrateType::kIsolate) return;
  // A free page of pageblock_order or more in an isolated block was kept
  // from merging; take it out and free it again so it merges now.
  bool isolated_page = false;
  unsigned order = 0;
  if (pages_[start].use == static_cast<uint8_t>(PageUse::kBuddy)) {
    order = pages_[start].order;
    if (order >= config_.pageblock_order && order < config_.max_order) {
      const uint32_t buddy = start ^ (1u << order);
      if (IsBuddy(buddy, order) && PageblockMigratetype(buddy) != MigrateType::kIsolate) {
        isolated_page = IsolateFreePage(start, order) != 0;
        KREPLAY_CHECK(isolated_page, "isolating a free page of an isolated block cannot fail");
      }
    }
  }
  if (!isolated_page) {
    const uint32_t nr_pages = MoveFreepagesBlock(start, migratetype, nullptr);
    ModFreepageState(nr_pages, migratetype);
  }
  SetPageblockMigratetype(start, migratetype);
  if (isolated_page) {
    pages_[start].use = static_cast<uint8_t>(PageUse::kTail);
    FreeOnePage(start, order, migratetype, /*to_tail=*/true);  // __putback_isolated_page()
  }
  --nr_isolate_pageblock_;
}

bool Zone::StartIsolatePageRange(uint32_t start, uint32_t end, MigrateType migratetype) {
  const uint32_t pb = pageblock_nr_pages();
  KREPLAY_CHECK(start % pb == 0 && end % pb == 0 && end <= config_.nr_pages, "range must be pageblock aligned");
  for (uint32_t p = start; p < end; p += pb) {
    if (!SetMigratetypeIsolate(p, migratetype)) {
      UndoIsolatePageRange(start, p, migratetype);
      return false;
    }
  }
  return true;
}

void Zone::UndoIsolatePageRange(uint32_t start, uint32_t end, MigrateType migratetype) {
  const uint32_t pb = pageblock_nr_pages();
  KREPLAY_CHECK(start % pb == 0 && end % pb == 0 && end <= config_.nr_pages, "range must be pageblock aligned");
  for (uint32_t p = start; p < end; p += pb) {
    if (PageblockMigratetype(p) == MigrateType::kIsolate) UnsetMigratetypeIsolate(p, migratetype);
  }
}

bool Zone::TestPagesIsolated(uint32_t start, uint32_t end) {
  KREPLAY_CHECK(start < end && end <= config_.nr_pages, "bad range");
  for (uint64_t p = start & ~(pageblock_nr_pages() - 1); p < end; p += pageblock_nr_pages()) {
    if (PageblockMigratetype(static_cast<uint32_t>(p)) != MigrateType::kIsolate) return false;
  }
  // __test_page_isolated_in_pageblock(): only free buddy blocks may be met.
  uint64_t p = start;
  while (p < end) {
    ++counters_.pfns_scanned;
    if (pages_[p].use != static_cast<uint8_t>(PageUse::kBuddy)) break;
    p += uint64_t{1} << pages_[p].order;
  }
  return p >= end;
}

// __isolate_free_page().
uint64_t Zone::IsolateFreePage(uint32_t pfn, unsigned order) {
  KREPLAY_CHECK(IsBuddy(pfn, order), "IsolateFreePage: not a free block of that order");
  const MigrateType mt = PageblockMigratetype(pfn);
  if (mt != MigrateType::kIsolate) {
    // Obey watermarks as if the page were being allocated.
    const uint64_t watermark = watermark_[0] + (uint64_t{1} << order);
    if (!ZoneWatermarkOk(0, watermark, alloc::kCma)) return 0;
    ModFreepageState(-(int64_t{1} << order), mt);
  }
  DelFromFreeList(pfn, order);
  MarkAllocated(pfn, order, MigrateType::kUnmovable);
  // A page of at least half a pageblock makes a normal pageblock MOVABLE.
  if (order + 1 >= config_.pageblock_order) {
    const uint64_t endpage = uint64_t{pfn} + (uint64_t{1} << order) - 1;
    for (uint64_t p = pfn; p < endpage; p += pageblock_nr_pages()) {
      if (MigratetypeIsMergeable(PageblockMigratetype(static_cast<uint32_t>(p)))) {
        SetPageblockMigratetype(static_cast<uint32_t>(p), MigrateType::kMovable);
      }
    }
  }
  return uint64_t{1} << order;
}

std::optional<uint32_t> Zone::IsolateFreepagesRange(uint32_t start, uint32_t end) {
  KREPLAY_CHECK(start < end && end <= config_.nr_pages, "bad range");
  // Strict mode: any page that is not in a free block fails the range.
  uint64_t p = start;
  while (p < end) {
    ++counters_.pfns_scanned;
    if (pages_[p].use != static_cast<uint8_t>(PageUse::kBuddy)) return std::nullopt;
    p += uint64_t{1} << pages_[p].order;
  }
  const uint64_t outer_end = p;
  struct Taken {
    uint32_t pfn;
    unsigned order;
  };
  std::vector<Taken> taken;
  for (p = start; p < outer_end;) {
    const uint32_t pfn = static_cast<uint32_t>(p);
    const unsigned order = pages_[pfn].order;
    if (IsolateFreePage(pfn, order) == 0) {
      // Put back what was taken (release_freepages()).
      for (const Taken& t : taken) {
        pages_[t.pfn].use = static_cast<uint8_t>(PageUse::kTail);
        FreeOnePage(t.pfn, t.order, PageblockMigratetype(t.pfn), false);
      }
      return std::nullopt;
    }
    taken.push_back({pfn, order});
    p += uint64_t{1} << order;
  }
  // split_map_pages(): every page becomes an allocated order-0 page.
  for (const Taken& t : taken) SplitPage(t.pfn, t.order);
  return static_cast<uint32_t>(outer_end);
}

void Zone::SplitFreePage(uint32_t head, unsigned order, uint32_t split_offset) {
  KREPLAY_CHECK(IsBuddy(head, order) && split_offset > 0 && split_offset < (1u << order), "bad split");
  // As 6.1: the free count leaves by the head's pageblock type, each piece
  // returns by its own (isolated pieces stay out of it).
  const MigrateType mt = PageblockMigratetype(head);
  if (mt != MigrateType::kIsolate) ModFreepageState(-(int64_t{1} << order), mt);
  DelFromFreeList(head, order);
  const uint64_t end = uint64_t{head} + (uint64_t{1} << order);
  uint64_t pfn = head, offset = split_offset;
  while (pfn < end) {
    // min(__ffs(pfn), __fls(split_pfn_offset)), pfn 0 taking `order`.
    unsigned o = pfn ? static_cast<unsigned>(__builtin_ctzll(pfn)) : order;
    o = std::min(o, static_cast<unsigned>(63 - __builtin_clzll(offset)));
    FreeOnePage(static_cast<uint32_t>(pfn), o, PageblockMigratetype(static_cast<uint32_t>(pfn)), false);
    pfn += uint64_t{1} << o;
    offset -= uint64_t{1} << o;
    if (offset == 0) offset = end - pfn;  // the first part done, on to the second
  }
}

void Zone::FreeContigRange(uint32_t pfn, uint32_t nr_pages, unsigned cpu) {
  for (uint32_t i = 0; i < nr_pages; ++i) FreePages(pfn + i, 0, cpu);
}

// ---------------------------------------------------------------- state

std::vector<uint32_t> Zone::FreeListPfns(unsigned order, MigrateType mt) const {
  std::vector<uint32_t> out;
  for (uint32_t p = FreeList(order, mt).head; p != kNil; p = pages_[p].next) out.push_back(p);
  return out;
}

PageView Zone::Page(uint32_t pfn) const {
  const PageState& pg = pages_[pfn];
  PageView v;
  v.use = static_cast<PageUse>(pg.use);
  v.kind = pg.kind;
  v.aux = pg.aux;
  if (v.use != PageUse::kTail) {
    v.order = pg.order;
    v.migratetype = static_cast<MigrateType>(pg.mt);
  }
  return v;
}

uint32_t Zone::BlockHead(uint32_t pfn) const {
  KREPLAY_CHECK(pfn < config_.nr_pages, "pfn out of range");
  for (unsigned o = 0; o <= config_.max_order; ++o) {
    const uint32_t head = pfn & ~((1u << o) - 1);
    const PageState& pg = pages_[head];
    if (pg.use != static_cast<uint8_t>(PageUse::kTail) && uint64_t{head} + (uint64_t{1} << pg.order) > pfn) {
      return head;
    }
  }
  KREPLAY_CHECK(false, "page in no block");
  return kNil;
}

uint64_t Zone::MemoryBytes() const {
  return sizeof(Zone) + pages_.capacity() * sizeof(PageState) + block_mt_.capacity() +
         free_lists_.capacity() * sizeof(List) + nr_free_.capacity() * sizeof(uint64_t) +
         pcps_.capacity() * sizeof(Pcp);
}

Status Zone::CheckInvariants() const {
  auto fail = [](const std::string& m) { return Internal("zone invariant: " + m); };
  const uint32_t n = config_.nr_pages;
  // 1. The PFNs tile into blocks; only heads carry a use.
  uint64_t buddy_pages = 0, pcp_pages = 0, alloc_pages = 0, free_in_cma_blocks = 0;
  for (uint64_t p = 0; p < n;) {
    const PageState& pg = pages_[p];
    if (pg.use == static_cast<uint8_t>(PageUse::kTail)) return fail("pfn " + std::to_string(p) + " is in no block");
    if (pg.order > config_.max_order || (p & ((uint64_t{1} << pg.order) - 1)) != 0 ||
        p + (uint64_t{1} << pg.order) > n) {
      return fail("pfn " + std::to_string(p) + ": bad order " + std::to_string(pg.order));
    }
    const uint64_t size = uint64_t{1} << pg.order;
    for (uint64_t q = p + 1; q < p + size; ++q) {
      if (pages_[q].use != static_cast<uint8_t>(PageUse::kTail)) {
        return fail("pfn " + std::to_string(q) + " is a head inside the block at " + std::to_string(p));
      }
    }
    if (pg.use == static_cast<uint8_t>(PageUse::kBuddy)) {
      buddy_pages += size;
      if (PageblockMigratetype(static_cast<uint32_t>(p)) == MigrateType::kCma) free_in_cma_blocks += size;
    } else if (pg.use == static_cast<uint8_t>(PageUse::kPcp)) {
      pcp_pages += size;
    } else {
      alloc_pages += size;
    }
    p += size;
  }
  if (buddy_pages + pcp_pages + alloc_pages != n) return fail("pages do not add up");
  // 2. Free lists: links, orders, types, counts.
  uint64_t listed = 0, counted_free = 0, cma_free = 0;
  for (unsigned o = 0; o <= config_.max_order; ++o) {
    uint64_t blocks = 0;
    for (int t = 0; t < kMigrateTypes; ++t) {
      const MigrateType mt = static_cast<MigrateType>(t);
      const List& l = FreeList(o, mt);
      uint32_t prev = kNil, len = 0;
      for (uint32_t p = l.head; p != kNil; p = pages_[p].next) {
        const PageState& pg = pages_[p];
        if (pg.use != static_cast<uint8_t>(PageUse::kBuddy) || pg.order != o || pg.mt != t || pg.prev != prev) {
          return fail("free list " + std::string(MigrateTypeName(mt)) + "/" + std::to_string(o) + " holds pfn " +
                      std::to_string(p) + " with the wrong state or links");
        }
        if ((mt == MigrateType::kCma || mt == MigrateType::kIsolate) && PageblockMigratetype(p) != mt) {
          return fail("pfn " + std::to_string(p) + " on the " + MigrateTypeName(mt) + " list sits in a " +
                      MigrateTypeName(PageblockMigratetype(p)) + " pageblock");
        }
        prev = p;
        if (++len > n) return fail("free list loops");
      }
      if (prev != l.tail || len != l.count) return fail("free list tail or count wrong");
      blocks += len;
      listed += uint64_t{len} << o;
      if (mt != MigrateType::kIsolate) counted_free += uint64_t{len} << o;
      if (mt == MigrateType::kCma) cma_free += uint64_t{len} << o;
    }
    if (blocks != nr_free_[o]) return fail("nr_free[" + std::to_string(o) + "] wrong");
  }
  if (listed != buddy_pages) return fail("a free block is on no list");
  if (counted_free != nr_free_pages_) {
    return fail("NR_FREE_PAGES " + std::to_string(nr_free_pages_) + " != " + std::to_string(counted_free) +
                " on the non-isolated lists");
  }
  if (cma_free != nr_free_cma_pages_ || cma_free != free_in_cma_blocks) {
    return fail("NR_FREE_CMA_PAGES " + std::to_string(nr_free_cma_pages_) + ", CMA lists " +
                std::to_string(cma_free) + ", free pages in CMA pageblocks " + std::to_string(free_in_cma_blocks));
  }
  // 3. Per-CPU lists.
  uint64_t pcp_listed = 0;
  for (const Pcp& pcp : pcps_) {
    uint64_t count = 0;
    for (int i = 0; i < NrPcpLists(); ++i) {
      const List& l = pcp.lists[i];
      uint32_t prev = kNil, len = 0;
      for (uint32_t p = l.head; p != kNil; p = pages_[p].next) {
        const PageState& pg = pages_[p];
        if (pg.use != static_cast<uint8_t>(PageUse::kPcp) || pg.order != PindexToOrder(i) || pg.prev != prev) {
          return fail("pcp list " + std::to_string(i) + " holds pfn " + std::to_string(p) + " wrongly");
        }
        prev = p;
        if (++len > n) return fail("pcp list loops");
      }
      if (prev != l.tail || len != l.count) return fail("pcp list tail or count wrong");
      count += uint64_t{len} << PindexToOrder(i);
    }
    if (count != static_cast<uint64_t>(pcp.count)) return fail("pcp->count wrong");
    pcp_listed += count;
  }
  if (pcp_listed != pcp_pages) return fail("a pcp page is on no pcp list");
  return OkStatus();
}

}  // namespace kreplay::mm
