#include "services/blocktrace/reader.h"

#include <limits>
#include <unordered_map>

#include "services/blocktrace/parsers.h"
#include "services/textio/source.h"

namespace kreplay::blocktrace {

using internal::Int128;
using internal::LineKind;
using internal::RawEvent;

namespace {
constexpr size_t kDetectLines = 64;
constexpr size_t kMaxVolumes = 1 << 20;
}  // namespace

const char* FormatName(Format f) {
  switch (f) {
    case Format::kAuto: return "auto";
    case Format::kBlkparse: return "blkparse";
    case Format::kMsr: return "msr";
    case Format::kFioV2: return "fio-v2";
    case Format::kFioV3: return "fio-v3";
    case Format::kAlibaba: return "alibaba";
    case Format::kTencent: return "tencent";
    case Format::kCsv: return "csv";
  }
  return "unknown";
}

StatusOr<Format> ParseFormat(const std::string& name) {
  for (Format f : {Format::kAuto, Format::kBlkparse, Format::kMsr, Format::kFioV2, Format::kFioV3, Format::kAlibaba,
                   Format::kTencent, Format::kCsv}) {
    if (name == FormatName(f)) return f;
  }
  return Status(InvalidArgument("format: unknown '" + name +
                                "' (auto, blkparse, msr, fio-v2, fio-v3, alibaba, tencent, csv)"));
}

class BlockTraceReader::Impl {
 public:
  std::string name;
  ReaderOptions opts;
  std::unique_ptr<textio::LineReader> lines;
  std::vector<std::string> pending;  // lines read ahead for format detection
  size_t pending_pos = 0;
  std::unique_ptr<internal::LineParser> parser;
  std::unordered_map<std::string, uint32_t> volume_index;  // lookups only; order lives in volumes_
  bool have_first = false;
  Int128 first_ns = 0;
  int64_t last_ns = 0;
  Status error;

  StatusOr<bool> NextLine(std::string_view* line) {
    if (pending_pos < pending.size()) {
      // Stays valid until the following call, which frees the look-ahead.
      *line = pending[pending_pos++];
      return true;
    }
    if (!pending.empty()) {
      pending.clear();
      pending.shrink_to_fit();
      pending_pos = 0;
    }
    return lines->Next(line);
  }
  std::string Where() const { return name + ":" + std::to_string(lines->line_number() - (pending.size() - pending_pos)); }
};

BlockTraceReader::BlockTraceReader() : impl_(std::make_unique<Impl>()) {}
BlockTraceReader::~BlockTraceReader() = default;

bool BlockTraceReader::has_task_ids() const { return impl_->parser && impl_->parser->has_task_ids(); }
bool BlockTraceReader::has_sync_flags() const { return impl_->parser && impl_->parser->has_sync_flags(); }

StatusOr<std::unique_ptr<BlockTraceReader>> BlockTraceReader::Create(std::unique_ptr<ByteSource> src,
                                                                     const std::string& name,
                                                                     const ReaderOptions& opts) {
  std::unique_ptr<BlockTraceReader> r(new BlockTraceReader());
  Impl& im = *r->impl_;
  im.name = name;
  im.opts = opts;
  im.lines = std::make_unique<textio::LineReader>(std::move(src), name);
  r->format_ = opts.format;
  // Look ahead a few lines: format detection, and the plain CSV's header.
  std::string_view l;
  while (im.pending.size() < kDetectLines) {
    KREPLAY_ASSIGN_OR_RETURN(bool got, im.lines->Next(&l));
    if (!got) break;
    im.pending.emplace_back(l);
  }
  if (r->format_ == Format::kAuto) {
    auto f = internal::DetectFormat(im.pending);
    if (!f.ok()) return f.status().WithContext(im.name);
    r->format_ = *f;
  }
  ReaderOptions popts = opts;
  if (r->format_ == Format::kCsv && popts.csv_mapping.empty()) {
    // The default layout's task column is optional: a header without it
    // selects the mapping without it.
    for (const std::string& p : im.pending) {
      std::string_view t = p;
      while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
      if (t.empty()) continue;
      if (t == "time_ns,volume,op,offset,bytes") popts.csv_mapping = kDefaultCsvMappingNoTask;
      if (t == "time_ns,volume,op,offset,bytes,sync") popts.csv_mapping = kDefaultCsvMappingNoTaskSync;
      if (t == "time_ns,volume,op,offset,bytes,task,sync") popts.csv_mapping = kDefaultCsvMappingSync;
      break;
    }
  }
  KREPLAY_ASSIGN_OR_RETURN(im.parser, internal::NewParser(r->format_, popts));
  return r;
}

StatusOr<std::unique_ptr<BlockTraceReader>> BlockTraceReader::Open(const std::string& path, const ReaderOptions& opts) {
  KREPLAY_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> src, textio::OpenSource(path));
  return Create(std::move(src), path == "-" ? "<stdin>" : path, opts);
}

StatusOr<std::unique_ptr<BlockTraceReader>> BlockTraceReader::FromString(std::string data, const std::string& name,
                                                                         const ReaderOptions& opts) {
  KREPLAY_ASSIGN_OR_RETURN(std::unique_ptr<ByteSource> src, textio::Decompress(textio::MemorySource(std::move(data)), name));
  return Create(std::move(src), name, opts);
}

StatusOr<std::unique_ptr<BlockTraceReader>> BlockTraceReader::FromSource(std::unique_ptr<ByteSource> src,
                                                                         const std::string& name,
                                                                         const ReaderOptions& opts) {
  return Create(std::move(src), name, opts);
}

StatusOr<Format> DetectFormat(std::string_view head) {
  // The same lines Create() looks at: split by LineReader ('\r' dropped).
  textio::LineReader lines(textio::MemorySource(std::string(head)), "head");
  std::vector<std::string> first;
  std::string_view l;
  while (first.size() < kDetectLines) {
    KREPLAY_ASSIGN_OR_RETURN(bool got, lines.Next(&l));
    if (!got) break;
    first.emplace_back(l);
  }
  return internal::DetectFormat(first);
}

StatusOr<bool> BlockTraceReader::Next(workload::BlockRequest* out) {
  Impl& im = *impl_;
  if (!im.error.ok()) return im.error;
  auto fail = [&](const Status& st) -> StatusOr<bool> {
    im.error = st;
    return st;
  };
  for (;;) {
    std::string_view line;
    auto more = im.NextLine(&line);
    if (!more.ok()) return fail(more.status());
    if (!*more) return false;
    ++stats_.lines;
    std::string_view trimmed = line;
    while (!trimmed.empty() && (trimmed.front() == ' ' || trimmed.front() == '\t')) trimmed.remove_prefix(1);
    if (trimmed.empty()) {
      ++stats_.skipped_lines;
      continue;
    }
    RawEvent ev;
    auto kind = im.parser->Parse(line, &ev);
    if (!kind.ok()) return fail(kind.status().WithContext(im.Where()));
    if (*kind == LineKind::kSkip) {
      ++stats_.skipped_lines;
      continue;
    }
    // Volume index, first-seen order.
    auto it = im.volume_index.find(std::string(ev.volume));
    uint32_t vol;
    if (it != im.volume_index.end()) {
      vol = it->second;
    } else {
      if (volumes_.size() >= kMaxVolumes) {
        return fail(internal::FieldError("volume", "more than 2^20 distinct volumes", ev.volume)
                        .WithContext(im.Where()));
      }
      vol = static_cast<uint32_t>(volumes_.size());
      volumes_.emplace_back(ev.volume);
      im.volume_index.emplace(volumes_.back(), vol);
    }
    // Time relative to the first request, clamped to non-decreasing.
    if (!im.have_first) {
      im.have_first = true;
      im.first_ns = ev.time_ns;
    }
    Int128 rel = ev.time_ns - im.first_ns;
    if (rel > std::numeric_limits<int64_t>::max()) {
      return fail(internal::FieldError("time", "more than 292 years after the first request", "")
                      .WithContext(im.Where()));
    }
    int64_t t = rel < 0 ? -1 : static_cast<int64_t>(rel);
    if (t < im.last_ns) {
      if (im.opts.strict_time_order) {
        return fail(internal::FieldError("time", "earlier than the previous request (strict_time_order)",
                                         rel < std::numeric_limits<int64_t>::min() ? std::string("-huge")
                                             : std::to_string(static_cast<int64_t>(rel)) + " ns")
                        .WithContext(im.Where()));
      }
      ++stats_.clamped_times;
      t = im.last_ns;
    }
    im.last_ns = t;
    out->time_ns = t;
    out->offset = ev.offset;
    out->bytes = ev.bytes;
    out->volume = vol;
    out->task = ev.task;
    out->op = ev.op;
    out->sync = ev.sync;
    return true;
  }
}

StatusOr<workload::BlockWorkload> ReadBlockTrace(const std::string& path, const ReaderOptions& opts,
                                                 uint64_t max_requests) {
  KREPLAY_ASSIGN_OR_RETURN(auto reader, BlockTraceReader::Open(path, opts));
  workload::BlockWorkload w;
  workload::BlockRequest r;
  while (max_requests == 0 || w.requests.size() < max_requests) {
    KREPLAY_ASSIGN_OR_RETURN(bool more, reader->Next(&r));
    if (!more) break;
    w.requests.push_back(r);
  }
  w.volumes = reader->volumes();
  w.has_task_ids = reader->has_task_ids();
  w.has_sync_flags = reader->has_sync_flags();
  return w;
}

}  // namespace kreplay::blocktrace
