// `kreplay trace`: the core's trace command. `trace inspect FILE` summarises a
// trace of any family: the families' inspectors (FamilyInfo::trace_inspector)
// are asked, in catalog order, whether FILE's first lines are theirs, and the
// first that says yes reads it; --family NAME, or one of a family's own
// flags, picks a family instead. The families add their other trace
// subcommands under `trace` (FamilyInfo::add_commands).
// Exit codes: those of the chosen inspector; 2 for a file no family reads, an
// unreadable file or flags of two families; 3 for an I/O failure.
#pragma once

#include <memory>

#include "services/family/family.h"

namespace CLI {
class App;
}

namespace kreplay::cli {

struct TraceCli;

// Registers `trace` and `trace inspect` (FILE, --family, --json, and each
// family's inspector flags) on `app`. Call it before the families'
// add_commands. The returned handle stays valid as long as `app` and
// `catalog`. Traps if two families register the same inspector flag.
std::shared_ptr<TraceCli> AddTraceCommand(CLI::App& app, const family::Catalog& catalog);
// True if the command line selected `trace inspect`.
bool TraceInspectSelected(const TraceCli& t);
// Picks the family and runs its inspector; returns the process exit code.
int RunTraceInspect(const TraceCli& t);

}  // namespace kreplay::cli
