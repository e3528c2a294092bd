// `kreplay trace inspect|convert`, the block family's command hook: block
// trace summaries and format conversion (services/blocktrace). Exit codes as
// the CLI's (controller/cli/exit_codes.h): 0 ok, 2 bad input (unreadable or
// malformed trace, bad flags), 3 output could not be written.
#pragma once

#include <memory>

namespace CLI {
class App;
}

namespace kreplay::blockcache {

struct TraceCli;

// Registers the `trace` subcommand and its flags on `app`. The returned
// handle stays valid as long as `app`.
std::shared_ptr<TraceCli> AddTraceCommand(CLI::App& app);
// True if the command line selected `trace`.
bool TraceSelected(const TraceCli& t);
// Runs the selected `trace` subcommand; returns the process exit code.
int RunTraceCommand(const TraceCli& t);

}  // namespace kreplay::blockcache
