// The memory family's five models in the registry: memory.cma,
// memory.cma.android, memory.carveout, memory.gcma, memory.buddy, each one
// allocator of mem_sim.h over the same machine, background and calls.
#pragma once

#include "services/core/status.h"
#include "services/model/registry.h"

namespace kreplay::memory {

Status RegisterMemoryModels(model::Registry& registry);

}  // namespace kreplay::memory
