// The scheduler model family: big.LITTLE SoCs under CFS and HMP (Linaro LSK
// 3.10; CFS also mainline 5.15 .. 6.5) and EEVDF (mainline 6.6 .. 6.18), with
// DVFS governors and a legacy-EAS energy model.
#pragma once

#include <string>

#include "services/model/registry.h"

namespace kreplay::sched {

// Registers "sched.cfs" (LSK 3.10 or mainline CFS by kernel_version),
// "sched.hmp" (LSK 3.10) and "sched.eevdf" (mainline); later IKS and EAS.
Status RegisterSchedModels(model::Registry& registry);

// Whether the registered model `model` runs workloads with task groups (the
// EEVDF runqueue has group entities; the CFS models, LSK 3.10 or mainline,
// refuse such workloads). `kreplay validate` asks before running a cgroup scenario.
bool ModelsTaskGroups(const std::string& model);

}  // namespace kreplay::sched
