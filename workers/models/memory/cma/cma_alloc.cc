#include "workers/models/memory/cma/cma_alloc.h"

#include <algorithm>

namespace kreplay::memory {

StatusOr<std::vector<CmaAreaState>> PlaceCmaAreas(const std::vector<CmaArea>& areas, uint64_t zone_pages,
                                                  uint32_t granule) {
  std::vector<CmaAreaState> out;
  uint64_t top = zone_pages / granule * granule;
  for (size_t i = 0; i < areas.size(); ++i) {
    const CmaArea& a = areas[i];
    const std::string field = "cma_areas[" + std::to_string(i) + "] (" + a.name + ")";
    if (a.pages == 0 || a.pages % granule != 0)
      return InvalidArgument(field + ": " + std::to_string(a.pages) + " pages is not a multiple of the " +
                             std::to_string(granule) + "-page alignment CMA areas need");
    if (a.pages > top) return InvalidArgument(field + ": does not fit below the areas placed before it");
    top -= a.pages;
    out.push_back(CmaAreaState{a.name, CmaBitmap(static_cast<uint32_t>(top), a.pages, a.order_per_bit)});
  }
  return out;
}

const char* CmaFailureName(CmaFailure f) {
  switch (f) {
    case CmaFailure::kNone: return "none";
    case CmaFailure::kNoRange: return "no_range";
    case CmaFailure::kUnmovable: return "unmovable";
    case CmaFailure::kPinned: return "pinned";
    case CmaFailure::kBusy: return "busy";
    case CmaFailure::kNoMemory: return "nomem";
    case CmaFailure::kTimeout: return "timeout";
  }
  return "?";
}

namespace {
CmaFailure FromContig(ContigFailure f) {
  switch (f) {
    case ContigFailure::kNone: return CmaFailure::kNone;
    case ContigFailure::kUnmovable: return CmaFailure::kUnmovable;
    case ContigFailure::kPinned: return CmaFailure::kPinned;
    case ContigFailure::kBusy: return CmaFailure::kBusy;
    case ContigFailure::kNoMemory: return CmaFailure::kNoMemory;
    case ContigFailure::kInterrupted: return CmaFailure::kTimeout;
  }
  return CmaFailure::kBusy;
}
bool IsEbusy(CmaFailure f) {
  return f == CmaFailure::kUnmovable || f == CmaFailure::kPinned || f == CmaFailure::kBusy;
}
}  // namespace

CmaAllocation::CmaAllocation(CmaAreaState* area, const CmaAllocRequest& req, const CmaVariant& variant,
                             sim::Time start)
    : area_(area), req_(req), variant_(variant), start_(start) {
  const unsigned align = std::min(req_.align, kCmaAlignmentMax);
  mask_ = area_->bitmap.AlignedMask(align);
  offset_ = area_->bitmap.AlignedOffset(align);
  bitmap_count_ = area_->bitmap.PagesToBits(req_.count);
}

std::optional<sim::Time> CmaAllocation::Done(bool ok, CmaFailure f, sim::Time at) {
  state_ = State::kDone;
  failure_ = ok ? CmaFailure::kNone : f;
  finished_at_ = at;
  if (ok) {
    area_->alloc_pages_success += req_.count;  // cma_sysfs_account_success_pages()
  } else {
    area_->alloc_pages_fail += req_.count;
  }
  return std::nullopt;
}

std::optional<sim::Time> CmaAllocation::Step(const ContigEnv& env, CmaMutex& mutex, sim::Time now,
                                             ContigStats* stats) {
  CmaBitmap& bm = area_->bitmap;
  if (state_ == State::kDone) return std::nullopt;
  if (state_ == State::kSearch) {
    if (req_.count == 0 || bitmap_count_ > bm.MaxNo()) return Done(false, CmaFailure::kNoRange, now);
    bitmap_no_ = bm.FindNextZeroAreaOff(search_from_, bitmap_count_, mask_, offset_);
    if (bitmap_no_ >= bm.MaxNo()) {
      if (variant_.android_retries && static_cast<int>(sweeps_) < variant_.max_retries && IsEbusy(last_)) {
        if (now >= req_.deadline) return Done(false, CmaFailure::kTimeout, now);  // fatal_signal_pending()
        search_from_ = 0;
        last_ = CmaFailure::kNoRange;  // ret = -ENOMEM: not -EBUSY, and no range unless one is found
        ++sweeps_;
        return now + variant_.retry_sleep;  // schedule_timeout_killable(msecs_to_jiffies(100))
      }
      return Done(false, last_, now);
    }
    bm.Set(bitmap_no_, bitmap_count_);
    state_ = State::kAttempt;
  }
  // kAttempt: alloc_contig_range() under cma_mutex.
  if (now < mutex.free_at) return mutex.free_at;
  const uint32_t pfn = bm.PfnOf(bitmap_no_);
  ContigRequest r;
  r.start = pfn;
  r.end = pfn + static_cast<uint32_t>(req_.count);
  r.migratetype = mm::MigrateType::kCma;
  r.cpu = req_.cpu;
  r.deadline = req_.deadline;
  ++attempts_;
  last_pfn_ = pfn;
  const ContigOutcome out = AllocContigRange(env, r, now, stats);
  mutex.free_at = out.end;
  if (out.failure == ContigFailure::kNone) {
    pfn_ = pfn;
    return Done(true, CmaFailure::kNone, out.end);
  }
  bm.ClearPages(pfn, req_.count);  // cma_clear_bitmap()
  last_ = FromContig(out.failure);
  if (!IsEbusy(last_)) return Done(false, last_, out.end);
  ++busy_retries_;  // trace_cma_alloc_busy_retry()
  search_from_ = bitmap_no_ + mask_ + 1;
  state_ = State::kSearch;
  return out.end;
}

void CmaRelease(mm::Zone& zone, CmaAreaState& area, uint32_t pfn, uint64_t count, unsigned cpu) {
  zone.FreeContigRange(pfn, static_cast<uint32_t>(count), cpu);
  area.bitmap.ClearPages(pfn, count);
}

}  // namespace kreplay::memory
