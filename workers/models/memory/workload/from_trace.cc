#include "workers/models/memory/workload/from_trace.h"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "services/memtrace/ftrace_text.h"
#include "services/memtrace/mm_events.h"
#include "services/textio/source.h"

namespace kreplay::memory {
namespace {

using memtrace::MmEvent;
using memtrace::MmEventType;

class Builder {
 public:
  explicit Builder(MmTraceSummary* s) : s_(*s) {}

  void Add(const MmEvent& ev) {
    if (!t0_) t0_ = ev.ts_ns;
    sim::Time t = ev.ts_ns - *t0_;
    if (t < last_) {
      ++s_.clamped_times;
      t = last_;
    }
    last_ = t;
    switch (ev.type) {
      case MmEventType::kCmaAllocStart: {
        const size_t i = Open(ev, t);
        open_[ev.pid] = i;
        break;
      }
      case MmEventType::kCmaAlloc: {  // pre-5.13: the outcome only, at its end
        const size_t i = Open(ev, t);
        Close(i, ev, t, /*has_start=*/false);
        break;
      }
      case MmEventType::kCmaAllocBusyRetry:
        if (auto it = open_.find(ev.pid); it != open_.end()) ++s_.outcomes[it->second].busy_retries;
        break;
      case MmEventType::kCmaAllocFinish:
        if (auto it = open_.find(ev.pid); it != open_.end()) {
          const size_t call = it->second;
          open_.erase(it);
          Close(call, ev, t, true);
          last_closed_[ev.pid] = call;
        } else {
          ++s_.unmatched_finishes;
        }
        break;
      case MmEventType::kCmaAllocInfo: {
        // Android emits it right after cma_alloc_finish.
        auto it = last_closed_.find(ev.pid);
        size_t i;
        if (it != last_closed_.end()) {
          i = it->second;
        } else {  // a trace of cma_alloc_info alone: it is the call
          i = Open(ev, t);
          Close(i, ev, t, false);
        }
        TraceCallOutcome& o = s_.outcomes[i];
        o.has_info = true;
        o.nr_migrated = ev.nr_migrated;
        o.nr_reclaimed = ev.nr_reclaimed;
        o.nr_mapped = ev.nr_mapped;
        o.err_iso = ev.err_iso;
        o.err_mig = ev.err_mig;
        o.err_test = ev.err_test;
        break;
      }
      case MmEventType::kCmaRelease: {
        ++s_.releases;
        auto it = live_.find(Key(ev.area, ev.pfn));
        if (it == live_.end()) {
          ++s_.unmatched_releases;
          break;
        }
        s_.foreground.calls[it->second.call].hold = t - it->second.finished;
        live_.erase(it);
        break;
      }
      case MmEventType::kPageAlloc:
        if (ev.failed) {
          ++s_.alloc_failures;
        } else {
          s_.pages_alloc[std::clamp(ev.migratetype, 0, 3)] += uint64_t{1} << ev.order;
        }
        break;
      case MmEventType::kPageFree: s_.pages_freed += uint64_t{1} << ev.order; break;
      case MmEventType::kPageFreeBatched: ++s_.pages_freed; break;
      case MmEventType::kPageAllocExtfrag:
        ++s_.extfrag_events;
        if (ev.change_ownership) ++s_.extfrag_ownership_changes;
        break;
      case MmEventType::kMigratePages:
        s_.migrate_succeeded += ev.succeeded;
        s_.migrate_failed += ev.failed_pages;
        s_.migrate_reasons[ev.reason] += ev.succeeded + ev.failed_pages;
        break;
      default: break;  // pcp drains, zone-locked allocations, migrate starts: not needed
    }
  }

  void Finish() { s_.span = last_; }

 private:
  struct Live {
    size_t call;
    sim::Time finished;
  };
  static std::string Key(const std::string& area, uint64_t pfn) { return area + "@" + std::to_string(pfn); }

  uint16_t AreaIndex(const std::string& name) {
    auto& areas = s_.foreground.areas;
    for (size_t i = 0; i < areas.size(); ++i)
      if (areas[i] == name) return static_cast<uint16_t>(i);
    areas.push_back(name);
    return static_cast<uint16_t>(areas.size() - 1);
  }

  size_t Open(const MmEvent& ev, sim::Time t) {
    ContigCall c;
    c.at = t;
    c.pages = ev.count;
    c.align = ev.align;
    c.area = AreaIndex(ev.area);
    s_.foreground.calls.push_back(c);
    s_.outcomes.emplace_back();
    return s_.outcomes.size() - 1;
  }

  void Close(size_t i, const MmEvent& ev, sim::Time t, bool has_start) {
    TraceCallOutcome& o = s_.outcomes[i];
    o.finished = true;
    o.ok = !ev.failed;
    o.errorno = ev.errorno;
    if (has_start) o.latency = t - s_.foreground.calls[i].at;
    if (o.ok) {
      o.pfn = ev.pfn;
      live_[Key(ev.area, ev.pfn)] = Live{i, t};
    }
  }

  MmTraceSummary& s_;
  std::optional<int64_t> t0_;
  sim::Time last_ = 0;
  std::unordered_map<int64_t, size_t> open_, last_closed_;
  std::unordered_map<std::string, Live> live_;
};

StatusOr<MmTraceSummary> Read(memtrace::MmTraceReader& reader, const std::string& path, uint64_t max_events) {
  MmTraceSummary s;
  s.path = path;
  Builder b(&s);
  MmEvent ev;
  while (max_events == 0 || s.events < max_events) {
    KREPLAY_ASSIGN_OR_RETURN(bool more, reader.Next(&ev));
    if (!more) break;
    ++s.events;
    b.Add(ev);
  }
  b.Finish();
  s.lines = reader.stats().lines;
  s.other_events = reader.stats().other_events;
  return s;
}

template <typename... Args>
void Appendf(std::string& out, const char* fmt, Args... args) {
  char buf[512];
  std::snprintf(buf, sizeof buf, fmt, args...);
  out += buf;
}

}  // namespace

double MmTraceSummary::PagesAllocPerSec(int mt) const {
  return span > 0 ? static_cast<double>(pages_alloc[mt]) * 1e9 / static_cast<double>(span) : 0;
}
double MmTraceSummary::PagesFreedPerSec() const {
  return span > 0 ? static_cast<double>(pages_freed) * 1e9 / static_cast<double>(span) : 0;
}

StatusOr<MmTraceSummary> ReadMmTrace(const std::string& path, uint64_t max_events) {
  KREPLAY_ASSIGN_OR_RETURN(auto reader, memtrace::MmTraceReader::Open(path));
  return Read(*reader, path, max_events);
}

StatusOr<MmTraceSummary> ReadMmTraceSource(std::unique_ptr<textio::ByteSource> src, const std::string& name,
                                           uint64_t max_events) {
  auto reader = memtrace::MmTraceReader::FromSource(std::move(src), name);
  return Read(*reader, name, max_events);
}

bool LooksLikeMmTrace(std::string_view head) {
  // Any event line this reader takes, in ftrace text; other tracepoints'
  // lines are skipped by the reader but do not make a file ours.
  size_t pos = 0;
  while (pos < head.size()) {
    size_t end = head.find('\n', pos);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view line = head.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line.front() == '#') continue;
    memtrace::FtraceLine fl;
    auto kind = memtrace::ParseFtraceLine(line, &fl);
    if (!kind.ok() || *kind != memtrace::LineKind::kEvent) continue;
    auto ev = memtrace::DecodeMmEvent(fl);
    if (ev.ok() && ev->has_value()) return true;
  }
  return false;
}

StatusOr<MmTraceSummary> ReadMmTraceText(std::string text, const std::string& name, uint64_t max_events) {
  auto reader = memtrace::MmTraceReader::FromString(std::move(text), name);
  return Read(*reader, name, max_events);
}

std::string FormatMmTraceSummary(const MmTraceSummary& s) {
  std::string out;
  Appendf(out, "memory trace %s: %llu events over %.3f s (%llu lines, %llu other events skipped)\n", s.path.c_str(),
          static_cast<unsigned long long>(s.events), static_cast<double>(s.span) / 1e9,
          static_cast<unsigned long long>(s.lines), static_cast<unsigned long long>(s.other_events));
  if (s.clamped_times)
    Appendf(out, "  %llu timestamps went backwards (CPUs interleaved) and were clamped\n",
            static_cast<unsigned long long>(s.clamped_times));
  const auto& calls = s.foreground.calls;
  uint64_t ok = 0, failed = 0, open = 0, retries = 0, pages_ok = 0;
  std::vector<sim::Duration> lat;
  std::map<uint64_t, uint64_t> sizes;
  for (size_t i = 0; i < calls.size(); ++i) {
    const TraceCallOutcome& o = s.outcomes[i];
    ++sizes[calls[i].pages];
    retries += o.busy_retries;
    if (!o.finished) {
      ++open;
    } else if (o.ok) {
      ++ok;
      pages_ok += calls[i].pages;
    } else {
      ++failed;
    }
    if (o.latency >= 0) lat.push_back(o.latency);
  }
  Appendf(out, "contiguous allocations: %zu cma_alloc calls, %llu succeeded (%llu pages), %llu failed, %llu unfinished, %llu busy retries\n",
          calls.size(), static_cast<unsigned long long>(ok), static_cast<unsigned long long>(pages_ok),
          static_cast<unsigned long long>(failed), static_cast<unsigned long long>(open),
          static_cast<unsigned long long>(retries));
  if (!calls.empty()) {
    out += "  areas:";
    for (const auto& a : s.foreground.areas) out += " " + (a.empty() ? std::string("(unnamed, before 5.13)") : a);
    out += "\n  sizes (pages x calls):";
    for (auto [p, n] : sizes) Appendf(out, " %llux%llu", static_cast<unsigned long long>(p), static_cast<unsigned long long>(n));
    out += "\n";
  }
  if (!lat.empty()) {
    std::sort(lat.begin(), lat.end());
    auto q = [&](double f) { return static_cast<double>(lat[std::min(lat.size() - 1, static_cast<size_t>(f * static_cast<double>(lat.size())))]) / 1e3; };
    Appendf(out, "  latency (start to finish): p50 %.1f us, p99 %.1f us, max %.1f us over %zu calls\n", q(0.5), q(0.99),
            static_cast<double>(lat.back()) / 1e3, lat.size());
  }
  Appendf(out, "  releases: %llu (%llu without a matching allocation)\n", static_cast<unsigned long long>(s.releases),
          static_cast<unsigned long long>(s.unmatched_releases));
  Appendf(out, "background page rates (kmem:mm_page_alloc/free, pages/s): unmovable %.0f, movable %.0f, reclaimable %.0f, high-atomic %.0f; freed %.0f; %llu failed allocations\n",
          s.PagesAllocPerSec(0), s.PagesAllocPerSec(1), s.PagesAllocPerSec(2), s.PagesAllocPerSec(3),
          s.PagesFreedPerSec(), static_cast<unsigned long long>(s.alloc_failures));
  Appendf(out, "  fragmentation: %llu fallback allocations (mm_page_alloc_extfrag), %llu took a pageblock over\n",
          static_cast<unsigned long long>(s.extfrag_events), static_cast<unsigned long long>(s.extfrag_ownership_changes));
  if (s.migrate_succeeded + s.migrate_failed > 0) {
    Appendf(out, "  migration (mm_migrate_pages): %llu pages moved, %llu failed; by reason:",
            static_cast<unsigned long long>(s.migrate_succeeded), static_cast<unsigned long long>(s.migrate_failed));
    for (const auto& [r, n] : s.migrate_reasons) Appendf(out, " %s %llu", r.c_str(), static_cast<unsigned long long>(n));
    out += "\n";
  }
  return out;
}

std::string MmTraceSummaryJson(const MmTraceSummary& s) {
  nlohmann::ordered_json j;
  j["path"] = s.path;
  j["events"] = s.events;
  j["lines"] = s.lines;
  j["other_events"] = s.other_events;
  j["span_ns"] = s.span;
  j["clamped_times"] = s.clamped_times;
  j["areas"] = s.foreground.areas;
  nlohmann::ordered_json calls = nlohmann::ordered_json::array();
  for (size_t i = 0; i < s.foreground.calls.size(); ++i) {
    const ContigCall& c = s.foreground.calls[i];
    const TraceCallOutcome& o = s.outcomes[i];
    nlohmann::ordered_json x;
    x["at_ns"] = c.at;
    x["pages"] = c.pages;
    x["align"] = c.align;
    x["area"] = s.foreground.areas[c.area];
    x["finished"] = o.finished;
    x["ok"] = o.ok;
    x["latency_ns"] = o.latency;
    x["hold_ns"] = c.hold;
    x["busy_retries"] = o.busy_retries;
    if (o.errorno) x["errorno"] = *o.errorno;
    calls.push_back(std::move(x));
  }
  j["calls"] = std::move(calls);
  j["releases"] = s.releases;
  j["unmatched_releases"] = s.unmatched_releases;
  j["pages_alloc_per_s"] = {{"unmovable", s.PagesAllocPerSec(0)}, {"movable", s.PagesAllocPerSec(1)},
                            {"reclaimable", s.PagesAllocPerSec(2)}, {"highatomic", s.PagesAllocPerSec(3)}};
  j["pages_freed_per_s"] = s.PagesFreedPerSec();
  j["alloc_failures"] = s.alloc_failures;
  j["extfrag_events"] = s.extfrag_events;
  j["extfrag_ownership_changes"] = s.extfrag_ownership_changes;
  j["migrate_succeeded"] = s.migrate_succeeded;
  j["migrate_failed"] = s.migrate_failed;
  j["migrate_reasons"] = s.migrate_reasons;
  return j.dump(2) + "\n";
}

}  // namespace kreplay::memory
