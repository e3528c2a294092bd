// `kreplay trace inspect|convert`: block trace summaries and format
// conversion (services/blocktrace). Exit codes as main.cc: 0 ok, 2 bad input
// (unreadable or malformed trace, bad flags), 3 output could not be written.
#pragma once

#include <memory>

namespace CLI {
class App;
}

namespace kreplay::cli {

struct TraceCli;

// Registers the `trace` subcommand and its flags on `app`. The returned
// handle stays valid as long as `app`.
std::shared_ptr<TraceCli> AddTraceCommand(CLI::App& app);
// True if the command line selected `trace`.
bool TraceSelected(const TraceCli& t);
// Runs the selected `trace` subcommand; returns the process exit code.
int RunTraceCommand(const TraceCli& t);

}  // namespace kreplay::cli
