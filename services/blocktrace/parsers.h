// Internal: one line parser per trace format, used by BlockTraceReader and
// by the robustness tests. Not part of the module's public API.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "services/blocktrace/reader.h"
#include "services/core/status.h"

namespace kreplay::blocktrace::internal {

__extension__ typedef __int128 Int128;

// One event as a format states it, before volume indexing and rebasing.
struct RawEvent {
  Int128 time_ns = 0;        // absolute, in the trace's own epoch
  uint64_t offset = 0;       // bytes
  uint32_t bytes = 0;
  std::string_view volume;   // valid until the parser's next Parse()
  uint32_t task = 0;
  workload::BlockOp op = workload::BlockOp::kRead;
  bool sync = false;         // BlockRequest::sync; parsers without sync flags leave it false
};

enum class LineKind { kEvent, kSkip };

class LineParser {
 public:
  virtual ~LineParser() = default;
  // Parses one non-blank line. Errors carry "field 'x': problem (got '...')";
  // the reader prefixes "file:line: ".
  virtual StatusOr<LineKind> Parse(std::string_view line, RawEvent* ev) = 0;
  virtual bool has_task_ids() const { return false; }
  virtual bool has_sync_flags() const { return false; }
};

// REQUIRES: f != Format::kAuto.
StatusOr<std::unique_ptr<LineParser>> NewParser(Format f, const ReaderOptions& opts);

// Picks a format from the first lines of a trace; blank lines are ignored.
StatusOr<Format> DetectFormat(const std::vector<std::string>& lines);

// "field 'x': problem (got '...')", the value shortened and made printable.
Status FieldError(std::string_view field, std::string_view problem, std::string_view got);

}  // namespace kreplay::blocktrace::internal
