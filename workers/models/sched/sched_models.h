// The scheduler model family: big.LITTLE SoCs under CFS and HMP (both on the
// Linaro LSK 3.10 base), with DVFS governors and a legacy-EAS energy model.
#pragma once

#include <string>

#include "services/model/registry.h"

namespace kreplay::sched {

// Registers "sched.cfs", "sched.hmp" (LSK 3.10) and "sched.eevdf" (mainline);
// later IKS and EAS.
Status RegisterSchedModels(model::Registry& registry);

// Whether the registered model `model` runs workloads with task groups (the
// mainline core has group entities; the LSK 3.10 models refuse such
// workloads). `kreplay validate` asks before running a cgroup scenario.
bool ModelsTaskGroups(const std::string& model);

}  // namespace kreplay::sched
