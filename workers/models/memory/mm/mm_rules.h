// Kernel-version-dependent rules of the physical-memory core (mm/page_alloc.c,
// mm/page_isolation.c), as data: MmRulesFor("6.1") says which variant of
// each rule the Zone follows. Everything the releases share is plain code in
// zone.cc.
//
// Sources. The 6.1 rules were read from a 6.1-era mm/page_alloc.c (pcp
// spinlock helpers, MAX_ORDER exclusive, split_free_page() present) and a
// 5.18-era mm/page_isolation.c. Release boundaries marked "verified" were
// checked against mailing-list history; the others are from the commit
// history as we remember it and are flagged "unverified" so nobody builds
// on them blindly.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "services/core/status.h"

namespace kreplay::mm {

// enum migratetype (include/linux/mmzone.h), CONFIG_CMA and
// CONFIG_MEMORY_ISOLATION on: MIGRATE_TYPES == 6.
enum class MigrateType : uint8_t {
  kUnmovable = 0,
  kMovable = 1,
  kReclaimable = 2,
  kHighAtomic = 3,  // == MIGRATE_PCPTYPES
  kCma = 4,
  kIsolate = 5,
};
inline constexpr int kMigrateTypes = 6;
inline constexpr int kPcpTypes = 3;  // MIGRATE_PCPTYPES
const char* MigrateTypeName(MigrateType mt);

// migratetype_is_mergeable() (5.18+): only the three PCP types may merge
// with a pageblock of another type at or above pageblock_order.
constexpr bool MigratetypeIsMergeable(MigrateType mt) { return static_cast<int>(mt) < kPcpTypes; }

struct MmRules {
  int major = 6;
  int minor = 1;

  // __rmqueue(): a movable (ALLOC_CMA) allocation takes CMA pages first when
  // NR_FREE_CMA_PAGES > NR_FREE_PAGES / 2. 5.7+ (commit 16867664936e,
  // REFERENCE.md section 3). Before: CMA only once the MOVABLE lists
  // (and their fallbacks' first try) are empty.
  bool cma_first = true;

  // __free_one_page() at order >= pageblock_order: 5.18+ refuses to merge
  // blocks of different types when either is not mergeable (ISOLATE, CMA,
  // HIGHATOMIC; commit 1dd214b8f21c, verified: 5.18 merge window). Before,
  // only an ISOLATE block was kept apart, and only while the zone had one.
  bool merge_guard_non_mergeable = true;

  // pcp_allowed_order(): 5.13+ keeps orders <= PAGE_ALLOC_COSTLY_ORDER (3),
  // and pageblock_order with CONFIG_TRANSPARENT_HUGEPAGE, on the per-CPU
  // lists (commit 44042b449872); before, order 0 only.
  bool pcp_high_order = true;

  // 5.14+ pcp rework (unverified release): zone_batchsize() caps batch at
  // 1 MiB of pages instead of 512 KiB, zone_highsize() sets high from the
  // low watermark split over the CPUs (at least 4 * batch) instead of
  // 6 * batch, nr_pcp_free() scales the drain with free_factor.
  bool pcp_scaled = true;

  // free_unref_page_commit(): a high-order free while free_factor > 0
  // drains the whole list (free_high). In 6.1 (verified); introduced in
  // 5.19 (unverified).
  bool pcp_free_high = true;

  // calculate_min_free_kbytes() clamp: [128, 262144] KiB in 6.1 (verified);
  // [128, 65536] before 5.8 (unverified release). Only matters above
  // 256 GiB of lowmem.
  int min_free_kbytes_max = 262144;

  std::string ToString() const { return std::to_string(major) + "." + std::to_string(minor); }
  bool AtLeast(int ma, int mi) const { return major != ma ? major > ma : minor >= mi; }
};

// The releases modelled: 5.4 (oldest with every rule's pre-change variant
// known) .. 6.2. 6.3 split ALLOC_HARDER into ALLOC_NON_BLOCK /
// ALLOC_MIN_RESERVE / ALLOC_HIGHATOMIC and 6.7 auto-tunes pcp->high; neither
// is modelled, so later releases are refused rather than silently wrong.
inline constexpr int kOldestMajor = 5, kOldestMinor = 4;
inline constexpr int kNewestMajor = 6, kNewestMinor = 2;

// "MAJOR.MINOR" (a leading 'v' accepted) -> the rules of that release.
// InvalidArgument naming the text for malformed or unmodelled releases.
StatusOr<MmRules> MmRulesFor(std::string_view version);

}  // namespace kreplay::mm
