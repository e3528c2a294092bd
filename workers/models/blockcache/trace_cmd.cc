#include "workers/models/blockcache/trace_cmd.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "services/blocktrace/reader.h"
#include "services/blocktrace/summary.h"
#include "services/blocktrace/writer.h"

namespace kreplay::blockcache {
namespace {

// The CLI's exit codes (controller/cli/exit_codes.h), which a family does not link.
constexpr int kExitOk = 0;
constexpr int kExitBadInput = 2;
constexpr int kExitInfra = 3;

// The reader's flags, shared by `trace inspect` (where the core owns FILE and
// --json) and `trace convert`.
struct ReaderFlags {
  std::string format = "auto", event = "Q", mapping;
  bool strict = false;
};

void AddReaderFlags(CLI::App* c, ReaderFlags* t) {
  c->add_option("--format", t->format, "Input format (default: detected from the first lines)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "blkparse", "msr", "fio-v2", "fio-v3", "alibaba", "tencent", "csv"}));
  c->add_option("--blkparse-event", t->event, "blkparse: replay Q (queued bios) or D (issued requests)")
      ->capture_default_str()
      ->check(CLI::IsMember({"Q", "D"}));
  c->add_option("--csv-mapping", t->mapping,
                "csv: columns, e.g. time=0:us,offset=2:bytes,size=3:bytes,op=1,volume=4 (default: kreplay's layout)");
  c->add_flag("--strict-time-order", t->strict, "Fail on a request earlier than its predecessor (default: clamp and count)");
}

StatusOr<blocktrace::ReaderOptions> Options(const ReaderFlags& t) {
  blocktrace::ReaderOptions o;
  KREPLAY_ASSIGN_OR_RETURN(o.format, blocktrace::ParseFormat(t.format));
  o.blkparse_event = t.event == "D" ? blocktrace::BlkparseEvent::kIssue : blocktrace::BlkparseEvent::kQueue;
  o.csv_mapping = t.mapping;
  o.strict_time_order = t.strict;
  return o;
}

int Fail(const Status& st) {
  std::fprintf(stderr, "kreplay trace: %s\n", st.message().c_str());
  return st.code() == StatusCode::kUnavailable ? kExitInfra : kExitBadInput;
}

struct InspectFlags {
  ReaderFlags reader;
  uint64_t exact_blocks = 4u << 20;
};

int Inspect(const InspectFlags& t, family::TraceInput in) {
  auto o = Options(t.reader);
  if (!o.ok()) return Fail(o.status());
  auto r = blocktrace::BlockTraceReader::FromSource(std::move(in.source), in.name, *o);
  if (!r.ok()) return Fail(r.status());
  blocktrace::SummaryOptions so;
  so.exact_block_limit = t.exact_blocks;
  auto s = blocktrace::Summarize(**r, so);
  if (!s.ok()) return Fail(s.status());
  std::cout << (in.json ? blocktrace::SummaryJson(*s) : blocktrace::SummaryText(*s)) << std::flush;
  return kExitOk;
}

}  // namespace

family::TraceInspector BlockTraceInspector() {
  family::TraceInspector i;
  i.what = "block traces (blkparse, MSR, fio iolog v2/v3, Alibaba, Tencent CBS, kreplay CSV; other CSV with "
           "--format csv --csv-mapping): requests, read/write mix, footprint, sizes, sequentiality, volumes, task IDs";
  i.sniff = [](std::string_view head) { return blocktrace::DetectFormat(head).ok(); };
  i.add_flags = [](CLI::App& inspect) -> std::function<int(family::TraceInput)> {
    auto t = std::make_shared<InspectFlags>();
    AddReaderFlags(&inspect, &t->reader);
    inspect.add_option("--exact-blocks", t->exact_blocks,
                       "Count the footprint exactly up to this many distinct 4 KiB blocks, then estimate by sampling")
        ->capture_default_str()
        ->check(CLI::Range(uint64_t{16}, uint64_t{1} << 32));
    return [t](family::TraceInput in) { return Inspect(*t, std::move(in)); };
  };
  return i;
}

struct ConvertCli {
  CLI::App* convert = nullptr;
  ReaderFlags reader;
  std::string in, out, to, fio_prefix;
};

std::shared_ptr<ConvertCli> AddConvertCommand(CLI::App& app) {
  auto t = std::make_shared<ConvertCli>();
  t->convert = app.get_subcommand("trace")->add_subcommand(
      "convert", "Stream a block trace into fio iolog v3 (fio --read_iolog) or kreplay's plain CSV (blkparse, MSR, "
                 "fio iolog v2/v3, Alibaba, Tencent CBS, CSV; gz/zstd)");
  t->convert->add_option("in", t->in, "Input trace, or - for stdin")->required();
  t->convert->add_option("out", t->out, "Output file, or - for stdout")->required();
  t->convert->add_option("--to", t->to, "Output format")->required()->check(CLI::IsMember({"fio-v3", "csv"}));
  t->convert->add_option("--fio-file-prefix", t->fio_prefix,
                         "fio-v3: name volume i's file PREFIX<i> (default: the volume name)");
  AddReaderFlags(t->convert, &t->reader);
  return t;
}

bool ConvertSelected(const ConvertCli& c) { return c.convert && c.convert->parsed(); }

int RunConvertCommand(const ConvertCli& t) {
  auto o = Options(t.reader);
  if (!o.ok()) return Fail(o.status());
  auto r = blocktrace::BlockTraceReader::Open(t.in, *o);
  if (!r.ok()) return Fail(r.status());
  // Write to a temporary beside OUT and rename, so a failed conversion never
  // leaves a truncated file that looks complete.
  bool to_stdout = t.out == "-";
  std::string tmp = t.out + ".tmp";
  std::ofstream file;
  if (!to_stdout) {
    file.open(tmp, std::ios::binary | std::ios::trunc);
    if (!file) return Fail(Unavailable(tmp + ": cannot open for writing"));
  }
  std::ostream& out = to_stdout ? std::cout : file;
  blocktrace::FioWriterOptions fo;
  fo.file_prefix = t.fio_prefix;
  auto writer = t.to == "fio-v3" ? blocktrace::NewFioV3Writer(out, fo)
                                 : blocktrace::NewCsvWriter(out, (*r)->has_task_ids(), (*r)->has_sync_flags());
  auto n = blocktrace::Convert(**r, *writer);
  if (!to_stdout) file.close();
  if (!n.ok() || (!to_stdout && !file)) {
    if (!to_stdout) std::filesystem::remove(tmp);
    return Fail(n.ok() ? Unavailable(tmp + ": write failed") : n.status());
  }
  if (!to_stdout) {
    std::error_code ec;
    std::filesystem::rename(tmp, t.out, ec);
    if (ec) return Fail(Unavailable(t.out + ": " + ec.message()));
  }
  std::fprintf(stderr, "kreplay trace: wrote %llu requests (%zu volumes) as %s to %s\n",
               static_cast<unsigned long long>(*n), (*r)->volumes().size(), t.to.c_str(),
               to_stdout ? "stdout" : t.out.c_str());
  if ((*r)->stats().clamped_times) {
    std::fprintf(stderr, "kreplay trace: warning: %llu requests went back in time and were clamped\n",
                 static_cast<unsigned long long>((*r)->stats().clamped_times));
  }
  return kExitOk;
}

}  // namespace kreplay::blockcache
