// Streaming block trace importers. One BlockTraceReader turns a trace file
// (or "-" for stdin; gzip/zstd detected by magic bytes) into a stream of
// workload::BlockRequest in constant memory: only the volume-name table grows,
// with the number of distinct volumes.
//
// Rules shared by every format (services/blocktrace/README.md has the per
// format details):
// - Volumes: each distinct device/disk/volume/file id gets the next index in
//   first-seen order; volumes() lists the names seen so far.
// - Times: ns relative to the first request (so the first is 0), computed in
//   the format's native unit before scaling, so huge absolute stamps (FILETIME)
//   do not overflow. A request stamped earlier than the one before it is
//   clamped to that earlier time and counted in stats().clamped_times (real
//   traces merged from several CPUs or hosts are slightly out of order; the
//   bcache model needs a non-decreasing stream). With strict_time_order the
//   reader returns an error instead.
// - Task IDs: only blkparse carries them (pid); has_task_ids() says so, and
//   models fall back to one task per volume otherwise.
// - Errors: InvalidArgument "file:line: field 'x': problem (got '...')".
//   After an error every later Next() returns the same error.
// Thread-safety: none; one reader per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "services/core/status.h"
#include "services/workload/block_workload.h"

namespace kreplay::blocktrace {

enum class Format {
  kAuto,
  kBlkparse,   // blkparse default text output
  kMsr,        // MSR Cambridge CSV
  kFioV2,      // fio iolog version 2
  kFioV3,      // fio iolog version 3
  kAlibaba,    // Alibaba block traces CSV
  kTencent,    // Tencent CBS CSV
  kCsv,        // plain CSV with a column mapping
};
// "blkparse", "msr", "fio-v2", "fio-v3", "alibaba", "tencent", "csv", "auto".
const char* FormatName(Format f);
StatusOr<Format> ParseFormat(const std::string& name);

// Which blkparse action becomes a request: Q (bio queued: what the
// application/file system asked for) or D (request issued to the driver:
// after merging and splitting).
enum class BlkparseEvent { kQueue, kIssue };

// The plain CSV layout `kreplay trace convert --to csv` writes; re-importing
// it gives the identical request stream.
// Its header is "time_ns,volume,op,offset,bytes,task"; a file whose header
// lacks ",task" (a trace without task IDs) reads with kDefaultCsvMappingNoTask.
inline constexpr const char* kDefaultCsvMapping =
    "time=0:ns,volume=1,op=2,offset=3:bytes,size=4:bytes,task=5";
inline constexpr const char* kDefaultCsvMappingNoTask = "time=0:ns,volume=1,op=2,offset=3:bytes,size=4:bytes";
// With sync flags the writer appends a "sync" column (0/1) after them.
inline constexpr const char* kDefaultCsvMappingSync =
    "time=0:ns,volume=1,op=2,offset=3:bytes,size=4:bytes,task=5,sync=6";
inline constexpr const char* kDefaultCsvMappingNoTaskSync =
    "time=0:ns,volume=1,op=2,offset=3:bytes,size=4:bytes,sync=5";

struct ReaderOptions {
  Format format = Format::kAuto;
  BlkparseEvent blkparse_event = BlkparseEvent::kQueue;
  // For Format::kCsv: "time=COL[:ns|us|ms|s|ticks],offset=COL[:bytes|sectors],
  // size=COL[:bytes|sectors],op=COL[,volume=COL][,task=COL]" (0-based
  // columns). Empty: the default layout (see below), task column optional.
  std::string csv_mapping;
  bool strict_time_order = false;
};

struct ReaderStats {
  uint64_t lines = 0;          // lines read so far
  uint64_t skipped_lines = 0;  // non-event lines skipped by rule (headers, summaries, other actions)
  uint64_t clamped_times = 0;  // requests whose time went backwards and was clamped
};

}  // namespace kreplay::blocktrace
namespace kreplay::textio {
class ByteSource;
}  // namespace kreplay::textio
namespace kreplay::blocktrace {
using textio::ByteSource;

class BlockTraceReader {
 public:
  // Opens `path` ("-" = stdin). With Format::kAuto the format is detected from
  // the first lines (an error names the candidates if none fits).
  static StatusOr<std::unique_ptr<BlockTraceReader>> Open(const std::string& path, const ReaderOptions& opts);
  // The same over in-memory bytes (compressed or not); `name` labels errors.
  static StatusOr<std::unique_ptr<BlockTraceReader>> FromString(std::string data, const std::string& name,
                                                                const ReaderOptions& opts);
  // The same over an open source of plain text (already decompressed, e.g.
  // by textio::OpenSource); `name` labels errors.
  static StatusOr<std::unique_ptr<BlockTraceReader>> FromSource(std::unique_ptr<ByteSource> src,
                                                                const std::string& name, const ReaderOptions& opts);
  ~BlockTraceReader();

  // Fills *out with the next request; false at the end of the trace.
  StatusOr<bool> Next(workload::BlockRequest* out);

  Format format() const { return format_; }
  bool has_task_ids() const;
  // Per-request sync flags (BlockRequest::sync): blkparse (RWBS) and a CSV
  // with a sync column. MSR, fio iolog, Alibaba and Tencent cannot say.
  bool has_sync_flags() const;
  const std::vector<std::string>& volumes() const { return volumes_; }
  const ReaderStats& stats() const { return stats_; }

 private:
  BlockTraceReader();
  static StatusOr<std::unique_ptr<BlockTraceReader>> Create(std::unique_ptr<ByteSource> src, const std::string& name,
                                                            const ReaderOptions& opts);
  class Impl;
  std::unique_ptr<Impl> impl_;
  Format format_ = Format::kAuto;
  std::vector<std::string> volumes_;
  ReaderStats stats_;
};

// The format Format::kAuto would detect for a trace beginning with `head`
// (plain text, whole lines; the first 64 are looked at); InvalidArgument,
// naming the formats, if none fits.
StatusOr<Format> DetectFormat(std::string_view head);

// Reads a whole trace into memory (for models; not constant memory).
// `max_requests` > 0 stops after that many.
StatusOr<workload::BlockWorkload> ReadBlockTrace(const std::string& path, const ReaderOptions& opts,
                                                 uint64_t max_requests = 0);

}  // namespace kreplay::blocktrace
