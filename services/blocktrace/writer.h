// Streaming trace writers for `kreplay trace convert`:
// - fio iolog v3 (`fio --read_iolog=FILE` replays it): "fio version 3 iolog",
//   then "<us> <file> add|open" when a volume first appears, "<us> <file>
//   read|write|trim <offset> <length>", "<us> <file> sync" for flushes, and a
//   close per file at the end. Times are truncated to whole microseconds (fio's
//   unit), so ns detail is lost; everything else survives.
// - plain CSV in kDefaultCsvMapping's layout: header "time_ns,volume,op,
//   offset,bytes[,task]" (task only when the trace has task IDs), then one row
//   per request. Re-importing it gives the identical request stream and
//   volume table.
// Writers hold O(volumes) state. Not thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "services/blocktrace/reader.h"
#include "services/core/status.h"
#include "services/workload/block_workload.h"

namespace kreplay::blocktrace {

class TraceWriter {
 public:
  virtual ~TraceWriter() = default;
  // `volumes` is the table `r.volume` indexes (it may grow between calls).
  virtual Status Write(const workload::BlockRequest& r, const std::vector<std::string>& volumes) = 0;
  virtual Status Finish() = 0;
};

struct FioWriterOptions {
  // File name for volume i: "<file_prefix><i>" if set, else the volume name
  // itself when it is a usable fio file name (no whitespace), else
  // "kreplay-vol<i>". fio creates/extends these files when it replays.
  std::string file_prefix;
};

// `out` must outlive the writer.
std::unique_ptr<TraceWriter> NewFioV3Writer(std::ostream& out, const FioWriterOptions& opts = {});
std::unique_ptr<TraceWriter> NewCsvWriter(std::ostream& out, bool with_task_ids, bool with_sync = false);

// Streams every request of `reader` into `writer`, then Finish(). Returns the
// number of requests written.
StatusOr<uint64_t> Convert(BlockTraceReader& reader, TraceWriter& writer);

}  // namespace kreplay::blocktrace
