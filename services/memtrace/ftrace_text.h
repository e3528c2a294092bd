// One line of ftrace text output, as /sys/kernel/tracing/trace, trace_pipe
// and `trace-cmd report` print it (kernel/trace/trace_output.c
// trace_print_context(); trace-cmd's trace_show_data()):
//
//   <comm>-<pid> [(<tgid>)] [<cpu>] [<flags>] <seconds>.<fraction>: <event>: <body>
//
// comm may contain spaces and dashes (the pid is the digits after the last
// dash before the CPU field); the TGID column appears with the record-tgid
// option; the flags column (4 characters before 5.15, 5 from 5.15) is absent
// when irq-info is off and in trace-cmd's default output; the fraction is
// microseconds (6 digits) or nanoseconds (9). Header and bookkeeping lines
// ("# ...", "cpus=N", "CPU:N [LOST n EVENTS]", "##### CPU N buffer started")
// are skipped. Stateless and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "services/core/status.h"

namespace kreplay::memtrace {

struct FtraceLine {
  std::string_view comm;
  int64_t pid = 0;
  int cpu = 0;
  int64_t ts_ns = 0;        // the timestamp in ns (a raw counter clock's value as is)
  std::string_view event;   // e.g. "mm_page_alloc"
  std::string_view body;    // the event's TP_printk text, spaces trimmed
};

enum class LineKind { kEvent, kSkip };

// Parses `line`. kSkip for blank, header and bookkeeping lines; an
// InvalidArgument naming what is wrong (no line number: the caller adds it)
// for a line that is neither. The views point into `line`.
StatusOr<LineKind> ParseFtraceLine(std::string_view line, FtraceLine* out);

}  // namespace kreplay::memtrace
