// GCMA's cleancache side (models/mem_sim.h, memory.gcma): a reservation
// outside the buddy allocator whose pages, while no contiguous buffer holds
// them, keep clean page-cache pages the background evicts (the cleancache
// interface GCMA plugs into, mm/cleancache.c until 5.17). A clock over the
// reservation's pages replaces the oldest entry when it is full; an
// allocation discards the cached pages of its range (no migration: the
// cache is a copy). Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "workers/models/memory/cma/cma_bitmap.h"
#include "workers/models/memory/load/background.h"

namespace kreplay::memory {

// A reservation outside the zone (carve-out, GCMA): its bitmap, placed in
// PFNs above the zone's.
struct Reservation {
  std::string name;
  CmaBitmap bitmap;
};

class GcmaCache final : public CleanCache {
 public:
  // The reservations' bitmaps say which pages buffers hold (not cacheable).
  // `areas` must outlive the cache.
  explicit GcmaCache(const std::vector<Reservation>* areas);

  // cleancache_put_page(): keep file page `fidx` in a free reserved page,
  // the clock's next one that no buffer holds (replacing what it held);
  // nothing when every reserved page is held by buffers.
  void Put(uint32_t fidx, sim::Time now) override;
  // cleancache_get_page(): whether `fidx` is cached (it stays cached).
  bool Get(uint32_t fidx, sim::Time now) override;
  // Discards the cached pages of pages [first, first + n) of area `a`
  // (an allocation took them); returns how many were cached.
  uint64_t Discard(size_t a, uint64_t first, uint64_t n);

  uint64_t puts() const { return puts_; }
  uint64_t stored() const { return stored_; }
  uint64_t hits() const { return hits_; }
  uint64_t cached() const { return where_.size(); }

 private:
  bool Allocated(uint32_t slot) const;
  bool AllHeld() const;

  const std::vector<Reservation>& areas_;
  std::vector<uint32_t> base_;   // first slot of each area
  std::vector<uint32_t> slots_;  // per reserved page: the cached file page, or kNone
  std::unordered_map<uint32_t, uint32_t> where_;  // file page -> slot
  uint32_t hand_ = 0;
  uint64_t puts_ = 0, stored_ = 0, hits_ = 0;
};

}  // namespace kreplay::memory
