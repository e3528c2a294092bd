#include "services/blocktrace/parsers.h"

#include <algorithm>
#include <deque>
#include <limits>

#include "services/core/strings.h"

namespace kreplay::blocktrace::internal {
namespace {

using workload::BlockOp;

constexpr int64_t kUs = 1000;
constexpr int64_t kSec = 1000000000;

std::vector<std::string_view> Tokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t b = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > b) out.push_back(s.substr(b, i - b));
  }
  return out;
}

std::vector<std::string_view> CsvFields(std::string_view s) {
  std::vector<std::string_view> f = Split(s, ',');
  for (auto& x : f) x = Trim(x);
  return f;
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

StatusOr<uint64_t> U64(std::string_view field, std::string_view text) {
  if (text.empty()) return FieldError(field, "missing", text);
  if (text[0] == '-') return FieldError(field, "negative", text);
  auto v = ParseUint(text);
  if (!v) {
    return FieldError(field, AllDigits(text) ? "out of range" : "not a non-negative integer", text);
  }
  return *v;
}

// A non-negative decimal "123" or "123.456" in units of `unit_ns`, to ns.
// Digits below 1 ns are truncated.
StatusOr<Int128> TimeNs(std::string_view field, std::string_view text, int64_t unit_ns) {
  if (text.empty()) return FieldError(field, "missing", text);
  if (text[0] == '-') return FieldError(field, "negative", text);
  size_t dot = text.find('.');
  std::string_view ip = text.substr(0, dot);
  std::string_view fp = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (!AllDigits(ip) || (dot != std::string_view::npos && !AllDigits(fp)))
    return FieldError(field, "not a non-negative number", text);
  auto whole = ParseUint(ip);
  if (!whole) return FieldError(field, "out of range", text);
  Int128 ns = static_cast<Int128>(*whole) * unit_ns;
  Int128 num = 0, den = 1;
  for (size_t i = 0; i < fp.size() && i < 18; ++i) {
    num = num * 10 + (fp[i] - '0');
    den *= 10;
  }
  return ns + num * unit_ns / den;
}

// A byte count given in `unit`-byte units; must fit a request (< 4 GiB).
StatusOr<uint32_t> Size(std::string_view field, std::string_view text, uint64_t unit) {
  KREPLAY_ASSIGN_OR_RETURN(uint64_t v, U64(field, text));
  if (v > std::numeric_limits<uint32_t>::max() / unit) return FieldError(field, "larger than 4 GiB", text);
  return static_cast<uint32_t>(v * unit);
}

StatusOr<uint64_t> Offset(std::string_view field, std::string_view text, uint64_t unit) {
  KREPLAY_ASSIGN_OR_RETURN(uint64_t v, U64(field, text));
  if (v > std::numeric_limits<uint64_t>::max() / unit) return FieldError(field, "out of range", text);
  return v * unit;
}

Status CheckEnd(const RawEvent& ev) {
  if (ev.offset > std::numeric_limits<uint64_t>::max() - ev.bytes)
    return FieldError("offset", "offset + size overflows 64 bits", std::to_string(ev.offset));
  return OkStatus();
}

Status FieldCount(std::string_view what, size_t got, size_t want, std::string_view line) {
  return FieldError(what, "truncated: expected " + std::to_string(want) + " fields, got " + std::to_string(got), line);
}

// ---------------------------------------------------------------- blkparse
// `maj,min cpu seq sec.nsec pid action rwbs [sector + nsectors [(elapsed)]] [comm]`
bool IsDevice(std::string_view t) {
  size_t c = t.find(',');
  return c != std::string_view::npos && AllDigits(t.substr(0, c)) && AllDigits(t.substr(c + 1));
}

class BlkparseParser final : public LineParser {
 public:
  explicit BlkparseParser(BlkparseEvent ev) : want_(ev == BlkparseEvent::kQueue ? "Q" : "D") {}
  bool has_task_ids() const override { return true; }
  bool has_sync_flags() const override { return true; }

  StatusOr<LineKind> Parse(std::string_view line, RawEvent* ev) override {
    auto t = Tokens(line);
    // Only lines that start "maj,min cpu" are events; CPU and device
    // summaries ("CPU0 (8,0):", "Total (8,0):", " Reads Queued: ...",
    // "Throughput ...", "Events ...") are skipped.
    if (t.size() < 2 || !IsDevice(t[0]) || !AllDigits(t[1])) return LineKind::kSkip;
    if (t.size() < 6) return FieldCount("action", t.size(), 6, line);
    KREPLAY_RETURN_IF_ERROR(U64("seq", t[2]).status());
    KREPLAY_ASSIGN_OR_RETURN(Int128 time, TimeNs("time", t[3], kSec));
    KREPLAY_ASSIGN_OR_RETURN(uint64_t pid, U64("pid", t[4]));
    if (pid > std::numeric_limits<uint32_t>::max()) return FieldError("pid", "out of range", t[4]);
    std::string_view act = t[5];
    static constexpr std::string_view kKnown[] = {"Q", "M", "F", "G", "S", "R", "D", "C", "P", "U", "UT",
                                                  "T", "I", "X", "B", "A", "m", "N"};
    if (std::find(std::begin(kKnown), std::end(kKnown), act) == std::end(kKnown))
      return FieldError("action", "unknown blktrace action", act);
    bool requeue = act == "R";
    if (act != want_ && !(requeue && want_ == "D")) return LineKind::kSkip;
    if (t.size() < 7) return FieldCount("rwbs", t.size(), 7, line);
    std::string_view rwbs = t[6];
    for (char c : rwbs) {
      if (std::string_view("FDEWRNSAMBT").find(c) == std::string_view::npos)
        return FieldError("rwbs", "unknown flag", rwbs);
    }
    bool has_data = rwbs.find_first_of("DWR") != std::string_view::npos;
    bool preflush = rwbs[0] == 'F';
    uint64_t sector = 0;
    uint32_t bytes = 0;
    bool has_range = t.size() >= 8 && AllDigits(t[7]);
    if (has_range) {
      if (t.size() < 10) return FieldCount("nsectors", t.size(), 10, line);
      if (t[8] != "+") return FieldError("nsectors", "expected '+'", t[8]);
      KREPLAY_ASSIGN_OR_RETURN(sector, U64("sector", t[7]));
      KREPLAY_ASSIGN_OR_RETURN(bytes, Size("nsectors", t[9], 512));
      if (sector > std::numeric_limits<uint64_t>::max() / 512) return FieldError("sector", "out of range", t[7]);
    } else if (has_data && !preflush) {
      return FieldError("sector", "missing", t.size() > 7 ? t[7] : std::string_view());
    }
    if (requeue) {
      // A requeued request is issued (D) again later: remember it so that
      // second D is not counted twice. Bounded: the oldest entry goes first.
      requeued_.push_back(Key(t[0], sector, bytes));
      if (requeued_.size() > kMaxRequeued) requeued_.pop_front();
      return LineKind::kSkip;
    }
    if (!requeued_.empty()) {
      auto it = std::find(requeued_.begin(), requeued_.end(), Key(t[0], sector, bytes));
      if (it != requeued_.end()) {
        requeued_.erase(it);
        return LineKind::kSkip;
      }
    }
    if (bytes > 0 && has_data) {
      ev->op = rwbs.find('D') != std::string_view::npos   ? BlockOp::kDiscard
               : rwbs.find('W') != std::string_view::npos ? BlockOp::kWrite
                                                          : BlockOp::kRead;
    } else if (preflush) {
      ev->op = BlockOp::kFlush;
      sector = 0;
      bytes = 0;
    } else {
      return LineKind::kSkip;  // no data and no flush: 'N' passthrough or an empty bio
    }
    // blk_fill_rwbs() (kernel/trace/blktrace.c): a leading F is REQ_PREFLUSH,
    // an F after the op letter REQ_FUA, S REQ_SYNC, M REQ_META. bcache's
    // should_writeback() treats them alike: op_is_sync() (SYNC, FUA,
    // PREFLUSH) or REQ_META.
    ev->sync = rwbs.find_first_of("FSM") != std::string_view::npos;
    ev->time_ns = time;
    ev->offset = sector * 512;
    ev->bytes = bytes;
    ev->volume = t[0];
    ev->task = static_cast<uint32_t>(pid);
    KREPLAY_RETURN_IF_ERROR(CheckEnd(*ev));
    return LineKind::kEvent;
  }

 private:
  static constexpr size_t kMaxRequeued = 4096;
  static std::string Key(std::string_view dev, uint64_t sector, uint32_t bytes) {
    return std::string(dev) + " " + std::to_string(sector) + " " + std::to_string(bytes);
  }
  std::string_view want_;
  std::deque<std::string> requeued_;
};

StatusOr<BlockOp> ReadWriteWord(std::string_view field, std::string_view v) {
  if (IEquals(v, "read") || IEquals(v, "r")) return BlockOp::kRead;
  if (IEquals(v, "write") || IEquals(v, "w")) return BlockOp::kWrite;
  return FieldError(field, "unknown op (want Read or Write)", v);
}

// ---------------------------------------------------------------- MSR
// Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime
class MsrParser final : public LineParser {
 public:
  StatusOr<LineKind> Parse(std::string_view line, RawEvent* ev) override {
    auto f = CsvFields(line);
    if (IEquals(f[0], "Timestamp")) return LineKind::kSkip;  // header
    static constexpr const char* kFields[] = {"Timestamp", "Hostname", "DiskNumber", "Type",
                                              "Offset",    "Size",     "ResponseTime"};
    if (f.size() < 7) return FieldCount(kFields[f.size()], f.size(), 7, line);
    if (f.size() > 7) return FieldError("ResponseTime", "extra fields after column 7", line);
    KREPLAY_ASSIGN_OR_RETURN(ev->time_ns, TimeNs("Timestamp", f[0], 100));
    if (f[1].empty()) return FieldError("Hostname", "missing", f[1]);
    KREPLAY_RETURN_IF_ERROR(U64("DiskNumber", f[2]).status());
    KREPLAY_ASSIGN_OR_RETURN(ev->op, ReadWriteWord("Type", f[3]));
    KREPLAY_ASSIGN_OR_RETURN(ev->offset, Offset("Offset", f[4], 1));
    KREPLAY_ASSIGN_OR_RETURN(ev->bytes, Size("Size", f[5], 1));
    KREPLAY_RETURN_IF_ERROR(U64("ResponseTime", f[6]).status());
    volume_.assign(f[1]);
    volume_ += '_';
    volume_ += f[2];
    ev->volume = volume_;
    KREPLAY_RETURN_IF_ERROR(CheckEnd(*ev));
    return LineKind::kEvent;
  }

 private:
  std::string volume_;
};

// ---------------------------------------------------------------- Alibaba
// device_id,opcode,offset,length,timestamp(us)
class AlibabaParser final : public LineParser {
 public:
  StatusOr<LineKind> Parse(std::string_view line, RawEvent* ev) override {
    auto f = CsvFields(line);
    if (IEquals(f[0], "device_id")) return LineKind::kSkip;
    static constexpr const char* kFields[] = {"device_id", "opcode", "offset", "length", "timestamp"};
    if (f.size() != 5) return FieldCount(f.size() < 5 ? kFields[f.size()] : "line", f.size(), 5, line);
    if (f[0].empty()) return FieldError("device_id", "missing", f[0]);
    KREPLAY_ASSIGN_OR_RETURN(ev->op, ReadWriteWord("opcode", f[1]));
    KREPLAY_ASSIGN_OR_RETURN(ev->offset, Offset("offset", f[2], 1));
    KREPLAY_ASSIGN_OR_RETURN(ev->bytes, Size("length", f[3], 1));
    KREPLAY_ASSIGN_OR_RETURN(ev->time_ns, TimeNs("timestamp", f[4], kUs));
    ev->volume = f[0];
    KREPLAY_RETURN_IF_ERROR(CheckEnd(*ev));
    return LineKind::kEvent;
  }
};

// ---------------------------------------------------------------- Tencent CBS
// Timestamp(s),Offset(sectors),Size(sectors),IOType(0 read, 1 write),VolumeID
class TencentParser final : public LineParser {
 public:
  StatusOr<LineKind> Parse(std::string_view line, RawEvent* ev) override {
    auto f = CsvFields(line);
    if (IEquals(f[0], "Timestamp")) return LineKind::kSkip;
    static constexpr const char* kFields[] = {"Timestamp", "Offset", "Size", "IOType", "VolumeID"};
    if (f.size() != 5) return FieldCount(f.size() < 5 ? kFields[f.size()] : "line", f.size(), 5, line);
    KREPLAY_ASSIGN_OR_RETURN(ev->time_ns, TimeNs("Timestamp", f[0], kSec));
    KREPLAY_ASSIGN_OR_RETURN(ev->offset, Offset("Offset", f[1], 512));
    KREPLAY_ASSIGN_OR_RETURN(ev->bytes, Size("Size", f[2], 512));
    if (f[3] == "0") {
      ev->op = BlockOp::kRead;
    } else if (f[3] == "1") {
      ev->op = BlockOp::kWrite;
    } else {
      return FieldError("IOType", "unknown op (want 0 = read or 1 = write)", f[3]);
    }
    if (f[4].empty()) return FieldError("VolumeID", "missing", f[4]);
    ev->volume = f[4];
    KREPLAY_RETURN_IF_ERROR(CheckEnd(*ev));
    return LineKind::kEvent;
  }
};

// ---------------------------------------------------------------- fio iolog
class FioParser final : public LineParser {
 public:
  explicit FioParser(int version) : version_(version) {}
  StatusOr<LineKind> Parse(std::string_view line, RawEvent* ev) override {
    if (!seen_header_) {
      std::string want = "fio version " + std::to_string(version_) + " iolog";
      if (Trim(line) != want) return FieldError("header", "expected '" + want + "'", line);
      seen_header_ = true;
      return LineKind::kSkip;
    }
    auto t = Tokens(line);
    size_t base = 0;
    if (version_ == 3) {
      if (t.empty()) return LineKind::kSkip;
      KREPLAY_ASSIGN_OR_RETURN(Int128 ts, TimeNs("timestamp", t[0], kUs));
      now_ = ts;
      base = 1;
    }
    if (t.size() < base + 2) return FieldCount("action", t.size(), base + 2, line);
    std::string_view file = t[base], act = t[base + 1];
    if (act == "add" || act == "open" || act == "close") {
      if (t.size() != base + 2) return FieldError("action", "file action takes no offset/length", line);
      return LineKind::kSkip;
    }
    bool sync = act == "sync" || act == "datasync" || act == "sync_file_range";
    if (act == "wait" && version_ == 2) {
      if (t.size() < base + 3) return FieldCount("offset", t.size(), base + 3, line);
      KREPLAY_ASSIGN_OR_RETURN(Int128 us, TimeNs("offset", t[base + 2], kUs));
      now_ += us;  // v2: waits are relative to the previous wait
      return LineKind::kSkip;
    }
    if (act == "read") {
      ev->op = BlockOp::kRead;
    } else if (act == "write") {
      ev->op = BlockOp::kWrite;
    } else if (act == "trim") {
      ev->op = BlockOp::kDiscard;
    } else if (sync) {
      ev->op = BlockOp::kFlush;
    } else {
      return FieldError("action", version_ == 3 && act == "wait" ? "'wait' is not allowed in version 3"
                                                                 : "unknown action",
                        act);
    }
    ev->offset = 0;
    ev->bytes = 0;
    if (!sync || t.size() > base + 2) {
      if (t.size() < base + 4) return FieldCount(t.size() < base + 3 ? "offset" : "length", t.size(), base + 4, line);
      if (t.size() > base + 4) return FieldError("length", "extra fields", line);
      KREPLAY_ASSIGN_OR_RETURN(ev->offset, Offset("offset", t[base + 2], 1));
      KREPLAY_ASSIGN_OR_RETURN(ev->bytes, Size("length", t[base + 3], 1));
    }
    if (sync) {
      ev->offset = 0;
      ev->bytes = 0;
    } else if (ev->bytes == 0) {
      return FieldError("length", "zero-length I/O", t[base + 3]);
    }
    ev->time_ns = now_;
    ev->volume = file;
    KREPLAY_RETURN_IF_ERROR(CheckEnd(*ev));
    return LineKind::kEvent;
  }

 private:
  int version_;
  bool seen_header_ = false;
  Int128 now_ = 0;
};

// ---------------------------------------------------------------- plain CSV
struct Column {
  int index = -1;
  int64_t unit = 1;  // ns per time unit, or bytes per size unit
};

struct Mapping {
  Column time, offset, size, op, volume, task, sync;
  int max_index = 0;
};

StatusOr<Mapping> ParseMapping(const std::string& text) {
  Mapping m;
  for (std::string_view item : Split(text, ',')) {
    item = Trim(item);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) return FieldError("csv_mapping", "expected name=column[:unit]", item);
    std::string_view name = item.substr(0, eq), rest = item.substr(eq + 1), unit;
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      unit = rest.substr(colon + 1);
      rest = rest.substr(0, colon);
    }
    auto idx = ParseUint(rest);
    if (!idx || *idx > 1000) return FieldError("csv_mapping", "column must be an integer 0..1000", item);
    Column c{static_cast<int>(*idx), 1};
    Column* slot = nullptr;
    if (name == "time") {
      slot = &m.time;
      if (unit.empty() || unit == "ns") c.unit = 1;
      else if (unit == "us") c.unit = kUs;
      else if (unit == "ms") c.unit = 1000 * kUs;
      else if (unit == "s") c.unit = kSec;
      else if (unit == "ticks") c.unit = 100;
      else return FieldError("csv_mapping", "time unit must be ns, us, ms, s or ticks (100 ns)", item);
    } else if (name == "offset" || name == "size") {
      slot = name == "offset" ? &m.offset : &m.size;
      if (unit.empty() || unit == "bytes") c.unit = 1;
      else if (unit == "sectors") c.unit = 512;
      else return FieldError("csv_mapping", "size unit must be bytes or sectors", item);
    } else if (name == "op" || name == "volume" || name == "task" || name == "sync") {
      if (!unit.empty()) return FieldError("csv_mapping", "this column takes no unit", item);
      slot = name == "op" ? &m.op : name == "volume" ? &m.volume : name == "task" ? &m.task : &m.sync;
    } else {
      return FieldError("csv_mapping", "unknown column name (time, offset, size, op, volume, task, sync)", item);
    }
    if (slot->index >= 0) return FieldError("csv_mapping", "column named twice", item);
    *slot = c;
    m.max_index = std::max(m.max_index, c.index);
  }
  const std::pair<const Column*, const char*> required[] = {
      {&m.time, "time"}, {&m.offset, "offset"}, {&m.size, "size"}, {&m.op, "op"}};
  for (auto [col, nm] : required) {
    if (col->index < 0) return FieldError("csv_mapping", std::string("missing column '") + nm + "'", text);
  }
  return m;
}

// RFC 4180 quoting for the plain CSV (blkparse device names like "8,0" hold
// commas): a field may be wrapped in double quotes, with "" for a quote.
// Fields live in `store` until the next call.
Status SplitQuoted(std::string_view line, std::vector<std::string>* store, std::vector<std::string_view>* out) {
  store->clear();
  size_t i = 0;
  for (;;) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string f;
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return FieldError("line", "unterminated quoted field", line);
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            f += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        f += line[i++];
      }
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != ',') return FieldError("line", "text after a closing quote", line);
    } else {
      size_t b = i;
      while (i < line.size() && line[i] != ',') ++i;
      f = std::string(Trim(line.substr(b, i - b)));
    }
    store->push_back(std::move(f));
    if (i >= line.size()) break;
    ++i;  // the comma
  }
  out->assign(store->begin(), store->end());
  return OkStatus();
}

class CsvParser final : public LineParser {
 public:
  explicit CsvParser(Mapping m) : m_(m) {}
  bool has_task_ids() const override { return m_.task.index >= 0; }
  bool has_sync_flags() const override { return m_.sync.index >= 0; }
  StatusOr<LineKind> Parse(std::string_view line, RawEvent* ev) override {
    std::vector<std::string_view> f;
    if (line.find('"') == std::string_view::npos) {
      f = CsvFields(line);
    } else {
      KREPLAY_RETURN_IF_ERROR(SplitQuoted(line, &store_, &f));
    }
    bool first = !seen_line_;
    seen_line_ = true;
    // A first line whose time column is not a number is a header.
    if (first && static_cast<int>(f.size()) > m_.time.index && !f[m_.time.index].empty() &&
        !(f[m_.time.index][0] >= '0' && f[m_.time.index][0] <= '9'))
      return LineKind::kSkip;
    if (static_cast<int>(f.size()) <= m_.max_index) return FieldCount("line", f.size(), m_.max_index + 1, line);
    KREPLAY_ASSIGN_OR_RETURN(ev->time_ns, TimeNs("time", f[m_.time.index], m_.time.unit));
    KREPLAY_ASSIGN_OR_RETURN(ev->offset, Offset("offset", f[m_.offset.index], m_.offset.unit));
    KREPLAY_ASSIGN_OR_RETURN(ev->bytes, Size("size", f[m_.size.index], m_.size.unit));
    std::string_view op = f[m_.op.index];
    if (IEquals(op, "read") || IEquals(op, "r")) ev->op = BlockOp::kRead;
    else if (IEquals(op, "write") || IEquals(op, "w")) ev->op = BlockOp::kWrite;
    else if (IEquals(op, "discard") || IEquals(op, "trim") || IEquals(op, "d")) ev->op = BlockOp::kDiscard;
    else if (IEquals(op, "flush") || IEquals(op, "f")) ev->op = BlockOp::kFlush;
    else return FieldError("op", "unknown op (read, write, discard, flush)", op);
    if (ev->op == BlockOp::kFlush) {
      if (ev->bytes != 0) return FieldError("size", "a flush carries no data", f[m_.size.index]);
    } else if (ev->bytes == 0) {
      return FieldError("size", "zero-length I/O", f[m_.size.index]);
    }
    ev->volume = m_.volume.index >= 0 ? f[m_.volume.index] : std::string_view("0");
    if (ev->volume.empty()) return FieldError("volume", "missing", ev->volume);
    ev->task = 0;
    if (m_.task.index >= 0) {
      KREPLAY_ASSIGN_OR_RETURN(uint64_t task, U64("task", f[m_.task.index]));
      if (task > std::numeric_limits<uint32_t>::max()) return FieldError("task", "out of range", f[m_.task.index]);
      ev->task = static_cast<uint32_t>(task);
    }
    ev->sync = false;
    if (m_.sync.index >= 0) {
      std::string_view v = f[m_.sync.index];
      if (v != "0" && v != "1") return FieldError("sync", "expected 0 or 1", v);
      ev->sync = v == "1";
    }
    KREPLAY_RETURN_IF_ERROR(CheckEnd(*ev));
    return LineKind::kEvent;
  }

 private:
  Mapping m_;
  bool seen_line_ = false;
  std::vector<std::string> store_;
};

}  // namespace

Status FieldError(std::string_view field, std::string_view problem, std::string_view got) {
  std::string shown;
  for (char c : got.substr(0, 60)) {
    if (c >= 0x20 && c < 0x7f) {
      shown += c;
    } else {
      static const char* hex = "0123456789abcdef";
      shown += "\\x";
      shown += hex[(static_cast<unsigned char>(c) >> 4) & 15];
      shown += hex[static_cast<unsigned char>(c) & 15];
    }
  }
  if (got.size() > 60) shown += "...";
  return InvalidArgument("field '" + std::string(field) + "': " + std::string(problem) + " (got '" + shown + "')");
}

StatusOr<std::unique_ptr<LineParser>> NewParser(Format f, const ReaderOptions& opts) {
  switch (f) {
    case Format::kBlkparse: return std::unique_ptr<LineParser>(new BlkparseParser(opts.blkparse_event));
    case Format::kMsr: return std::unique_ptr<LineParser>(new MsrParser());
    case Format::kFioV2: return std::unique_ptr<LineParser>(new FioParser(2));
    case Format::kFioV3: return std::unique_ptr<LineParser>(new FioParser(3));
    case Format::kAlibaba: return std::unique_ptr<LineParser>(new AlibabaParser());
    case Format::kTencent: return std::unique_ptr<LineParser>(new TencentParser());
    case Format::kCsv: {
      KREPLAY_ASSIGN_OR_RETURN(Mapping m, ParseMapping(opts.csv_mapping.empty() ? kDefaultCsvMapping : opts.csv_mapping));
      return std::unique_ptr<LineParser>(new CsvParser(m));
    }
    case Format::kAuto: break;
  }
  return Status(InvalidArgument("no parser for format 'auto' (detect first)"));
}

StatusOr<Format> DetectFormat(const std::vector<std::string>& lines) {
  for (const std::string& raw : lines) {
    std::string_view l = Trim(raw);
    if (l.empty()) continue;
    if (l == "fio version 2 iolog") return Format::kFioV2;
    if (l == "fio version 3 iolog") return Format::kFioV3;
    if (l == "time_ns,volume,op,offset,bytes" || l == "time_ns,volume,op,offset,bytes,task" ||
        l == "time_ns,volume,op,offset,bytes,sync" || l == "time_ns,volume,op,offset,bytes,task,sync")
      return Format::kCsv;
    auto t = Tokens(l);
    if (t.size() >= 6 && IsDevice(t[0]) && AllDigits(t[1])) return Format::kBlkparse;
    auto f = CsvFields(l);
    auto is_rw = [](std::string_view v) {
      return IEquals(v, "read") || IEquals(v, "write") || IEquals(v, "r") || IEquals(v, "w");
    };
    if (f.size() == 7 && (is_rw(f[3]) || IEquals(f[0], "Timestamp"))) return Format::kMsr;
    if (f.size() == 5 && (is_rw(f[1]) || IEquals(f[0], "device_id"))) return Format::kAlibaba;
    if (f.size() == 5 && (((f[3] == "0" || f[3] == "1") && AllDigits(f[1]) && AllDigits(f[2])) ||
                          IEquals(f[0], "Timestamp")))
      return Format::kTencent;
    // blkparse summaries may precede events; anything else decides now.
    if (t.size() >= 1 && (t[0].rfind("CPU", 0) == 0 || t[0] == "Total" || l.find(':') != std::string_view::npos))
      continue;
    return FieldError("format", "cannot detect the trace format; pass --format (blkparse, msr, fio-v2, fio-v3, "
                                "alibaba, tencent, csv)", l);
  }
  return Status(InvalidArgument("cannot detect the trace format: no event in the first lines; pass --format"));
}

}  // namespace kreplay::blocktrace::internal
