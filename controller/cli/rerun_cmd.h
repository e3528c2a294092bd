// `kreplay rerun RUN_KEY`: runs one recorded run again in this process and
// checks that the result is bit-identical to the recorded one (results.json,
// and the ledger's result bytes when the folder holds kreplay.db); optionally
// writes the run's simulated schedule as ftrace text (--ftrace, sched family).
// Exit codes: 0 bit-identical, 1 differs, 2 bad input (unknown or ambiguous
// key, unreadable spec, a spec that no longer produces the run), 3 output
// or ledger failure.
#pragma once

#include <memory>

#include "services/family/family.h"

namespace CLI {
class App;
}

namespace kreplay::cli {

struct RerunCli;

// Registers the `rerun` subcommand and its flags on `app`. The returned
// handle stays valid as long as `app`.
std::shared_ptr<RerunCli> AddRerunCommand(CLI::App& app);
// True if the command line selected `rerun`.
bool RerunSelected(const RerunCli& r);
// Runs it; returns the process exit code.
int RunRerunCommand(const family::Catalog& catalog, const RerunCli& r);

}  // namespace kreplay::cli
