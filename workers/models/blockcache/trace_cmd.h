// The block family's trace commands (services/blocktrace): its `trace
// inspect` inspector (block trace summaries; `kreplay trace inspect` itself
// is the core's, controller/cli/trace_cmd.h) and `kreplay trace convert`
// (format conversion). Exit codes as the CLI's (controller/cli/exit_codes.h):
// 0 ok, 2 bad input (unreadable or malformed trace, bad flags), 3 output could
// not be written.
#pragma once

#include <memory>

#include "services/family/family.h"

namespace CLI {
class App;
}

namespace kreplay::blockcache {

// FamilyInfo::trace_inspector: reads every format blocktrace::DetectFormat
// recognises; its flags --format, --blkparse-event, --csv-mapping,
// --strict-time-order and --exact-blocks pick it (e.g. for a mapped CSV,
// which is never detected).
family::TraceInspector BlockTraceInspector();

struct ConvertCli;

// Registers `convert` and its flags under `app`'s `trace` subcommand (the
// core's, there when FamilyInfo::add_commands runs). The returned handle
// stays valid as long as `app`.
std::shared_ptr<ConvertCli> AddConvertCommand(CLI::App& app);
// True if the command line selected `trace convert`.
bool ConvertSelected(const ConvertCli& c);
// Runs it; returns the process exit code.
int RunConvertCommand(const ConvertCli& c);

}  // namespace kreplay::blockcache
