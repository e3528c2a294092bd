// `kreplay validate sched`: runs rt-app scenarios on this host, pinned to
// chosen CPUs, runs the matching scheduler model on a platform describing
// the host, and prints model against kernel for each figure with its error
// and gate (compare.h). The sched family registers it (FamilyInfo::add_commands).
//
// Exit codes: 0 every gated figure passed; 1 a gated figure failed; 2 bad
// flags; 3 the validation itself failed (rt-app died, a log was missing);
// 4 this host cannot validate (not root, rt-app missing, CPU unavailable);
// 130 interrupted. 0-3 and 130 are the CLI's (controller/cli/exit_codes.h),
// 4 is validate's own.
#pragma once

#include <functional>
#include <memory>

#include "services/core/status.h"
#include "services/family/family.h"

namespace CLI {
class App;
}

namespace kreplay::sched::validate {

constexpr int kExitOk = 0;
constexpr int kExitGateFailed = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitInfra = 3;
constexpr int kExitEnvironment = 4;
constexpr int kExitInterrupted = 130;

struct ValidateCli;

// Registers `validate sched` on `app` (creating `validate` if no other
// family has). `register_family` fills the catalog the models come from
// when the command runs. The handle stays valid as long as `app`.
std::shared_ptr<ValidateCli> AddValidateCommand(CLI::App& app,
                                                std::function<Status(family::Catalog&)> register_family);
bool ValidateSelected(const ValidateCli& v);
int RunValidateCommand(const ValidateCli& v);

}  // namespace kreplay::sched::validate
