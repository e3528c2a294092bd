// Dry runs: `kreplay spec check FILE...` validates study specs (every error
// at once, as file:line: field: message), and `kreplay plan FILE` says what a
// study would run and cost (controller/spec/plan.h) without running it.
// Exit codes as main.cc: 0 ok, 2 bad input (an invalid spec, or a plan above
// the confirmation threshold without --yes).
#pragma once

#include <memory>

#include "services/family/family.h"

namespace CLI {
class App;
}

namespace kreplay::cli {

struct PlanCli;

// Registers the `spec` (with `check`) and `plan` subcommands on `app`. The
// returned handle stays valid as long as `app`.
std::shared_ptr<PlanCli> AddPlanCommands(CLI::App& app);
// True if the command line selected `spec check` or `plan`.
bool PlanSelected(const PlanCli& p);
// Runs the selected command; returns the process exit code.
int RunPlanCommand(const family::Catalog& catalog, const PlanCli& p);

}  // namespace kreplay::cli
