#include "workers/models/memory/state/page_state.h"

#include <cmath>

#include "services/sim/rng.h"

namespace kreplay::memory {

const char* PageKindName(PageKind k) {
  switch (k) {
    case PageKind::kUnused: return "unused";
    case PageKind::kAnon: return "anon";
    case PageKind::kFileClean: return "file_clean";
    case PageKind::kFileDirty: return "file_dirty";
    case PageKind::kFileWriteback: return "file_writeback";
    case PageKind::kSlabReclaimable: return "slab_reclaimable";
    case PageKind::kKernel: return "kernel";
    case PageKind::kPinned: return "pinned";
  }
  return "?";
}

mm::MigrateType KindMigratetype(PageKind k) {
  switch (k) {
    case PageKind::kSlabReclaimable: return mm::MigrateType::kReclaimable;
    case PageKind::kKernel: return mm::MigrateType::kUnmovable;
    default: return mm::MigrateType::kMovable;
  }
}

uint64_t StateMix::total() const {
  uint64_t t = 0;
  for (uint64_t n : pages) t += n;
  return t;
}

StatusOr<StateMix> MixFromZoneInfo(const memtrace::ZoneInfo& zi, uint64_t zone_pages) {
  if (zi.node_stats.empty()) return InvalidArgument("zoneinfo: no 'per-node stats' block");
  const auto& st = zi.node_stats.begin()->second;
  const int node = zi.node_stats.begin()->first;
  auto get = [&](const char* key) -> StatusOr<int64_t> {
    auto it = st.find(key);
    if (it == st.end()) return InvalidArgument(std::string("zoneinfo: node ") + std::to_string(node) + " has no " + key);
    return it->second;
  };
  int64_t managed = 0;
  for (const auto& z : zi.zones)
    if (z.node == node) managed += z.Get("managed");
  if (managed <= 0) return InvalidArgument("zoneinfo: node " + std::to_string(node) + " manages no pages");
  KREPLAY_ASSIGN_OR_RETURN(int64_t anon, get("nr_anon_pages"));
  KREPLAY_ASSIGN_OR_RETURN(int64_t file, get("nr_file_pages"));
  KREPLAY_ASSIGN_OR_RETURN(int64_t dirty, get("nr_dirty"));
  KREPLAY_ASSIGN_OR_RETURN(int64_t writeback, get("nr_writeback"));
  KREPLAY_ASSIGN_OR_RETURN(int64_t shmem, get("nr_shmem"));
  KREPLAY_ASSIGN_OR_RETURN(int64_t slab_r, get("nr_slab_reclaimable"));
  KREPLAY_ASSIGN_OR_RETURN(int64_t slab_u, get("nr_slab_unreclaimable"));
  KREPLAY_ASSIGN_OR_RETURN(int64_t pt, get("nr_page_table_pages"));
  KREPLAY_ASSIGN_OR_RETURN(int64_t stack_kb, get("nr_kernel_stack"));
  std::array<int64_t, kPageKinds> n{};
  n[static_cast<int>(PageKind::kAnon)] = anon + shmem;
  n[static_cast<int>(PageKind::kFileDirty)] = dirty;
  n[static_cast<int>(PageKind::kFileWriteback)] = writeback;
  n[static_cast<int>(PageKind::kFileClean)] = std::max<int64_t>(0, file - dirty - writeback - shmem);
  n[static_cast<int>(PageKind::kSlabReclaimable)] = slab_r;
  n[static_cast<int>(PageKind::kKernel)] = slab_u + pt + stack_kb / 4;
  StateMix mix;
  for (int k = 0; k < kPageKinds; ++k) {
    mix.pages[k] = static_cast<uint64_t>(std::llround(static_cast<double>(n[k]) / static_cast<double>(managed) *
                                                     static_cast<double>(zone_pages)));
  }
  return mix;
}

StatusOr<PopulateResult> Populate(mm::Zone& zone, const StateMix& mix, const PopulateOptions& o) {
  sim::Rng rng(o.seed);
  PopulateResult r;
  std::array<uint64_t, kPageKinds> left = mix.pages;
  uint64_t remaining = mix.total();
  const uint64_t total = remaining;
  // Transient pages (churn), freed in random order once the pool is large.
  struct Transient {
    uint32_t pfn;
  };
  std::vector<Transient> pool;
  const size_t pool_cap = static_cast<size_t>(std::max<uint64_t>(16, total / 16));
  auto draw_kind = [&](const std::array<uint64_t, kPageKinds>& weights, uint64_t sum) {
    uint64_t x = rng.Below(sum);
    for (int k = 0; k < kPageKinds; ++k) {
      if (x < weights[k]) return static_cast<PageKind>(k);
      x -= weights[k];
    }
    return PageKind::kAnon;
  };
  auto alloc = [&](PageKind k) -> std::optional<uint32_t> {
    mm::MigrateType mt = KindMigratetype(k);
    ++r.allocations;
    auto pfn = zone.GetPageFromFreelist(0, mt, mm::AllocFlagsCma(mt, mm::alloc::kWmarkMin), o.cpu);
    if (!pfn) ++r.failures;
    return pfn;
  };
  auto free_half_pool = [&] {
    for (size_t n = (pool.size() + 1) / 2; n > 0; --n) {  // at least one
      size_t i = rng.Below(pool.size());
      zone.FreePages(pool[i].pfn, 0, o.cpu);
      pool[i] = pool.back();
      pool.pop_back();
    }
  };
  while (remaining > 0) {
    PageKind k = draw_kind(left, remaining);
    auto pfn = alloc(k);
    if (!pfn) {
      // The transient pages go first, as reclaim would take them.
      if (!pool.empty()) {
        free_half_pool();
        continue;
      }
      // The slow path's last resorts: kswapd, woken by the boost that
      // fallback steals raised, would have reclaimed it and cleared it;
      // after a failed reclaim drain_all_pages() returns the per-CPU lists.
      if (zone.watermark_boost() > 0 || zone.pcp_count(o.cpu) > 0) {
        zone.ClearWatermarkBoost();
        zone.DrainAllPages();
        if (zone.ZoneWatermarkOk(0, zone.WmarkPages(mm::Wmark::kMin), mm::AllocFlagsCma(KindMigratetype(k), 0)))
          continue;
      }
      return FailedPrecondition("memory state: " + std::to_string(total) + " pages do not fit above the min watermark (" +
                                std::to_string(total - remaining) + " placed)");
    }
    zone.SetKind(*pfn, static_cast<uint8_t>(k));
    r.pfns[static_cast<int>(k)].push_back(*pfn);
    --left[static_cast<int>(k)];
    --remaining;
    // Churn: transient pages of kinds drawn by the whole mix.
    double c = o.churn;
    while (c > 0 && total > 0) {
      if (c < 1 && !rng.Bernoulli(c)) break;
      c -= 1;
      PageKind tk = draw_kind(mix.pages, total);
      if (auto t = alloc(tk)) pool.push_back({*t});
      if (pool.size() >= pool_cap) free_half_pool();
    }
  }
  while (!pool.empty()) {
    zone.FreePages(pool.back().pfn, 0, o.cpu);
    pool.pop_back();
  }
  return r;
}

}  // namespace kreplay::memory
