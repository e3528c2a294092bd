#include "services/memtrace/mm_events.h"

#include <array>
#include <charconv>
#include <utility>

#include "services/textio/source.h"

namespace kreplay::memtrace {
namespace {

struct EventDef {
  std::string_view name;
  MmEventType type;
};
constexpr EventDef kEvents[] = {
    {"cma_alloc", MmEventType::kCmaAlloc},
    {"cma_alloc_start", MmEventType::kCmaAllocStart},
    {"cma_alloc_finish", MmEventType::kCmaAllocFinish},
    {"cma_alloc_busy_retry", MmEventType::kCmaAllocBusyRetry},
    {"cma_release", MmEventType::kCmaRelease},
    {"cma_alloc_info", MmEventType::kCmaAllocInfo},
    {"mm_page_alloc", MmEventType::kPageAlloc},
    {"mm_page_free", MmEventType::kPageFree},
    {"mm_page_free_batched", MmEventType::kPageFreeBatched},
    {"mm_page_alloc_zone_locked", MmEventType::kPageAllocZoneLocked},
    {"mm_page_pcpu_drain", MmEventType::kPagePcpuDrain},
    {"mm_page_alloc_extfrag", MmEventType::kPageAllocExtfrag},
    {"mm_migrate_pages_start", MmEventType::kMigratePagesStart},
    {"mm_migrate_pages", MmEventType::kMigratePages},
};

// "key=value" tokens separated by spaces. A value runs to the next space;
// CMA area names and gfp flag lists hold none. Fixed storage: decoded once
// per trace line, so no allocation; no event has more than kMax keys (keys
// past it, which only a future layout could add, are not seen).
class KeyValues {
 public:
  explicit KeyValues(std::string_view body) {
    while (!body.empty() && n_ < kMax) {
      size_t sp = body.find(' ');
      std::string_view tok = body.substr(0, sp);
      size_t eq = tok.find('=');
      if (eq != std::string_view::npos) {
        std::string_view v = tok.substr(eq + 1);
        if (!v.empty() && v.back() == ',') v.remove_suffix(1);  // a stray comma in some layouts
        kv_[n_++] = {tok.substr(0, eq), v};
      }
      if (sp == std::string_view::npos) break;
      body.remove_prefix(sp + 1);
    }
  }
  std::optional<std::string_view> Get(std::string_view key) const {
    for (size_t i = 0; i < n_; ++i)
      if (kv_[i].first == key) return kv_[i].second;
    return std::nullopt;
  }

 private:
  static constexpr size_t kMax = 24;
  std::array<std::pair<std::string_view, std::string_view>, kMax> kv_;
  size_t n_ = 0;
};

template <class T>
bool FromChars(std::string_view s, T* out, int base) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() && !s.empty();
}

bool HasHexPrefix(std::string_view s) { return s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'); }

// A NULL %p: "(null)" on older kernels, zeros on newer ones, "0x0" from
// libtraceevent.
bool IsNullPointer(std::string_view p) {
  if (p == "(null)" || p == "0x0" || p == "(nil)") return true;
  if (p.empty()) return false;
  for (char c : p)
    if (c != '0') return false;
  return true;
}

// -1 as an unsigned long in hex: 32- or 64-bit.
bool IsMinusOneHex(std::string_view s) {
  if (HasHexPrefix(s)) s.remove_prefix(2);
  if (s.size() != 8 && s.size() != 16) return false;
  for (char c : s)
    if (c != 'f' && c != 'F') return false;
  return true;
}

class Decoder {
 public:
  Decoder(const FtraceLine& line) : kv_(line.body), event_(line.event) {}

  Status Require(std::string_view key, std::string_view* out) const {
    auto v = kv_.Get(key);
    if (!v) return InvalidArgument(std::string(event_) + ": no '" + std::string(key) + "=' field");
    *out = *v;
    return OkStatus();
  }
  template <class T>
  Status Dec(std::string_view key, T* out) const {
    std::string_view v;
    KREPLAY_RETURN_IF_ERROR(Require(key, &v));
    if (!FromChars(v, out, 10)) return Bad(key, v);
    return OkStatus();
  }
  template <class T>
  Status OptDec(std::string_view key, T* out) const {
    if (!kv_.Get(key)) return OkStatus();
    return Dec(key, out);
  }
  // A pfn: `cma` events print %lx (hex, "0x" from 5.14), kmem ones %lu
  // (decimal) before 5.14 and 0x%lx after.
  Status Pfn(bool cma, uint64_t* out, bool* minus_one) const {
    std::string_view v;
    KREPLAY_RETURN_IF_ERROR(Require("pfn", &v));
    *minus_one = IsMinusOneHex(v) && (cma || HasHexPrefix(v));
    if (*minus_one) return OkStatus();
    bool hex = cma || HasHexPrefix(v);
    if (HasHexPrefix(v)) v.remove_prefix(2);
    if (!FromChars(v, out, hex ? 16 : 10)) return Bad("pfn", v);
    return OkStatus();
  }
  bool NullPage() const {
    auto p = kv_.Get("page");
    return p && IsNullPointer(*p);
  }
  std::optional<std::string_view> Get(std::string_view key) const { return kv_.Get(key); }

 private:
  Status Bad(std::string_view key, std::string_view v) const {
    return InvalidArgument(std::string(event_) + ": bad " + std::string(key) + " '" + std::string(v) + "'");
  }
  KeyValues kv_;
  std::string_view event_;
};

}  // namespace

const char* MmEventName(MmEventType t) {
  for (const EventDef& d : kEvents)
    if (d.type == t) return d.name.data();
  return "?";
}

StatusOr<std::optional<MmEvent>> DecodeMmEvent(const FtraceLine& line) {
  const EventDef* def = nullptr;
  for (const EventDef& d : kEvents)
    if (d.name == line.event) def = &d;
  if (!def) return std::optional<MmEvent>();
  MmEvent ev;
  ev.type = def->type;
  ev.ts_ns = line.ts_ns;
  ev.cpu = line.cpu;
  ev.pid = line.pid;
  ev.comm = std::string(line.comm);
  Decoder d(line);
  if (auto name = d.Get("name")) ev.area = std::string(*name);
  bool minus_one = false;
  switch (ev.type) {
    case MmEventType::kCmaAllocStart:
      // 6.18 renamed count to request_count (beside available/total counts).
      if (d.Get("request_count")) {
        KREPLAY_RETURN_IF_ERROR(d.Dec("request_count", &ev.count));
      } else {
        KREPLAY_RETURN_IF_ERROR(d.Dec("count", &ev.count));
      }
      KREPLAY_RETURN_IF_ERROR(d.Dec("align", &ev.align));
      break;
    case MmEventType::kCmaAlloc:
    case MmEventType::kCmaAllocFinish:
    case MmEventType::kCmaAllocBusyRetry:
    case MmEventType::kCmaAllocInfo:
    case MmEventType::kCmaRelease:
      KREPLAY_RETURN_IF_ERROR(d.Pfn(/*cma=*/true, &ev.pfn, &minus_one));
      KREPLAY_RETURN_IF_ERROR(d.Dec("count", &ev.count));
      if (ev.type != MmEventType::kCmaRelease) KREPLAY_RETURN_IF_ERROR(d.Dec("align", &ev.align));
      if (d.Get("errorno")) {
        int e = 0;
        KREPLAY_RETURN_IF_ERROR(d.Dec("errorno", &e));
        ev.errorno = e;
      }
      // Failure: errorno where printed, else pfn -1 or a NULL page.
      ev.failed = ev.errorno ? *ev.errorno != 0 : (minus_one || d.NullPage());
      if (ev.type == MmEventType::kCmaAllocBusyRetry || ev.type == MmEventType::kCmaRelease) ev.failed = false;
      if (ev.type == MmEventType::kCmaAllocInfo) {
        for (auto [key, field] : {std::pair{"nr_migrated", &ev.nr_migrated}, std::pair{"nr_reclaimed", &ev.nr_reclaimed},
                                  std::pair{"nr_mapped", &ev.nr_mapped}, std::pair{"err_iso", &ev.err_iso},
                                  std::pair{"err_mig", &ev.err_mig}, std::pair{"err_test", &ev.err_test}}) {
          KREPLAY_RETURN_IF_ERROR(d.OptDec(key, field));
        }
      }
      break;
    case MmEventType::kPageAlloc:
    case MmEventType::kPageFree:
    case MmEventType::kPageFreeBatched:
    case MmEventType::kPageAllocZoneLocked:
    case MmEventType::kPagePcpuDrain:
    case MmEventType::kPageAllocExtfrag:
      KREPLAY_RETURN_IF_ERROR(d.Pfn(/*cma=*/false, &ev.pfn, &minus_one));
      if (ev.type == MmEventType::kPageAllocExtfrag) {
        int fragmenting = 0, change = 0;
        KREPLAY_RETURN_IF_ERROR(d.Dec("alloc_order", &ev.order));
        KREPLAY_RETURN_IF_ERROR(d.Dec("fallback_order", &ev.fallback_order));
        KREPLAY_RETURN_IF_ERROR(d.Dec("alloc_migratetype", &ev.migratetype));
        KREPLAY_RETURN_IF_ERROR(d.Dec("fallback_migratetype", &ev.fallback_migratetype));
        KREPLAY_RETURN_IF_ERROR(d.OptDec("fragmenting", &fragmenting));
        KREPLAY_RETURN_IF_ERROR(d.Dec("change_ownership", &change));
        ev.change_ownership = change != 0;
        break;
      }
      if (ev.type != MmEventType::kPageFreeBatched) KREPLAY_RETURN_IF_ERROR(d.Dec("order", &ev.order));
      if (ev.type == MmEventType::kPageAlloc || ev.type == MmEventType::kPageAllocZoneLocked ||
          ev.type == MmEventType::kPagePcpuDrain) {
        KREPLAY_RETURN_IF_ERROR(d.Dec("migratetype", &ev.migratetype));
      }
      if (ev.type == MmEventType::kPageAllocZoneLocked) {
        int refill = 0;
        KREPLAY_RETURN_IF_ERROR(d.OptDec("percpu_refill", &refill));
        ev.percpu_refill = refill != 0;
      }
      if (ev.type == MmEventType::kPageAlloc) {
        std::string_view gfp;
        KREPLAY_RETURN_IF_ERROR(d.Require("gfp_flags", &gfp));
        ev.gfp = std::string(gfp);
        ev.failed = d.NullPage();  // pfn prints as 0 then
      }
      break;
    case MmEventType::kMigratePages:
      KREPLAY_RETURN_IF_ERROR(d.Dec("nr_succeeded", &ev.succeeded));
      KREPLAY_RETURN_IF_ERROR(d.Dec("nr_failed", &ev.failed_pages));
      KREPLAY_RETURN_IF_ERROR(d.OptDec("nr_thp_succeeded", &ev.thp_succeeded));
      KREPLAY_RETURN_IF_ERROR(d.OptDec("nr_thp_failed", &ev.thp_failed));
      KREPLAY_RETURN_IF_ERROR(d.OptDec("nr_thp_split", &ev.thp_split));
      KREPLAY_RETURN_IF_ERROR(d.OptDec("nr_split", &ev.split));
      [[fallthrough]];
    case MmEventType::kMigratePagesStart: {
      std::string_view mode, reason;
      KREPLAY_RETURN_IF_ERROR(d.Require("mode", &mode));
      KREPLAY_RETURN_IF_ERROR(d.Require("reason", &reason));
      ev.mode = std::string(mode);
      ev.reason = std::string(reason);
      break;
    }
  }
  return std::optional<MmEvent>(std::move(ev));
}

MmTraceReader::MmTraceReader(std::unique_ptr<textio::LineReader> lines, std::string name)
    : lines_(std::move(lines)), name_(std::move(name)) {}
MmTraceReader::~MmTraceReader() = default;

StatusOr<std::unique_ptr<MmTraceReader>> MmTraceReader::Open(const std::string& path) {
  KREPLAY_ASSIGN_OR_RETURN(std::unique_ptr<textio::ByteSource> src, textio::OpenSource(path));
  return std::unique_ptr<MmTraceReader>(
      new MmTraceReader(std::make_unique<textio::LineReader>(std::move(src), path), path));
}

std::unique_ptr<MmTraceReader> MmTraceReader::FromString(std::string text, const std::string& name) {
  return std::unique_ptr<MmTraceReader>(
      new MmTraceReader(std::make_unique<textio::LineReader>(textio::MemorySource(std::move(text)), name), name));
}

std::unique_ptr<MmTraceReader> MmTraceReader::FromSource(std::unique_ptr<textio::ByteSource> src,
                                                         const std::string& name) {
  return std::unique_ptr<MmTraceReader>(
      new MmTraceReader(std::make_unique<textio::LineReader>(std::move(src), name), name));
}

StatusOr<bool> MmTraceReader::Next(MmEvent* ev) {
  std::string_view line;
  for (;;) {
    KREPLAY_ASSIGN_OR_RETURN(bool more, lines_->Next(&line));
    if (!more) return false;
    ++stats_.lines;
    FtraceLine fl;
    auto kind = ParseFtraceLine(line, &fl);
    auto where = [&] { return name_ + ":" + std::to_string(lines_->line_number()) + ": "; };
    if (!kind.ok()) return InvalidArgument(where() + kind.status().message());
    if (*kind == LineKind::kSkip) {
      ++stats_.skipped_lines;
      continue;
    }
    auto rec = DecodeMmEvent(fl);
    if (!rec.ok()) return InvalidArgument(where() + rec.status().message());
    if (!rec->has_value()) {
      ++stats_.other_events;
      continue;
    }
    *ev = std::move(**rec);
    ++stats_.events;
    return true;
  }
}

}  // namespace kreplay::memtrace
