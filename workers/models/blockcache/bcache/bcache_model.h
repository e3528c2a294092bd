// Registration of the "bcache" and "bcache.stack" models: parameters (with units, defaults,
// bounds and help), metrics, and the run function that builds the devices
// and a BcacheSim from a ParamSet and replays RunInput.block.
#pragma once

#include "services/core/status.h"
#include "services/model/registry.h"

namespace kreplay::blockcache::bcache {

// Registers "bcache" and "bcache.stack" (two stacked cache sets, see
// bcache_stack.h), both version 1.0.0. AlreadyExists if registered twice.
Status RegisterBcacheModels(model::Registry& registry);

}  // namespace kreplay::blockcache::bcache
