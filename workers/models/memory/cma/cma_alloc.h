// cma_alloc() and cma_release() over CMA areas (mm/cma.c, 6.1), and the
// Android common kernel's retrying cma_alloc(). A call is a small state
// machine the model steps with the simulator, because it waits: for the
// global cma_mutex another call holds, and (Android) in 100 ms sleeps while
// the rest of the system runs on. Each alloc_contig_range() attempt is one
// step (contig.h).
//
// Mainline cma_alloc(): under cma->lock find the next aligned free range
// in the area's bitmap (bitmap_find_next_zero_area_off()) and mark it;
// under cma_mutex call alloc_contig_range(); on success done; on failure
// clear the bits; on -EBUSY trace cma_alloc_busy_retry and search again
// from bitmap_no + mask + 1; any other error, or no range left, fails.
// The alignment is capped at CONFIG_CMA_ALIGNMENT (8, the default).
//
// Android (the common kernel's "ANDROID: mm: cma: retry allocations in
// cma_alloc", 2020): when the search runs off the end and the last attempt
// failed with -EBUSY, up to max_retries times (5 in the common kernel;
// vendor trees raise it): start over from bit 0 after
// schedule_timeout_killable(msecs_to_jiffies(100)); a fatal signal or
// __GFP_NORETRY ends it instead.
//
// A caller's deadline stands for the fatal signal it would get: checked in
// the migration loop (contig.h) and before Android's sleep.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "services/core/status.h"
#include "workers/models/memory/cma/cma_bitmap.h"
#include "workers/models/memory/cma/contig.h"

namespace kreplay::memory {

inline constexpr unsigned kCmaAlignmentMax = 8;  // CONFIG_CMA_ALIGNMENT default

// One area (struct cma) and its /sys/kernel/mm/cma/<name>/ counters.
struct CmaAreaState {
  std::string name;
  CmaBitmap bitmap;
  uint64_t alloc_pages_success = 0;
  uint64_t alloc_pages_fail = 0;

  uint32_t base_pfn() const { return bitmap.base_pfn(); }
  uint64_t count() const { return bitmap.count(); }
};

// Places a profile's areas at the top of a zone of `zone_pages`, highest
// first, each aligned to `granule` pages (CMA_MIN_ALIGNMENT_PAGES; the
// kernel reserves areas top-down in memblock). InvalidArgument naming the
// area if they do not fit or an area is not a multiple of the granule.
StatusOr<std::vector<CmaAreaState>> PlaceCmaAreas(const std::vector<CmaArea>& areas, uint64_t zone_pages,
                                                  uint32_t granule);

struct CmaVariant {
  bool android_retries = false;           // the ACK's full-area retries
  int max_retries = 5;                    // Android: sweeps after the first
  sim::Duration retry_sleep = 100 * sim::kMs;
};

enum class CmaFailure : uint8_t {
  kNone = 0,
  kNoRange,    // no free aligned range in the bitmap at all
  kUnmovable,  // the last attempt met an unmovable page at isolation
  kPinned,     // ... a page held by a reference
  kBusy,       // ... another -EBUSY
  kNoMemory,   // no migration target (-ENOMEM)
  kTimeout,    // the caller's deadline passed (a fatal signal)
};
const char* CmaFailureName(CmaFailure f);

// The global cma_mutex: alloc_contig_range() calls do not overlap.
struct CmaMutex {
  sim::Time free_at = 0;
};

struct CmaAllocRequest {
  uint64_t count = 0;   // pages
  unsigned align = 0;   // order; capped at kCmaAlignmentMax
  unsigned cpu = 0;
  sim::Time deadline = sim::kTimeMax;
};

class CmaAllocation {
 public:
  CmaAllocation(CmaAreaState* area, const CmaAllocRequest& req, const CmaVariant& variant, sim::Time start);

  // Runs from `now` (the time the previous Step asked for) until the call
  // waits or returns. Returns when to step again, nullopt once done.
  std::optional<sim::Time> Step(const ContigEnv& env, CmaMutex& mutex, sim::Time now, ContigStats* stats);

  bool done() const { return state_ == State::kDone; }
  bool ok() const { return done() && pfn_.has_value(); }
  std::optional<uint32_t> pfn() const { return pfn_; }
  CmaFailure failure() const { return failure_; }
  sim::Time start() const { return start_; }
  sim::Time finished_at() const { return finished_at_; }
  uint32_t busy_retries() const { return busy_retries_; }  // cma_alloc_busy_retry events
  uint32_t sweeps() const { return sweeps_; }              // Android restarts
  uint32_t attempts() const { return attempts_; }
  uint32_t last_candidate_pfn() const { return last_pfn_; }  // of the last alloc_contig_range() attempt
  const CmaAllocRequest& request() const { return req_; }

 private:
  enum class State { kSearch, kAttempt, kDone };
  std::optional<sim::Time> Done(bool ok, CmaFailure f, sim::Time at);

  CmaAreaState* area_;
  CmaAllocRequest req_;
  CmaVariant variant_;
  sim::Time start_;
  State state_ = State::kSearch;
  uint64_t mask_ = 0, offset_ = 0, bitmap_count_ = 0;
  uint64_t search_from_ = 0;
  uint64_t bitmap_no_ = 0;
  CmaFailure last_ = CmaFailure::kNoRange;  // the kernel's `ret` for the retry test
  std::optional<uint32_t> pfn_;
  CmaFailure failure_ = CmaFailure::kNone;
  sim::Time finished_at_ = 0;
  uint32_t busy_retries_ = 0, sweeps_ = 0, attempts_ = 0;
  uint32_t last_pfn_ = 0;
};

// cma_release(): frees the pages (free_contig_range()) and clears the bits.
// REQUIRES: [pfn, pfn + count) is a live allocation of the area.
void CmaRelease(mm::Zone& zone, CmaAreaState& area, uint32_t pfn, uint64_t count, unsigned cpu);

}  // namespace kreplay::memory
