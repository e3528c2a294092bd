// The physical-memory core: one zone of 4 KiB pages with the kernel's buddy
// allocator, per-pageblock migratetypes, per-CPU page lists, watermarks and
// the isolation primitives alloc_contig_range() builds on. A library with no
// time, no CMA policy and no knowledge of the family: later pieces (cma_alloc,
// background load, reclaim) drive it.
//
// Mirrors (mm/page_alloc.c, 6.1 unless MmRules says otherwise):
//   __free_one_page()  buddy merge, migratetype_is_mergeable() guard,
//                      buddy_merge_likely() head/tail placement
//   expand(), __rmqueue_smallest(), __rmqueue_cma_fallback()
//   __rmqueue_fallback() with fallbacks[], find_suitable_fallback(),
//     can_steal_fallback(), find_smallest, steal_suitable_fallback(),
//     move_freepages_block(), boost_watermark()
//   __rmqueue() (CMA-first rule), rmqueue_bulk(), rmqueue_buddy(), rmqueue()
//   rmqueue_pcplist(), free_unref_page(), free_unref_page_commit(),
//     nr_pcp_free(), free_pcppages_bulk(), drain_pages(), drain_all_pages()
//   zone_batchsize(), zone_highsize(), __setup_per_zone_wmarks(),
//     calculate_min_free_kbytes()
//   __zone_watermark_unusable_free(), __zone_watermark_ok(),
//     zone_watermark_fast(), get_page_from_freelist() for one zone,
//     reserve_highatomic_pageblock()
//   __isolate_free_page(), __putback_isolated_page(), split_page(),
//     free_contig_range()
// mm/page_isolation.c: has_unmovable_pages(), set_migratetype_isolate(),
//   unset_migratetype_isolate(), start/undo_isolate_page_range(),
//   test_pages_isolated(). mm/compaction.c: isolate_freepages_range().
//
// Simplified, and why:
//   - One zone, no lowmem_reserve (it is the highest zone), no NUMA, no
//     node_reclaim, no compaction capture, no page shuffling
//     (CONFIG_SHUFFLE_PAGE_ALLOCATOR is off by default), no guard pages.
//   - Single-threaded: the pcp trylock never fails, so there are no races;
//     the kernel's racy paths (stale pcp migratetype while a block is being
//     isolated) take their locked branch.
//   - ZONE_RECLAIM_ACTIVE (nr_pcp_high() while reclaiming) and kswapd are not
//     here: the watermark boost accumulates until ClearWatermarkBoost().
//   - free_pcppages_bulk() follows 6.1's order (whole lists round-robin from
//     the freed page's list) for every release; before 5.14 the kernel
//     round-robins page by page over the three lists. Counts are the same,
//     which pages go first differs.
//   - isolate_freepages_range() failing half-way puts the taken blocks back
//     through __free_one_page() rather than release_freepages().
//   - start_isolate_page_range() needs pageblock-aligned ranges; the split
//     of a free page straddling a range end (5.19+'s
//     isolate_single_pageblock()) is SplitFreePage(), which the caller
//     applies (cma/contig.cc).
//
// Per-page state is 16 bytes (PageState in zone.cc): free-list links as
// 32-bit PFNs, order, use (free/pcp/allocated/tail), migratetype, and the
// caller-owned kind byte and 32-bit aux. Only a block's head page carries
// state; the other pages of a block are "tail".
//
// A "page event" (Counters::page_events) is one insertion into or removal
// from a buddy free list or a per-CPU list; moving a block from one list to
// another counts once. A split step in expand() is one insertion (the upper
// half), a merge step in __free_one_page() one removal (the buddy).
//
// Thread-safety: none; a Zone belongs to one simulation.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "workers/models/memory/mm/mm_rules.h"

namespace kreplay::mm {

inline constexpr uint32_t kPageSize = 4096;
inline constexpr unsigned kPageAllocCostlyOrder = 3;  // PAGE_ALLOC_COSTLY_ORDER
inline constexpr unsigned kSwapClusterMax = 32;       // SWAP_CLUSTER_MAX
inline constexpr unsigned kCompactClusterMax = kSwapClusterMax;  // COMPACT_CLUSTER_MAX
inline constexpr int kMaxReclaimRetries = 16;         // MAX_RECLAIM_RETRIES

// get_order(pages * PAGE_SIZE): the smallest order whose block holds `pages`.
constexpr unsigned GetOrder(uint64_t pages) {
  return pages <= 1 ? 0 : static_cast<unsigned>(std::bit_width(pages - 1));
}

// alloc_flags (mm/internal.h, 6.1 names and values).
namespace alloc {
inline constexpr uint32_t kWmarkMin = 0x00;      // ALLOC_WMARK_MIN
inline constexpr uint32_t kWmarkLow = 0x01;      // ALLOC_WMARK_LOW
inline constexpr uint32_t kWmarkHigh = 0x02;     // ALLOC_WMARK_HIGH
inline constexpr uint32_t kNoWatermarks = 0x04;  // ALLOC_NO_WATERMARKS
inline constexpr uint32_t kWmarkMask = 0x03;     // ALLOC_WMARK_MASK
inline constexpr uint32_t kOom = 0x08;           // ALLOC_OOM
inline constexpr uint32_t kHarder = 0x10;        // ALLOC_HARDER (6.3: ALLOC_NON_BLOCK et al.)
inline constexpr uint32_t kHigh = 0x20;          // ALLOC_HIGH (6.3: ALLOC_MIN_RESERVE)
inline constexpr uint32_t kCma = 0x80;           // ALLOC_CMA
inline constexpr uint32_t kNoFragment = 0x100;   // ALLOC_NOFRAGMENT
}  // namespace alloc

// gfp_to_alloc_flags_cma(): movable allocations may use CMA pageblocks.
// Callers set alloc::kCma exactly for movable requests, as the kernel does;
// before 5.9 __rmqueue() and rmqueue() keyed the CMA decisions on the
// migratetype itself, which is the same thing under this contract.
constexpr uint32_t AllocFlagsCma(MigrateType mt, uint32_t flags) {
  return mt == MigrateType::kMovable ? (flags | alloc::kCma) : flags;
}

enum class Wmark : uint8_t { kMin = 0, kLow = 1, kHigh = 2 };

struct PfnRange {
  uint32_t start = 0;  // first PFN
  uint32_t end = 0;    // one past the last
};

struct ZoneConfig {
  uint32_t nr_pages = 0;       // PFN 0 .. nr_pages-1, all managed
  unsigned pageblock_order = 9;  // 9: x86-64, arm64/4K; 10: 32-bit ARM without huge pages
  unsigned max_order = 10;     // highest buddy order, inclusive (MAX_ORDER-1 before 6.4)
  unsigned nr_cpus = 1;
  // Pageblocks that start as MIGRATE_CMA (init_cma_reserved_pageblock());
  // pageblock aligned. Areas are the CMA layer's business, not the zone's.
  std::vector<PfnRange> cma_ranges;
  // 0: calculate_min_free_kbytes() from the zone size.
  int min_free_kbytes = 0;
  int watermark_scale_factor = 10;    // /proc/sys/vm/watermark_scale_factor
  int watermark_boost_factor = 15000; // /proc/sys/vm/watermark_boost_factor (5.0+)
  bool thp = true;  // CONFIG_TRANSPARENT_HUGEPAGE: pageblock_order pages on pcp lists (5.13+)
  MmRules rules;
};

// What a page is used for. Only block heads are not kTail.
enum class PageUse : uint8_t { kTail = 0, kBuddy = 1, kPcp = 2, kAllocated = 3 };

struct PageView {
  PageUse use = PageUse::kTail;
  uint8_t order = 0;
  // kBuddy: the free list it is on; kPcp: the migratetype it will be freed
  // to (get_pcppage_migratetype()); kAllocated: the migratetype it was
  // allocated with (ac->migratetype).
  MigrateType migratetype = MigrateType::kUnmovable;
  uint8_t kind = 0;
  uint32_t aux = 0;
};

struct Counters {
  uint64_t page_events = 0;       // see the header comment
  uint64_t buddy_list_ops = 0;    // part of page_events
  uint64_t pcp_list_ops = 0;      // part of page_events
  uint64_t splits = 0;            // expand() halvings
  uint64_t merges = 0;            // __free_one_page() merge steps
  uint64_t fallbacks = 0;         // __rmqueue_fallback() steals (mm_page_alloc_extfrag)
  uint64_t pageblocks_claimed = 0;  // steals that changed a pageblock's type
  uint64_t pcp_refills = 0;       // rmqueue_bulk() calls from the pcp path
  uint64_t pcp_drains = 0;        // free_pcppages_bulk() calls
  uint64_t pfns_scanned = 0;      // PFNs walked by move_freepages()/has_unmovable_pages()/test_pages_isolated()
  uint64_t allocs = 0;            // successful rmqueue()
  uint64_t alloc_failures = 0;    // rmqueue() returning NULL or get_page_from_freelist() refusing
  uint64_t frees = 0;             // FreePages() calls
};

class Zone {
 public:
  // Validates the config (InvalidArgument naming the field), then frees
  // every page to the buddy allocator in pageblock-sized pieces in PFN order
  // (__free_pages_core(), FPI_TO_TAIL) so the lists start sorted.
  static StatusOr<Zone> Create(const ZoneConfig& config);

  // --- Allocation and freeing (mm/page_alloc.c). REQUIRES for all:
  // order <= max_order, migratetype is UNMOVABLE, MOVABLE or RECLAIMABLE,
  // cpu < nr_cpus.

  // get_page_from_freelist() for this zone: zone_watermark_fast() against
  // the mark chosen by alloc_flags (unless kNoWatermarks), then rmqueue();
  // reserve_highatomic_pageblock() after an order > 0 kHarder success;
  // retries without kNoFragment. Returns the head PFN, or nullopt (expected
  // outcome, not an error). REQUIRES: the watermark bits name min, low or
  // high.
  std::optional<uint32_t> GetPageFromFreelist(unsigned order, MigrateType migratetype, uint32_t alloc_flags,
                                              unsigned cpu);
  // rmqueue(): no watermark check. Per-CPU list for pcp_allowed_order().
  std::optional<uint32_t> Rmqueue(unsigned order, MigrateType migratetype, uint32_t alloc_flags, unsigned cpu);
  // __free_pages() -> free_the_page(): pcp list or __free_pages_ok().
  // REQUIRES: pfn is the head of an allocated block of this order.
  void FreePages(uint32_t pfn, unsigned order, unsigned cpu);
  // split_page(): an allocated order-N block becomes 2^N order-0 pages
  // with the same migratetype and kind.
  void SplitPage(uint32_t pfn, unsigned order);

  // --- Per-CPU lists.
  void DrainPages(unsigned cpu);  // drain_pages_zone()
  void DrainAllPages();           // drain_all_pages(zone): every CPU with pages
  unsigned pcp_count(unsigned cpu) const;
  unsigned pcp_high() const { return pcp_high_; }
  unsigned pcp_batch() const { return pcp_batch_; }

  // --- Watermarks.
  // wmark_pages(): _watermark[w] + watermark_boost.
  uint64_t WmarkPages(Wmark w) const { return watermark_[static_cast<int>(w)] + watermark_boost_; }
  uint64_t watermark_boost() const { return watermark_boost_; }
  void ClearWatermarkBoost() { watermark_boost_ = 0; }  // what kswapd does once balanced
  int min_free_kbytes() const { return min_free_kbytes_; }
  // __zone_watermark_ok() with free = NR_FREE_PAGES.
  bool ZoneWatermarkOk(unsigned order, uint64_t mark, uint32_t alloc_flags) const;
  // __zone_watermark_ok() with a caller-given free count (compaction's
  // checks against free pages less a gap).
  bool ZoneWatermarkOk(unsigned order, uint64_t mark, uint32_t alloc_flags, long free_pages) const {
    return ZoneWatermarkOkFree(order, mark, alloc_flags, free_pages);
  }
  // find_suitable_fallback(): a fallback migratetype with a free block at
  // `order` (only_stealable: one the allocation could steal), or -1;
  // *can_steal says whether it could.
  int FindSuitableFallback(unsigned order, MigrateType mt, bool only_stealable, bool* can_steal) const;
  // zone_watermark_fast(): the order-0 short cut, then __zone_watermark_ok().
  bool ZoneWatermarkFast(unsigned order, uint64_t mark, uint32_t alloc_flags) const;

  // --- Isolation (mm/page_isolation.c) and contiguous ranges.
  // has_unmovable_pages() for the pageblock holding pfn: the first PFN
  // whose page blocks isolation, or nullopt. A CMA pageblock is movable
  // only for a CMA request. Otherwise an allocated block counts as movable
  // when it was allocated MOVABLE (on the LRU or __PageMovable in the
  // kernel, pinned pages included: migration finds those later); free,
  // per-CPU (refcount 0) and tail pages pass.
  std::optional<uint32_t> HasUnmovablePages(uint32_t pfn, MigrateType migratetype) const;
  // set_migratetype_isolate(): false (-EBUSY) if already isolated or
  // has_unmovable_pages(); else the block becomes ISOLATE and its free
  // pages move to the ISOLATE lists and out of NR_FREE_PAGES.
  bool SetMigratetypeIsolate(uint32_t pfn, MigrateType migratetype);
  // unset_migratetype_isolate(): back to `migratetype` (the caller's, as in
  // the kernel), free pages back onto its lists (merging a free
  // >= pageblock_order page with its buddy via __isolate_free_page()).
  void UnsetMigratetypeIsolate(uint32_t pfn, MigrateType migratetype);
  // start_isolate_page_range() / undo_isolate_page_range().
  // REQUIRES: start and end pageblock aligned.
  bool StartIsolatePageRange(uint32_t start, uint32_t end, MigrateType migratetype);
  void UndoIsolatePageRange(uint32_t start, uint32_t end, MigrateType migratetype);
  // test_pages_isolated(): every pageblock of [start, end) is ISOLATE and
  // every page is in a free buddy block (pcp pages fail: drain first).
  bool TestPagesIsolated(uint32_t start, uint32_t end);
  // isolate_freepages_range() (strict): takes every free block of
  // [start, end) out of the buddy (__isolate_free_page(), which checks the
  // min watermark outside ISOLATE blocks) and splits them into allocated
  // order-0 pages (split_map_pages()), recorded UNMOVABLE. Returns the end
  // of the last block taken (may pass `end`), or nullopt with nothing taken
  // if some page is not free or a watermark check fails.
  std::optional<uint32_t> IsolateFreepagesRange(uint32_t start, uint32_t end);
  // __isolate_free_page(): 0 if the min-watermark check fails, else the
  // block leaves the free lists (allocated, unsplit) and 2^order is returned.
  // REQUIRES: pfn heads a free block of this order.
  uint64_t IsolateFreePage(uint32_t pfn, unsigned order);
  // split_free_page() (5.19+, for isolate_single_pageblock()): the free
  // block at `head` of `order` leaves its list and is freed again as the
  // largest aligned pieces that do not cross head + split_offset, each to
  // its own pageblock's type (the merge guard keeps an isolated piece
  // apart). REQUIRES: head heads a free block of `order`, 0 < split_offset
  // < 2^order.
  void SplitFreePage(uint32_t head, unsigned order, uint32_t split_offset);
  // free_contig_range(): frees each page as order 0 through FreePages().
  // REQUIRES: every page of the range is an allocated order-0 page.
  void FreeContigRange(uint32_t pfn, uint32_t nr_pages, unsigned cpu);

  // --- State.
  const ZoneConfig& config() const { return config_; }
  const MmRules& rules() const { return config_.rules; }
  uint32_t nr_pages() const { return config_.nr_pages; }
  uint32_t pageblock_nr_pages() const { return 1u << config_.pageblock_order; }
  uint64_t nr_free_pages() const { return nr_free_pages_; }          // NR_FREE_PAGES
  uint64_t nr_free_cma_pages() const { return nr_free_cma_pages_; }  // NR_FREE_CMA_PAGES
  uint64_t nr_reserved_highatomic() const { return nr_reserved_highatomic_; }
  uint64_t nr_isolate_pageblock() const { return nr_isolate_pageblock_; }
  bool mobility_disabled() const { return page_group_by_mobility_disabled_; }
  uint64_t nr_free(unsigned order) const { return nr_free_[order]; }  // free_area[order].nr_free
  uint32_t free_list_length(unsigned order, MigrateType mt) const { return FreeList(order, mt).count; }
  // The free list's head PFNs from head to tail (for tests and reports).
  std::vector<uint32_t> FreeListPfns(unsigned order, MigrateType mt) const;
  MigrateType PageblockMigratetype(uint32_t pfn) const {
    return static_cast<MigrateType>(block_mt_[pfn >> config_.pageblock_order]);
  }
  PageView Page(uint32_t pfn) const;
  // The head PFN of the block (free, pcp or allocated) that holds pfn.
  uint32_t BlockHead(uint32_t pfn) const;
  // Caller-owned per-page fields (page states of later layers); the core
  // never reads them and never clears them.
  void SetKind(uint32_t pfn, uint8_t kind) { pages_[pfn].kind = kind; }
  // The migratetype an allocated block counts as (PageView::migratetype):
  // a page that received a movable page's content by migration is movable
  // (on the LRU) whatever it was taken as. REQUIRES: pfn heads an allocated block.
  void SetAllocatedMigratetype(uint32_t pfn, MigrateType mt);
  void SetAux(uint32_t pfn, uint32_t aux) { pages_[pfn].aux = aux; }

  const Counters& counters() const { return counters_; }
  void ResetCounters() { counters_ = {}; }
  // Bytes of state this Zone allocated (its own accounting), and per page.
  uint64_t MemoryBytes() const;
  double BytesPerPage() const { return static_cast<double>(MemoryBytes()) / config_.nr_pages; }

  // Walks everything: each PFN in exactly one block (free, pcp or
  // allocated), list links and counts, NR_FREE_PAGES and NR_FREE_CMA_PAGES
  // against the lists and the pageblocks. Internal naming the first
  // violation. O(nr_pages): for tests.
  Status CheckInvariants() const;

 private:
  static constexpr uint32_t kNil = 0xffffffffu;
  static constexpr int kMaxPcpLists = kPcpTypes * (kPageAllocCostlyOrder + 1) + 1;  // NR_PCP_LISTS with THP

  struct PageState {
    uint32_t next = kNil;  // free/pcp list links
    uint32_t prev = kNil;
    uint32_t aux = 0;
    uint8_t order = 0;
    uint8_t use = 0;  // PageUse
    uint8_t mt = 0;   // see PageView::migratetype
    uint8_t kind = 0;
  };
  static_assert(sizeof(PageState) == 16, "the family's budget is 32 bytes per page, the core's 16");

  struct List {
    uint32_t head = kNil;
    uint32_t tail = kNil;
    uint32_t count = 0;
  };
  struct Pcp {
    std::array<List, kMaxPcpLists> lists{};
    int count = 0;  // pages
    int free_factor = 0;
  };

  explicit Zone(const ZoneConfig& config);

  List& FreeList(unsigned order, MigrateType mt) { return free_lists_[order * kMigrateTypes + static_cast<int>(mt)]; }
  const List& FreeList(unsigned order, MigrateType mt) const {
    return free_lists_[order * kMigrateTypes + static_cast<int>(mt)];
  }
  void ListAdd(List& l, uint32_t pfn);
  void ListAddTail(List& l, uint32_t pfn);
  void ListDel(List& l, uint32_t pfn);

  void AddToFreeList(uint32_t pfn, unsigned order, MigrateType mt, bool tail);
  void DelFromFreeList(uint32_t pfn, unsigned order);
  void MoveToFreeList(uint32_t pfn, unsigned order, MigrateType mt);
  void ModFreepageState(int64_t nr, MigrateType mt);
  void SetPageblockMigratetype(uint32_t pfn, MigrateType mt);
  bool IsBuddy(uint32_t pfn, unsigned order) const {
    return pfn < config_.nr_pages && pages_[pfn].use == static_cast<uint8_t>(PageUse::kBuddy) &&
           pages_[pfn].order == order;
  }

  void FreeOnePage(uint32_t pfn, unsigned order, MigrateType mt, bool to_tail);  // __free_one_page()
  void Expand(uint32_t pfn, unsigned low, unsigned high, MigrateType mt);
  std::optional<uint32_t> RmqueueSmallest(unsigned order, MigrateType mt);
  bool CanStealFallback(unsigned order, MigrateType start_mt) const;
  bool BoostWatermark();
  void StealSuitableFallback(uint32_t pfn, MigrateType start_type, bool whole_block);
  uint32_t MoveFreepagesBlock(uint32_t pfn, MigrateType mt, uint32_t* num_movable);
  bool RmqueueFallback(unsigned order, MigrateType start_mt, uint32_t alloc_flags);
  std::optional<uint32_t> RmqueueInner(unsigned order, MigrateType mt, uint32_t alloc_flags);  // __rmqueue()
  std::optional<uint32_t> RmqueueBuddy(unsigned order, MigrateType mt, uint32_t alloc_flags);
  std::optional<uint32_t> RmqueueImpl(unsigned order, MigrateType mt, uint32_t alloc_flags, unsigned cpu);
  std::optional<uint32_t> RmqueuePcplist(unsigned order, MigrateType mt, uint32_t alloc_flags, unsigned cpu);
  int RmqueueBulk(unsigned order, int count, List& list, MigrateType mt, uint32_t alloc_flags);
  void FreeUnrefPage(uint32_t pfn, unsigned order, unsigned cpu);
  void FreePcppagesBulk(unsigned cpu, int count, int pindex);
  int NrPcpFree(Pcp& pcp, int high, int batch, bool free_high) const;
  void ReserveHighatomicPageblock(uint32_t pfn);
  void MarkAllocated(uint32_t pfn, unsigned order, MigrateType mt);

  bool PcpAllowedOrder(unsigned order) const;
  int OrderToPindex(MigrateType mt, unsigned order) const;
  unsigned PindexToOrder(int pindex) const;
  int NrPcpLists() const;
  long WatermarkUnusableFree(unsigned order, uint32_t alloc_flags) const;
  bool ZoneWatermarkOkFree(unsigned order, uint64_t mark, uint32_t alloc_flags, long free_pages) const;

  ZoneConfig config_;
  std::vector<PageState> pages_;
  std::vector<uint8_t> block_mt_;  // per pageblock (pageblock_flags)
  std::vector<List> free_lists_;   // (max_order + 1) x kMigrateTypes
  std::vector<uint64_t> nr_free_;  // per order
  std::vector<Pcp> pcps_;          // per CPU
  uint64_t nr_free_pages_ = 0;
  uint64_t nr_free_cma_pages_ = 0;
  uint64_t nr_reserved_highatomic_ = 0;
  uint64_t nr_isolate_pageblock_ = 0;
  uint64_t watermark_[3] = {0, 0, 0};
  uint64_t watermark_boost_ = 0;
  int min_free_kbytes_ = 0;
  unsigned pcp_high_ = 0;
  unsigned pcp_batch_ = 1;
  bool page_group_by_mobility_disabled_ = false;
  mutable Counters counters_;  // queries count the PFNs they scan
};

}  // namespace kreplay::mm
