#include "services/blocktrace/writer.h"

namespace kreplay::blocktrace {
namespace {

using workload::BlockOp;

Status StreamError(std::ostream& out) {
  if (!out) return Unavailable("write failed (disk full or closed pipe?)");
  return OkStatus();
}

class FioV3Writer final : public TraceWriter {
 public:
  FioV3Writer(std::ostream& out, FioWriterOptions opts) : out_(out), opts_(std::move(opts)) {
    out_ << "fio version 3 iolog\n";
  }
  Status Write(const workload::BlockRequest& r, const std::vector<std::string>& volumes) override {
    int64_t us = r.time_ns / 1000;
    last_us_ = us;
    if (r.volume >= names_.size() || names_[r.volume].empty()) {
      if (names_.size() <= r.volume) names_.resize(r.volume + 1);
      std::string name = FileName(r.volume, r.volume < volumes.size() ? volumes[r.volume] : std::string());
      out_ << us << ' ' << name << " add\n" << us << ' ' << name << " open\n";
      names_[r.volume] = std::move(name);
    }
    const std::string& f = names_[r.volume];
    switch (r.op) {
      case BlockOp::kRead: out_ << us << ' ' << f << " read " << r.offset << ' ' << r.bytes << '\n'; break;
      case BlockOp::kWrite: out_ << us << ' ' << f << " write " << r.offset << ' ' << r.bytes << '\n'; break;
      case BlockOp::kDiscard: out_ << us << ' ' << f << " trim " << r.offset << ' ' << r.bytes << '\n'; break;
      case BlockOp::kFlush: out_ << us << ' ' << f << " sync 0 0\n"; break;
    }
    return StreamError(out_);
  }
  Status Finish() override {
    for (const std::string& n : names_) {
      if (!n.empty()) out_ << last_us_ << ' ' << n << " close\n";
    }
    out_.flush();
    return StreamError(out_);
  }

 private:
  std::string FileName(uint32_t i, const std::string& volume) const {
    if (!opts_.file_prefix.empty()) return opts_.file_prefix + std::to_string(i);
    bool usable = !volume.empty() && volume.size() < 256;
    for (char c : volume) usable = usable && c > ' ' && c < 0x7f;
    return usable ? volume : "kreplay-vol" + std::to_string(i);
  }
  std::ostream& out_;
  FioWriterOptions opts_;
  std::vector<std::string> names_;
  int64_t last_us_ = 0;
};

// RFC 4180: quote a field holding a comma, a quote or edge blanks.
std::string Quoted(const std::string& v) {
  bool quote = v.find_first_of(",\"") != std::string::npos || v.front() == ' ' || v.back() == ' ' ||
               v.front() == '\t' || v.back() == '\t';
  if (!quote) return v;
  std::string q = "\"";
  for (char c : v) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

class CsvWriter final : public TraceWriter {
 public:
  CsvWriter(std::ostream& out, bool with_task, bool with_sync) : out_(out), with_task_(with_task), with_sync_(with_sync) {
    out_ << "time_ns,volume,op,offset,bytes" << (with_task_ ? ",task" : "") << (with_sync_ ? ",sync" : "") << '\n';
  }
  Status Write(const workload::BlockRequest& r, const std::vector<std::string>& volumes) override {
    if (r.volume >= volumes.size()) return InvalidArgument("volume index " + std::to_string(r.volume) + " has no name");
    const std::string& v = volumes[r.volume];
    // Lines are the reader's unit, so a name with a line break cannot round-trip.
    if (v.empty() || v.find_first_of("\n\r") != std::string::npos) {
      return InvalidArgument("volume '" + v + "': cannot be written to the plain CSV (empty or a line break)");
    }
    out_ << r.time_ns << ',' << Quoted(v) << ',' << workload::BlockOpName(r.op) << ',' << r.offset << ',' << r.bytes;
    if (with_task_) out_ << ',' << r.task;
    if (with_sync_) out_ << ',' << (r.sync ? 1 : 0);
    out_ << '\n';
    return StreamError(out_);
  }
  Status Finish() override {
    out_.flush();
    return StreamError(out_);
  }

 private:
  std::ostream& out_;
  bool with_task_;
  bool with_sync_;
};

}  // namespace

std::unique_ptr<TraceWriter> NewFioV3Writer(std::ostream& out, const FioWriterOptions& opts) {
  return std::make_unique<FioV3Writer>(out, opts);
}

std::unique_ptr<TraceWriter> NewCsvWriter(std::ostream& out, bool with_task_ids, bool with_sync) {
  return std::make_unique<CsvWriter>(out, with_task_ids, with_sync);
}

StatusOr<uint64_t> Convert(BlockTraceReader& reader, TraceWriter& writer) {
  uint64_t n = 0;
  workload::BlockRequest r;
  for (;;) {
    KREPLAY_ASSIGN_OR_RETURN(bool more, reader.Next(&r));
    if (!more) break;
    KREPLAY_RETURN_IF_ERROR(writer.Write(r, reader.volumes()));
    ++n;
  }
  KREPLAY_RETURN_IF_ERROR(writer.Finish());
  return n;
}

}  // namespace kreplay::blocktrace
